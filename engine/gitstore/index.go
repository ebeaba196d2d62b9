package gitstore

import (
	"bytes"
	"cmp"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// gitIndex is the index (.git/index): entries sorted by name and stage.
// Every entry gitstore reads or writes goes through go-git's codec
// (plumbing/format/index); the others keep their on-disk bytes, since
// decoding and encoding a whole 100k-entry index with go-git costs a 1%
// resync 0.3 s of CPU. A version 4 index (prefix-compressed names) is
// decoded whole.
//
// Extensions are dropped on write: the cache tree would describe old
// trees; resolve-undo and the other optional ones git rebuilds or does
// without. A required one (a split or sparse index) cannot be dropped, so
// such an index is refused with an error that says how to turn it off.
type gitIndex struct {
	version uint32
	entries []idxEntry
	mtime   time.Time // of the file, for the racy-git rule
}

// idxEntry is one entry: its on-disk v2/v3 bytes (raw, padding included)
// or its decoded form (e).
type idxEntry struct {
	name  string
	stage uint8
	raw   []byte
	e     *index.Entry
}

func compareIdx(a, b idxEntry) int {
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	return int(a.stage) - int(b.stage)
}

func decoded(e *index.Entry) idxEntry { return idxEntry{name: e.Name, stage: uint8(e.Stage), e: e} }

// entry returns the decoded entry, decoding a raw one with go-git's
// decoder as a one-entry index.
func (ie *idxEntry) entry(version uint32) (*index.Entry, error) {
	if ie.e != nil {
		return ie.e, nil
	}
	b := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32([]byte("DIRC"), version), 1)
	b = append(b, ie.raw...)
	sum := sha1.Sum(b)
	one := &index.Index{}
	if err := index.NewDecoder(bytes.NewReader(append(b, sum[:]...))).Decode(one); err != nil || len(one.Entries) != 1 {
		return nil, fmt.Errorf("index entry %q: %v", ie.name, err)
	}
	return one.Entries[0], nil
}

// mtime is the entry's modification time, read without decoding it all.
func (ie *idxEntry) mtime() time.Time {
	if ie.e != nil {
		return ie.e.ModifiedAt
	}
	if s, ns := binary.BigEndian.Uint32(ie.raw[8:]), binary.BigEndian.Uint32(ie.raw[12:]); s != 0 || ns != 0 {
		return time.Unix(int64(s), int64(ns))
	}
	return time.Time{}
}

// find returns the stage-0 entry for name, or nil, and whether name has
// conflict entries (stages 1 to 3).
func (idx *gitIndex) find(name string) (e *index.Entry, conflict bool, err error) {
	es := idx.entries
	for i := sort.Search(len(es), func(i int) bool { return es[i].name >= name }); i < len(es) && es[i].name == name; i++ {
		if es[i].stage != 0 {
			return nil, true, nil
		}
		if e, err = es[i].entry(idx.version); err != nil {
			return nil, false, err
		}
	}
	return e, false, nil
}

// hasUnder reports whether any entry's name starts with prefix.
func (idx *gitIndex) hasUnder(prefix string) bool {
	es := idx.entries
	i := sort.Search(len(es), func(i int) bool { return es[i].name >= prefix })
	return i < len(es) && strings.HasPrefix(es[i].name, prefix)
}

