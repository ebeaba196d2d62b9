package review_test

import (
	"context"
	"flag"
	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/sync"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/go-git/go-git/v5/plumbing/object"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

var testAuthor = &object.Signature{Name: "Test", Email: "test@example.com"}

// repo is a catalog built by gitalog itself (init, syncs from the fake
// Sentry) plus hand-made commits with real git.
type repo struct {
	t    *testing.T
	dir  string
	srv  *sentrytest.Server
	data *sentrytest.Dataset
	tick int // commit dates of hand commits, for stable output
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: testAuthor, Branch: "main", Extra: testrepo.PortFiles()}); err != nil {
		t.Fatal(err)
	}
	data := sentrytest.Demo()
	return &repo{t: t, dir: dir, srv: sentrytest.NewHandler(data), data: data}
}

func (r *repo) sync() {
	r.t.Helper()
	env := map[string]string{"SENTRY_URL": r.srv.URL, "SENTRY_ORG": r.data.OrgSlug(), "SENTRY_AUTH_TOKEN": sentrytest.Token}
	one := 1.0
	_, err := sync.Run(context.Background(), sync.Options{Dir: r.dir, Env: func(k string) string { return env[k] },
		HTTPClient: r.srv.Client(), Author: testAuthor, DeleteThreshold: &one})
	if err != nil {
		r.t.Fatalf("sync: %v", err)
	}
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	r.tick++
	date := "2024-03-01T12:00:" + twoDigits(r.tick) + "Z"
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Hand", "GIT_AUTHOR_EMAIL=hand@example.com",
		"GIT_COMMITTER_NAME=Hand", "GIT_COMMITTER_EMAIL=hand@example.com",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10%6), byte('0' + n%10)}) }

func (r *repo) rev(rev string) string {
	r.t.Helper()
	return strings.TrimSpace(r.git("rev-parse", rev))
}

// write writes an entity file (canonically encoded) and stages it.
func (r *repo) write(e *catalog.Entity) {
	r.t.Helper()
	r.writeRaw(catalog.Path(e.Key()), e.Encode())
}

func (r *repo) writeRaw(p string, data []byte) {
	r.t.Helper()
	full := filepath.Join(r.dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git("add", "--", p)
}

func (r *repo) read(k catalog.Key) *catalog.Entity {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(catalog.Path(k))))
	if err != nil {
		r.t.Fatal(err)
	}
	e, err := catalog.Decode(data)
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

func (r *repo) commit(msg string) string {
	r.t.Helper()
	r.git("commit", "-q", "-m", msg)
	return r.rev("HEAD")
}

func (r *repo) open() *review.Repo {
	r.t.Helper()
	rp, err := review.Open(r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	return rp
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}
