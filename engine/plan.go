package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// ManagedDir records, per blueprint, which catalog files the sync wrote, so
// that it deletes only its own files and never a hand-written one. It is
// committed with the catalog, so the record and the files never disagree
// and it travels with every clone.
const ManagedDir = ".gitalog/managed"

// catalogState is what HEAD holds under catalog/ and .gitalog/managed/.
type catalogState struct {
	commit  plumbing.Hash
	files   map[string]map[string]plumbing.Hash // blueprint dir -> file stem -> blob
	managed map[string]map[string]bool          // blueprint dir -> file stem
}

func readCatalog(snap *gitstore.Snapshot) (*catalogState, error) {
	c := &catalogState{commit: snap.Commit(), files: map[string]map[string]plumbing.Hash{}, managed: map[string]map[string]bool{}}
	dirs, err := snap.ReadDir(catalog.Dir)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if d.Mode != filemode.Dir {
			continue // a file directly under catalog/: not an entity
		}
		entries, err := snap.ReadDir(catalog.Dir + "/" + d.Name)
		if err != nil {
			return nil, err
		}
		m := make(map[string]plumbing.Hash, len(entries))
		for _, e := range entries {
			if stem, ok := strings.CutSuffix(e.Name, catalog.Ext); ok {
				m[stem] = e.Hash
			}
		}
		c.files[d.Name] = m
	}
	lists, err := snap.ReadDir(ManagedDir)
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		dir, ok := strings.CutSuffix(l.Name, ".txt")
		if !ok {
			continue
		}
		data, err := snap.ReadFile(ManagedDir + "/" + l.Name)
		if err != nil {
			return nil, err
		}
		set := map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		for sc.Scan() {
			if s := strings.TrimSpace(sc.Text()); s != "" {
				set[s] = true
			}
		}
		c.managed[dir] = set
	}
	return c, nil
}

func (c *catalogState) managedCount() int {
	n := 0
	for _, s := range c.managed {
		n += len(s)
	}
	return n
}

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
	wouldDelete      int
	managedBefore    int
	deletionsBlocked bool
	incomplete       bool
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
// Deletions happen only when every kind was fetched completely and they
// stay under the threshold.
func makePlan(store *gitstore.Store, cat *catalogState, coll *collection, complete bool, threshold float64) (*plan, error) {
	p := &plan{managedBefore: cat.managedCount(), incomplete: !complete, threshold: threshold}
	slots := make([]*slot, 0, len(coll.slots))
	for _, sl := range coll.slots {
		slots = append(slots, sl)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].before(slots[j]) })
	newManaged := map[string]map[string]bool{}
	mark := func(dir, stem string) {
		if newManaged[dir] == nil {
			newManaged[dir] = map[string]bool{}
		}
		newManaged[dir][stem] = true
	}
	for _, sl := range slots {
		if sl.invalid {
			continue
		}
		filePath := catalog.Dir + "/" + sl.dir + "/" + sl.stem + catalog.Ext
		old, exists := cat.files[sl.dir][sl.stem]
		if exists && !cat.managed[sl.dir][sl.stem] {
			p.conflicts = append(p.conflicts, filePath)
			continue
		}
		mark(sl.dir, sl.stem)
		if exists && old == sl.hash {
			p.unchanged++
			continue
		}
		data := sl.data
		if data == nil {
			// Dropped as equal to the commit the stream compared with; the
			// sync is now planning against another (the remote moved).
			var err error
			if data, err = store.ReadBlob(sl.hash); err != nil {
				return nil, fmt.Errorf("reading %s: %w", filePath, err)
			}
		}
		p.changes = append(p.changes, gitstore.Change{Path: filePath, Content: data})
		title := sl.title
		if sl.data == nil {
			if e, err := catalog.Decode(data); err == nil {
				title = titleOf(e)
			}
		}
		en := entry{sl.key, title, data}
		if exists {
			p.changed = append(p.changed, en)
		} else {
			p.created = append(p.created, en)
		}
	}
	invalid := map[pathKey]bool{}
	for k, sl := range coll.slots {
		if sl.invalid {
			invalid[k] = true
		}
	}
	// What the sync managed and did not produce this time.
	var gone []gitstore.Change
	var goneEntries []entry
	dirs := make([]string, 0, len(cat.managed))
	for d := range cat.managed {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		stems := make([]string, 0, len(cat.managed[dir]))
		for stem := range cat.managed[dir] {
			stems = append(stems, stem)
		}
		sort.Strings(stems)
		for _, stem := range stems {
			if newManaged[dir][stem] {
				continue
			}
			if invalid[pathKey{dir, stem}] {
				// Still upstream but invalid now: the old valid file stays.
				mark(dir, stem)
				continue
			}
			if _, exists := cat.files[dir][stem]; !exists {
				continue // removed by hand; just forget it
			}
			if !complete {
				mark(dir, stem)
				continue
			}
			filePath := catalog.Dir + "/" + dir + "/" + stem + catalog.Ext
			gone = append(gone, gitstore.Change{Path: filePath, Delete: true})
			k, decoded := decodeKey(dir, stem)
			if !decoded {
				k = catalog.Key{Blueprint: dir, Identifier: stem}
			}
			goneEntries = append(goneEntries, entry{Key: k})
			mark(dir, stem)
		}
	}
	p.wouldDelete = len(gone)
	if p.wouldDelete > 0 && p.managedBefore > 0 && float64(p.wouldDelete)/float64(p.managedBefore) > threshold {
		p.deletionsBlocked = true
	} else {
		p.changes = append(p.changes, gone...)
		p.deleted = goneEntries
		for _, g := range gone {
			dir, stem := splitCatalogPath(g.Path)
			delete(newManaged[dir], stem)
		}
	}
	// The managed lists, rewritten only for blueprints whose set changed.
	all := map[string]bool{}
	for d := range cat.managed {
		all[d] = true
	}
	for d := range newManaged {
		all[d] = true
	}
	for d := range all {
		if sameSet(cat.managed[d], newManaged[d]) {
			continue
		}
		listPath := path.Join(ManagedDir, d+".txt")
		if len(newManaged[d]) == 0 {
			p.changes = append(p.changes, gitstore.Change{Path: listPath, Delete: true})
			continue
		}
		p.changes = append(p.changes, gitstore.Change{Path: listPath, Content: managedList(newManaged[d])})
	}
	sort.Slice(p.changes, func(i, j int) bool { return p.changes[i].Path < p.changes[j].Path })
	for _, l := range [][]entry{p.created, p.changed, p.deleted} {
		sort.Slice(l, func(i, j int) bool {
			if l[i].Key.Blueprint != l[j].Key.Blueprint {
				return l[i].Key.Blueprint < l[j].Key.Blueprint
			}
			return l[i].Key.Identifier < l[j].Key.Identifier
		})
	}
	sort.Strings(p.conflicts)
	return p, nil
}

func titleOf(e *catalog.Entity) string {
	s, _ := e.Title.(string)
	return s
}

func decodeKey(dir, stem string) (catalog.Key, bool) {
	bp, ok1 := catalog.DecodeDir(dir)
	id, ok2 := catalog.DecodeName(stem)
	return catalog.Key{Blueprint: bp, Identifier: id}, ok1 && ok2
}

func splitCatalogPath(p string) (dir, stem string) {
	rest := strings.TrimPrefix(p, catalog.Dir+"/")
	dir, file, _ := strings.Cut(rest, "/")
	return dir, strings.TrimSuffix(file, catalog.Ext)
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func managedList(set map[string]bool) []byte {
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
