package query

import (
	"context"
	"fmt"
	"maps"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/schema"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Catalog is the catalog of one commit: its entities, and what its
// blueprints say each relation points at.
type Catalog struct {
	Rev review.Rev
	// Entities are sorted by blueprint, then identifier.
	Entities []*catalog.Entity
	// Warnings name what was not read (a file that is no entity, a
	// blueprint file that does not parse), one a line.
	Warnings []string
	// targets is blueprint -> relation -> target blueprint.
	targets map[string]map[string]string
	// props is blueprint -> its properties.
	props   map[string]map[string]bool
	objects []any                     // Entities as jq values, in order
	index   map[string]map[string]any // blueprint -> identifier -> object
}

// Load reads the catalog of rev's commit: every catalog/<blueprint>/*.json
// blob, decoded on all cores, and the relations of blueprints/*.json.
func Load(ctx context.Context, repo *review.Repo, rev review.Rev) (*Catalog, error) {
	snap, err := repo.Store.Snapshot(rev.Commit)
	if err != nil {
		return nil, err
	}
	c := &Catalog{Rev: rev, targets: map[string]map[string]string{}, props: map[string]map[string]bool{}, index: map[string]map[string]any{}}
	c.readBlueprints(snap)

	dirs, err := snap.ReadDir(catalog.Dir)
	if err != nil {
		return nil, err
	}
	var files []gitstore.Entry
	var paths []string
	for _, d := range dirs {
		if d.Mode != filemode.Dir {
			continue
		}
		es, err := snap.ReadDir(catalog.Dir + "/" + d.Name)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if (e.Mode == filemode.Regular || e.Mode == filemode.Executable) && strings.HasSuffix(e.Name, catalog.Ext) {
				files = append(files, e)
				paths = append(paths, catalog.Dir+"/"+d.Name+"/"+e.Name)
			}
		}
	}
	// One goroutine reads the blobs in one pass; the others decode.
	ents := make([]*catalog.Entity, len(files))
	undecoded := make([]error, len(files)) // the file's: left out
	hashes := make([]plumbing.Hash, len(files))
	for i, f := range files {
		hashes[i] = f.Hash
	}
	type blob struct {
		i    int
		data []byte
	}
	work := make(chan blob, 256)
	var wg sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				ents[b.i], undecoded[b.i] = catalog.Decode(b.data)
			}
		}()
	}
	err = repo.Store.ReadBlobs(hashes, func(i int, data []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		work <- blob{i, data}
		return nil
	})
	close(work)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", catalog.Dir, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, e := range ents {
		if undecoded[i] != nil {
			// A query answers about what is there; validate reports the rest.
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: not an entity, left out: %v", paths[i], undecoded[i]))
			continue
		}
		c.Entities = append(c.Entities, e)
	}
	slices.SortFunc(c.Entities, func(a, b *catalog.Entity) int {
		if x := strings.Compare(a.Blueprint, b.Blueprint); x != 0 {
			return x
		}
		return strings.Compare(a.Identifier, b.Identifier)
	})
	c.objects = make([]any, len(c.Entities))
	for i, e := range c.Entities {
		m := e.ToMap()
		c.objects[i] = m
		bp := c.index[e.Blueprint]
		if bp == nil {
			bp = map[string]any{}
			c.index[e.Blueprint] = bp
		}
		bp[e.Identifier] = m
	}
	return c, nil
}

// readBlueprints notes each relation's target. A blueprint file that does
// not parse is a warning: the entities are there whatever their schema.
func (c *Catalog) readBlueprints(snap *gitstore.Snapshot) {
	const dir = "blueprints"
	es, err := snap.ReadDir(dir)
	if err != nil {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s/: %v", dir, err))
		return
	}
	for _, e := range es {
		if !strings.HasSuffix(e.Name, ".json") || e.Mode == filemode.Dir {
			continue
		}
		p := path.Join(dir, e.Name)
		data, err := snap.ReadFile(p)
		var bps []*schema.Blueprint
		if err == nil {
			bps, err = schema.Parse(p, data)
		}
		if err != nil {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: relations unknown: %v", p, err))
			continue
		}
		for _, b := range bps {
			m := map[string]string{}
			for name, r := range b.Relations {
				m[name] = r.Target
			}
			c.targets[b.Identifier] = m
			ps := map[string]bool{}
			for name := range b.Properties {
				ps[name] = true
			}
			c.props[b.Identifier] = ps
		}
	}
}

// Target is the blueprint relation rel of blueprint bp points at.
func (c *Catalog) Target(bp, rel string) (string, bool) {
	t, ok := c.targets[bp][rel]
	return t, ok
}

// HasProperty reports whether blueprint bp has the property name.
func (c *Catalog) HasProperty(bp, name string) bool { return c.props[bp][name] }

// HasBlueprint reports whether the catalog's blueprints define bp.
func (c *Catalog) HasBlueprint(bp string) bool {
	_, ok := c.targets[bp]
	return ok
}

// Relations are the names of blueprint bp's relations, sorted.
func (c *Catalog) Relations(bp string) []string {
	return slices.Sorted(maps.Keys(c.targets[bp]))
}

// Lookup finds an entity as a jq value.
func (c *Catalog) Lookup(bp, id string) (any, bool) {
	v, ok := c.index[bp][id]
	return v, ok
}
