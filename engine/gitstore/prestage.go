package gitstore

import (
	"errors"
	"hash/maphash"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// Prestage writes the files of directories that do not exist yet before
// the commit adding them is planned. A first sync writes 100k files into
// catalog/<blueprint>/, and writing them while the items still stream in
// overlaps that I/O with the mapping instead of following it. The files go
// into the git dir, where no reader looks, exactly as the commit's own
// staging would put them (see staging); the commit takes a prestaged
// directory as its staged copy after checking every file against its tree:
// a file the tree lacks is removed, one with other content is written
// again. Nothing is visible in the worktree before the ref has moved.
//
// The caller holds the Store's lock from NewPrestage until the commit (or
// Abandon), like any writer.
type Prestage struct {
	s      *Store
	parent *Snapshot
	root   string

	seed      maphash.Seed
	mu        sync.Mutex
	lanes     []*preLane
	closed    bool
	abandoned bool
	dirs      map[string]*preDir // worktree-relative directory -> its state
	done      chan struct{}      // every writer has stopped
	err       error              // a writer's first error: the commit writes those files itself
}

// preLane is one writer's queue. A path always goes to the same lane, so
// two writes of one file keep their order.
type preLane struct {
	wake  chan struct{} // the writer has work or should stop
	queue []preWrite
	// spare is the batch the writer has finished, whose array the queue
	// reuses: a queue grown afresh for every batch allocated five times
	// its size (slices grow by a quarter), 100 MB in a 300k first sync.
	// Only the writer touches it.
	spare []preWrite
}

type preDir struct {
	staged  string // "" when the directory exists already: nothing is prestaged
	files   map[string]preFile
	claimed bool // a commit took it: it is used once
	mkdir   sync.Once
	mkErr   error
}

// prestageWriters is how many goroutines create the files. Creating a file
// in one directory serializes on its lock only in part, and a first sync
// waits for its files long after the items are mapped: on this project's
// 2-core benchmark machine a 100k first sync took 4.43 s with two writers
// against 4.78 s with one (medians of three paired runs). A lone loop
// creating 100k files gains nothing from a second thread and spends 60%
// more system time on the lock, which is why the commit's own checkout
// keeps one writer (checkoutWorkers).
var prestageWriters = min(runtime.GOMAXPROCS(0), 2)

type preFile struct {
	hash  plumbing.Hash
	entry *index.Entry
}

type preWrite struct {
	dir, name string
	data      []byte
	hash      plumbing.Hash
}

const prestageDir = "gitalog-prestage"

// NewPrestage starts prestaging files to be committed on ref (as in
// CommitRequest) on top of parent. It returns nil when the commit will not
// touch the worktree (a bare repository, or a branch not checked out), or
// when the git dir is on another filesystem than the worktree.
func (s *Store) NewPrestage(ref plumbing.ReferenceName, parent plumbing.Hash) (*Prestage, error) {
	target, err := s.targetRef(ref)
	if err != nil || !s.checkedOut(target) {
		return nil, err
	}
	snap, err := s.Snapshot(parent)
	if err != nil {
		return nil, err
	}
	p := &Prestage{
		s: s, parent: snap, root: filepath.Join(s.gitDir, prestageDir), seed: maphash.MakeSeed(),
		dirs: map[string]*preDir{}, done: make(chan struct{}),
	}
	// Whatever a killed run left is of no use: its commit never landed, or
	// its journal redoes the worktree without it.
	if err := os.RemoveAll(p.root); err != nil {
		return nil, err
	}
	// Across filesystems nothing is staged (see canStage), so prestaged
	// files would only be written twice.
	if !s.canStage() {
		return nil, nil
	}
	var wg sync.WaitGroup
	for range max(prestageWriters, 1) {
		l := &preLane{wake: make(chan struct{}, 1)}
		p.lanes = append(p.lanes, l)
		wg.Go(func() { p.writer(l) })
	}
	go func() {
		wg.Wait()
		close(p.done)
	}()
	return p, nil
}

// Write queues the file at the slash-separated worktree path name with
// content data, whose blob id is hash. Files of directories that exist
// already, in the worktree or in the parent commit, are left to the
// commit. A later Write of the same path replaces the earlier one. The
// caller must not modify data afterwards.
func (p *Prestage) Write(name string, data []byte, hash plumbing.Hash) {
	if p == nil {
		return
	}
	dir, base := path.Split(name)
	dir = path.Clean(dir)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.err != nil {
		return
	}
	d := p.dirs[dir]
	if d == nil {
		d = &preDir{}
		p.dirs[dir] = d
		if p.fresh(dir) {
			d.staged = filepath.Join(p.root, strconv.Itoa(len(p.dirs)))
			d.files = map[string]preFile{}
		}
	}
	if d.staged == "" {
		return
	}
	l := p.lanes[maphash.String(p.seed, base)%uint64(len(p.lanes))]
	l.queue = append(l.queue, preWrite{dir, base, data, hash})
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// fresh reports whether dir exists neither in the parent commit nor in the
// worktree, nor does any file stand where one of its ancestors would go.
func (p *Prestage) fresh(dir string) bool {
	if dir == "." || dir == "" {
		return false
	}
	if _, ok := p.parent.Lookup(dir); ok {
		return false
	}
	_, err := os.Lstat(filepath.Join(p.s.root, filepath.FromSlash(dir)))
	return errors.Is(err, os.ErrNotExist)
}

func (p *Prestage) writer(l *preLane) {
	for {
		p.mu.Lock()
		batch := l.queue
		l.queue, l.spare = l.spare[:0], nil
		stop := p.closed || p.err != nil
		p.mu.Unlock()
		for i, w := range batch {
			batch[i] = preWrite{} // let the bytes go once written
			if err := p.write(w); err != nil {
				p.mu.Lock()
				if p.err == nil {
					p.err = err
				}
				p.mu.Unlock()
				return
			}
		}
		l.spare = batch
		if len(batch) == 0 {
			if stop {
				return
			}
			<-l.wake
		}
	}
}

func (p *Prestage) write(w preWrite) error {
	p.mu.Lock()
	d := p.dirs[w.dir] // Write adds directories meanwhile
	_, again := d.files[w.name]
	p.mu.Unlock()
	d.mkdir.Do(func() { d.mkErr = os.MkdirAll(d.staged, 0o777) })
	if d.mkErr != nil {
		return d.mkErr
	}
	full := filepath.Join(d.staged, w.name)
	if again {
		if err := os.Remove(full); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	ie := &index.Entry{Hash: w.hash, Mode: filemode.Regular}
	if err := writeFile(full, "", w.data, filePerm(filemode.Regular), ie); err != nil {
		return err
	}
	p.mu.Lock()
	d.files[w.name] = preFile{w.hash, ie}
	p.mu.Unlock()
	return nil
}

// wait stops taking writes and waits for the queued ones.
func (p *Prestage) wait() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for _, l := range p.lanes {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	<-p.done
}

// claim hands a commit the prestaged copy of the worktree directory full
// (absolute), if there is one; its files may still be being written. A
// directory is claimed once: after that commit it is in the worktree, or
// gone with an abandoned commit.
func (p *Prestage) claim(full string) (string, bool) {
	if p == nil {
		return "", false
	}
	rel, err := filepath.Rel(p.s.root, full)
	if err != nil {
		return "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.dirs[filepath.ToSlash(rel)]
	if p.abandoned || d == nil || d.staged == "" || d.claimed {
		return "", false
	}
	d.claimed = true
	return d.staged, true
}

// written waits for the writer and returns what it wrote in the worktree
// directory full; ok is false when the writer failed, and then nothing it
// wrote can be trusted.
func (p *Prestage) written(full string) (files map[string]preFile, ok bool) {
	p.wait()
	rel, _ := filepath.Rel(p.s.root, full)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, false
	}
	return p.dirs[filepath.ToSlash(rel)].files, true
}

// Abandon drops what was prestaged; a commit that used it has moved its
// directories out already. Safe to call more than once, and on nil.
func (p *Prestage) Abandon() {
	if p == nil {
		return
	}
	p.wait()
	p.mu.Lock()
	p.abandoned = true
	p.mu.Unlock()
	os.RemoveAll(p.root)
}
