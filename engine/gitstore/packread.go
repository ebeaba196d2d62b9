package gitstore

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
)

// largeTree is the size from which readTree inflates a packed tree itself
// (readPackedWhole) instead of through go-git, whose packfile reader
// copies the object through a growing in-memory object and a byte-at-a-
// time scanner: for the 4 MB tree of a 100k-entry directory that is most
// of the cost of reading it.
var largeTree int64 = 1 << 20

var errNotPlain = errors.New("not a plain packed object")

// readPackedWhole returns the content of h when it is stored in a pack as
// a whole (non-delta) object of type want and size size; otherwise (loose,
// deltified, not found, any surprise) an error, and the caller falls back
// to go-git, which handles every case. The zlib stream is read to its end
// so its checksum is verified.
func (s *Store) readPackedWhole(h plumbing.Hash, want plumbing.ObjectType, size int64) ([]byte, error) {
	dir := filepath.Join(s.commonDir, "objects", "pack")
	idxs, err := filepath.Glob(filepath.Join(dir, "pack-*.idx"))
	if err != nil {
		return nil, err
	}
	for _, ip := range idxs {
		off, ok, err := idxLookup(ip, h)
		if err != nil || !ok {
			continue
		}
		return readPackAt(ip[:len(ip)-len(".idx")]+".pack", off, want, size)
	}
	return nil, errNotPlain
}

// idxLookup finds h's pack offset in a version 2 pack index.
func idxLookup(path string, h plumbing.Hash) (int64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	var hdr [8 + 256*4]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return 0, false, err
	}
	if !bytes.Equal(hdr[:8], []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}) {
		return 0, false, errNotPlain
	}
	fan := func(i int) uint32 { return binary.BigEndian.Uint32(hdr[8+4*i:]) }
	n := int64(fan(255))
	lo, hi := int64(0), int64(fan(int(h[0])))
	if h[0] > 0 {
		lo = int64(fan(int(h[0]) - 1))
	}
	if hi <= lo || hi > n {
		return 0, false, nil
	}
	const base = int64(len(hdr))
	names := make([]byte, (hi-lo)*20)
	if _, err := f.ReadAt(names, base+lo*20); err != nil {
		return 0, false, err
	}
	i, j := int64(0), hi-lo
	for i < j {
		m := (i + j) / 2
		if bytes.Compare(names[m*20:m*20+20], h[:]) < 0 {
			i = m + 1
		} else {
			j = m
		}
	}
	if i == hi-lo || !bytes.Equal(names[i*20:i*20+20], h[:]) {
		return 0, false, nil
	}
	pos := lo + i
	var b [8]byte
	if _, err := f.ReadAt(b[:4], base+n*24+pos*4); err != nil {
		return 0, false, err
	}
	off := int64(binary.BigEndian.Uint32(b[:4]))
	if off&0x80000000 != 0 {
		if _, err := f.ReadAt(b[:], base+n*28+(off&0x7fffffff)*8); err != nil {
			return 0, false, err
		}
		off = int64(binary.BigEndian.Uint64(b[:]))
	}
	return off, true, nil
}

func readPackAt(path string, off int64, want plumbing.ObjectType, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.NewSectionReader(f, off, 1<<62), 64<<10)
	c, err := br.ReadByte()
	if err != nil {
		return nil, err
	}
	typ := plumbing.ObjectType((c >> 4) & 7)
	sz := int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if c, err = br.ReadByte(); err != nil {
			return nil, err
		}
		if shift > 56 {
			return nil, errNotPlain
		}
		sz |= int64(c&0x7f) << shift
	}
	if typ != want || sz != size {
		return nil, errNotPlain // deltas included
	}
	zr, err := zlib.NewReader(br)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(zr, data); err != nil {
		return nil, err
	}
	var one [1]byte
	if n, err := zr.Read(one[:]); n != 0 || err != io.EOF {
		return nil, errNotPlain
	}
	return data, nil
}
