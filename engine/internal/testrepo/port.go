package testrepo

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/scaffold/porttest"
)

// PortFiles returns Port's files by their path in a catalog (see porttest).
func PortFiles() map[string][]byte { return porttest.Files() }

// InitPort is Init with Port's files in place of gitalog's defaults: for
// tests written against seed 001's issue and project blueprints.
func InitPort(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	t.Setenv("HOME", t.TempDir())
	if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: Author, Extra: PortFiles()}); err != nil {
		t.Fatal(err)
	}
	return dir
}
