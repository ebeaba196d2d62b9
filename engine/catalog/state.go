package catalog

import (
	"errors"
	"slices"
	"strings"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// ManagedDir records, per blueprint, which catalog files the sync wrote, so
// that it deletes only its own files and never a hand-written one. It is
// committed with the catalog, so the record and the files never disagree
// and it travels with every clone.
const ManagedDir = ".gitalog/managed"

// ErrPartial marks a sync (or init) that committed what it could but left
// some work undone (invalid entities, failed fetches, a refused mass
// deletion, a worktree not brought up to date).
var ErrPartial = errors.New("the sync was incomplete")

// State is what a commit holds under catalog/, .gitalog/managed/ and
// .gitalog/fields/.
type State struct {
	Commit plumbing.Hash
	// Scope is whose managed lists and fields these are; the catalog's
	// files are everyone's.
	Scope   Scope
	Files   map[string]DirFiles // blueprint dir -> its tree entries
	Managed map[string]StemSet  // blueprint dir -> the managed file stems
	// Fields holds, per blueprint dir, the fields the sync manages in
	// files it did not write (none for most catalogs).
	Fields map[string]FieldSet
	// owners are the other scopes' managed lists; live names the
	// configured sources (see readOwners).
	owners []*owner
	live   []string

	// Arrived, when set, tells the managed names another writer added
	// since the sync fetched (it plans again on a newer commit, after a
	// push race): the sync never saw them, so it does not delete them.
	Arrived func(dir, stem string) bool
}

// NewState is the state of a commit with no catalog.
func NewState() *State {
	return &State{Files: map[string]DirFiles{}, Managed: map[string]StemSet{}, Fields: map[string]FieldSet{}}
}

// NewStateOf is the state of a commit with no catalog, for scope.
func NewStateOf(scope Scope, live []string) *State {
	c := NewState()
	c.Scope, c.live = scope, live
	return c
}

// DirFiles is a catalog directory's tree, in git order and shared with the
// store's tree cache. A sync looks up few of 100k files when the item
// cache vouches for the rest, so a map of them all (built on every sync)
// cost more than the binary searches it saved.
type DirFiles []gitstore.Entry

// Lookup returns the blob of the file stem.json.
func (d DirFiles) Lookup(stem string) (plumbing.Hash, bool) {
	if len(d) == 0 {
		return plumbing.ZeroHash, false
	}
	e, ok := gitstore.FindEntry(d, stem+Ext)
	return e.Hash, ok
}

// StemSet is a managed list: sorted, each name once.
type StemSet []string

// Has reports whether stem is in the list.
func (s StemSet) Has(stem string) bool {
	_, ok := slices.BinarySearch(s, stem)
	return ok
}

// ReadState reads the catalog, the managed lists and the managed fields
// of a commit, for a catalog without sources.
func ReadState(snap *gitstore.Snapshot) (*State, error) {
	return ReadStateOf(snap, "", nil)
}

// ReadStateOf reads the catalog of a commit, and the managed lists and
// fields of scope; the other scopes' managed lists too, so that their
// files are neither taken for hand-written ones nor overwritten. live
// names the configured sources.
func ReadStateOf(snap *gitstore.Snapshot, scope Scope, live []string) (*State, error) {
	c := NewStateOf(scope, live)
	c.Commit = snap.Commit()
	dirs, err := snap.ReadDir(Dir)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if d.Mode != filemode.Dir {
			continue // a file directly under catalog/: not an entity
		}
		entries, err := snap.ReadDir(Dir + "/" + d.Name)
		if err != nil {
			return nil, err
		}
		c.Files[d.Name] = entries
	}
	lists, err := snap.ReadDir(scope.ManagedDir())
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		dir, ok := strings.CutSuffix(l.Name, ".txt")
		if !ok {
			continue
		}
		data, err := snap.ReadFile(scope.ManagedDir() + "/" + l.Name)
		if err != nil {
			return nil, err
		}
		c.Managed[dir] = parseManaged(data)
	}
	records, err := snap.ReadDir(scope.FieldsDir())
	if err != nil {
		return nil, err
	}
	for _, r := range records {
		if r.Mode == filemode.Dir || r.Mode == filemode.Submodule {
			continue
		}
		data, err := snap.ReadFile(scope.FieldsPath(r.Name))
		if err != nil {
			return nil, err
		}
		c.Fields[r.Name] = parseFields(data)
	}
	if err := c.readOwners(snap, live, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// parseManaged reads a managed list; the sync writes them sorted, but a
// hand-edited one is taken as it is.
func parseManaged(data []byte) StemSet {
	text := string(data) // the names are substrings of one copy
	set := make(StemSet, 0, strings.Count(text, "\n")+1)
	for line := range strings.Lines(text) {
		if s := strings.TrimSpace(line); s != "" {
			set = append(set, s)
		}
	}
	if !slices.IsSorted(set) {
		slices.Sort(set)
	}
	return slices.Compact(set)
}

// ManagedCount is the number of managed files over all blueprints.
func (c *State) ManagedCount() int {
	n := 0
	for _, s := range c.Managed {
		n += len(s)
	}
	return n
}

// gone calls fn for each managed stem of dir that prod did not produce
// (produced again, or still upstream but invalid now, a managed name's old
// valid file stays), with its blob when its file is there; a managed file
// removed by hand is not there.
func (c *State) gone(dir string, prod Produced, fn func(stem string, blob plumbing.Hash, there bool)) {
	files := c.Files[dir]
	for _, stem := range c.Managed[dir] {
		if prod.Has(dir, stem) {
			continue
		}
		blob, there := files.Lookup(stem)
		fn(stem, blob, there)
	}
}

// DecodeKey is the entity key of the file catalog/<dir>/<stem>.json; ok is
// false when a name is not one the sync writes.
func DecodeKey(dir, stem string) (Key, bool) {
	bp, ok1 := DecodeDir(dir)
	id, ok2 := DecodeName(stem)
	return Key{Blueprint: bp, Identifier: id}, ok1 && ok2
}

// SplitPath splits catalog/<dir>/<stem>.json into its folder and stem.
func SplitPath(p string) (dir, stem string) {
	rest := strings.TrimPrefix(p, Dir+"/")
	dir, file, _ := strings.Cut(rest, "/")
	return dir, strings.TrimSuffix(file, Ext)
}
