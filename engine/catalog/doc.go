// Package catalog owns the catalog as it is kept in git: the entity type
// and its canonical file encoding, the mapping from identifiers to safe
// file names, the state a commit holds (catalog/<blueprint>/ and the
// managed lists in .gitalog/managed/), and the change plan between what a
// sync produced and that state: which files are created, changed and
// deleted, which hand-written files are left alone, and which entities the
// holds (doubts, a resource that gave nothing) and the deletion threshold
// keep. Hand-written files are the user's: the sync changes only the
// fields it manages in them (recorded in .gitalog/fields/), byte for byte
// elsewhere (PatchFields), and finds them by identifier or alias
// (NameIndex).
package catalog
