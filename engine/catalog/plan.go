package catalog

import (
	"github.com/go-git/go-git/v5/plumbing"
	"iter"
	"slices"
	"strings"

	"github.com/gitalog/gitalog/engine/gitstore"
)

// File is an entity file a sync produced, as the plan sees it.
type File struct {
	Key       Key
	Dir, Stem string // catalog/<Dir>/<Stem>.json
	Hash      plumbing.Hash
	// Data is nil when the state the sync compared with holds the same
	// blob, or when it is in the sync's spool (Spooled).
	Data    []byte
	Spooled bool
	Title   string // only when the file changes, for messages
	Invalid bool   // not written: the old valid file, if any, stays
	// Same: the state the sync compared with has this very file, managed.
	Same bool
	// Conflict, set by the plan: a hand-written file is in the way.
	Conflict bool
}

// Produced is what a sync produced, for the plan and After.
type Produced interface {
	Files() iter.Seq[*File]
	Has(dir, stem string) bool
}

// Entry is one entity change, for messages and summaries.
type Entry struct {
	Key   Key
	Title string
	Data  []byte
}

// Plan is the change a sync commits.
type Plan struct {
	Changes          []gitstore.Change
	Created, Changed []Entry
	Deleted          []Entry
	Unchanged        int
	Conflicts        []string // hand-written files the sync left alone
	Claims           []Claim  // entities another source owns, left to it
	Kept             []Kept   // blueprints whose gone entities were not deleted
	Threshold        float64
}

// Paths are the paths the plan writes or deletes.
func (p *Plan) Paths() []string {
	out := make([]string, len(p.Changes))
	for i, c := range p.Changes {
		out[i] = c.Path
	}
	return out
}

// MakePlan compares the collected entities with a commit's
// A blueprint's entities that were not produced are deleted only when no
// doubt touches the blueprint and they are no more than threshold of its
// managed entities: a blueprint is judged on its own, so that a mapping
// that loses one small blueprint whole is not hidden by the big ones.
//
// When trustSame is set, cat is the catalog the stream compared with, and
// slots marked same need no lookup: the file is there, managed, unchanged.
func MakePlan(store *gitstore.Store, cat *State, prod Produced, holds *Holds, threshold float64, trustSame bool) (*Plan, error) {
	managedBefore := cat.ManagedCount()
	p := &Plan{Threshold: threshold}
	// Managed names this sync adds, and managed names produced again:
	// when that is all of them, nothing is gone and the scan of every
	// managed name below is skipped.
	added, producedManaged, err := p.produced(store, cat, prod, trustSame)
	if err != nil {
		return nil, err
	}
	// What the sync managed and did not produce this time.
	dropped := map[string][]string{} // managed names to forget
	for dir, stems := range cat.Managed {
		if producedManaged == managedBefore {
			break
		}
		var gone []gitstore.Change
		var goneEntries []Entry
		cat.gone(dir, prod, func(stem string, _ plumbing.Hash, there bool) {
			if cat.Arrived != nil && cat.Arrived(dir, stem) {
				return // written since the fetch: not this sync's to judge
			}
			if o := cat.ownerOf(dir, stem); o != nil && !o.orphan {
				// Another source lists it too (a hand edit, a bad merge
				// of the lists): whose it is is in doubt, so it stays.
				return
			}
			if !there {
				dropped[dir] = append(dropped[dir], stem) // removed by hand; just forget it
				return
			}
			filePath := Dir + "/" + dir + "/" + stem + Ext
			gone = append(gone, gitstore.Change{Path: filePath, Delete: true})
			k, decoded := DecodeKey(dir, stem)
			if !decoded {
				k = Key{Blueprint: dir, Identifier: stem}
			}
			goneEntries = append(goneEntries, Entry{Key: k})
		})
		if len(gone) == 0 {
			continue
		}
		bp, ok := DecodeDir(dir)
		if !ok {
			bp = dir
		}
		if !holds.deletesGone(dir, len(gone), len(stems), threshold) {
			k := Kept{Blueprint: bp, Entities: len(gone), Managed: len(stems)}
			if !holds.has(dir) {
				k.GaveNothing = holds.gaveNothing(dir, threshold)
				k.OverThreshold = !k.GaveNothing
			}
			p.Kept = append(p.Kept, k)
			continue
		}
		p.Changes = append(p.Changes, gone...)
		p.Deleted = append(p.Deleted, goneEntries...)
		for _, g := range gone {
			dir, stem := SplitPath(g.Path)
			dropped[dir] = append(dropped[dir], stem)
		}
	}
	slices.SortFunc(p.Kept, func(a, b Kept) int { return strings.Compare(a.Blueprint, b.Blueprint) })
	// The managed lists, rewritten only for blueprints whose set changed.
	p.writeLists(cat, added, dropped)
	p.sort()
	return p, nil
}

// TitleOf is an entity's title when it is a string, for messages.
func TitleOf(e *Entity) string {
	s, _ := e.Title.(string)
	return s
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
