package sync

import "io"

// The summary is rendered by commands/summary, which imports this
// package, so tests here that read what a sync reports reach it through
// writeSummary, set by summarylink_test.go (package sync_test).
var writeSummary func(w io.Writer, r *Result, v int)

// The summary's verbosities (summary.Quiet, Normal, Verbose).
const (
	Quiet   = -1
	Normal  = 0
	Verbose = 1
)

// SetWriteSummary is for summarylink_test.go.
func SetWriteSummary(fn func(w io.Writer, r *Result, v int)) { writeSummary = fn }
