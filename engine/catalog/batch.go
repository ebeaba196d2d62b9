package catalog

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/gitalog/gitalog/engine/gitstore"
)

// A batch (a webhook's few items) decides about a few entities only: the
// catalog's other files are neither read nor judged. Its state holds the
// folders it touches, and its plan deletes only what it names.

// ReadDirState reads, of a commit, only the given blueprint folders'
// trees and managed lists: what a batch needs of a catalog of 100k files.
// A folder already in c is not read again.
func (c *State) ReadDirState(snap *gitstore.Snapshot, dirs ...string) error {
	var fresh []string
	for _, dir := range dirs {
		if _, ok := c.Files[dir]; ok {
			continue
		}
		fresh = append(fresh, dir)
		entries, err := snap.ReadDir(Dir + "/" + dir)
		if err != nil {
			return err
		}
		if entries == nil {
			entries = DirFiles{} // read, and empty
		}
		c.Files[dir] = entries
		list := path.Join(c.Scope.ManagedDir(), dir+".txt")
		if _, ok := snap.Lookup(list); !ok {
			continue
		}
		data, err := snap.ReadFile(list)
		if err != nil {
			return err
		}
		c.Managed[dir] = parseManaged(data)
	}
	if len(fresh) == 0 {
		return nil
	}
	return c.readOwners(snap, c.live, fresh)
}

// MakeBatchPlan is the plan of a batch: it writes what prod produced, as
// MakePlan does, and deletes the managed files of del that prod did not
// produce. Every other file stays as it is: a batch deletes nothing it did
// not decide about, and never a hand-written file. cat must hold the
// folders of prod and del (see ReadDirState).
func MakeBatchPlan(store *gitstore.Store, cat *State, prod Produced, del []Key) (*Plan, error) {
	p := &Plan{}
	added, _, err := p.produced(store, cat, prod, false)
	if err != nil {
		return nil, err
	}
	dropped := map[string][]string{}
	seen := map[Key]bool{}
	for _, k := range del {
		if seen[k] {
			continue
		}
		seen[k] = true
		dir, stem := EncodeDir(k.Blueprint), EncodeName(k.Identifier)
		if _, read := cat.Files[dir]; !read {
			return nil, fmt.Errorf("batch plan: folder %s/%s was not read", Dir, dir)
		}
		if prod.Has(dir, stem) || !cat.Managed[dir].Has(stem) {
			continue
		}
		dropped[dir] = append(dropped[dir], stem)
		if _, there := cat.Files[dir].Lookup(stem); there {
			p.Changes = append(p.Changes, gitstore.Change{Path: Dir + "/" + dir + "/" + stem + Ext, Delete: true})
			p.Deleted = append(p.Deleted, Entry{Key: k})
		}
	}
	p.writeLists(cat, added, dropped)
	p.sort()
	return p, nil
}

// produced adds to the plan the files prod produced that differ from cat,
// and returns the names that become managed and how many managed names
// were produced again.
func (p *Plan) produced(store *gitstore.Store, cat *State, prod Produced, trustSame bool) (added map[string][]string, producedManaged int, err error) {
	added = map[string][]string{}
	// Slots that kept their bytes are (nearly all) the changes: sized once,
	// the lists are not copied over and over as a first sync grows them.
	n := 0
	for sl := range prod.Files() {
		if sl.Data != nil || sl.Spooled {
			n++
		}
	}
	p.Changes = make([]gitstore.Change, 0, n+len(cat.Managed)+1)
	var adopted []*owner
	defer func() {
		// The orphans' lists lose what was taken over; a plan made again
		// (a push race) starts from the lists as read.
		seen := map[*owner]bool{}
		for _, o := range adopted {
			if !seen[o] {
				seen[o] = true
				p.writeOwnerLists(o)
			}
		}
	}()
	for sl := range prod.Files() {
		same := sl.Same && trustSame
		managed := same || cat.Managed[sl.Dir].Has(sl.Stem)
		if managed {
			producedManaged++
		}
		if sl.Invalid {
			continue
		}
		if managed && len(cat.owners) > 0 {
			if o := cat.ownerOf(sl.Dir, sl.Stem); o != nil && !o.orphan {
				// Listed by this source and by another: neither writes it
				// until the lists say whose it is.
				sl.Conflict = true
				p.Claims = append(p.Claims, Claim{Key: sl.Key, Path: Dir + "/" + sl.Dir + "/" + sl.Stem + Ext, Owner: o.scope, Both: true})
				continue
			}
		}
		if same {
			sl.Conflict = false
			p.Unchanged++
			continue
		}
		old, exists := cat.Files[sl.Dir].Lookup(sl.Stem)
		if !managed {
			// Another source's file (or its name, the file removed by
			// hand) is that source's while it is configured; an orphan's
			// (the catalog before it had sources, a source since removed)
			// is taken over by the first source that produces it.
			if o := cat.ownerOf(sl.Dir, sl.Stem); o != nil {
				if !o.orphan {
					sl.Conflict = true
					p.Claims = append(p.Claims, Claim{Key: sl.Key, Path: Dir + "/" + sl.Dir + "/" + sl.Stem + Ext, Owner: o.scope})
					continue
				}
				o.adopt(sl.Dir, sl.Stem)
				adopted = append(adopted, o)
				managed = true
				added[sl.Dir] = append(added[sl.Dir], sl.Stem)
			}
		}
		sl.Conflict = exists && !managed
		if sl.Conflict {
			p.Conflicts = append(p.Conflicts, Dir+"/"+sl.Dir+"/"+sl.Stem+Ext)
			continue
		}
		if !managed {
			added[sl.Dir] = append(added[sl.Dir], sl.Stem)
		}
		if exists && old == sl.Hash {
			p.Unchanged++
			continue
		}
		filePath := Dir + "/" + sl.Dir + "/" + sl.Stem + Ext
		data := sl.Data
		if data == nil && !sl.Spooled {
			// Dropped as equal to the commit the stream compared with; the
			// sync is now planning against another (the remote moved).
			if data, err = store.ReadBlob(sl.Hash); err != nil {
				return nil, 0, fmt.Errorf("reading %s: %w", filePath, err)
			}
		}
		p.Changes = append(p.Changes, gitstore.Change{Path: filePath, Content: data, Hash: sl.Hash})
		title := sl.Title
		if sl.Data == nil && !sl.Spooled {
			if e, err := Decode(data); err == nil {
				title = TitleOf(e)
			}
		}
		en := Entry{sl.Key, title, data}
		if exists {
			p.Changed = append(p.Changed, en)
		} else {
			if p.Created == nil {
				p.Created = make([]Entry, 0, n)
			}
			p.Created = append(p.Created, en)
		}
	}
	return added, producedManaged, nil
}

