package gitstore

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// writePack stores objs as one packfile plus .idx. go-git's PackfileWriter
// re-parses the stream in a goroutine and writes the .idx in place before
// the pack is renamed, so a kill -9 could leave a truncated .idx; this
// writes both to temp files and renames the .pack first and the .idx last,
// which is the order git uses (a pack becomes visible with its .idx).
// The .idx itself is built by go-git's idxfile writer and encoder.
func (s *Store) writePack(objs *objSet) error {
	dir := filepath.Join(s.commonDir, "objects", "pack")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	n := len(objs.order)
	comp := compressAll(objs)

	f, err := os.CreateTemp(dir, "tmp_pack_gitalog_")
	if err != nil {
		return err
	}
	tmpPack := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmpPack)
		}
	}()

	sum := sha1.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, sum), 1<<20)
	var hdr [12]byte
	copy(hdr[:4], "PACK")
	binary.BigEndian.PutUint32(hdr[4:], 2)
	binary.BigEndian.PutUint32(hdr[8:], uint32(n))
	bw.Write(hdr[:])

	iw := new(idxfile.Writer)
	iw.OnHeader(uint32(n))
	pos := int64(len(hdr))
	var oh []byte
	for i, h := range objs.order {
		o := objs.m[h]
		oh = objHeader(oh[:0], o.typ, int64(len(o.data)))
		crc := crc32.NewIEEE()
		crc.Write(oh)
		crc.Write(comp[i])
		if _, err := bw.Write(oh); err != nil {
			return err
		}
		if _, err := bw.Write(comp[i]); err != nil {
			return err
		}
		if err := iw.OnInflatedObjectContent(h, pos, crc.Sum32(), nil); err != nil {
			return err
		}
		pos += int64(len(oh) + len(comp[i]))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	var packHash plumbing.Hash
	copy(packHash[:], sum.Sum(nil))
	if _, err := f.Write(packHash[:]); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := iw.OnFooter(packHash); err != nil {
		return err
	}
	idx, err := iw.Index()
	if err != nil {
		return err
	}

	fi, err := os.CreateTemp(dir, "tmp_idx_gitalog_")
	if err != nil {
		return err
	}
	tmpIdx := fi.Name()
	defer func() {
		if !ok {
			fi.Close()
			os.Remove(tmpIdx)
		}
	}()
	ibw := bufio.NewWriter(fi)
	if _, err := idxfile.NewEncoder(ibw).Encode(idx); err != nil {
		return err
	}
	if err := ibw.Flush(); err != nil {
		return err
	}
	if err := fi.Sync(); err != nil {
		return err
	}
	if err := fi.Close(); err != nil {
		return err
	}
	os.Chmod(tmpPack, 0o444)
	os.Chmod(tmpIdx, 0o444)
	base := filepath.Join(dir, "pack-"+packHash.String())
	if err := os.Rename(tmpPack, base+".pack"); err != nil {
		return err
	}
	if err := os.Rename(tmpIdx, base+".idx"); err != nil {
		return err
	}
	ok = true
	syncDir(dir)
	s.reindex()
	return nil
}

// objHeader is the pack entry header: type and size in a little-endian
// base-128 varint whose first byte carries 4 size bits.
func objHeader(b []byte, t plumbing.ObjectType, size int64) []byte {
	c := byte(t)<<4 | byte(size&0x0f)
	size >>= 4
	for size > 0 {
		b = append(b, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(b, c)
}

// compressAll deflates objects in parallel; zlib dominates pack writing
// time for large syncs.
func compressAll(objs *objSet) [][]byte {
	out := make([][]byte, len(objs.order))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan int, 256)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			// Level 1, git's own default for loose objects: on small JSON
			// files it packs almost as tight as level 6 in a third of the
			// time, and git gc recompresses when it repacks anyway.
			zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
			for i := range next {
				buf.Reset()
				zw.Reset(&buf)
				zw.Write(objs.m[objs.order[i]].data)
				zw.Close()
				out[i] = bytes.Clone(buf.Bytes())
			}
		}()
	}
	for i := range objs.order {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
