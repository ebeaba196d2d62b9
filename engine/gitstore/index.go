package gitstore

import (
	"cmp"
	"path/filepath"
	"sync/atomic"

	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// gitIndex is the index (.git/index), decoded and encoded whole by
// go-git's plumbing/format/index, its entries sorted by name and stage.
//
// Extensions are dropped on write: the cache tree (TREE) would describe
// old trees, resolve-undo (REUC) and the other optional ones git rebuilds
// or does without. Required ones (lowercase signature: a split index
// "link", a sparse index "sdir") cannot be dropped, so such an index is
// refused with an error that says how to turn the feature off.
type gitIndex struct {
	*index.Index
	mtime time.Time // of the file, for the racy-git rule
}

func compareIdx(a, b *index.Entry) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return int(a.Stage) - int(b.Stage)
}

// find returns the stage-0 entry for name, or nil.
func (idx *gitIndex) find(name string) *index.Entry {
	es := idx.Entries
	i := sort.Search(len(es), func(i int) bool { return es[i].Name >= name })
	if i < len(es) && es[i].Name == name && es[i].Stage == 0 {
		return es[i]
	}
	return nil
}

func parseIndex(data []byte) (*gitIndex, error) {
	// An all-zero trailer is index.skipHash: git did not compute it.
	if n := len(data) - sha1.Size; n >= 12 && bytes.Equal(data[n:], make([]byte, sha1.Size)) {
		sum := sha1.Sum(data[:n])
		data = append(data[:n:n], sum[:]...)
	}
	idx := &index.Index{}
	err := index.NewDecoder(bytes.NewReader(data)).Decode(idx)
	if errors.Is(err, index.ErrUnknownExtension) {
		return nil, requiredExtError(data, idx)
	}
	if err != nil {
		return nil, err
	}
	if !slices.IsSortedFunc(idx.Entries, compareIdx) {
		// git rejects unsorted indexes; entries a foreign writer left out
		// of order keep their relative order.
		slices.SortStableFunc(idx.Entries, compareIdx)
	}
	return &gitIndex{Index: idx}, nil
}

// requiredExtError names the extension go-git refused: it is found past
// the entries, whose end re-encoding them tells.
func requiredExtError(data []byte, idx *index.Index) error {
	sig, hint := "?", ""
	var buf bytes.Buffer
	if index.NewEncoder(&buf).Encode(&index.Index{Version: idx.Version, Entries: idx.Entries}) == nil {
		for off := buf.Len() - sha1.Size; off+8 <= len(data)-sha1.Size; off += 8 + int(binary.BigEndian.Uint32(data[off+4:])) {
			if c := data[off]; c < 'A' || c > 'Z' {
				sig = string(data[off : off+4])
				break
			}
		}
	}
	switch sig {
	case "link":
		hint = ` (a split index; "git update-index --no-split-index" turns it off)`
	case "sdir":
		hint = ` (a sparse index; "git sparse-checkout disable" or "git config index.sparse false" turns it off)`
	}
	return fmt.Errorf("the index uses the required extension %q%s, which gitalog cannot keep when it updates the index", sig, hint)
}

// encode writes the index with no extensions. Entries must be sorted.
func (idx *gitIndex) encode() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(idx.Entries) * 100)
	err := index.NewEncoder(&buf).Encode(&index.Index{Version: max(idx.Version, 2), Entries: idx.Entries})
	return buf.Bytes(), err
}

// indexCache keeps the last index read, reused while the file's size,
// mtime, ctime and inode are unchanged: CheckWorktree and the commit that
// follows it then read a 100k-entry index once.
type indexCache struct {
	mu  sync.Mutex
	key indexKey
	idx *gitIndex
}

type indexKey struct {
	size, ino    uint64
	mtime, ctime int64
}

// WarmIndex reads the index into the cache ahead of CheckWorktree and the
// commit, for a caller with time to spare (a sync while it streams).
// Errors are left for those readers to report.
func (s *Store) WarmIndex() {
	if !s.bare {
		s.readIndex()
	}
}

// readIndex returns the index; it fails with os.ErrNotExist when there is
// none. The result is shared (cached): callers must not modify it.
func (s *Store) readIndex() (*gitIndex, error) {
	f, err := os.Open(s.indexPath())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	key, keyOK := statKey(fi)
	if keyOK {
		s.index.mu.Lock()
		idx := s.index.idx
		hit := idx != nil && s.index.key == key
		s.index.mu.Unlock()
		if hit {
			return idx, nil
		}
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.indexPath(), err)
	}
	idx, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.indexPath(), err)
	}
	idx.mtime = fi.ModTime()
	if keyOK {
		s.index.mu.Lock()
		s.index.key, s.index.idx = key, idx
		s.index.mu.Unlock()
	}
	return idx, nil
}

func (s *Store) indexPath() string { return filepath.Join(s.gitDir, "index") }

