package gitstore

import (
	"cmp"
	"crypto/sha1"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// emptyTree is the id of the tree with no entries.
var emptyTree = plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904")

// emptyBlob is the id of an empty file.
var emptyBlob = plumbing.NewHash("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")

// Entry is one entry of a git tree.
type Entry = object.TreeEntry

func isDir(e Entry) bool { return e.Mode == filemode.Dir }

func isFile(e Entry) bool {
	return e.Mode == filemode.Regular || e.Mode == filemode.Executable || e.Mode == filemode.Deprecated
}

// BlobHash is the git blob id of content, computed without writing it.
func BlobHash(content []byte) plumbing.Hash {
	return hashObject(plumbing.BlobObject, content)
}

// hashObject is plumbing.ComputeHash with crypto/sha1: go-git hashes with
// sha1cd (collision detection), twice as slow on 400-byte files, and a
// sync hashes every file it maps.
func hashObject(t plumbing.ObjectType, data []byte) plumbing.Hash {
	h := sha1.New()
	h.Write(append(strconv.AppendInt(append(t.Bytes(), ' '), int64(len(data)), 10), 0))
	h.Write(data)
	return plumbing.Hash(h.Sum(nil))
}

// memObject wraps an object's content for go-git's decoders.
func memObject(t plumbing.ObjectType, data []byte) *plumbing.MemoryObject {
	o := &plumbing.MemoryObject{}
	o.SetType(t)
	o.Write(data)
	return o
}

// parseTree decodes a tree object with go-git's decoder.
func parseTree(data []byte) ([]Entry, error) {
	var t object.Tree
	err := t.Decode(memObject(plumbing.TreeObject, data))
	return t.Entries, err
}

// encodeTree expects entries already in canonical order. go-git's
// Tree.Encode writes the same bytes but checks the order again with a
// string built per entry and formats each through fmt, which costs a 1%
// resync of a 100k-entry directory a tenth of a second.
func encodeTree(entries []Entry) []byte {
	b := make([]byte, 0, len(entries)*48)
	for _, e := range entries {
		b = strconv.AppendUint(b, uint64(e.Mode), 8)
		b = append(append(append(append(b, ' '), e.Name...), 0), e.Hash[:]...)
	}
	return b
}

// compareEntries is git's tree order: bytewise, with a directory compared
// as if its name ended in "/" (so "a.b" < "a/" < "a0").
func compareEntries(a, b Entry) int {
	n := min(len(a.Name), len(b.Name))
	if c := strings.Compare(a.Name[:n], b.Name[:n]); c != 0 {
		return c
	}
	next := func(e Entry) int {
		if len(e.Name) > n {
			return int(e.Name[n])
		}
		if isDir(e) {
			return '/'
		}
		return 0
	}
	return cmp.Compare(next(a), next(b))
}

func sortEntries(es []Entry) { slices.SortFunc(es, compareEntries) }

// Snapshot is a read-only view of one commit's tree.
type Snapshot struct {
	s      *Store
	commit plumbing.Hash
	tree   plumbing.Hash
}

// Snapshot opens the tree of commit; the zero hash is the empty tree (an
// unborn branch).
func (s *Store) Snapshot(commit plumbing.Hash) (*Snapshot, error) {
	t, err := s.commitTree(commit)
	if err != nil {
		return nil, err
	}
	return &Snapshot{s: s, commit: commit, tree: t}, nil
}

// commitTree returns a commit's tree; the zero commit has the empty tree.
func (s *Store) commitTree(commit plumbing.Hash) (plumbing.Hash, error) {
	if commit.IsZero() {
		return emptyTree, nil
	}
	c, err := s.commit(commit)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return c.TreeHash, nil
}

func (s *Store) commit(h plumbing.Hash) (*object.Commit, error) {
	data, err := s.readTyped(h, plumbing.CommitObject)
	c := &object.Commit{}
	if err == nil {
		err = c.Decode(memObject(plumbing.CommitObject, data))
	}
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", h, err)
	}
	return c, nil
}

