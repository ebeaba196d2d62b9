// Package catalog holds the entity type, its canonical file encoding, the
// mapping from identifiers to safe file names, and the change set between
// what a sync produced and what the repository already holds.
package catalog
