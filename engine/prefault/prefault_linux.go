package prefault

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const madvPopulateWrite = 23 // Linux 5.14

// Start populates the heap's mapping as it grows, and bounds its growth
// (see gcTuner), until stop is called.
func Start() (stop func()) {
	probe := make([]byte, 1<<16) // a heap object: its mapping is the heap's
	addr := uintptr(unsafe.Pointer(&probe[0]))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	tune := newGCTuner()
	go func() {
		defer wg.Done()
		defer tune.stop()
		var hi uintptr // populated up to here
		populate := true
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			tune.check()
			if populate {
				populate = grow(addr, &hi)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		_ = probe
	}
}

// grow populates the part of the heap mapping holding addr above hi; false
// when that is not possible here (an older kernel, an unexpected mapping).
func grow(addr uintptr, hi *uintptr) bool {
	lo, end, ok := region(addr)
	if !ok {
		return false
	}
	if end > *hi {
		from := max(lo, *hi)
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, from, end-from, madvPopulateWrite); errno != 0 {
			return false
		}
		*hi = end
	}
	return true
}

// region finds the writable anonymous mapping holding addr in
// /proc/self/maps.
func region(addr uintptr) (lo, hi uintptr, ok bool) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		rng, rest, _ := bytes.Cut(line, []byte{' '})
		a, b, _ := bytes.Cut(rng, []byte{'-'})
		l, err1 := strconv.ParseUint(string(a), 16, 64)
		h, err2 := strconv.ParseUint(string(b), 16, 64)
		if err1 != nil || err2 != nil || addr < uintptr(l) || addr >= uintptr(h) {
			continue
		}
		if !bytes.HasPrefix(rest, []byte("rw-p 00000000 00:00 0")) {
			return 0, 0, false
		}
		return uintptr(l), uintptr(h), true
	}
	return 0, 0, false
}

// Bytes returns a zeroed slice of length n whose pages are populated in
// one call rather than faulted in one at a time as they are first written.
func Bytes(n int) []byte {
	b := make([]byte, n)
	if n >= 1<<16 {
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(unsafe.Pointer(&b[0])), uintptr(n), madvPopulateWrite)
	}
	return b
}
