package engine

import (
	"strconv"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/schema"
)

// LoadBlueprints reads the blueprints as a sync does: from dir when set,
// else from the worktree's blueprints/ (HEAD's in a bare repository).
func LoadBlueprints(store *gitstore.Store, snap *gitstore.Snapshot, dir string) (*schema.Set, error) {
	return loadBlueprints(store, snap, dir)
}

// ManagedLists returns the managed lists a commit holds: per catalog
// folder, the sorted stems of the files the sync wrote there.
func ManagedLists(snap *gitstore.Snapshot) (map[string][]string, error) {
	c, err := readCatalog(snap)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(c.managed))
	for dir, set := range c.managed {
		out[dir] = set
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
