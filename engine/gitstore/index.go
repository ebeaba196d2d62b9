package gitstore

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
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
