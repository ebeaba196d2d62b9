package config

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/schema"
)

// ConfigFile and BlueprintsDir are where a catalog keeps its settings.
const (
	ConfigFile    = "gitalog.yaml"
	BlueprintsDir = "blueprints"
)

// Load reads the config from an explicit path, else from the
// repository: the worktree for a normal repository, HEAD for a bare one.
func Load(store *gitstore.Store, snap *gitstore.Snapshot, explicit string) (*mapping.Config, error) {
	if explicit != "" {
		return mapping.Load(explicit)
	}
	if !store.Bare() {
		p := filepath.Join(store.Root(), ConfigFile)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("no config: %s does not exist (run \"gitalog init\", or pass --config)", p)
		}
		return mapping.Load(p)
	}
	data, err := snap.ReadFile(ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("no config: %s is not in HEAD of the bare repository %s (pass --config)", ConfigFile, store.Root())
	}
	return mapping.Parse("HEAD:"+ConfigFile, data)
}

// Blueprints reads blueprints/*.json the same way.
func Blueprints(store *gitstore.Store, snap *gitstore.Snapshot, dir string) (*schema.Set, error) {
	var bps []*schema.Blueprint
	switch {
	case dir != "":
		var err error
		if bps, err = schema.LoadDir(dir); err != nil {
			return nil, err
		}
	case !store.Bare():
		var err error
		if bps, err = schema.LoadDir(filepath.Join(store.Root(), BlueprintsDir)); err != nil {
			return nil, err
		}
	default:
		entries, err := snap.ReadDir(BlueprintsDir)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name, ".json") {
				names = append(names, e.Name)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			data, err := snap.ReadFile(path.Join(BlueprintsDir, n))
			if err != nil {
				return nil, err
			}
			more, err := schema.Parse("HEAD:"+path.Join(BlueprintsDir, n), data)
			if err != nil {
				return nil, err
			}
			bps = append(bps, more...)
		}
	}
	if len(bps) == 0 {
		return nil, fmt.Errorf("no blueprints: %s/ holds no *.json blueprint (run \"gitalog init\")", BlueprintsDir)
	}
	// Each blueprint is a directory of catalog/; on a case-insensitive file
	// system (macOS, Windows) two that differ only in case would share it.
	folded := map[string]*schema.Blueprint{}
	for _, b := range bps {
		k := strings.ToLower(catalog.EncodeDir(b.Identifier))
		if o, dup := folded[k]; dup && o.Identifier != b.Identifier {
			return nil, fmt.Errorf("blueprints %q (%s) and %q (%s) differ only in case; their catalog folders would collide on macOS and Windows", o.Identifier, o.Source, b.Identifier, b.Source)
		}
		folded[k] = b
	}
	return schema.Compile(bps)
}
