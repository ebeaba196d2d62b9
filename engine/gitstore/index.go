package gitstore

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// gitIndex is the index (.git/index) as gitstore uses it: entries sorted
// by name and stage. Versions 2 and 3 are read and written here, keeping
// every entry's on-disk bytes, so an update of 1000 paths in a 100k-entry
// index decodes and encodes only those 1000 (see gitformat-index.txt).
// Version 4, with its prefix-compressed names, goes through go-git's
// codec instead.
//
// Extensions are dropped on write, as before: the cache tree (TREE) would
// describe old trees, resolve-undo (REUC) and the other optional ones git
// rebuilds or does without. Required ones (lowercase signature: a split
// index "link", a sparse index "sdir") cannot be dropped, so such an index
// is refused with an error that says how to turn the feature off.
type gitIndex struct {
	version uint32
	entries []idxEntry
	mtime   time.Time // of the file, for the racy-git rule
}

// idxEntry is one index entry: either its on-disk v2/v3 bytes (raw, with
// padding) or a decoded entry (e), never both.
type idxEntry struct {
	name  string
	stage uint8
	raw   []byte
	e     *index.Entry
}

const (
	idxHeaderLen   = 12
	idxEntryFixed  = 62 // stat data, mode, ids, size, hash, flags
	idxFlagExt     = 0x4000
	idxNameMask    = 0xfff
	idxExtIntent   = 1 << 13
	idxExtSkipWT   = 1 << 14
	idxTrailerSize = 20
)

var errIndexV4 = errors.New("index version 4")

// parseIndex decodes a v2/v3 index; errIndexV4 asks for go-git's codec.
func parseIndex(data []byte) (*gitIndex, error) {
	if len(data) < idxHeaderLen+idxTrailerSize || string(data[:4]) != "DIRC" {
		return nil, errors.New("not an index file (no DIRC header)")
	}
	v := binary.BigEndian.Uint32(data[4:])
	switch v {
	case 2, 3:
	case 4:
		return nil, errIndexV4
	default:
		return nil, fmt.Errorf("unsupported index version %d", v)
	}
	body := data[:len(data)-idxTrailerSize]
	trailer := data[len(body):]
	// An all-zero trailer is index.skipHash: git did not compute it.
	if !bytes.Equal(trailer, make([]byte, idxTrailerSize)) {
		if sum := sha1.Sum(body); !bytes.Equal(sum[:], trailer) {
			return nil, errors.New("index checksum mismatch")
		}
	}
	count := binary.BigEndian.Uint32(data[8:])
	if uint64(count) > uint64(len(body))/idxEntryFixed {
		return nil, fmt.Errorf("index claims %d entries in %d bytes", count, len(body))
	}
	idx := &gitIndex{version: v, entries: make([]idxEntry, 0, count)}
	// The names are substrings of the data itself: a copy of a 27 MB
	// index (300k entries) cost its page faults on every sync. The data
	// is never modified once parsed; smudgeRacy clones an entry first.
	str := unsafe.String(unsafe.SliceData(body), len(body))
	off := idxHeaderLen
	sorted := true
	for i := uint32(0); i < count; i++ {
		if off+idxEntryFixed > len(body) {
			return nil, errors.New("index truncated in an entry")
		}
		flags := binary.BigEndian.Uint16(body[off+60:])
		nameOff := off + idxEntryFixed
		if flags&idxFlagExt != 0 {
			if v < 3 {
				return nil, errors.New("index v2 entry with extended flags")
			}
			nameOff += 2
		}
		var nameLen int
		if l := int(flags & idxNameMask); l < idxNameMask {
			nameLen = l
			if nameOff+nameLen >= len(body) || body[nameOff+nameLen] != 0 {
				return nil, errors.New("index entry name not NUL-terminated")
			}
		} else {
			nameLen = bytes.IndexByte(body[min(nameOff, len(body)):], 0)
			if nameLen < 0 {
				return nil, errors.New("index entry name not NUL-terminated")
			}
		}
		end := off + (nameOff-off+nameLen+8)&^7
		if end > len(body) {
			return nil, errors.New("index truncated in an entry")
		}
		e := idxEntry{name: str[nameOff : nameOff+nameLen], stage: uint8(flags>>12) & 3, raw: body[off:end:end]}
		if n := len(idx.entries); n > 0 && compareIdx(idx.entries[n-1], e) > 0 {
			sorted = false
		}
		idx.entries = append(idx.entries, e)
		off = end
	}
	for off < len(body) {
		if off+8 > len(body) {
			return nil, errors.New("index truncated in an extension header")
		}
		sig := body[off : off+4]
		size := int(binary.BigEndian.Uint32(body[off+4:]))
		if size < 0 || off+8+size > len(body) {
			return nil, fmt.Errorf("index extension %q overruns the file", sig)
		}
		if sig[0] < 'A' || sig[0] > 'Z' {
			return nil, requiredExtError(string(sig))
		}
		off += 8 + size
	}
	if !sorted {
		sortIdx(idx.entries)
	}
	return idx, nil
}

func requiredExtError(sig string) error {
	hint := ""
	switch sig {
	case "link":
		hint = ` (a split index; "git update-index --no-split-index" turns it off)`
	case "sdir":
		hint = ` (a sparse index; "git sparse-checkout disable" or "git config index.sparse false" turns it off)`
	}
	return fmt.Errorf("the index uses the required extension %q%s, which gitalog cannot keep when it updates the index", sig, hint)
}

func compareIdx(a, b idxEntry) int {
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	return int(a.stage) - int(b.stage)
}

// sortIdx sorts stably: git rejects unsorted indexes, and entries a
// foreign writer left in the wrong order keep their relative order.
func sortIdx(es []idxEntry) {
	slices.SortStableFunc(es, compareIdx)
}

