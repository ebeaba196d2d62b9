package review

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Kind is what happened to an entity.
type Kind string

const (
	Created Kind = "created"
	Changed Kind = "changed"
	Deleted Kind = "deleted"
)

func (k Kind) order() int {
	switch k {
	case Created:
		return 0
	case Changed:
		return 1
	}
	return 2
}

func (k Kind) mark() string {
	switch k {
	case Created:
		return "+"
	case Changed:
		return "~"
	}
	return "-"
}

// Counts are one blueprint's changes.
type Counts struct {
	Created int `json:"created"`
	Changed int `json:"changed"`
	Deleted int `json:"deleted"`
}

// Total is the number of entities that changed in any way.
func (c Counts) Total() int { return c.Created + c.Changed + c.Deleted }

// EntityChange is one entity that was created, changed or deleted.
type EntityChange struct {
	Blueprint  string
	Identifier string
	Change     Kind
	// Title is the new version's title (the old one's when deleted): a
	// string, or nil.
	Title any
	Path  string // the file, catalog/<blueprint>/<name>.json
	// URL is the entity's own page, such as its Sentry page (EntityURL of
	// the new version's properties, the old one's when deleted); "" when
	// it has none.
	URL string
	// Fields that differ, by path. Created entities list every field they
	// set (HadOld false); deleted entities list none.
	Fields []FieldChange
	// Err says why a version could not be decoded (the file is not a
	// valid entity); Fields are then empty.
	Err string
}

// Key is the entity's key.
func (e *EntityChange) Key() catalog.Key {
	return catalog.Key{Blueprint: e.Blueprint, Identifier: e.Identifier}
}

// Diff is what changed in the catalog between two revisions.
type Diff struct {
	From, To Rev
	Summary  map[string]*Counts // per blueprint
	Entities []EntityChange     // by blueprint, change (created, changed, deleted), identifier
}

// Blueprints returns the blueprints that changed, sorted.
func (d *Diff) Blueprints() []string { return slices.Sorted(maps.Keys(d.Summary)) }

// Total sums the counts of every blueprint.
func (d *Diff) Total() Counts {
	var t Counts
	for _, c := range d.Summary {
		t.Created += c.Created
		t.Changed += c.Changed
		t.Deleted += c.Deleted
	}
	return t
}

// Diff compares the catalog at two revisions.
func (r *Repo) Diff(ctx context.Context, from, to Rev) (*Diff, error) {
	d, err := Compare(ctx, r.Store, from.Commit, to.Commit)
	if err != nil {
		return nil, err
	}
	d.From, d.To = from, to
	return d, nil
}

