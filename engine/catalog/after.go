package catalog

import (
	"fmt"
	"github.com/gitalog/gitalog/engine/internal/parallel"
	gosync "sync"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
)

// A sync that keeps entities it cannot vouch for deleting (a doubt on
// their blueprint, or the deletion threshold) must relate to them as the
// sync that mapped them did: a project whose search matched a kept team
// still relates to it, and is not rewritten with the relation cleared
// because the teams failed to fetch. And a relation to an entity the
// commit deletes points at nothing. So search relations and relation
// checks are made against the catalog as the commit will leave it: this
// sync's entities, and the target's files the plan will not delete.

// After tells, before the plan, what the plan leaves of the target's
//
//	It decides with the plan's own rule (deletesGone), over the
//
// same entities, holds and threshold.
type After struct {
	cat       *State
	prod      Produced
	holds     *Holds
	threshold float64

	mu      gosync.Mutex
	deletes map[string]bool // blueprint dir -> the plan deletes its gone entities
}

// NewAfter is what the plan will leave of cat, given what the sync
// produced, the holds and the deletion threshold.
func NewAfter(cat *State, prod Produced, holds *Holds, threshold float64) *After {
	return &After{cat: cat, prod: prod, holds: holds, threshold: threshold, deletes: map[string]bool{}}
}

// DeletesGone reports whether the plan deletes the managed entities of dir
// that this sync did not produce. A folder is counted when first asked:
// a sync whose relations all point at entities it produced never asks.
func (a *After) DeletesGone(dir string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d, ok := a.deletes[dir]; ok {
		return d
	}
	gone := 0
	a.cat.gone(dir, a.prod, func(_ string, _ plumbing.Hash, there bool) {
		if there {
			gone++
		}
	})
	d := a.holds.deletesGone(dir, gone, len(a.cat.Managed[dir]), a.threshold)
	a.deletes[dir] = d
	return d
}

// Stays reports whether the target's file dir/stem, which this sync did
// not produce, is still there after the commit: a hand-written one always
// is, a managed one unless the plan deletes its folder's gone entities.
func (a *After) Stays(dir, stem string) bool {
	if _, ok := a.cat.Files[dir].Lookup(stem); !ok {
		return false
	}
	return !a.cat.Managed[dir].Has(stem) || !a.DeletesGone(dir)
}

// Kept reads the entities of blueprint bp that the sync wrote before, did
// not produce this time, and does not delete: those a search relation
// matches in the catalog after the commit besides this sync's own. Only a
// doubt or a refused deletion keeps any, so a sync that can vouch for its
// deletions reads nothing. Hand-written files are not searched, in this
// sync as in any other.
func (a *After) Kept(store *gitstore.Store, bp string) ([]*Entity, error) {
	dir := EncodeDir(bp)
	if len(a.cat.Managed[dir]) == 0 || a.DeletesGone(dir) {
		return nil, nil
	}
	var stems []string
	var blobs []plumbing.Hash
	a.cat.gone(dir, a.prod, func(stem string, blob plumbing.Hash, there bool) {
		if there {
			stems, blobs = append(stems, stem), append(blobs, blob)
		}
	})
	return ReadEntities(store, dir, bp, stems, blobs, "kept in the catalog")
}

// Others reads the entities of blueprint bp whose files another scope's
// lists hold (a source's, or an orphan's this sync does not take over),
// and those another writer added to this scope's since the fetch
// (Arrived): whatever this sync does, they stay. A rule relation of a
// hand-written entity, which every source states, matches them as this
// sync's own.
func (a *After) Others(store *gitstore.Store, bp string) ([]*Entity, error) {
	return a.cat.Others(store, bp, a.prod)
}

// Others is After.Others for a State and what a sync produced.
func (c *State) Others(store *gitstore.Store, bp string, prod Produced) ([]*Entity, error) {
	dir := EncodeDir(bp)
	seen := map[string]bool{}
	var stems []string
	var blobs []plumbing.Hash
	add := func(stem string) {
		if seen[stem] || prod.Has(dir, stem) {
			return
		}
		seen[stem] = true
		if blob, ok := c.Files[dir].Lookup(stem); ok {
			stems, blobs = append(stems, stem), append(blobs, blob)
		}
	}
	for _, o := range c.owners {
		for _, stem := range o.lists[dir] {
			if !c.Managed[dir].Has(stem) {
				add(stem)
			}
		}
	}
	if c.Arrived != nil {
		for _, stem := range c.Managed[dir] {
			if c.Arrived(dir, stem) {
				add(stem)
			}
		}
	}
	return ReadEntities(store, dir, bp, stems, blobs, "written by another")
}

// ReadEntities reads the files catalog/<dir>/<stem>.json (blobs[i] holds
// stems[i]) that are entities of bp; a file edited by hand into something
// that is not one is skipped. what says, in an error, whose they are.
func ReadEntities(store *gitstore.Store, dir, bp string, stems []string, blobs []plumbing.Hash, what string) ([]*Entity, error) {
	es := make([]*Entity, len(blobs))
	errs := make([]error, len(blobs))
	parallel.For(len(blobs), func(i int) {
		data, err := store.ReadBlob(blobs[i])
		if err != nil {
			errs[i] = fmt.Errorf("reading %s/%s/%s%s, %s: %w", Dir, dir, stems[i], Ext, what, err)
			return
		}
		if e, err := Decode(data); err == nil && e.Blueprint == bp {
			es[i] = e
		}
	})
	out := es[:0]
	for i, e := range es {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if e != nil {
			out = append(out, e)
		}
	}
	return out, nil
}
