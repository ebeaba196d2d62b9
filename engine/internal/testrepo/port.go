package testrepo

import (
	"context"
	"embed"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/gitalog/gitalog/engine/scaffold"
)

// The files a Port user brings, unchanged: Port's default Sentry mapping
// followed by seed 001's project and issue mappings (shared/port-sentry's
// port-and-seed-config.yaml), Port's blueprints.json and seed 001's two
// blueprints. Tests written against the issue and project blueprints run
// on these, and so keep showing that Port's files run as they are.
//
//go:embed port/gitalog.yaml port/blueprints/*.json
var portFS embed.FS

// PortFiles returns Port's files by their path in a catalog.
func PortFiles() map[string][]byte {
	out := map[string][]byte{}
	_ = fs.WalkDir(portFS, "port", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := portFS.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("port", p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	return out
}

// InitPort is Init with Port's files in place of gitalog's defaults.
func InitPort(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	t.Setenv("HOME", t.TempDir())
	if err := ScaffoldPort(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ScaffoldPort runs gitalog init in dir, writing Port's files instead of
// the defaults.
func ScaffoldPort(dir string) error {
	_, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: Author, Extra: PortFiles()})
	return err
}
