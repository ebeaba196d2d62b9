package gitstore

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	kzlib "github.com/klauspost/compress/zlib"
)

// packWriter writes one packfile as its objects come, with no object
// count known in advance, which go-git's packfile.Encoder (it takes the
// whole list up front) cannot. The .idx comes from go-git's idxfile
// writer and encoder, fed with the offsets and CRCs as entries are
// written; the count is patched into the header at the end; the .pack and
// then the .idx are renamed into place from temp files, the order in
// which git makes a pack visible (go-git's PackfileWriter writes the .idx
// in place, so a kill -9 can leave a truncated one). Entries are whole
// objects; git gc deltifies them later.
type packWriter struct {
	dir string
	f   *os.File
	bw  *bufio.Writer
	iw  *idxfile.Writer
	pos int64
	n   uint32
	oh  []byte
}

const tmpPackPrefix = "tmp_pack_gitalog_"

func (s *Store) newPackWriter() (*packWriter, error) {
	dir := filepath.Join(s.commonDir, "objects", "pack")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, tmpPackPrefix)
	if err != nil {
		return nil, err
	}
	pw := &packWriter{dir: dir, f: f, bw: bufio.NewWriterSize(f, 1<<20), iw: new(idxfile.Writer), pos: 12}
	_, err = pw.bw.Write([]byte{'P', 'A', 'C', 'K', 0, 0, 0, 2, 0, 0, 0, 0})
	return pw, err
}

// add appends the object h of type t, size bytes long, whose zlib stream
// is comp.
func (pw *packWriter) add(h plumbing.Hash, t plumbing.ObjectType, size int64, comp []byte) error {
	// Type and size: a little-endian base-128 varint with 4 size bits first.
	c := byte(t)<<4 | byte(size&0x0f)
	pw.oh = pw.oh[:0]
	for size >>= 4; size > 0; size >>= 7 {
		pw.oh = append(pw.oh, c|0x80)
		c = byte(size & 0x7f)
	}
	pw.oh = append(pw.oh, c)
	crc := crc32.Update(crc32.ChecksumIEEE(pw.oh), crc32.IEEETable, comp)
	if _, err := pw.bw.Write(pw.oh); err != nil {
		return err
	}
	if _, err := pw.bw.Write(comp); err != nil {
		return err
	}
	pw.iw.Add(h, uint64(pw.pos), crc)
	pw.pos += int64(len(pw.oh) + len(comp))
	pw.n++
	return nil
}

// publish completes the pack and makes it part of the repository; on
// failure its temp files are removed.
func (pw *packWriter) publish(s *Store) (err error) {
	tmpIdx := ""
	defer func() {
		if err != nil {
			pw.remove()
			if tmpIdx != "" {
				os.Remove(tmpIdx)
			}
		}
	}()
	if err := pw.bw.Flush(); err != nil {
		return err
	}
	if _, err := pw.f.WriteAt(binary.BigEndian.AppendUint32(nil, pw.n), 8); err != nil {
		return err
	}
	// The count changed the first bytes: the trailer is hashed from the file.
	sum := sha1.New()
	if _, err := io.Copy(sum, io.NewSectionReader(pw.f, 0, pw.pos)); err != nil {
		return err
	}
	packHash := plumbing.Hash(sum.Sum(nil))
	if _, err := pw.f.WriteAt(packHash[:], pw.pos); err != nil {
		return err
	}
	if err := pw.f.Sync(); err != nil {
		return err
	}
	if err := pw.iw.OnFooter(packHash); err != nil {
		return err
	}
	idx, err := pw.iw.Index()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := idxfile.NewEncoder(&buf).Encode(idx); err != nil {
		return err
	}
	tmpIdx = filepath.Join(pw.dir, "tmp_idx_gitalog_"+packHash.String())
	if err := writeFileSync(tmpIdx, buf.Bytes()); err != nil {
		return err
	}
	os.Chmod(pw.f.Name(), 0o444)
	os.Chmod(tmpIdx, 0o444)
	base := filepath.Join(pw.dir, "pack-"+packHash.String())
	if err := os.Rename(pw.f.Name(), base+".pack"); err != nil {
		return err
	}
	pw.f.Close()
	if err := os.Rename(tmpIdx, base+".idx"); err != nil {
		return err
	}
	if d, err := os.Open(pw.dir); err == nil {
		d.Sync()
		d.Close()
	}
	s.reindex()
	return nil
}

func (pw *packWriter) remove() {
	pw.f.Close()
	os.Remove(pw.f.Name())
}

// storeBelow is the size under which an object is stored uncompressed:
// deflating a small file saves a few hundred bytes and costs most of a
// first sync's CPU. Larger ones get level 1, git's default for loose
// objects (on JSON almost as tight as level 6 in a third of the time).
const storeBelow = 512

// deflater makes objects' zlib streams, reusing its writers.
type deflater struct {
	buf    bytes.Buffer
	fast   *kzlib.Writer
	stored *zlib.Writer // klauspost's emits no stored block for empty data
}

