// Package summary renders what a sync did (sync.Result) for a terminal:
// the one-screen summary gitalog sync prints and its last line. The commit
// message and the error of an incomplete sync are the sync's own; this is
// only what is printed.
package summary
