package prefault

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
)

// gcTuner lowers the GC's growth allowance from 100% to 50% of the live
// heap once that passes largeHeap. A first sync of 100k issues holds
// about 190 MB live at the end (every new file's bytes wait for the pack);
// letting the heap double on top of that took the process past 400 MB.
// Small heaps keep the default, where the extra GC cycles would cost the
// most for the least memory. A GOGC or GOMEMLIMIT the user set is left
// alone.
type gcTuner struct {
	on      bool
	lowered bool
	sample  []metrics.Sample
}

const largeHeap = 128 << 20

func newGCTuner() *gcTuner {
	t := &gcTuner{on: os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == ""}
	t.sample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	return t
}

func (t *gcTuner) check() {
	if !t.on || t.lowered {
		return
	}
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() == metrics.KindUint64 && t.sample[0].Value.Uint64() > largeHeap {
		debug.SetGCPercent(50)
		t.lowered = true
	}
}

func (t *gcTuner) stop() {
	if t.lowered {
		debug.SetGCPercent(100)
		t.lowered = false
	}
}
