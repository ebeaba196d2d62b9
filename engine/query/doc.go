// Package query answers questions about the catalog as a commit holds it
// (gitalog query): a jq program over the entities, or a Port search body.
// It reads the catalog's blobs from the object store, never the worktree,
// so any commit of the history (--at a revision or a date) reads the same
// way as HEAD, and a hand edit not yet committed is not part of the answer.
package query