func newDeflater() *deflater {
	d := &deflater{}
	d.fast, _ = kzlib.NewWriterLevel(&d.buf, kzlib.BestSpeed)
	d.stored, _ = zlib.NewWriterLevel(&d.buf, zlib.NoCompression)
	return d
}

// deflate returns data's zlib stream, valid until the next call.
func (d *deflater) deflate(data []byte) []byte {
	d.buf.Reset()
	var zw interface {
		io.WriteCloser
		Reset(io.Writer)
	} = d.fast
	if len(data) < storeBelow {
		zw = d.stored
	}
	zw.Reset(&d.buf)
	zw.Write(data)
	zw.Close()
	return d.buf.Bytes()
}

// writePack stores objs as one packfile plus .idx.
func (s *Store) writePack(objs *objSet) error {
	pw, err := s.newPackWriter()
	if err != nil {
		return err
	}
	d := newDeflater()
	for _, h := range objs.order {
		o := objs.m[h]
		if err := pw.add(h, o.typ, int64(len(o.data)), d.deflate(o.data)); err != nil {
			pw.remove()
			return err
		}
	}
	return pw.publish(s)
}

// Spool stores new blobs in a pack while a sync is still producing them,
// so that their bytes need not be held until the commit. The pack stays a
// temp file that no reader sees until Commit publishes it
// (CommitRequest.Spool), just before the ref moves; Abandon removes it. A
// published pack is never removed: other writers may rely on it.
//
// The caller holds the Store's lock from NewSpool to the commit or
// Abandon, like any writer.
type Spool struct {
	s *Store

	mu      sync.Mutex
	pw      *packWriter // nil until the first Add
	have    map[plumbing.Hash]struct{}
	err     error // the first write error: later Adds are refused, publish fails
	settled bool  // published or abandoned
	public  bool  // published: its blobs are in the repository

	zws     sync.Pool // *deflater
	offered atomic.Int64
}

// spoolMin is how many blobs a sync offers before the spool takes any: a
// small sync's objects are better written loose than as a pack per sync.
var spoolMin int64 = 4 * packThreshold

// NewSpool returns an empty spool; it creates no file before its first blob.
func (s *Store) NewSpool() *Spool {
	sp := &Spool{s: s, have: map[plumbing.Hash]struct{}{}}
	s.spool.Store(sp)
	return sp
}

// Add stores the blob data whose id is h. It reports whether the blob is
// in the spool; when not (one of the first spoolMin blobs, or the spool
// failed or is settled), the caller keeps the bytes for the commit. Safe
// for concurrent use; data is not kept.
func (sp *Spool) Add(h plumbing.Hash, data []byte) bool {
	if sp == nil || sp.offered.Add(1) <= spoolMin {
		return false
	}
	d, _ := sp.zws.Get().(*deflater)
	if d == nil {
		d = newDeflater()
	}
	defer sp.zws.Put(d)
	comp := d.deflate(data) // outside the lock: this is the costly part
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if _, dup := sp.have[h]; dup || sp.err != nil || sp.settled {
		return dup && sp.err == nil && !sp.settled
	}
	if sp.pw == nil {
		sp.pw, sp.err = sp.s.newPackWriter()
	}
	if sp.err == nil {
		sp.err = sp.pw.add(h, plumbing.BlobObject, int64(len(data)), comp)
	}
	if sp.err == nil {
		sp.have[h] = struct{}{}
	}
	return sp.err == nil
}

// Len is the number of blobs in the spool.
func (sp *Spool) Len() int {
	if sp == nil {
		return 0
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return len(sp.have)
}

// Has reports whether the blob h is in the spool.
func (sp *Spool) Has(h plumbing.Hash) bool {
	if sp == nil {
		return false
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	_, ok := sp.have[h]
	return ok && (sp.public || !sp.settled)
}

// publish makes the spooled pack a real one, with its .idx. A spool that
// failed is removed, and the commit with it: its blobs are gone.
func (sp *Spool) publish() error {
	if sp == nil {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.settled {
		// A second commit of the same sync (the remote moved).
		if !sp.public {
			return errors.New("the spool was abandoned")
		}
		return nil
	}
	sp.settled = true
	sp.s.spool.CompareAndSwap(sp, nil)
	pw := sp.pw
	sp.pw = nil
	switch {
	case pw == nil:
	case sp.err != nil:
		pw.remove()
		return fmt.Errorf("spooling blobs: %w", sp.err)
	case pw.n == 0:
		pw.remove()
	default:
		if err := pw.publish(sp.s); err != nil {
			return err
		}
	}
	sp.public = true
	return nil
}

// Abandon removes an unpublished spool; after a publish it does nothing.
func (sp *Spool) Abandon() {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.settled {
		sp.settled = true
		sp.s.spool.CompareAndSwap(sp, nil)
		if sp.pw != nil {
			sp.pw.remove()
		}
	}
}

// live reports whether name is this spool's temp pack, which sweepTemp
// must leave alone however long the sync streams.
func (sp *Spool) live(name string) bool {
	if sp == nil {
		return false
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.pw != nil && sp.pw.f.Name() == name
}
