package prefault

import (
	"runtime"
	"testing"
	"unsafe"
)

func TestBytes(t *testing.T) {
	for _, n := range []int{0, 1, 1 << 16, 3<<20 + 5} {
		b := Bytes(n)
		if len(b) != n {
			t.Fatalf("Bytes(%d) has length %d", n, len(b))
		}
		for i, c := range b {
			if c != 0 {
				t.Fatalf("Bytes(%d)[%d] = %d", n, i, c)
			}
		}
	}
}

// The heap keeps working while its new memory is populated under it.
func TestStartStop(t *testing.T) {
	stop := Start()
	var keep [][]byte
	for range 64 {
		b := make([]byte, 1<<20)
		b[len(b)-1] = 1
		keep = append(keep, b)
	}
	stop()
	for _, b := range keep {
		if b[0] != 0 || b[len(b)-1] != 1 {
			t.Fatal("heap memory changed under the program")
		}
	}
	stop2 := Start()
	stop2()
}

func TestRegionFindsTheHeap(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	b := make([]byte, 1<<16)
	lo, hi, ok := region(uintptr(unsafe.Pointer(&b[0])))
	if !ok || hi-lo < 1<<16 {
		t.Fatalf("region: %x-%x %v", lo, hi, ok)
	}
}
