// Package parallel spreads independent calls over the machine's cores:
// reading many blobs or checking many files, where each call is short and
// the order of the calls does not matter.
package parallel

import (
	"runtime"
	"sync"
)

// For runs fn(0..n-1) on all cores and returns when every call has.
func For(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				j := i
				i++
				next.Unlock()
				if j >= n {
					return
				}
				fn(j)
			}
		}()
	}
	wg.Wait()
}
