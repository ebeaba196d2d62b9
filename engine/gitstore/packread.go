package gitstore

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// objReader reads objects straight from the packs and loose files. go-git
// parses every pack's whole index into maps before its first read (tens
// of milliseconds at 100k objects, more with every pack a sync adds) and
// copies a large object through a growing buffer and a byte-at-a-time
// scanner; this reader binary-searches each index as it is on disk and
// inflates into an exactly sized buffer. Anything it does not handle
// (alternates, index version 1, a damaged pack) is reported as
// errFallback, and the Store asks go-git, which handles every case.
type objReader struct {
	dir string // the objects directory

	mu     sync.Mutex
	packs  []*packIdx
	listed bool
}

var errFallback = errors.New("object not readable directly")

// packIdx is one pack and its index (version 2), read whole.
type packIdx struct {
	pack string
	idx  []byte
	n    int

	once sync.Once
	f    *os.File
	ferr error
}

// maxDeltaChain bounds delta chains (git's default depth is 50); a longer
// chain, or a cycle in a damaged pack, goes to go-git.
const maxDeltaChain = 1000

// reset makes the next read list the packs again; packs still there are
// kept as they are, open. One that went away (a repack) stays open for
// readers still using it until its finalizer closes it.
func (r *objReader) reset() {
	r.mu.Lock()
	r.listed = false
	r.mu.Unlock()
}

func (r *objReader) list() ([]*packIdx, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.listed {
		return r.packs, nil
	}
	paths, err := filepath.Glob(filepath.Join(r.dir, "pack", "pack-*.idx"))
	if err != nil {
		return nil, err
	}
	known := make(map[string]*packIdx, len(r.packs))
	for _, p := range r.packs {
		known[p.pack] = p
	}
	var packs []*packIdx
	for _, ip := range paths {
		if p := known[ip[:len(ip)-len(".idx")]+".pack"]; p != nil {
			packs = append(packs, p) // a pack never changes once named
			continue
		}
		data, err := os.ReadFile(ip)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // removed by a concurrent repack
			}
			return nil, errFallback // go-git may still read it
		}
		// Header, fan-out, then per object a name, a CRC and an offset,
		// then the two checksums.
		if len(data) < 8+256*4+40 || !bytes.Equal(data[:8], []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}) {
			return nil, errFallback
		}
		n := int(binary.BigEndian.Uint32(data[8+255*4:]))
		if len(data) < 8+256*4+n*28+40 {
			return nil, errFallback
		}
		packs = append(packs, &packIdx{pack: ip[:len(ip)-len(".idx")] + ".pack", idx: data, n: n})
	}
	r.packs, r.listed = packs, true
	return packs, nil
}

// find returns h's offset in the pack.
func (p *packIdx) find(h plumbing.Hash) (int64, bool) {
	const fan = 8
	lo := 0
	if h[0] > 0 {
		lo = int(binary.BigEndian.Uint32(p.idx[fan+4*(int(h[0])-1):]))
	}
	hi := int(binary.BigEndian.Uint32(p.idx[fan+4*int(h[0]):]))
	if hi > p.n || lo > hi {
		return 0, false
	}
	names := p.idx[fan+256*4:]
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(names[m*20:m*20+20], h[:]) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo >= p.n || !bytes.Equal(names[lo*20:lo*20+20], h[:]) {
		return 0, false
	}
	offs := fan + 256*4 + p.n*24
	off := int64(binary.BigEndian.Uint32(p.idx[offs+lo*4:]))
	if off&0x80000000 != 0 {
		big := offs + p.n*4 + int(off&0x7fffffff)*8
		if big+8 > len(p.idx)-40 {
			return 0, false
		}
		off = int64(binary.BigEndian.Uint64(p.idx[big:]))
	}
	return off, true
}

func (p *packIdx) file() (*os.File, error) {
	p.once.Do(func() { p.f, p.ferr = os.Open(p.pack) })
	return p.f, p.ferr
}

// read returns an object's type and content, or errFallback.
func (r *objReader) read(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	return r.readDepth(h, 0)
}