// writeLists rewrites the managed lists of the blueprints whose set
// changes: the old list (sorted, each name once) less dropped, merged with
// added, which holds no managed name.
func (p *Plan) writeLists(cat *State, added, dropped map[string][]string) {
	dirs := map[string]bool{}
	for d := range added {
		dirs[d] = true
	}
	for d := range dropped {
		dirs[d] = true
	}
	for d := range dirs {
		listPath := path.Join(cat.Scope.ManagedDir(), d+".txt")
		drop := make(map[string]bool, len(dropped[d]))
		for _, s := range dropped[d] {
			drop[s] = true
		}
		add := slices.Clone(added[d])
		slices.Sort(add)
		add = slices.Compact(add)
		old := cat.Managed[d]
		names := make([]string, 0, len(old)+len(add))
		i := 0
		for _, s := range old {
			if drop[s] {
				continue
			}
			for i < len(add) && add[i] < s {
				names = append(names, add[i])
				i++
			}
			if i < len(add) && add[i] == s {
				i++
			}
			names = append(names, s)
		}
		names = append(names, add[i:]...)
		if len(names) == 0 {
			if len(old) > 0 {
				p.Changes = append(p.Changes, gitstore.Change{Path: listPath, Delete: true})
			}
			continue
		}
		p.Changes = append(p.Changes, gitstore.Change{Path: listPath, Content: joinLines(names)})
	}
}

// writeOwnerLists rewrites an orphan's lists without the names this plan
// takes over, and forgets them, so that a later plan of the same state
// takes them over again.
func (p *Plan) writeOwnerLists(o *owner) {
	for dir, names := range o.adopted {
		drop := map[string]bool{}
		for _, n := range names {
			drop[n] = true
		}
		rest := slices.DeleteFunc(slices.Clone(o.lists[dir]), func(s string) bool { return drop[s] })
		listPath := path.Join(o.scope.ManagedDir(), dir+".txt")
		if len(rest) == 0 {
			p.Changes = append(p.Changes, gitstore.Change{Path: listPath, Delete: true})
		} else {
			p.Changes = append(p.Changes, gitstore.Change{Path: listPath, Content: joinLines(rest)})
		}
	}
	o.adopted = nil
}

// sort puts the changes in path order and the entries by key.
func (p *Plan) sort() {
	slices.SortFunc(p.Changes, func(a, b gitstore.Change) int { return strings.Compare(a.Path, b.Path) })
	for _, l := range [][]Entry{p.Created, p.Changed, p.Deleted} {
		slices.SortFunc(l, func(a, b Entry) int {
			if a.Key.Blueprint != b.Key.Blueprint {
				return strings.Compare(a.Key.Blueprint, b.Key.Blueprint)
			}
			return strings.Compare(a.Key.Identifier, b.Key.Identifier)
		})
	}
	sort.Strings(p.Conflicts)
	slices.SortFunc(p.Claims, func(a, b Claim) int { return strings.Compare(a.Path, b.Path) })
}
