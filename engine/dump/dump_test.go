package dump

import (
	"context"
	"strings"
	"testing"
)

func TestReadItems(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		err      string
	}{
		{"object", `{"id":"1"}`, 1, ""},
		{"array", `[{"id":"1"},{"id":"2"}]`, 2, ""},
		{"json lines", "{\"id\":\"1\"}\n{\"id\":\"2\"}\n{\"id\":\"3\"}\n", 3, ""},
		{"empty", "", 0, ""},
		{"bad second line", "{\"id\":\"1\"}\n{\"id\":}\n", 0, "line 2"},
		{"cut short", "{\"id\":\"1\"}\n\n{\"b\":", 0, "line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, err := ReadItems(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || len(items) != tc.n {
				t.Fatalf("got %d items, %v; want %d", len(items), err, tc.n)
			}
		})
	}
}

func TestWriteAndReplayVariants(t *testing.T) {
	dir := t.TempDir()
	w := &Writer{Dir: dir}
	if err := w.Write("issue", map[string]any{}, []any{map[string]any{"id": "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("issue", map[string]any{"search": "is:resolved"}, []any{map[string]any{"id": "2"}, map[string]any{"id": "3"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sel map[string]any
		n   int
	}{{map[string]any{}, 1}, {map[string]any{"search": "is:resolved"}, 2}, {map[string]any{"search": "other"}, 1}} {
		n := 0
		err := r.Stream(context.Background(), "issue", tc.sel, 10, func(raw [][]byte, _ []string) error {
			n += len(raw)
			return nil
		})
		if err != nil || n != tc.n {
			t.Fatalf("%v: %d items, %v; want %d", tc.sel, n, err, tc.n)
		}
	}
	noop := func([][]byte, []string) error { return nil }
	if err := r.Stream(context.Background(), "team", nil, 10, noop); err == nil || !strings.Contains(err.Error(), "team.jsonl") {
		t.Fatalf("missing kind: %v", err)
	}
}