// parseIndex splits an index into its entries and checks its extensions
// and checksum. data must not change afterwards: entries point into it.
func parseIndex(data []byte) (*gitIndex, error) {
	const hdr, trailer, fixed = 12, 20, 62 // fixed: stat data, ids, flags
	if len(data) < hdr+trailer || string(data[:4]) != "DIRC" {
		return nil, errors.New("not an index file (no DIRC header)")
	}
	body := data[:len(data)-trailer]
	// An all-zero trailer is index.skipHash: git did not compute it.
	if sum := sha1.Sum(body); !bytes.Equal(sum[:], data[len(body):]) && !bytes.Equal(data[len(body):], make([]byte, trailer)) {
		return nil, errors.New("index checksum mismatch")
	}
	idx := &gitIndex{version: binary.BigEndian.Uint32(data[4:])}
	count := int(binary.BigEndian.Uint32(data[8:]))
	off := hdr
	switch idx.version {
	case 2, 3:
		if count > len(body)/fixed {
			return nil, fmt.Errorf("index claims %d entries in %d bytes", count, len(body))
		}
		idx.entries = make([]idxEntry, 0, count)
		for range count {
			if off+fixed > len(body) {
				return nil, errors.New("index truncated in an entry")
			}
			flags := binary.BigEndian.Uint16(body[off+60:])
			nameOff := off + fixed
			if flags&0x4000 != 0 { // extended flags
				nameOff += 2
			}
			n := bytes.IndexByte(body[min(nameOff, len(body)):], 0)
			end := off + (nameOff-off+n+8)&^7
			if n < 0 || end > len(body) {
				return nil, errors.New("index truncated in an entry")
			}
			idx.entries = append(idx.entries, idxEntry{name: string(body[nameOff : nameOff+n]), stage: uint8(flags>>12) & 3, raw: body[off:end:end]})
			off = end
		}
	case 4:
		// The names are prefix-compressed: go-git decodes it whole, and
		// the walk below finds the extensions' start by re-encoding.
		whole := &index.Index{}
		sum := sha1.Sum(body)
		if err := index.NewDecoder(bytes.NewReader(append(slices.Clip(body), sum[:]...))).Decode(whole); err != nil && !errors.Is(err, index.ErrUnknownExtension) {
			return nil, err
		}
		enc, err := encodeWhole(&index.Index{Version: 4, Entries: whole.Entries})
		if err != nil {
			return nil, err
		}
		off = len(enc) - trailer
		for _, e := range whole.Entries {
			idx.entries = append(idx.entries, decoded(e))
		}
	default:
		return nil, fmt.Errorf("unsupported index version %d", idx.version)
	}
	for off < len(body) {
		if off+8 > len(body) {
			return nil, errors.New("index truncated in an extension header")
		}
		sig, size := string(body[off:off+4]), int(binary.BigEndian.Uint32(body[off+4:]))
		if size < 0 || off+8+size > len(body) {
			return nil, fmt.Errorf("index extension %q overruns the file", sig)
		}
		if sig[0] < 'A' || sig[0] > 'Z' {
			return nil, requiredExtError(sig)
		}
		off += 8 + size
	}
	if !slices.IsSortedFunc(idx.entries, compareIdx) {
		// git rejects unsorted indexes; entries a foreign writer left out
		// of order keep their relative order.
		slices.SortStableFunc(idx.entries, compareIdx)
	}
	return idx, nil
}

func requiredExtError(sig string) error {
	hint := ""
	switch sig {
	case "link":
		hint = ` (a split index; "git config core.splitIndex false" and then "git update-index --no-split-index" turn it off)`
	case "sdir":
		hint = ` (a sparse index; "git sparse-checkout disable" or "git config index.sparse false" turns it off)`
	}
	return fmt.Errorf("the index uses the required extension %q%s, which gitalog cannot keep when it updates the index", sig, hint)
}

func encodeWhole(idx *index.Index) ([]byte, error) {
	var buf bytes.Buffer
	err := index.NewEncoder(&buf).Encode(idx)
	return buf.Bytes(), err
}

