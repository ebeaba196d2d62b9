package dump

import (
	"context"
	"os"
	"path/filepath"
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
		// As a sync refuses it; encoding/json alone allows 10,000 levels.
		{"too deep", "{\"id\":\"1\"}\n{\"x\":" + strings.Repeat("[", 600) + strings.Repeat("]", 600) + "}\n", 0, "line 2: JSON nested deeper than 512 levels (at byte 527)"},
		{"deep within the limit", "{\"x\":" + strings.Repeat("[", 511) + strings.Repeat("]", 511) + "}", 1, ""},
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
	if err := w.Write("issue", map[string]any{}, [][]byte{[]byte(`{"id":"1"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("issue", map[string]any{"search": "is:resolved"}, [][]byte{[]byte(`{"id":"2"}`), []byte(`{"id":"3"}`)}); err != nil {
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

// TestWriteRaw: items are written as received, one a line (compacted
// only when they span lines), and read back as the same values.
func TestWriteRaw(t *testing.T) {
	dir := t.TempDir()
	w := &Writer{Dir: dir}
	k, err := w.Begin("issue", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	raws := []string{
		`{"id":"1","b":1.50,"a":"<é\u00e9>"}`,
		"{\n  \"id\": \"2\",\r\n  \"s\": \"x\\ny\"\n}",
		`"s"`,
	}
	var in [][]byte
	for _, s := range raws {
		in = append(in, []byte(s))
	}
	if err := k.Write(in[:2]); err != nil {
		t.Fatal(err)
	}
	if err := k.Write([][]byte{[]byte(`{"id":"3"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := k.Write(in[2:]); err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "issue.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := raws[0] + "\n" + `{"id":"2","s":"x\ny"}` + "\n" + `{"id":"3"}` + "\n" + `"s"` + "\n"
	if string(data) != want {
		t.Fatalf("file:\n%s\nwant:\n%s", data, want)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = r.Stream(context.Background(), "issue", map[string]any{}, 10, func(raw [][]byte, _ []string) error {
		for _, b := range raw {
			got = append(got, string(b))
		}
		return nil
	})
	if err != nil || len(got) != 4 {
		t.Fatalf("read back %q, %v", got, err)
	}
	if m := readManifest(t, dir); !strings.Contains(m, `"items": 4`) {
		t.Errorf("manifest %s lacks the count", m)
	}
}

func readManifest(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
