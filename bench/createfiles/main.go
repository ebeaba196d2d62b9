// Command createfiles measures the floor under a first sync with a
// worktree: creating N files of SIZE bytes in one new directory, as
// gitalog's prestage writers do (open with O_CREAT|O_EXCL, write, fstat,
// close), with W goroutines, each path always to the same writer. It
// prints the time for each tenth of N, so the cost per file can be seen
// growing with the directory and the kernel's caches.
//
// usage: go run ./bench/createfiles [-n 300000] [-size 400] [-w 2] DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 300000, "files to create")
	size := flag.Int("size", 400, "bytes per file")
	w := flag.Int("w", 2, "writer goroutines")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: createfiles [-n N] [-size B] [-w W] DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	if err := os.Mkdir(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	data := make([]byte, *size)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	step := max(*n/10, 1)
	start := time.Now()
	last := start
	for lo := 0; lo < *n; lo += step {
		hi := min(lo+step, *n)
		var wg sync.WaitGroup
		errs := make(chan error, *w)
		for k := 0; k < *w; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				var st syscall.Stat_t
				for i := lo + k; i < hi; i += *w {
					p := filepath.Join(dir, fmt.Sprintf("%d.json", 5100000000+i))
					fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o644)
					if err == nil {
						_, err = syscall.Write(fd, data)
						if err == nil {
							err = syscall.Fstat(fd, &st)
						}
						if cerr := syscall.Close(fd); err == nil {
							err = cerr
						}
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", p, err)
						return
					}
				}
			}(k)
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		now := time.Now()
		fmt.Printf("files %7d-%7d: %6.1f µs per file\n", lo, hi, float64(now.Sub(last).Microseconds())/float64(hi-lo))
		last = now
	}
	el := time.Since(start)
	fmt.Printf("%d files in %.2f s: %.1f µs per file\n", *n, el.Seconds(), float64(el.Microseconds())/float64(*n))
}