// Compare compares the catalog at two commits of st; a zero hash is the
// empty tree. Subtrees with equal hashes are skipped and only the files
// whose blob hashes differ are read.
func Compare(ctx context.Context, st *gitstore.Store, from, to plumbing.Hash) (*Diff, error) {
	a, err := st.Snapshot(from)
	if err != nil {
		return nil, err
	}
	b, err := st.Snapshot(to)
	if err != nil {
		return nil, err
	}
	d := &Diff{From: Rev{Commit: from}, To: Rev{Commit: to}, Summary: map[string]*Counts{}}
	err = changedFiles(ctx, a, b, func(p, bp string, inA, inB bool) error {
		ec, err := compareFile(a, b, p, bp, inA, inB)
		if err != nil {
			return err
		}
		d.add(ec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.sort()
	return d, nil
}

// changedFiles calls fn for each entity file (catalog/<dir>/<name>.json)
// whose blob differs between a and b, with its blueprint and the sides
// that have it. Subtrees with equal hashes are skipped unread.
func changedFiles(ctx context.Context, a, b *gitstore.Snapshot, fn func(p, bp string, inA, inB bool) error) error {
	ae, aok := a.Lookup(catalog.Dir)
	be, bok := b.Lookup(catalog.Dir)
	if aok == bok && ae.Hash == be.Hash {
		return nil
	}
	aDirs, err := dirs(a, catalog.Dir)
	if err != nil {
		return err
	}
	bDirs, err := dirs(b, catalog.Dir)
	if err != nil {
		return err
	}
	return merge(aDirs, bDirs, func(x, y *gitstore.Entry) error {
		if x != nil && y != nil && x.Hash == y.Hash {
			return nil
		}
		name := nameOf(x, y)
		dir := catalog.Dir + "/" + name
		bp, ok := catalog.DecodeDir(name)
		if !ok {
			bp = name
		}
		var af, bf []gitstore.Entry
		if x != nil {
			if af, err = files(a, dir); err != nil {
				return err
			}
		}
		if y != nil {
			if bf, err = files(b, dir); err != nil {
				return err
			}
		}
		return merge(af, bf, func(x, y *gitstore.Entry) error {
			if x != nil && y != nil && x.Hash == y.Hash {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(dir+"/"+nameOf(x, y), bp, x != nil, y != nil)
		})
	})
}

func nameOf(x, y *gitstore.Entry) string {
	if x != nil {
		return x.Name
	}
	return y.Name
}

func (d *Diff) add(ec EntityChange) {
	c := d.Summary[ec.Blueprint]
	if c == nil {
		c = &Counts{}
		d.Summary[ec.Blueprint] = c
	}
	switch ec.Change {
	case Created:
		c.Created++
	case Changed:
		c.Changed++
	default:
		c.Deleted++
	}
	d.Entities = append(d.Entities, ec)
}

func (d *Diff) sort() {
	sort.SliceStable(d.Entities, func(i, j int) bool {
		x, y := &d.Entities[i], &d.Entities[j]
		if x.Blueprint != y.Blueprint {
			return x.Blueprint < y.Blueprint
		}
		if x.Change != y.Change {
			return x.Change.order() < y.Change.order()
		}
		return x.Identifier < y.Identifier
	})
}

// dirs lists the subdirectories of p (blueprint folders), in name order.
func dirs(sn *gitstore.Snapshot, p string) ([]gitstore.Entry, error) {
	es, err := sn.ReadDir(p)
	if err != nil {
		if _, ok := sn.Lookup(p); ok {
			// catalog is a file, not a folder: nothing to compare.
			return nil, nil
		}
		return nil, err
	}
	out := make([]gitstore.Entry, 0, len(es))
	for _, e := range es {
		if e.Mode == filemode.Dir {
			out = append(out, e)
		}
	}
	return out, nil
}

// files lists the entity files (*.json blobs) of a blueprint folder, in
// name order (git order, with folders left out, is byte order).
func files(sn *gitstore.Snapshot, p string) ([]gitstore.Entry, error) {
	es, err := sn.ReadDir(p)
	if err != nil {
		return nil, err
	}
	out := make([]gitstore.Entry, 0, len(es))
	for _, e := range es {
		if isFile(e) && strings.HasSuffix(e.Name, catalog.Ext) {
			out = append(out, e)
		}
	}
	return out, nil
}

func isFile(e gitstore.Entry) bool {
	return e.Mode == filemode.Regular || e.Mode == filemode.Executable || e.Mode == filemode.Deprecated
}

// merge walks two name-sorted lists together, calling fn with the entries
// of each name (nil on the side that lacks it).
func merge(a, b []gitstore.Entry, fn func(x, y *gitstore.Entry) error) error {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var err error
		switch {
		case j == len(b) || i < len(a) && a[i].Name < b[j].Name:
			err = fn(&a[i], nil)
			i++
		case i == len(a) || b[j].Name < a[i].Name:
			err = fn(nil, &b[j])
			j++
		default:
			err = fn(&a[i], &b[j])
			i++
			j++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// compareFile reads and compares the two versions of one entity file.
func compareFile(a, b *gitstore.Snapshot, p, bp string, inA, inB bool) (EntityChange, error) {
	ec := EntityChange{Blueprint: bp, Path: p}
	var old, new *catalog.Entity
	var errs []string
	read := func(sn *gitstore.Snapshot, side string) (*catalog.Entity, error) {
		data, err := sn.ReadFile(p)
		if err != nil {
			return nil, err
		}
		e, err := catalog.Decode(data)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s version: %v", side, err))
			return nil, nil
		}
		return e, nil
	}
	var err error
	if inA {
		if old, err = read(a, "old"); err != nil {
			return ec, err
		}
	}
	if inB {
		if new, err = read(b, "new"); err != nil {
			return ec, err
		}
	}
	switch {
	case inA && inB:
		ec.Change = Changed
	case inB:
		ec.Change = Created
	default:
		ec.Change = Deleted
	}
	ec.Err = strings.Join(errs, "; ")
	// The identifier: from the file (exact), else from its name.
	for _, e := range []*catalog.Entity{new, old} {
		if e != nil {
			ec.Identifier, ec.Title, ec.URL = e.Identifier, e.Title, EntityURL(e.Properties)
			break
		}
	}
	if ec.Identifier == "" {
		name := strings.TrimSuffix(p[strings.LastIndexByte(p, '/')+1:], catalog.Ext)
		if id, ok := catalog.DecodeName(name); ok {
			ec.Identifier = id
		} else {
			ec.Identifier = name
		}
	}
	switch {
	case ec.Change == Changed && old != nil && new != nil:
		ec.Fields = FieldChanges(old, new)
	case ec.Change == Created && new != nil:
		ec.Fields = created(new)
	}
	return ec, nil
}

// created lists the fields a new entity sets.
func created(e *catalog.Entity) []FieldChange {
	empty := &catalog.Entity{Identifier: e.Identifier, Blueprint: e.Blueprint}
	var out []FieldChange
	for _, c := range FieldChanges(empty, e) {
		c.Old, c.HadOld = nil, false
		out = append(out, c)
	}
	return out
}
