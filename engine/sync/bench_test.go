package sync

import (
	"bufio"
	"bytes"
	"context"
	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/scaffold"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitalog/gitalog/blueprints"
	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/jsonx"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/schema"
)

// benchConfig is bench/issues.yaml, the benchmark's mapping.
const benchConfig = "../../bench/issues.yaml"

// benchDump writes a --replay folder of n generated issues over 50
// projects (as `gitalog fake-sentry --dump` does) and returns it.
func benchDump(b *testing.B, n int) string {
	b.Helper()
	data := sentrytest.Generate(sentrytest.GenOptions{Seed: 1, Projects: 50, Issues: n, Teams: 8, Members: 40})
	srv := sentrytest.NewHandler(data)
	env := map[string]string{"SENTRY_URL": srv.URL, "SENTRY_ORG": data.OrgSlug(), "SENTRY_AUTH_TOKEN": sentrytest.Token}
	out := filepath.Join(b.TempDir(), "dump")
	if _, err := Dump(context.Background(), Options{ConfigPath: benchConfig, Dir: ".",
		Env: func(k string) string { return env[k] }, HTTPClient: srv.Client(), Concurrency: 8}, out); err != nil {
		b.Fatal(err)
	}
	return out
}

// benchLines returns the first n raw issue lines of a dump.
func benchLines(b *testing.B, dump string, n int) [][]byte {
	b.Helper()
	f, err := os.Open(filepath.Join(dump, "issue.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var lines [][]byte
	for sc.Scan() && len(lines) < n {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	return lines
}

func benchBlueprints(b *testing.B) *schema.Set {
	b.Helper()
	var bps []*schema.Blueprint
	for name, data := range blueprints.Files() {
		got, err := schema.Parse(name, data)
		if err != nil {
			b.Fatal(err)
		}
		bps = append(bps, got...)
	}
	s, err := schema.Compile(bps)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkItem measures each step a raw issue goes through in a sync, one
// issue per op, over 1000 generated issues: decode (jsonx), map (the
// benchmark's jq mapping), validate (blueprint), encode (canonical JSON),
// hash (git blob id) and path (file name), and all of them in a row.
func BenchmarkItem(b *testing.B) {
	lines := benchLines(b, benchDump(b, 1000), 1000)
	cfg, err := mapping.Load(benchConfig)
	if err != nil {
		b.Fatal(err)
	}
	res := cfg.Resources[0]
	set := benchBlueprints(b)
	var dec jsonx.Decoder
	items := make([]any, len(lines))
	ents := make([]*catalog.Entity, len(lines))
	blobs := make([][]byte, len(lines))
	var size int64
	for i, l := range lines {
		size += int64(len(l))
		if items[i], err = dec.Decode(l); err != nil {
			b.Fatal(err)
		}
		es, issues := res.Map(items[i])
		if len(es) != 1 || len(issues) != 0 {
			b.Fatalf("mapped %d entities, issues %v", len(es), issues)
		}
		ents[i] = es[0]
		blobs[i] = es[0].Encode()
	}
	n := len(lines)
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(size / int64(n))
		b.ReportAllocs()
		var d jsonx.Decoder
		for i := 0; b.Loop(); i++ {
			if _, err := d.Decode(lines[i%n]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			res.Map(items[i%n])
		}
	})
	b.Run("validate", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			set.Validate(ents[i%n])
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ents[i%n].Encode()
		}
	})
	b.Run("hash", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			gitstore.BlobHash(blobs[i%n])
		}
	})
	b.Run("path", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			catalog.Path(ents[i%n].Key())
		}
	})
	b.Run("all", func(b *testing.B) {
		b.SetBytes(size / int64(n))
		b.ReportAllocs()
		var d jsonx.Decoder
		for i := 0; b.Loop(); i++ {
			it, err := d.Decode(lines[i%n])
			if err != nil {
				b.Fatal(err)
			}
			es, _ := res.Map(it)
			for _, e := range es {
				set.Validate(e)
				gitstore.BlobHash(e.Encode())
				catalog.Path(e.Key())
			}
		}
	})
}

// BenchmarkSyncReplay10k is a whole sync in process from a 10k-issue
// replay folder into a bare repository: the initial import (a fresh
// repository each op) and an unchanged resync. It is the Go-level twin of
// bench/run.sh (which runs the binary at 10k to 300k).
func BenchmarkSyncReplay10k(b *testing.B) {
	b.Setenv("HOME", b.TempDir())
	dump := benchDump(b, 10000)
	fresh := func() string {
		dir := filepath.Join(b.TempDir(), "cat.git")
		if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: testAuthor, Extra: testrepo.PortFiles()}); err != nil {
			b.Fatal(err)
		}
		return dir
	}
	opts := func(dir string) Options {
		return Options{Dir: dir, ConfigPath: benchConfig, Replay: dump, Author: testAuthor, Env: func(string) string { return "" }}
	}
	b.Run("initial", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			dir := fresh()
			b.StartTimer()
			if _, err := Run(context.Background(), opts(dir)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(10000*float64(b.N)/b.Elapsed().Seconds(), "issues/s")
	})
	b.Run("unchanged", func(b *testing.B) {
		dir := fresh()
		if _, err := Run(context.Background(), opts(dir)); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := Run(context.Background(), opts(dir)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(10000*float64(b.N)/b.Elapsed().Seconds(), "issues/s")
	})
}