// readTree returns the entries of tree h in tree order, through the
// Store's cache of parsed trees. The slice is shared: do not modify it.
func (s *Store) readTree(h plumbing.Hash) ([]Entry, error) {
	if h.IsZero() || h == emptyTree {
		return nil, nil
	}
	if es, ok := s.trees.get(h); ok {
		return es, nil
	}
	data, err := s.readTyped(h, plumbing.TreeObject)
	if err != nil {
		return nil, err
	}
	es, err := parseTree(data)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	s.trees.put(h, es)
	return es, nil
}

// Commit is the commit the snapshot was opened at (zero when unborn).
func (sn *Snapshot) Commit() plumbing.Hash { return sn.commit }

// FindEntry binary-searches es (in tree order, as ReadDir gives them) for
// name. The name's position depends on whether it is a directory, so both
// keys are tried.
func FindEntry(es []Entry, name string) (Entry, bool) {
	for _, mode := range []filemode.FileMode{filemode.Regular, filemode.Dir} {
		key := Entry{Name: name, Mode: mode}
		if i, ok := slices.BinarySearchFunc(es, key, compareEntries); ok && es[i].Name == name {
			return es[i], true
		}
	}
	return Entry{}, false
}

// Lookup finds the entry at a slash path; "" is the root tree.
func (sn *Snapshot) Lookup(p string) (Entry, bool) {
	e, err := sn.lookup(p)
	return e, err == nil
}

func (sn *Snapshot) lookup(p string) (Entry, error) {
	p = strings.Trim(p, "/")
	cur := Entry{Hash: sn.tree, Mode: filemode.Dir}
	if p == "" {
		return cur, nil
	}
	for _, part := range strings.Split(p, "/") {
		if !isDir(cur) {
			return Entry{}, fs.ErrNotExist
		}
		es, err := sn.s.readTree(cur.Hash)
		if err != nil {
			return Entry{}, err
		}
		e, ok := FindEntry(es, part)
		if !ok {
			return Entry{}, fs.ErrNotExist
		}
		cur = e
	}
	return cur, nil
}

// ReadDir lists the tree at p in git order; a missing directory is nil, nil.
// The returned slice is shared: do not modify it.
func (sn *Snapshot) ReadDir(p string) ([]Entry, error) {
	e, err := sn.lookup(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !isDir(e) {
		return nil, fmt.Errorf("%s: not a directory", p)
	}
	return sn.s.readTree(e.Hash)
}

// ReadFile returns the content of the blob at p; a missing path gives an
// error wrapping fs.ErrNotExist.
func (sn *Snapshot) ReadFile(p string) ([]byte, error) {
	e, err := sn.lookup(p)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	if isDir(e) || e.Mode == filemode.Submodule {
		return nil, &fs.PathError{Op: "read", Path: p, Err: errors.New("not a file")}
	}
	return sn.s.ReadBlob(e.Hash)
}

// checkPath rejects paths git would refuse or fsck --strict would flag,
// including the NTFS/HFS aliases of ".git".
func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || path.Clean(p) != p {
		return fmt.Errorf("invalid path %q: want a clean relative slash path", p)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("invalid path %q: contains NUL", p)
	}
	for _, part := range strings.Split(p, "/") {
		l := strings.ToLower(strings.TrimRight(part, " ."))
		if part == "." || part == ".." || l == ".git" || l == "git~1" {
			return fmt.Errorf("invalid path %q: component %q is reserved", p, part)
		}
	}
	return nil
}

// ReadBlob returns a blob's content by its id.
func (s *Store) ReadBlob(h plumbing.Hash) ([]byte, error) { return s.readTyped(h, plumbing.BlobObject) }

func (s *Store) readTyped(h plumbing.Hash, want plumbing.ObjectType) ([]byte, error) {
	typ, data, err := s.readObject(h)
	if err == nil && typ != want {
		err = fmt.Errorf("%s is a %s, not a %s", h, typ, want)
	}
	return data, err
}
