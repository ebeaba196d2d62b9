package sync_test

import (
	"io"

	"github.com/gitalog/gitalog/commands/summary"
	"github.com/gitalog/gitalog/engine/sync"
)

func init() {
	sync.SetWriteSummary(func(w io.Writer, r *sync.Result, v int) { summary.Write(w, r, summary.Verbosity(v)) })
}