// updateIndex replaces the index entries of the changed paths. Without an
// index (a fresh repository) it builds one from the whole new tree. The
// index is read under lock, which the new one replaces.
func (s *Store) updateIndex(lock *heldLock, ops []fileOp, written []*index.Entry, newTree plumbing.Hash, read func(plumbing.Hash) ([]Entry, error)) error {
	old, err := s.readIndex()
	if testHookIndexRead != nil {
		testHookIndexRead()
	}
	added := make([]*index.Entry, 0, len(written))
	for _, e := range written {
		if e != nil {
			added = append(added, e)
		}
	}
	slices.SortStableFunc(added, compareIdx)
	idx := &gitIndex{Index: &index.Index{Version: 2}}
	switch {
	case errors.Is(err, os.ErrNotExist):
		kept, err := s.indexFromTree(newTree, added, read)
		if err != nil {
			return err
		}
		idx.Entries = slices.Concat(kept, added)
		slices.SortStableFunc(idx.Entries, compareIdx)
	case err != nil:
		return err
	default:
		touched := make(map[string]bool, len(ops))
		for _, op := range ops {
			touched[op.Path] = true
		}
		// old is shared with the index cache: build a new slice, merging
		// the sorted survivors with the sorted new entries.
		idx.Version = old.Version
		idx.Entries = make([]*index.Entry, 0, len(old.Entries)+len(added))
		j := 0
		for _, e := range old.Entries {
			if touched[e.Name] {
				continue
			}
			for ; j < len(added) && compareIdx(added[j], e) < 0; j++ {
				idx.Entries = append(idx.Entries, added[j])
			}
			if e, err = s.smudgeRacy(e, old.mtime); err != nil {
				return err
			}
			idx.Entries = append(idx.Entries, e)
		}
		idx.Entries = append(idx.Entries, added[j:]...)
	}
	data, err := idx.encode()
	if err != nil {
		return err
	}
	var newest time.Time
	for _, e := range idx.Entries {
		if e.ModifiedAt.After(newest) {
			newest = e.ModifiedAt
		}
	}
	return lock.commit(data, newest, false)
}

// smudgeRacy is git's ce_smudge_racily_clean_entry for an entry kept from
// the old index: one not older than that index may have been changed
// within the same timestamp tick without its stat data showing it, which
// only the old index's mtime told readers. The new index is newer, so
// when the file's content no longer matches, the entry's size is zeroed
// and readers compare content instead of trusting the stat data.
func (s *Store) smudgeRacy(e *index.Entry, oldTime time.Time) (*index.Entry, error) {
	if e.ModifiedAt.IsZero() || oldTime.IsZero() || e.ModifiedAt.Before(oldTime) {
		return e, nil
	}
	full := filepath.Join(s.root, filepath.FromSlash(e.Name))
	fi, err := os.Lstat(full)
	if err != nil || !fi.ModTime().Equal(e.ModifiedAt) || uint32(fi.Size()) != e.Size {
		return e, nil // gone or visibly changed: the stat data already says so
	}
	if h, err := hashFile(full, fi); err != nil || h == e.Hash {
		return e, err
	}
	c := *e // the old index is shared with the cache
	c.Size = 0
	return &c, nil
}

// hashFile is the blob id of a worktree file or symlink (zero for other
// kinds).
func hashFile(full string, fi os.FileInfo) (plumbing.Hash, error) {
	var data []byte
	var err error
	switch {
	case fi.Mode().IsRegular():
		data, err = os.ReadFile(full)
	case fi.Mode()&os.ModeSymlink != 0:
		var target string
		target, err = os.Readlink(full)
		data = []byte(target)
	default:
		return plumbing.ZeroHash, nil
	}
	return BlobHash(data), err
}

// indexFromTree lists index entries for the tree's files that have none
// in have, with no stat data: git (and CheckWorktree) compare their
// content instead.
func (s *Store) indexFromTree(tree plumbing.Hash, have []*index.Entry, read func(plumbing.Hash) ([]Entry, error)) ([]*index.Entry, error) {
	written := make(map[string]bool, len(have))
	for _, e := range have {
		written[e.Name] = true
	}
	var out []*index.Entry
	var walk func(h plumbing.Hash, prefix string) error
	walk = func(h plumbing.Hash, prefix string) error {
		es, err := read(h)
		for _, e := range es {
			if p := prefix + e.Name; isDir(e) {
				err = cmp.Or(err, walk(e.Hash, p+"/"))
			} else if !written[p] {
				out = append(out, &index.Entry{Name: p, Hash: e.Hash, Mode: e.Mode})
			}
		}
		return err
	}
	return out, walk(tree, "")
}

// testHookIndexRead runs between reading the index and writing its
// replacement, where a concurrent git add would be lost.
var testHookIndexRead func()

// testHashCount lets tests see whether the stat fast path was taken.
var testHashCount atomic.Int64

// statClean is git's ie_match_stat plus its racy-git rule: an entry whose
// mtime is not older than the index file may have been modified within
// the same timestamp tick, so it must be rehashed.
func statClean(ie *index.Entry, fi os.FileInfo, idxTime time.Time) bool {
	if ie.ModifiedAt.IsZero() || !ie.ModifiedAt.Before(idxTime) {
		return false
	}
	var cur index.Entry
	fillStat(&cur, fi)
	if fi.Mode().IsRegular() != (ie.Mode == filemode.Regular || ie.Mode == filemode.Executable) {
		return false
	}
	return cur.Size == ie.Size &&
		cur.ModifiedAt.Equal(ie.ModifiedAt) &&
		cur.CreatedAt.Equal(ie.CreatedAt) &&
		cur.Inode == ie.Inode &&
		cur.UID == ie.UID && cur.GID == ie.GID
}
