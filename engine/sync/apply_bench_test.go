package sync

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/scaffold"
)

// BenchmarkApply100k applies a batch of 3 webhook issues to a catalog of
// 100k issues, bare (a server's mirror) and checked out: "changed" commits
// each op (the batch alternates between two versions of its issues),
// "unchanged" finds nothing to commit. A batch reads the trees and managed
// lists of the folders it touches, never the catalog's other entities.
func BenchmarkApply100k(b *testing.B) {
	b.Setenv("HOME", b.TempDir())
	const n = 100000
	dump := benchDump(b, n)
	lines := benchLines(b, dump, 3)
	for _, bare := range []bool{true, false} {
		name := "worktree"
		dir := filepath.Join(b.TempDir(), "cat")
		if bare {
			name, dir = "bare", dir+".git"
		}
		if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: testAuthor, Extra: testrepo.PortFiles()}); err != nil {
			b.Fatal(err)
		}
		o := Options{Dir: dir, ConfigPath: benchConfig, Author: testAuthor, Env: func(string) string { return "" }}
		ro := o
		ro.Replay = dump
		if _, err := Run(context.Background(), ro); err != nil {
			b.Fatal(err)
		}
		batch := func(variant bool) []Item {
			items := make([]Item, len(lines))
			for i, l := range lines {
				j := l
				if variant {
					j = bytes.Replace(l, []byte(`"title":"`), []byte(`"title":"again: `), 1)
				}
				items[i] = Item{Kind: "issue", JSON: j, ID: "bench"}
			}
			return items
		}
		b.Run(name+"/changed", func(b *testing.B) {
			i := 0
			for b.Loop() {
				res, err := Apply(context.Background(), o, batch(i%2 == 0))
				if err != nil {
					b.Fatal(err)
				}
				if res.Commit.IsZero() {
					b.Fatal("no commit")
				}
				i++
			}
		})
		b.Run(name+"/unchanged", func(b *testing.B) {
			if _, err := Apply(context.Background(), o, batch(false)); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				res, err := Apply(context.Background(), o, batch(false))
				if err != nil {
					b.Fatal(err)
				}
				if !res.NoChange {
					b.Fatal("changed")
				}
			}
		})
	}
}