func (r *objReader) readDepth(h plumbing.Hash, depth int) (plumbing.ObjectType, []byte, error) {
	for attempt := 0; attempt < 2; attempt++ {
		packs, err := r.list()
		if err != nil {
			return plumbing.InvalidObject, nil, err
		}
		for _, p := range packs {
			if off, ok := p.find(h); ok {
				return r.readPacked(p, off, depth)
			}
		}
		typ, data, err := r.readLoose(h)
		if !errors.Is(err, os.ErrNotExist) {
			return typ, data, err
		}
		r.reset() // another process may have added a pack since
	}
	return plumbing.InvalidObject, nil, errFallback
}

const (
	objOfsDelta = 6
	objRefDelta = 7
)

// readPacked reads the object at off, resolving deltas.
func (r *objReader) readPacked(p *packIdx, off int64, depth int) (plumbing.ObjectType, []byte, error) {
	if depth > maxDeltaChain {
		return plumbing.InvalidObject, nil, errFallback
	}
	f, err := p.file()
	if err != nil {
		return plumbing.InvalidObject, nil, errFallback
	}
	// The entry header (type, size, and a delta's base) is at most 30
	// bytes: read it alone, then read the compressed data with a buffer
	// sized for the object. A fixed 64 KB buffer read 64 KB from the pack
	// for every 600-byte entity.
	var hb [32]byte
	n, err := f.ReadAt(hb[:], off)
	if n == 0 {
		return plumbing.InvalidObject, nil, errFallback
	}
	hdr := bytes.NewReader(hb[:n])
	c, err := hdr.ReadByte()
	if err != nil {
		return plumbing.InvalidObject, nil, errFallback
	}
	typ := int(c>>4) & 7
	size := int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if c, err = hdr.ReadByte(); err != nil || shift > 56 {
			return plumbing.InvalidObject, nil, errFallback
		}
		size |= int64(c&0x7f) << shift
	}
	if size > maxObjectSize {
		return plumbing.InvalidObject, nil, errFallback
	}
	var baseTyp plumbing.ObjectType
	var base []byte
	switch typ {
	case int(plumbing.CommitObject), int(plumbing.TreeObject), int(plumbing.BlobObject), int(plumbing.TagObject):
	case objOfsDelta:
		// The base's distance back, in git's offset encoding.
		if c, err = hdr.ReadByte(); err != nil {
			return plumbing.InvalidObject, nil, errFallback
		}
		rel := int64(c & 0x7f)
		for c&0x80 != 0 {
			if c, err = hdr.ReadByte(); err != nil || rel > 1<<55 {
				return plumbing.InvalidObject, nil, errFallback
			}
			rel = (rel+1)<<7 | int64(c&0x7f)
		}
		if rel <= 0 || rel > off {
			return plumbing.InvalidObject, nil, errFallback
		}
		if baseTyp, base, err = r.readPacked(p, off-rel, depth+1); err != nil {
			return plumbing.InvalidObject, nil, err
		}
	case objRefDelta:
		var bh plumbing.Hash
		if _, err := io.ReadFull(hdr, bh[:]); err != nil {
			return plumbing.InvalidObject, nil, errFallback
		}
		if baseTyp, base, err = r.readDepth(bh, depth+1); err != nil {
			return plumbing.InvalidObject, nil, err
		}
	default:
		return plumbing.InvalidObject, nil, errFallback
	}
	// Deflate rarely grows data by more than a few bytes per 16 KB block.
	start := off + int64(n-hdr.Len())
	br := bufio.NewReaderSize(io.NewSectionReader(f, start, 1<<62), int(min(size+size/64+64, 64<<10)))
	data, err := inflate(br, size)
	if err != nil {
		return plumbing.InvalidObject, nil, errFallback
	}
	if base == nil {
		return plumbing.ObjectType(typ), data, nil
	}
	out, err := applyDelta(base, data)
	if err != nil {
		return plumbing.InvalidObject, nil, errFallback
	}
	return baseTyp, out, nil
}

