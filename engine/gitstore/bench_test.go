package gitstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkBlobHash is the git blob id of a typical catalog file (~330 bytes).
func BenchmarkBlobHash(b *testing.B) {
	content := []byte(`{
  "blueprint": "issue",
  "identifier": "5100000001",
  "properties": {
    "isUnhandled": true,
    "link": "https://gen-org.sentry.io/issues/5100000001/",
    "status": "unresolved"
  },
  "relations": {
    "project": "north-gateway"
  },
  "title": "ConnectionError: permission denied for relation shipment"
}
`)
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		BlobHash(content)
	}
}

// BenchmarkCommit10k is BenchmarkCommit100k's small sibling, split so each
// cost shows on its own: the initial import of 10k files (a fresh worktree
// or bare repository each op: objects, pack, trees, index, files) and a 1%
// change on top of it (tree rebuild of a 10k-entry directory plus 100 blobs).
func BenchmarkCommit10k(b *testing.B) {
	isolate(b)
	const n = 10000
	all := catalogChanges(n, 0, "v1")
	var upd []Change
	for j := 0; j < n; j += 100 {
		c := all[j]
		upd = append(upd, Change{Path: c.Path, Content: append([]byte("// v2\n"), c.Content...)})
	}
	for _, bare := range []bool{false, true} {
		name := "worktree"
		if bare {
			name = "bare"
		}
		fresh := func(b *testing.B) *Store {
			dir := filepath.Join(b.TempDir(), "repo")
			if bare {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					b.Fatal(err)
				}
				git(b, dir, "init", "-q", "--bare", "-b", "main")
				s, err := Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				return s
			}
			s, err := Init(dir, "main")
			if err != nil {
				b.Fatal(err)
			}
			return s
		}
		b.Run(name+"/initial", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s := fresh(b)
				b.StartTimer()
				if _, err := s.Commit(context.Background(), CommitRequest{Ref: "refs/heads/main", Changes: all, Message: "import", Author: sig("Bench")}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/1pct", func(b *testing.B) {
			s := fresh(b)
			parent, err := s.Commit(context.Background(), CommitRequest{Ref: "refs/heads/main", Changes: all, Message: "import", Author: sig("Bench")})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				chs := upd
				if i%2 == 1 {
					chs = all[:0:0]
					for j := 0; j < n; j += 100 {
						chs = append(chs, all[j])
					}
				}
				if parent, err = s.Commit(context.Background(), CommitRequest{Parent: parent, Ref: "refs/heads/main", Changes: chs, Message: "1%", Author: sig("Bench")}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSnapshot10k opens the tree of a 10k-file commit and looks up
// every file, as a resync does to compare blob ids.
func BenchmarkSnapshot10k(b *testing.B) {
	isolate(b)
	const n = 10000
	all := catalogChanges(n, 0, "v1")
	s, err := Init(filepath.Join(b.TempDir(), "repo"), "main")
	if err != nil {
		b.Fatal(err)
	}
	c, err := s.Commit(context.Background(), CommitRequest{Ref: "refs/heads/main", Changes: all, Message: "import", Author: sig("Bench")})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sn, err := s.Snapshot(c)
		if err != nil {
			b.Fatal(err)
		}
		for _, ch := range all {
			if _, ok := sn.Lookup(ch.Path); !ok {
				b.Fatalf("%s missing", ch.Path)
			}
		}
	}
}
