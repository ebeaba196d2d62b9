package gitstore

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/klauspost/compress/zlib"
)

// Spool stores blobs in a pack while a sync is still producing them. A
// first sync used to hold every new file's bytes until its commit wrote
// the pack: 1.5 KB per issue, 450 MB at 300k. Spooled, a blob is
// compressed by the goroutine that encoded it and its bytes can go.
//
// The pack stays a temp file that no reader sees until Commit publishes it
// (CommitRequest.Spool), just before the ref moves; Abandon removes it. A
// published pack is never removed: from then on other writers, git among
// them, may rely on its objects.
//
// The caller holds the Store's lock from NewSpool to the commit or
// Abandon, like any writer.
type Spool struct {
	s   *Store
	dir string

	mu      sync.Mutex
	f       *os.File    // nil until the first Add
	pw      *packWriter // writes to f
	have    map[plumbing.Hash]struct{}
	n       int
	err     error // the first write error: later Adds are refused, publish fails
	settled bool  // published or abandoned
	public  bool  // published: its blobs are in the repository

	zws     sync.Pool // *spoolZ
	offered atomic.Int64
}

// spoolMin is how many blobs a sync offers before the spool takes any: a
// small sync's objects are better written loose (or in the commit's one
// pack) than as a pack per sync, and its bytes cost little memory.
var spoolMin int64 = 4 * packThreshold

type spoolZ struct {
	buf bytes.Buffer
	zw  *zlib.Writer
}

// spoolPrefix names the temp pack; sweepTemp's "tmp_pack_gitalog_*" takes
// what a killed run left behind.
const spoolPrefix = "tmp_pack_gitalog_spool_"

// NewSpool returns an empty spool; it creates no file before its first
// blob.
func (s *Store) NewSpool() *Spool {
	sp := &Spool{s: s, dir: filepath.Join(s.commonDir, "objects", "pack"), have: map[plumbing.Hash]struct{}{}}
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
	sp.mu.Lock()
	_, dup := sp.have[h]
	bad := sp.err != nil || sp.settled
	sp.mu.Unlock()
	if bad {
		return false
	}
	if dup {
		return true
	}
	z, _ := sp.zws.Get().(*spoolZ)
	if z == nil {
		z = &spoolZ{}
		// Level 1, as in writePack.
		z.zw, _ = zlib.NewWriterLevel(&z.buf, zlib.BestSpeed)
	}
	defer sp.zws.Put(z)
	z.buf.Reset()
	deflateTo(&z.buf, z.zw, data)
	comp := z.buf.Bytes()

	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.err != nil || sp.settled {
		return false
	}
	if _, dup := sp.have[h]; dup {
		return true
	}
	if sp.f == nil {
		if sp.err = sp.create(); sp.err != nil {
			return false
		}
	}
	if sp.err = sp.pw.add(h, plumbing.BlobObject, int64(len(data)), comp); sp.err != nil {
		return false
	}
	sp.have[h] = struct{}{}
	sp.n++
	return true
}

func (sp *Spool) create() error {
	if err := os.MkdirAll(sp.dir, 0o777); err != nil {
		return err
	}
	f, err := os.CreateTemp(sp.dir, spoolPrefix)
	if err != nil {
		return err
	}
	sp.f = f
	// The object count is not known yet; publish fills it in.
	sp.pw, err = newPackWriter(f, 0)
	return err
}

// Len is the number of blobs in the spool.
func (sp *Spool) Len() int {
	if sp == nil {
		return 0
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.n
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
		// A second commit of the same sync (the remote moved): the
		// blobs are in the repository already, or were never kept.
		if !sp.public {
			return errors.New("the spool was abandoned")
		}
		return nil
	}
	sp.settled = true
	sp.s.spool.CompareAndSwap(sp, nil)
	if sp.f == nil {
		sp.public = true // nothing to publish
		return nil
	}
	if sp.err != nil {
		// Blobs whose bytes the caller let go are in no other place.
		sp.remove()
		return fmt.Errorf("spooling blobs: %w", sp.err)
	}
	if sp.n == 0 {
		sp.remove()
		sp.public = true
		return nil
	}
	err := sp.finish()
	if err != nil {
		sp.remove()
		return err
	}
	sp.public = true
	return nil
}

func (sp *Spool) finish() error {
	if err := sp.pw.bw.Flush(); err != nil {
		return err
	}
	var count [4]byte
	binary.BigEndian.PutUint32(count[:], uint32(sp.n))
	if _, err := sp.f.WriteAt(count[:], 8); err != nil {
		return err
	}
	// The count changed the first bytes, so the trailer's SHA-1 is taken
	// over the file as written: one sequential read of the page cache.
	sum := sha1.New()
	if _, err := io.Copy(sum, io.NewSectionReader(sp.f, 0, sp.pw.pos)); err != nil {
		return err
	}
	var packHash plumbing.Hash
	copy(packHash[:], sum.Sum(nil))
	if _, err := sp.f.WriteAt(packHash[:], sp.pw.pos); err != nil {
		return err
	}
	f := sp.f
	sp.f = nil // installPack closes it, or removes it on failure
	iw := sp.pw.iw
	sp.pw = nil // 100k index entries and a 1 MB buffer, of no use once installed
	return sp.s.installPack(sp.dir, f, iw, packHash)
}

func (sp *Spool) remove() {
	if sp.f != nil {
		sp.f.Close()
		os.Remove(sp.f.Name())
		sp.f = nil
	}
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
		sp.remove()
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
	return sp.f != nil && sp.f.Name() == name
}