var zlibReaders sync.Pool // io.ReadCloser from zlib.NewReader

// inflate reads a zlib stream of exactly size bytes to its end, so that
// its checksum is verified.
func inflate(r io.Reader, size int64) ([]byte, error) {
	// A zlib reader holds a 32 KB window: reused, not made per object.
	zr, _ := zlibReaders.Get().(io.ReadCloser)
	var err error
	if zr == nil {
		zr, err = zlib.NewReader(r)
	} else {
		err = zr.(zlib.Resetter).Reset(r, nil)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		zr.Close()
		zlibReaders.Put(zr)
	}()
	data := make([]byte, size)
	if _, err := io.ReadFull(zr, data); err != nil {
		return nil, err
	}
	var one [1]byte
	if n, err := zr.Read(one[:]); n != 0 || err != io.EOF {
		return nil, errors.New("zlib stream longer than the object")
	}
	return data, nil
}

// applyDelta rebuilds an object from its base and a git delta: the two
// sizes, then copies from the base and literal inserts.
func applyDelta(base, delta []byte) ([]byte, error) {
	bad := errors.New("malformed delta")
	src, n := binary.Uvarint(delta)
	if n <= 0 || src != uint64(len(base)) {
		return nil, bad
	}
	delta = delta[n:]
	dst, n := binary.Uvarint(delta)
	if n <= 0 || dst > maxObjectSize {
		return nil, bad
	}
	delta = delta[n:]
	out := make([]byte, 0, dst)
	for len(delta) > 0 {
		c := delta[0]
		delta = delta[1:]
		switch {
		case c&0x80 != 0:
			var off, size uint64
			for i := range 4 {
				if c&(1<<i) != 0 {
					if len(delta) == 0 {
						return nil, bad
					}
					off |= uint64(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			for i := range 3 {
				if c&(0x10<<i) != 0 {
					if len(delta) == 0 {
						return nil, bad
					}
					size |= uint64(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			if size == 0 {
				size = 0x10000
			}
			if off+size > uint64(len(base)) || uint64(len(out))+size > dst {
				return nil, bad
			}
			out = append(out, base[off:off+size]...)
		case c != 0:
			if int(c) > len(delta) || uint64(len(out))+uint64(c) > dst {
				return nil, bad
			}
			out = append(out, delta[:c]...)
			delta = delta[c:]
		default:
			return nil, bad
		}
	}
	if uint64(len(out)) != dst {
		return nil, bad
	}
	return out, nil
}

// readLoose reads objects/xx/yyyy...; os.ErrNotExist when absent.
func (r *objReader) readLoose(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	hx := h.String()
	f, err := os.Open(filepath.Join(r.dir, hx[:2], hx[2:]))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return plumbing.InvalidObject, nil, os.ErrNotExist
		}
		return plumbing.InvalidObject, nil, errFallback
	}
	defer f.Close()
	zr, err := zlib.NewReader(bufio.NewReader(f))
	if err != nil {
		return plumbing.InvalidObject, nil, errFallback
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 512)
	hdr, err := br.ReadString(0)
	if err != nil || len(hdr) > 64 {
		return plumbing.InvalidObject, nil, errFallback
	}
	name, sizeStr, ok := bytes.Cut([]byte(hdr[:len(hdr)-1]), []byte{' '})
	size, err := strconv.ParseInt(string(sizeStr), 10, 64)
	if !ok || err != nil || size < 0 || size > maxObjectSize {
		return plumbing.InvalidObject, nil, errFallback
	}
	typ, err := plumbing.ParseObjectType(string(name))
	if err != nil || typ < plumbing.CommitObject || typ > plumbing.TagObject {
		return plumbing.InvalidObject, nil, errFallback
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(br, data); err != nil {
		return plumbing.InvalidObject, nil, errFallback
	}
	if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return plumbing.InvalidObject, nil, fmt.Errorf("loose object %s: longer than its header says", h)
	}
	return typ, data, nil
}
