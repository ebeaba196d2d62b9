//go:build !linux

package prefault

import "time"

// Start bounds the heap's growth (see gcTuner); populating it in bulk is
// done only on Linux, where the cost of page faults was measured.
func Start() (stop func()) {
	t := newGCTuner()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		defer t.stop()
		for {
			t.check()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done) }
}

// Bytes is make([]byte, n).
func Bytes(n int) []byte { return make([]byte, n) }
