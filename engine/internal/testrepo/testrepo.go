// Package testrepo makes catalogs for tests: a repository made by gitalog
// init in a temporary directory, the environment that points a sync at a
// fake Sentry, and git run inside it.
package testrepo

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Author signs the tests' commits.
var Author = &object.Signature{Name: "Test", Email: "test@example.com"}

// Init makes a catalog in a new temporary directory and returns its path.
// HOME is a fresh directory too: no user git config or .sentryclirc.
func Init(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	t.Setenv("HOME", t.TempDir())
	if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: Author}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Env is the environment of a sync from srv's organization in data.
func Env(srv *sentrytest.Server, data *sentrytest.Dataset) func(string) string {
	env := map[string]string{
		"SENTRY_URL": srv.URL, "SENTRY_ORG": data.OrgSlug(), "SENTRY_AUTH_TOKEN": sentrytest.Token,
	}
	return func(k string) string { return env[k] }
}

// Git runs git in dir and returns its output, failing the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
