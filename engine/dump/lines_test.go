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
				err := streamLines(context.Background(), bytes.NewReader([]byte(in)), "f", batch, chunk, func(raw [][]byte, where []string) error {
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
