package engine

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/engine/sync"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// The sync fixture validate_test.go uses, from when the sync's tests were
// in this package (see engine/sync/sync_test.go). It goes when validate
// moves to its own package.

type Options = sync.Options

func Sync(ctx context.Context, o Options) (*sync.Result, error) { return sync.Run(ctx, o) }

type fixture struct {
	t    *testing.T
	dir  string
	srv  *sentrytest.Server
	data *sentrytest.Dataset
}

var testAuthor = &object.Signature{Name: "Test", Email: "test@example.com"}

func newFixture(t *testing.T, data *sentrytest.Dataset, opts ...sentrytest.Option) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	t.Setenv("HOME", t.TempDir()) // no user git config or .sentryclirc
	if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: testAuthor}); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, dir: dir, srv: sentrytest.NewHandler(data, opts...), data: data}
}

func (f *fixture) options() Options {
	env := map[string]string{
		"SENTRY_URL": f.srv.URL, "SENTRY_ORG": f.data.OrgSlug(), "SENTRY_AUTH_TOKEN": sentrytest.Token,
	}
	return Options{Dir: f.dir, Env: func(k string) string { return env[k] }, HTTPClient: f.srv.Client(), Author: testAuthor}
}

func (f *fixture) mustSync() *sync.Result {
	f.t.Helper()
	res, err := Sync(context.Background(), f.options())
	if err != nil {
		f.t.Fatalf("sync: %v", err)
	}
	return res
}

func (f *fixture) git(args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = f.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func jsonKey(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// issueConfig writes a config mapping only issues (id, title, status,
// link) and returns its path.
func issueConfig(t *testing.T) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "issues.yaml")
	err := os.WriteFile(cfg, []byte(`resources:
  - kind: issue
    port:
      entity:
        mappings:
          identifier: .id
          title: .title
          blueprint: '"issue"'
          properties:
            status: .status
            link: .permalink
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
