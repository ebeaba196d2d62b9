package dump

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// streamLines gives the same lines and line numbers as splitting the
// whole input, whatever the chunk size and wherever lines are cut.
func TestStreamLines(t *testing.T) {
	inputs := []string{
		"", "\n", "a", "a\n", "a\nb", "a\n\n  \nb\n", "{\"x\": 1}\r\n{\"y\": [1,\n2]}\n",
		strings.Repeat("0123456789abcdef\n", 40) + "tail",
	}
	for _, in := range inputs {
		var want []string
		for i, l := range strings.Split(in, "\n") {
			if t := strings.TrimSpace(l); t != "" {
				want = append(want, t+"@"+strconv.Itoa(i+1))
			}
		}
		for _, chunk := range []int{1, 2, 3, 7, 16, 1 << 20} {
			for _, batch := range []int{1, 3, 256} {
				var got []string
				err := streamLines(context.Background(), bytes.NewReader([]byte(in)), "f", batch, chunk, func(raw [][]byte, where []string, release func()) error {
					defer release()
					if len(raw) > batch || len(raw) != len(where) || len(raw) == 0 {
						return fmt.Errorf("batch of %d raws, %d wheres", len(raw), len(where))
					}
					for i, r := range raw {
						got = append(got, string(r)+"@"+strings.TrimPrefix(where[i], "f:"))
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%q chunk %d batch %d:\n got %q\nwant %q", in, chunk, batch, got, want)
				}
			}
		}
	}
}

// Released chunks are reused; a batch not yet released keeps its bytes.
func TestStreamLinesReuse(t *testing.T) {
	var in bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&in, "{\"id\": %d, \"pad\": %q}\n", i, strings.Repeat("x", i%300))
	}
	type kept struct {
		raw  [][]byte
		copy []string
	}
	var keep []kept
	batches := 0
	err := streamLines(context.Background(), bytes.NewReader(in.Bytes()), "f", 7, streamChunk, func(raw [][]byte, where []string, release func()) error {
		batches++
		if batches%5 == 0 {
			k := kept{raw: raw}
			for _, r := range raw {
				k.copy = append(k.copy, string(r))
			}
			keep = append(keep, k)
			return nil
		}
		release()
		release() // twice is harmless
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keep {
		for i, r := range k.raw {
			if string(r) != k.copy[i] {
				t.Fatalf("an unreleased batch changed: %q, was %q", r, k.copy[i])
			}
		}
	}
}
