package gitstore

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// gitIndex is the index (.git/index) in go-git's decoded form, entries
// sorted by name and stage, with the file's mtime for the racy-git rule.
//
// Extensions are dropped on write (go-git's encoder writes none): the
// cache tree (TREE) would describe old trees, resolve-undo (REUC) and the
// other optional ones git rebuilds or does without. Required ones (a
// split index "link", a sparse index "sdir") cannot be dropped, so such
// an index is refused with an error that says how to turn the feature off.
type gitIndex struct {
	*index.Index
	mtime time.Time
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

// decodeIndex decodes an index file with go-git's decoder. data is
// modified: an all-zero trailer (index.skipHash, git did not compute it)
// is replaced by the checksum go-git verifies.
func decodeIndex(data []byte) (*index.Index, error) {
	if n := len(data); n >= 32 && bytes.Equal(data[n-20:], make([]byte, 20)) {
		sum := sha1.Sum(data[:n-20])
		copy(data[n-20:], sum[:])
	}
	idx := &index.Index{}
	err := index.NewDecoder(bytes.NewReader(data)).Decode(idx)
	if errors.Is(err, index.ErrUnknownExtension) {
		// git has two required extensions; a sparse index also holds
		// directory entries, which tell the two apart.
		hint := `a split index; "git update-index --no-split-index" turns it off`
		if slices.ContainsFunc(idx.Entries, func(e *index.Entry) bool { return e.Mode == filemode.Dir }) {
			hint = `a sparse index; "git sparse-checkout disable" or "git config index.sparse false" turns it off`
		}
		return nil, fmt.Errorf("the index uses a required extension (%s), which gitalog cannot keep when it updates the index", hint)
	}
	if err != nil {
		return nil, err
	}
	// git rejects unsorted indexes; entries a foreign writer left out of
	// order keep their relative order.
	if !slices.IsSortedFunc(idx.Entries, compareIdx) {
		slices.SortStableFunc(idx.Entries, compareIdx)
	}
	return idx, nil
}

// encodeIndex encodes idx (entries sorted) with go-git's encoder, in its
// version, raised to 3 when an entry has extended flags.
func encodeIndex(idx *index.Index) ([]byte, error) {
	out := *idx
	out.Version = max(out.Version, 2)
	if out.Version == 2 && slices.ContainsFunc(out.Entries, func(e *index.Entry) bool { return e.IntentToAdd || e.SkipWorktree }) {
		out.Version = 3
	}
	out.Cache, out.ResolveUndo, out.EndOfIndexEntry = nil, nil, nil
	var buf bytes.Buffer
	bw := bufio.NewWriterSize(&buf, 1<<16)
	if err := index.NewEncoder(bw).Encode(&out); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
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
	gi, err := decodeIndex(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.indexPath(), err)
	}
	idx := &gitIndex{Index: gi, mtime: fi.ModTime()}
	if keyOK {
		s.index.mu.Lock()
		s.index.key, s.index.idx = key, idx
		s.index.mu.Unlock()
	}
	return idx, nil
}