// entry returns the decoded entry; raw ones are decoded on demand.
func (ie *idxEntry) entry() *index.Entry {
	if ie.e != nil {
		return ie.e
	}
	b := ie.raw
	u := func(i int) uint32 { return binary.BigEndian.Uint32(b[i:]) }
	e := &index.Entry{
		Name:  ie.name,
		Stage: index.Stage(ie.stage),
		Dev:   u(16),
		Inode: u(20),
		Mode:  filemode.FileMode(u(24)),
		UID:   u(28),
		GID:   u(32),
		Size:  u(36),
	}
	if s, ns := u(0), u(4); s != 0 || ns != 0 {
		e.CreatedAt = time.Unix(int64(s), int64(ns))
	}
	if s, ns := u(8), u(12); s != 0 || ns != 0 {
		e.ModifiedAt = time.Unix(int64(s), int64(ns))
	}
	copy(e.Hash[:], b[40:60])
	if flags := binary.BigEndian.Uint16(b[60:]); flags&idxFlagExt != 0 {
		ext := binary.BigEndian.Uint16(b[62:])
		e.IntentToAdd = ext&idxExtIntent != 0
		e.SkipWorktree = ext&idxExtSkipWT != 0
	}
	return e
}

// mtime is the entry's modification time, read without decoding it all.
func (ie *idxEntry) mtime() time.Time {
	if ie.e != nil {
		return ie.e.ModifiedAt
	}
	s, ns := binary.BigEndian.Uint32(ie.raw[8:]), binary.BigEndian.Uint32(ie.raw[12:])
	if s == 0 && ns == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), int64(ns))
}

// find returns the stage-0 entry for name, or nil.
func (idx *gitIndex) find(name string) *index.Entry {
	lo, hi := 0, len(idx.entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if idx.entries[m].name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(idx.entries) && idx.entries[lo].name == name && idx.entries[lo].stage == 0 {
		return idx.entries[lo].entry()
	}
	return nil
}

func timeWords(t time.Time) (uint32, uint32) {
	if t.IsZero() || t.Unix() < 0 || t.Unix() > 1<<32-1 {
		return 0, 0
	}
	return uint32(t.Unix()), uint32(t.Nanosecond())
}

// appendEntry appends e in the v2/v3 on-disk form, padding included.
func appendEntry(b []byte, e *index.Entry) []byte {
	start := len(b)
	cs, cns := timeWords(e.CreatedAt)
	ms, mns := timeWords(e.ModifiedAt)
	for _, w := range []uint32{cs, cns, ms, mns, e.Dev, e.Inode, uint32(e.Mode), e.UID, e.GID, e.Size} {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	b = append(b, e.Hash[:]...)
	flags := uint16(e.Stage&3) << 12
	flags |= uint16(min(len(e.Name), idxNameMask))
	ext := e.IntentToAdd || e.SkipWorktree
	if ext {
		flags |= idxFlagExt
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	if ext {
		var x uint16
		if e.IntentToAdd {
			x |= idxExtIntent
		}
		if e.SkipWorktree {
			x |= idxExtSkipWT
		}
		b = binary.BigEndian.AppendUint16(b, x)
	}
	b = append(b, e.Name...)
	n := (len(b) - start + 8) &^ 7
	for len(b)-start < n {
		b = append(b, 0)
	}
	return b
}

// encode writes the index with no extensions. Entries must be sorted.
func (idx *gitIndex) encode() ([]byte, error) {
	v := max(idx.version, 2)
	if v == 2 {
		for i := range idx.entries {
			if e := idx.entries[i].e; e != nil && (e.IntentToAdd || e.SkipWorktree) {
				v = 3
				break
			}
		}
	}
	if v == 4 {
		gi := &index.Index{Version: 4, Entries: make([]*index.Entry, len(idx.entries))}
		for i := range idx.entries {
			gi.Entries[i] = idx.entries[i].entry()
		}
		var buf bytes.Buffer
		if err := index.NewEncoder(&buf).Encode(gi); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	size := idxHeaderLen + idxTrailerSize
	for i := range idx.entries {
		if r := idx.entries[i].raw; r != nil {
			size += len(r)
		} else {
			size += idxEntryFixed + 2 + len(idx.entries[i].name) + 8
		}
	}
	b := make([]byte, 0, size)
	b = append(b, "DIRC"...)
	b = binary.BigEndian.AppendUint32(b, v)
	b = binary.BigEndian.AppendUint32(b, uint32(len(idx.entries)))
	for i := range idx.entries {
		if r := idx.entries[i].raw; r != nil {
			b = append(b, r...)
		} else {
			b = appendEntry(b, idx.entries[i].e)
		}
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
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.indexPath(), err)
	}
	idx, err := parseIndex(data)
	if errors.Is(err, errIndexV4) {
		idx, err = decodeGoGit(data)
	}
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

// decodeGoGit reads an index with go-git's decoder (version 4), which
// refuses required extensions itself.
func decodeGoGit(data []byte) (*gitIndex, error) {
	gi := &index.Index{}
	if err := index.NewDecoder(bufio.NewReader(bytes.NewReader(data))).Decode(gi); err != nil {
		if errors.Is(err, index.ErrUnknownExtension) {
			return nil, fmt.Errorf("%w: the index uses a required extension (split or sparse index?) that gitalog cannot keep", err)
		}
		return nil, err
	}
	idx := &gitIndex{version: gi.Version, entries: make([]idxEntry, len(gi.Entries))}
	for i, e := range gi.Entries {
		idx.entries[i] = idxEntry{name: e.Name, stage: uint8(e.Stage), e: e}
	}
	sortIdx(idx.entries)
	return idx, nil
}