// encode writes the index with no extensions; entries must be sorted.
// The decoded ones are encoded by go-git as an index of their own, cut
// apart by git's padding rule and spliced in between the raw ones.
func (idx *gitIndex) encode() ([]byte, error) {
	v := max(idx.version, 2)
	var fresh []*index.Entry
	for i := range idx.entries {
		if idx.entries[i].raw == nil {
			fresh = append(fresh, idx.entries[i].e)
		}
	}
	if v == 4 {
		return encodeWhole(&index.Index{Version: 4, Entries: fresh})
	}
	enc, err := encodeWhole(&index.Index{Version: v, Entries: slices.Clone(fresh)})
	if err != nil {
		return nil, err
	}
	enc = enc[12 : len(enc)-20]
	size := 32 + len(enc)
	for i := range idx.entries {
		size += len(idx.entries[i].raw)
	}
	b := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(append(make([]byte, 0, size), "DIRC"...), v), uint32(len(idx.entries)))
	for i := range idx.entries {
		if r := idx.entries[i].raw; r != nil {
			b = append(b, r...)
			continue
		}
		e, nameOff := idx.entries[i].e, 62
		if e.IntentToAdd || e.SkipWorktree {
			nameOff += 2 // extended flags
		}
		n := (nameOff + len(e.Name) + 8) &^ 7
		if n > len(enc) || string(enc[nameOff:nameOff+len(e.Name)]) != e.Name {
			return nil, fmt.Errorf("index entry %q: not where git's padding rule puts it", e.Name)
		}
		b, enc = append(b, enc[:n]...), enc[n:]
	}
	sum := sha1.Sum(b)
	return append(b, sum[:]...), nil
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
func (s *Store) updateIndex(lock *heldLock, ops []fileOp, written []*index.Entry, newTree plumbing.Hash) error {
	old, err := s.readIndex()
	if testHookIndexRead != nil {
		testHookIndexRead()
	}
	added := make([]idxEntry, 0, len(written))
	for _, e := range written {
		if e != nil {
			added = append(added, decoded(e))
		}
	}
	slices.SortStableFunc(added, compareIdx)
	idx := &gitIndex{version: 2}
	switch {
	case errors.Is(err, os.ErrNotExist):
		es, err := s.indexFromTree(newTree, written)
		if err != nil {
			return err
		}
		for _, e := range es {
			idx.entries = append(idx.entries, decoded(e))
		}
		idx.entries = append(idx.entries, added...)
		slices.SortStableFunc(idx.entries, compareIdx)
	case err != nil:
		return err
	default:
		touched := make(map[string]bool, len(ops))
		for _, op := range ops {
			touched[op.Path] = true
		}
		// old is shared with the index cache: build a new slice, merging
		// the sorted survivors with the sorted new entries.
		idx.version = old.version
		idx.entries = make([]idxEntry, 0, len(old.entries)+len(added))
		for _, e := range old.entries {
			if touched[e.name] {
				continue
			}
			for ; len(added) > 0 && compareIdx(added[0], e) < 0; added = added[1:] {
				idx.entries = append(idx.entries, added[0])
			}
			if e, err = s.smudgeRacy(e, old); err != nil {
				return err
			}
			idx.entries = append(idx.entries, e)
		}
		idx.entries = append(idx.entries, added...)
	}
	data, err := idx.encode()
	if err != nil {
		return err
	}
	var newest time.Time
	for i := range idx.entries {
		if t := idx.entries[i].mtime(); t.After(newest) {
			newest = t
		}
	}
	return lock.commit(data, newest, false)
}

// smudgeRacy is git's ce_smudge_racily_clean_entry for an entry kept from
// the old index: one not older than that index may have changed within
// its timestamp tick unseen, which only the old index's mtime told. When
// its content no longer matches, its size is zeroed, so that readers of
// the newer index compare content instead of trusting the stat data.
func (s *Store) smudgeRacy(e idxEntry, old *gitIndex) (idxEntry, error) {
	if t := e.mtime(); t.IsZero() || old.mtime.IsZero() || t.Before(old.mtime) {
		return e, nil
	}
	ie, err := e.entry(old.version)
	if err != nil {
		return e, err
	}
	full := filepath.Join(s.root, filepath.FromSlash(e.name))
	fi, err := os.Lstat(full)
	if err != nil || !fi.ModTime().Equal(ie.ModifiedAt) || uint32(fi.Size()) != ie.Size {
		return e, nil // gone or visibly changed: the stat data already says so
	}
	if h, err := hashFile(full, fi); err != nil || h == ie.Hash {
		return e, err
	}
	c := *ie // the old index is shared with the cache
	c.Size = 0
	return decoded(&c), nil
}

// hashFile is the blob id of a worktree file or symlink (zero for other
// kinds).
func hashFile(full string, fi os.FileInfo) (plumbing.Hash, error) {
	switch {
	case fi.Mode().IsRegular():
		data, err := os.ReadFile(full)
		return BlobHash(data), err
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(full)
		return BlobHash([]byte(target)), err
	}
	return plumbing.ZeroHash, nil
}

// indexFromTree lists index entries for the tree's files that have none
// in have, with no stat data: git (and CheckWorktree) compare their
// content instead.
func (s *Store) indexFromTree(tree plumbing.Hash, have []*index.Entry) ([]*index.Entry, error) {
	written := make(map[string]bool, len(have))
	for _, e := range have {
		if e != nil {
			written[e.Name] = true
		}
	}
	var out []*index.Entry
	var walk func(h plumbing.Hash, prefix string) error
	walk = func(h plumbing.Hash, prefix string) error {
		es, err := s.readTree(h)
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
