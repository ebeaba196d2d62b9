package engine

import (
	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/config"
	"github.com/gitalog/gitalog/engine/gitstore"
	par "github.com/gitalog/gitalog/engine/internal/parallel"
	"github.com/gitalog/gitalog/schema"
	"github.com/go-git/go-git/v5/plumbing"
)

// What validate.go takes from the packages the engine root was split
// into, under the names it used when they were all in this package. This
// file goes when validate moves to its own package: that package uses
// catalog.ReadState, catalog.SplitPath, catalog.ManagedDir,
// catalog.Printable and config.Blueprints directly.

const ManagedDir = catalog.ManagedDir

type catalogState struct {
	files   map[string]dirFiles
	managed map[string]stemSet
}

type dirFiles catalog.DirFiles

func (d dirFiles) lookup(stem string) (plumbing.Hash, bool) { return catalog.DirFiles(d).Lookup(stem) }

type stemSet = catalog.StemSet

func readCatalog(snap *gitstore.Snapshot) (*catalogState, error) {
	s, err := catalog.ReadState(snap)
	if err != nil {
		return nil, err
	}
	c := &catalogState{files: make(map[string]dirFiles, len(s.Files)), managed: s.Managed}
	for d, f := range s.Files {
		c.files[d] = dirFiles(f)
	}
	return c, nil
}

func splitCatalogPath(p string) (dir, stem string) { return catalog.SplitPath(p) }

func loadBlueprints(store *gitstore.Store, snap *gitstore.Snapshot, dir string) (*schema.Set, error) {
	return config.Blueprints(store, snap, dir)
}

// Printable escapes control characters and invalid UTF-8 (see
// catalog.Printable).
func Printable(s string) string { return catalog.Printable(s) }

func parallel(n int, fn func(i int)) { par.For(n, fn) }
