package sync

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
)

// entry is one entity change, for messages and summaries.
type entry struct {
	Key   catalog.Key
	Title string
	data  []byte
}

type plan struct {
	changes          []gitstore.Change
	created, changed []entry
	deleted          []entry
	unchanged        int
	conflicts        []string // hand-written files the sync left alone
	kept             []Kept   // blueprints whose gone entities were not deleted
	threshold        float64
}

func (p *plan) paths() []string {
	out := make([]string, len(p.changes))
	for i, c := range p.changes {
		out[i] = c.Path
	}
	return out
}

// makePlan compares the collected entities with a commit's catalog.
// A blueprint's entities that were not produced are deleted only when no
// doubt touches the blueprint and they are no more than threshold of its
// managed entities: a blueprint is judged on its own, so that a mapping
// that loses one small blueprint whole is not hidden by the big ones.
//
// When trustSame is set, cat is the catalog the stream compared with, and
// slots marked same need no lookup: the file is there, managed, unchanged.
func makePlan(store *gitstore.Store, cat *catalog.State, coll *collection, doubt *doubtSet, threshold float64, trustSame bool) (*plan, error) {
	managedBefore := cat.ManagedCount()
	p := &plan{threshold: threshold}
	// Managed names this sync adds, and blueprints whose managed set
	// changes; an unchanged catalog builds no set at all.
	added := map[string][]string{}
	// Slots that kept their bytes are (nearly all) the changes: sized once,
	// the lists are not copied over and over as a first sync grows them.
	n := 0
	for _, sl := range coll.slots {
		if sl.data != nil || sl.spooled {
			n++
		}
	}
	p.changes = make([]gitstore.Change, 0, n+len(cat.Managed)+1)
	// Managed names produced again: when that is all of them, nothing is
	// gone and the scan of every managed name below is skipped.
	producedManaged := 0
	for _, sl := range coll.slots {
		same := sl.same && trustSame
		managed := same || cat.Managed[sl.dir].Has(sl.stem)
		if managed {
			producedManaged++
		}
		if sl.invalid {
			continue
		}
		if same {
			sl.conflict = false
			p.unchanged++
			continue
		}
		old, exists := cat.Files[sl.dir].Lookup(sl.stem)
		sl.conflict = exists && !managed
		if sl.conflict {
			p.conflicts = append(p.conflicts, catalog.Dir+"/"+sl.dir+"/"+sl.stem+catalog.Ext)
			continue
		}
		if !managed {
			added[sl.dir] = append(added[sl.dir], sl.stem)
		}
		if exists && old == sl.hash {
			p.unchanged++
			continue
		}
		filePath := catalog.Dir + "/" + sl.dir + "/" + sl.stem + catalog.Ext
		data := sl.data
		if data == nil && !sl.spooled {
			// Dropped as equal to the commit the stream compared with; the
			// sync is now planning against another (the remote moved).
			var err error
			if data, err = store.ReadBlob(sl.hash); err != nil {
				return nil, fmt.Errorf("reading %s: %w", filePath, err)
			}
		}
		p.changes = append(p.changes, gitstore.Change{Path: filePath, Content: data, Hash: sl.hash})
		title := sl.title
		if sl.data == nil && !sl.spooled {
			if e, err := catalog.Decode(data); err == nil {
				title = titleOf(e)
			}
		}
		en := entry{sl.key, title, data}
		if exists {
			p.changed = append(p.changed, en)
		} else {
			if p.created == nil {
				p.created = make([]entry, 0, n)
			}
			p.created = append(p.created, en)
		}
	}
	// What the sync managed and did not produce this time.
	dropped := map[string][]string{} // managed names to forget
	for dir, stems := range cat.Managed {
		if producedManaged == managedBefore {
			break
		}
		var gone []gitstore.Change
		var goneEntries []entry
		for _, stem := range stems {
			if sl := coll.slots[pathKey{dir, stem}]; sl != nil {
				// Produced again (a managed name is never a conflict), or
				// still upstream but invalid now: the old valid file stays.
				continue
			}
			if _, exists := cat.Files[dir].Lookup(stem); !exists {
				dropped[dir] = append(dropped[dir], stem) // removed by hand; just forget it
				continue
			}
			filePath := catalog.Dir + "/" + dir + "/" + stem + catalog.Ext
			gone = append(gone, gitstore.Change{Path: filePath, Delete: true})
			k, decoded := catalog.DecodeKey(dir, stem)
			if !decoded {
				k = catalog.Key{Blueprint: dir, Identifier: stem}
			}
			goneEntries = append(goneEntries, entry{Key: k})
		}
		if len(gone) == 0 {
			continue
		}
		bp, ok := catalog.DecodeDir(dir)
		if !ok {
			bp = dir
		}
		if !deletesGone(doubt, dir, len(gone), len(stems), threshold) {
			k := Kept{Blueprint: bp, Entities: len(gone), Managed: len(stems)}
			if !doubt.has(dir) {
				k.GaveNothing = doubt.gaveNothing(dir, threshold)
				k.OverThreshold = !k.GaveNothing
			}
			p.kept = append(p.kept, k)
			continue
		}
		p.changes = append(p.changes, gone...)
		p.deleted = append(p.deleted, goneEntries...)
		for _, g := range gone {
			dir, stem := catalog.SplitPath(g.Path)
			dropped[dir] = append(dropped[dir], stem)
		}
	}
	slices.SortFunc(p.kept, func(a, b Kept) int { return strings.Compare(a.Blueprint, b.Blueprint) })
	// The managed lists, rewritten only for blueprints whose set changed.
	dirs := map[string]bool{}
	for d := range added {
		dirs[d] = true
	}
	for d := range dropped {
		dirs[d] = true
	}
	for d := range dirs {
		listPath := path.Join(catalog.ManagedDir, d+".txt")
		if len(cat.Managed[d]) == 0 && len(dropped[d]) == 0 {
			// A first sync's list: exactly the added names, each once (a
			// slot per file), sorted without a set of 100k.
			names := slices.Clone(added[d])
			slices.Sort(names)
			p.changes = append(p.changes, gitstore.Change{Path: listPath, Content: joinLines(names)})
			continue
		}
		set := make(map[string]bool, len(cat.Managed[d])+len(added[d]))
		for _, stem := range cat.Managed[d] {
			set[stem] = true
		}
		for _, stem := range dropped[d] {
			delete(set, stem)
		}
		for _, stem := range added[d] {
			set[stem] = true
		}
		if len(set) == 0 {
			if len(cat.Managed[d]) > 0 {
				p.changes = append(p.changes, gitstore.Change{Path: listPath, Delete: true})
			}
			continue
		}
		p.changes = append(p.changes, gitstore.Change{Path: listPath, Content: managedList(set)})
	}
	slices.SortFunc(p.changes, func(a, b gitstore.Change) int { return strings.Compare(a.Path, b.Path) })
	for _, l := range [][]entry{p.created, p.changed, p.deleted} {
		slices.SortFunc(l, func(a, b entry) int {
			if a.Key.Blueprint != b.Key.Blueprint {
				return strings.Compare(a.Key.Blueprint, b.Key.Blueprint)
			}
			return strings.Compare(a.Key.Identifier, b.Key.Identifier)
		})
	}
	sort.Strings(p.conflicts)
	return p, nil
}

// deletesGone reports whether a sync deletes the gone entities of the
// blueprint folder dir: the gone of its managed entities whose files are
// there but which the sync did not produce.
// The relation checks ask it too, before the plan, so that they see the
// catalog the plan will make.
func deletesGone(doubt *doubtSet, dir string, gone, managed int, threshold float64) bool {
	return gone > 0 && !doubt.has(dir) && !doubt.gaveNothing(dir, threshold) && float64(gone)/float64(managed) <= threshold
}

func titleOf(e *catalog.Entity) string {
	s, _ := e.Title.(string)
	return s
}

func managedList(set map[string]bool) []byte {
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return joinLines(names)
}

// joinLines is the managed list's format: one name a line.
func joinLines(names []string) []byte {
	n := 0
	for _, s := range names {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	for _, s := range names {
		b = append(b, s...)
		b = append(b, '\n')
	}
	return b
}
