// Package engine holds what the sub-packages that do gitalog's work have
// not taken yet. Each job has a package of its own: sync (one sync, end to
// end), scaffold (init), config (a catalog's settings), catalog (entity
// files, managed lists and the change plan), gitstore (the repository),
// sentry and dump (items), mapping, review; see each package's doc.
package engine
