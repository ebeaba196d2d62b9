package sync

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A dump records the source it was made for. Its replay into another
// source's sync, into a sync of no source, or (a dump naming none) into a
// source's sync would rewrite that source's entities with another's
// data: each is refused, naming both and the dump, before anything is
// written. The dump's own source replays it.
func TestReplayRefusesAnotherSourcesDump(t *testing.T) {
	ctx := context.Background()
	f := newSourcesFixture(t, "s2", "s3")
	d2 := filepath.Join(t.TempDir(), "d2")
	if _, err := Dump(ctx, f.options("s2"), d2); err != nil {
		t.Fatal(err)
	}
	plain := newFixture(t, f.data["s2"])
	d0 := filepath.Join(t.TempDir(), "d0")
	if _, err := Dump(ctx, plain.options(), d0); err != nil {
		t.Fatal(err)
	}
	// The manifest of a dump made before dumps recorded their source.
	if b, err := os.ReadFile(filepath.Join(d0, "manifest.json")); err != nil || strings.Contains(string(b), `"source"`) {
		t.Fatalf("a dump of a config without sources: names a source (%v):\n%s", err, b)
	}
	for _, tc := range []struct {
		name   string
		dir    string // the catalog
		source string
		dump   string
		want   []string // in the error; none: the replay is accepted
	}{
		{"another source's dump", f.dir, "s3", d2, []string{"s2", "s3", d2}},
		{"a source's dump, a config without sources", plain.dir, "", d2, []string{"s2", d2, "no source"}},
		{"a dump of no source, a source's sync", f.dir, "s3", d0, []string{"s3", d0, "no source"}},
		{"its own source", f.dir, "s2", d2, nil},
		{"no source, no sources", plain.dir, "", d0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := strings.TrimSpace(gitIn(t, tc.dir, "rev-parse", "HEAD"))
			o := f.options(tc.source)
			o.Dir, o.Replay = tc.dir, tc.dump
			res, err := Run(ctx, o)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("replay refused: %v", err)
				}
				if res.Commit.IsZero() {
					t.Fatal("the replay committed nothing")
				}
				return
			}
			if err == nil {
				t.Fatal("replay accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if got := strings.TrimSpace(gitIn(t, tc.dir, "rev-parse", "HEAD")); got != head {
				t.Error("a refused replay committed")
			}
		})
	}
}
