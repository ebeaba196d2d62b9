package gitstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func catalogChanges(n, from int, tag string) []Change {
	chs := make([]Change, 0, n)
	for i := from; i < from+n; i++ {
		bp := "issue"
		if i%10 == 0 {
			bp = "event"
		}
		chs = append(chs, Change{
			Path:    fmt.Sprintf("catalog/%s/%d.json", bp, i),
			Content: []byte(fmt.Sprintf("{\n  \"id\": %d,\n  \"title\": \"entity %d %s\"\n}\n", i, i, tag)),
		})
	}
	return chs
}

func TestLargeCommitUsesPackfile(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	s := newRepo(t)
	start := time.Now()
	c := commit(t, s, "20k", catalogChanges(20000, 0, "v1")...)
	t.Logf("20k-file commit: %v", time.Since(start))

	packs, _ := filepath.Glob(filepath.Join(s.GitDir(), "objects/pack/pack-*.pack"))
	idxs, _ := filepath.Glob(filepath.Join(s.GitDir(), "objects/pack/pack-*.idx"))
	if len(packs) != 1 || len(idxs) != 1 {
		t.Fatalf("packs=%v idxs=%v", packs, idxs)
	}
	loose, _ := filepath.Glob(filepath.Join(s.GitDir(), "objects/??/*"))
	if len(loose) != 0 {
		t.Fatalf("%d loose objects next to the pack", len(loose))
	}
	if tmp, _ := filepath.Glob(filepath.Join(s.GitDir(), "objects/pack/tmp_*")); len(tmp) != 0 {
		t.Fatalf("temp files left: %v", tmp)
	}
	checkRepo(t, s)
	git(t, s.Root(), "verify-pack", idxs[0])
	if n := strings.Count(git(t, s.Root(), "ls-files"), "\n"); n != 20000 {
		t.Fatalf("index has %d entries", n)
	}

	// A small follow-up goes loose and reads its parent from the pack.
	chs := catalogChanges(50, 0, "v2")
	chs = append(chs, del("catalog/issue/77.json"))
	commit(t, s, "small", chs...)
	checkRepo(t, s)
	sn, err := s.Snapshot(c)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := sn.ReadFile("catalog/issue/19999.json"); err != nil || !strings.Contains(string(b), "19999 v1") {
		t.Fatalf("read from pack: %q %v", b, err)
	}
	if err := s.CheckWorktree(mustHead(t, s), []string{"catalog/issue/1.json", "catalog/issue/77.json", "catalog/event/10.json"}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCommit100k measures the two costs that matter for a sync of a
// big catalog: the initial import and a 1% change on top of it.
func BenchmarkCommit100k(b *testing.B) {
	isolate(b)
	const n = 100000
	var initial, change time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "repo")
		s, err := Init(dir, "main")
		if err != nil {
			b.Fatal(err)
		}
		all := catalogChanges(n, 0, "v1")
		var upd []Change
		for j := 0; j < n; j += 100 {
			c := all[j]
			upd = append(upd, Change{Path: c.Path, Content: append([]byte("// v2\n"), c.Content...)})
		}
		b.StartTimer()

		t0 := time.Now()
		c1, err := s.Commit(context.Background(), CommitRequest{Ref: "refs/heads/main", Changes: all, Message: "import", Author: sig("Bench")})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := s.Commit(context.Background(), CommitRequest{Parent: c1, Ref: "refs/heads/main", Changes: upd, Message: "1%", Author: sig("Bench")}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		initial += t1.Sub(t0)
		change += t2.Sub(t1)

		b.StopTimer()
		if i == 0 && os.Getenv("GITSTORE_BENCH_FSCK") != "" {
			checkRepo(b, s)
		}
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(initial.Seconds()/float64(b.N), "s/100k-import")
	b.ReportMetric(change.Seconds()/float64(b.N), "s/1%-change")
}
