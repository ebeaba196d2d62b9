package catalog

import (
	"path"
	"slices"
	"strings"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// SourcesDir holds the state of each source of a catalog with several
// (gitalog.yaml's sources:), one folder each, so that the jobs syncing
// them side by side never write the same file: a redo after a push race
// is always clean.
const SourcesDir = ".gitalog/sources"

// Scope is whose state a sync reads and writes: "" is a catalog without
// sources (.gitalog/managed/, .gitalog/fields/, ...), a source's name its
// own folder (.gitalog/sources/<name>/managed/, ...).
type Scope string

// Root is the folder of the scope's state.
func (s Scope) Root() string {
	if s == "" {
		return ".gitalog"
	}
	return SourcesDir + "/" + string(s)
}

// ManagedDir holds the scope's managed lists.
func (s Scope) ManagedDir() string { return s.Root() + "/managed" }

// FieldsDir holds the scope's records of managed fields.
func (s Scope) FieldsDir() string { return s.Root() + "/fields" }

// FieldsPath is the scope's record of the blueprint folder dir.
func (s Scope) FieldsPath(dir string) string { return s.FieldsDir() + "/" + dir }

// Sub is a folder of the scope's own (fanout, suggestions).
func (s Scope) Sub(name string) string { return s.Root() + "/" + name }

// String names the scope in messages.
func (s Scope) String() string {
	if s == "" {
		return "the catalog without sources"
	}
	return "source " + string(s)
}

// owner is another scope's managed lists, as a sync of one scope sees
// them: files it must not take (a live source's: a conflict, the first
// owner keeps them) or may take over (an orphan's: the lists of a catalog
// before it had sources, or of a source no longer configured).
type owner struct {
	scope  Scope
	orphan bool
	lists  map[string]StemSet
	// fields are its records of the fields it manages in hand-written
	// files (a live source's only).
	fields map[string]FieldSet
	// adopted are the names this sync takes over, dropped from the lists.
	adopted map[string][]string
}

// readOwners reads the managed lists of every scope but c.Scope, for the
// folders dirs (all when nil). live names the configured sources; other
// scopes are orphans.
func (c *State) readOwners(snap *gitstore.Snapshot, live []string, dirs []string) error {
	var scopes []Scope
	if c.Scope != "" {
		scopes = append(scopes, "")
	}
	entries, err := snap.ReadDir(SourcesDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Mode == filemode.Dir && Scope(e.Name) != c.Scope {
			scopes = append(scopes, Scope(e.Name))
		}
	}
	for _, s := range scopes {
		o := &owner{scope: s, orphan: s == "" || !slices.Contains(live, string(s)), lists: map[string]StemSet{}}
		lists, err := snap.ReadDir(s.ManagedDir())
		if err != nil {
			return err
		}
		for _, l := range lists {
			dir, ok := strings.CutSuffix(l.Name, ".txt")
			if !ok || !l.Mode.IsFile() || dirs != nil && !slices.Contains(dirs, dir) {
				continue
			}
			data, err := snap.ReadFile(path.Join(s.ManagedDir(), l.Name))
			if err != nil {
				return err
			}
			o.lists[dir] = parseManaged(data)
		}
		if !o.orphan {
			records, err := snap.ReadDir(s.FieldsDir())
			if err != nil {
				return err
			}
			for _, r := range records {
				if !r.Mode.IsFile() || dirs != nil && !slices.Contains(dirs, r.Name) {
					continue
				}
				data, err := snap.ReadFile(s.FieldsPath(r.Name))
				if err != nil {
					return err
				}
				if o.fields == nil {
					o.fields = map[string]FieldSet{}
				}
				o.fields[r.Name] = parseFields(data)
			}
		}
		if len(o.lists) > 0 || len(o.fields) > 0 {
			c.owners = append(c.owners, o)
		}
	}
	return nil
}

// ownerOf is the other scope whose managed list holds dir/stem, nil when
// none does. A live owner is preferred to an orphan.
func (c *State) ownerOf(dir, stem string) *owner {
	var orphan *owner
	for _, o := range c.owners {
		if !o.lists[dir].Has(stem) {
			continue
		}
		if !o.orphan {
			return o
		}
		if orphan == nil {
			orphan = o
		}
	}
	return orphan
}

// OwnedElsewhere reports whether another scope manages the file
// catalog/<dir>/<stem>.json: it is that scope's, not a hand-written one.
func (c *State) OwnedElsewhere(dir, stem string) bool {
	return c.ownerOf(dir, stem) != nil
}

// FieldOwner is the configured source, other than this sync's, that
// manages field (see Field) of the hand-written file catalog/<dir>/<stem>.json:
// it set it first, and keeps it.
func (c *State) FieldOwner(dir, stem, field string) (Scope, bool) {
	for _, o := range c.owners {
		if !o.orphan && o.fields[dir].Has(stem, field) {
			return o.scope, true
		}
	}
	return "", false
}

// Claim is an entity a sync produced that another source owns: the first
// owner keeps it, and the sync says so.
type Claim struct {
	Key   Key
	Path  string
	Owner Scope
	// Field, when set, is the managed field of a hand-written file that
	// the owner sets (see Field), not the whole entity.
	Field string
	// Both: this sync's lists hold it too (a hand edit, a bad merge), so
	// whose it is is in doubt, and neither writes it.
	Both bool
}

// adopt takes dir/stem over from an orphan.
func (o *owner) adopt(dir, stem string) {
	if o.adopted == nil {
		o.adopted = map[string][]string{}
	}
	o.adopted[dir] = append(o.adopted[dir], stem)
}

// Scopes are the scopes whose state a commit holds: "" (a catalog without
// sources, or from before it had them) and each folder of SourcesDir.
func Scopes(snap *gitstore.Snapshot) ([]Scope, error) {
	out := []Scope{""}
	entries, err := snap.ReadDir(SourcesDir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Mode == filemode.Dir {
			out = append(out, Scope(e.Name))
		}
	}
	return out, nil
}
