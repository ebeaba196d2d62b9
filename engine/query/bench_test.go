package query

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/gitalog/gitalog/engine/review"
)

var (
	bigOnce sync.Once
	bigRepo *review.Repo
	bigDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

// big is a committed catalog of 100k issues (and a few teams, users and
// projects), built once per process.
func big(b *testing.B) *review.Repo {
	bigOnce.Do(func() {
		// Not b.TempDir: the repository outlives the first benchmark.
		dir, err := os.MkdirTemp("", "gitalog-query-bench")
		if err != nil {
			b.Fatal(err)
		}
		bigDir = dir
		bigRepo = makeCatalogIn(b, dir, smallCatalog(100_000))
	})
	return bigRepo
}

// BenchmarkLoad reads a 100k-entity catalog from the object store: every
// blob, decoded on all cores.
func BenchmarkLoad(b *testing.B) {
	repo := big(b)
	rev, err := repo.At("")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Load(context.Background(), repo, rev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJQJoin is a select with a two-hop related() on each of 100k issues.
func BenchmarkJQJoin(b *testing.B) {
	c := load(b, big(b))
	b.ResetTimer()
	for b.Loop() {
		n := 0
		err := c.JQ(`.[] | select(.blueprint == "issue" and .properties.status == "unresolved") | select(related("project") | related("team").identifier == "web")`, Limits, func(any) error { n++; return nil })
		if err != nil || n == 0 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkSearch is a nested search body with a relatedTo over 100k issues.
func BenchmarkSearch(b *testing.B) {
	c := load(b, big(b))
	s, err := ParseSearch([]byte(`{"combinator":"and","rules":[{"property":"$blueprint","operator":"=","value":"issue"},{"property":"status","operator":"=","value":"unresolved"},{"combinator":"or","rules":[{"operator":"relatedTo","blueprint":"user","value":["ann","cid"],"direction":"downstream"}]}]}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if len(c.Search(s)) == 0 {
			b.Fatal("no match")
		}
	}
}
