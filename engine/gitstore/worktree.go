package gitstore

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// The journal records a ref move whose worktree update may not have
// finished; Recover redoes diff(old, new), which is idempotent.
const (
	journalName   = "gitalog-pending"
	journalFormat = "gitalog-pending v1\nold %s\nnew %s\n"
)

type journal struct{ old, new plumbing.Hash }

func (s *Store) journalPath() string { return filepath.Join(s.gitDir, journalName) }

func (s *Store) writeJournal(j journal) error {
	p := s.journalPath()
	if err := writeFileSync(p+".tmp", fmt.Appendf(nil, journalFormat, j.old, j.new)); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

func (s *Store) removeJournal() error {
	if err := os.Remove(s.journalPath()); !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (s *Store) readJournal() (journal, bool, error) {
	b, err := os.ReadFile(s.journalPath())
	if errors.Is(err, os.ErrNotExist) {
		return journal{}, false, nil
	}
	if err != nil {
		return journal{}, false, err
	}
	var o, n string
	_, err = fmt.Sscanf(string(b), journalFormat, &o, &n)
	old, okOld := parseHash(o)
	new, okNew := parseHash(n)
	if err != nil || !okOld || !okNew {
		return journal{}, false, fmt.Errorf("%s: malformed journal", s.journalPath())
	}
	return journal{old, new}, true, nil
}

func writeFileSync(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Recover finishes a worktree update that a crash interrupted; without a
// journal it only sweeps temp files.
func (s *Store) Recover() error {
	sweepTemp(s.spool.Load().live, s.gitDir, s.commonDir, filepath.Join(s.commonDir, "objects", "pack"))
	// A commit holds index.lock from before its ref move to the end of
	// its worktree update; if it was killed there, git add would fail
	// until a later commit took the lock. Only a lock that is one of our
	// temp files is removed (see removeStranded), never git's.
	if !s.bare {
		removeStranded(s.gitDir, s.indexPath()+".lock")
		for _, d := range []string{"gitalog-stage", "gitalog-prestage"} { // older gitalogs' staging
			os.RemoveAll(filepath.Join(s.gitDir, d))
		}
	}
	j, ok, err := s.readJournal()
	if err != nil || !ok {
		return err
	}
	if s.bare {
		return s.removeJournal()
	}
	head, err := s.Head()
	if err != nil {
		return err
	}
	var keep func(fileOp) bool
	if head.Commit != j.new {
		// Committed on top before the files were written (the index
		// followed, so a plain git commit works): the files that still
		// hold the old version, where HEAD still has the new one, are
		// the update's to finish; anything else is the user's now.
		if on, err := s.IsAncestor(j.new, head.Commit); err != nil || !on {
			return s.removeJournal()
		}
		now, err := s.Snapshot(head.Commit)
		if err != nil {
			return fmt.Errorf("recover: %w", err)
		}
		keep = func(op fileOp) bool { return s.lagging(now, op) }
	}
	u, err := s.planMove(j.old, j.new, keep)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	u.redo = true
	lock, err := s.lockIndex()
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	defer lock.release()
	if err := u.apply(lock); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	return s.removeJournal()
}

// lagging reports whether op's path is as op.Old has it in the worktree
// while now still has op.New there.
func (s *Store) lagging(now *Snapshot, op fileOp) bool {
	e, ok := now.Lookup(op.Path)
	if op.New == nil && ok || op.New != nil && (!ok || e.Hash != op.New.Hash || e.Mode != op.New.Mode) {
		return false
	}
	full := filepath.Join(s.root, filepath.FromSlash(op.Path))
	fi, err := os.Lstat(full)
	if op.Old == nil || !isFile(*op.Old) || err != nil || !fi.Mode().IsRegular() {
		return op.Old == nil && errors.Is(err, os.ErrNotExist)
	}
	b, err := os.ReadFile(full)
	return err == nil && BlobHash(b) == op.Old.Hash
}

// fileOp is one path whose tree entry differs between two trees; Old or
// New is nil when the path is absent on that side.
type fileOp struct {
	Path     string
	Old, New *Entry
}

// diffTrees lists file-level differences, skipping subtrees whose ids are
// equal, which keeps worktree updates proportional to the change. Both
// trees are merged in one pass in tree order, where a file and a
// directory of the same name are different keys.
func diffTrees(read func(plumbing.Hash) ([]Entry, error), a, b plumbing.Hash, prefix string, ops *[]fileOp) error {
	if a == b {
		return nil
	}
	var es [2][]Entry
	for k, h := range []plumbing.Hash{a, b} {
		if h.IsZero() {
			continue
		}
		var err error
		if es[k], err = read(h); err != nil {
			return err
		}
		// A tree out of canonical order (git fsck flags it, but it can
		// exist) is merged from a sorted copy; cached trees are shared.
		if !slices.IsSortedFunc(es[k], compareEntries) {
			es[k] = slices.Clone(es[k])
			sortEntries(es[k])
		}
	}
	ea, eb := es[0], es[1]
	*ops = slices.Grow(*ops, max(len(eb)-len(ea), 0))
	for i, j := 0, 0; i < len(ea) || j < len(eb); {
		var x, y *Entry
		switch {
		case j == len(eb) || i < len(ea) && compareEntries(ea[i], eb[j]) < 0:
			x, i = &ea[i], i+1
		case i == len(ea) || compareEntries(ea[i], eb[j]) > 0:
			y, j = &eb[j], j+1
		default:
			x, y, i, j = &ea[i], &eb[j], i+1, j+1
			if *x == *y {
				continue
			}
		}
		var sa, sb plumbing.Hash
		name := ""
		if x != nil {
			sa, name = x.Hash, x.Name
		}
		if y != nil {
			sb, name = y.Hash, y.Name
		}
		if x != nil && isDir(*x) || y != nil && isDir(*y) {
			if err := diffTrees(read, sa, sb, prefix+name+"/", ops); err != nil {
				return err
			}
			continue
		}
		*ops = append(*ops, fileOp{Path: prefix + name, Old: x, New: y})
	}
	return nil
}

// update is one worktree update: the paths that differ between two trees.
// It is planned before the ref moves, so that what can refuse it (a
// symlinked directory, a file where a directory goes) refuses the move,
// and applied after.
type update struct {
	s       *Store
	newTree plumbing.Hash
	objs    *objSet
	ops     []fileOp
	redo    bool // Recover's: temp files a killed update left may lie about
}

// planMove plans the update from commit old's tree to commit new's.
func (s *Store) planMove(old, new plumbing.Hash, keep func(fileOp) bool) (*update, error) {
	oldTree, err := s.commitTree(old)
	if err != nil {
		return nil, err
	}
	newTree, err := s.commitTree(new)
	if err != nil {
		return nil, err
	}
	return s.planUpdate(oldTree, newTree, nil, keep)
}

func (s *Store) planUpdate(oldTree, newTree plumbing.Hash, objs *objSet, keep func(fileOp) bool) (*update, error) {
	if s.sparseCheckout() {
		return nil, errors.New(`the worktree is a sparse checkout (core.sparseCheckout), which gitalog cannot keep when it writes the catalog's files; "git sparse-checkout disable" turns it off, or sync a bare clone`)
	}
	u := &update{s: s, newTree: newTree, objs: objs}
	if err := diffTrees(s.readTree, oldTree, newTree, "", &u.ops); err != nil {
		return nil, err
	}
	if keep != nil {
		u.ops = slices.DeleteFunc(u.ops, func(op fileOp) bool { return !keep(op) })
	}
	return u, s.checkDirs(u.ops)
}

// lockIndex takes index.lock ahead of a worktree update, as git checkout
// does: from then until the new index is in place, a git add fails at the
// lock instead of succeeding and being overwritten by an index built from
// an older read.
func (s *Store) lockIndex() (*heldLock, error) {
	l, err := takeLock(s.gitDir, s.indexPath())
	if err != nil {
		return nil, fmt.Errorf("cannot update the index: %w", err)
	}
	return l, nil
}

// apply writes the files and then the index, read under lock. Files that
// cannot be written still get the new tree's entries, with zero stat
// data, so git shows the old files as unstaged changes (Recover writes
// them later); an index left at the old tree would show the sync
// reverted as staged, and the user's next commit would make that revert.
func (u *update) apply(lock *heldLock) error {
	written := make([]*index.Entry, len(u.ops))
	err := u.write(written)
	if err != nil {
		missing, total := 0, 0
		for i, op := range u.ops {
			if op.New != nil {
				total++
				if written[i] == nil {
					missing++
					written[i] = &index.Entry{Name: op.Path, Hash: op.New.Hash, Mode: op.New.Mode}
				}
			}
		}
		if _, ok := err.(*keptFiles); !ok && missing > 1 {
			err = fmt.Errorf("%w (%d of %d files not written)", err, missing, total)
		}
	}
	if ierr := u.s.updateIndex(lock, u.ops, written, u.newTree); ierr != nil {
		if err == nil {
			return ierr
		}
		return fmt.Errorf("%w (and the index still holds the old files: %v)", err, ierr)
	}
	return err
}

// checkoutWorkers write files concurrently; the page cache, not the
// disk, is what a checkout mostly waits on.
var checkoutWorkers = min(runtime.GOMAXPROCS(0), 4)

// write makes the removals, then writes the new files into written. It
// stops at the first failure: what fails one file (a full disk, a
// read-only directory) fails the rest too, and a line for each of 3,000
// files would hide the one that says why.
func (u *update) write(written []*index.Entry) error {
	s := u.s
	// Removals first, so a file can become a directory and vice versa.
	var dirs []string
	var todo []int
	for i, op := range u.ops {
		full := filepath.Join(s.root, filepath.FromSlash(op.Path))
		if op.New != nil {
			todo = append(todo, i)
			if u.redo {
				os.Remove(tmpName(full))
			}
		}
		if op.Old == nil || (op.New != nil && op.New.Mode != filemode.Submodule) {
			continue
		}
		os.Remove(tmpName(full))
		if op.Old.Mode != filemode.Submodule {
			if err := os.Remove(full); err != nil && !missing(err) {
				return err
			}
		}
		dirs = append(dirs, filepath.Dir(full))
	}
	s.pruneDirs(dirs)

	var (
		next   atomic.Int64
		failed atomic.Bool
		once   sync.Once
		first  error
		made   sync.Map // directories known to exist
		wg     sync.WaitGroup
		keptMu sync.Mutex
		kept   []string
	)
	for range max(checkoutWorkers, 1) {
		wg.Go(func() {
			for !failed.Load() {
				k := int(next.Add(1) - 1)
				if k >= len(todo) {
					return
				}
				op := u.ops[todo[k]]
				e, err := s.checkoutFile(op, u.objs, &made, u.redo)
				if errors.Is(err, errLocalFile) {
					keptMu.Lock()
					kept = append(kept, op.Path)
					keptMu.Unlock()
					continue
				}
				if err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
					return
				}
				written[todo[k]] = e
			}
		})
	}
	wg.Wait()
	if first == nil && len(kept) > 0 {
		slices.Sort(kept)
		return &keptFiles{DirtyError{Paths: kept}}
	}
	return first
}

// checkDirs refuses an update when a directory it writes into or removes
// from is not a directory in the worktree (the tree cannot tell: an
// untracked link is not in it): through a symbolic link files would be
// written where it points, and git, which does not follow it, would show
// every tracked file below as deleted; a file would stop the update after
// the ref moved. A path the update itself removes is fine.
func (s *Store) checkDirs(ops []fileOp) error {
	removed := map[string]bool{}
	for _, op := range ops {
		if op.Old != nil && op.New == nil {
			removed[op.Path] = true
		}
	}
	checked := map[string]bool{".": true}
	var chain []string
	for _, op := range ops {
		chain = chain[:0]
		for d := path.Dir(op.Path); !checked[d]; d = path.Dir(d) {
			chain = append(chain, d)
		}
		// Top down, so the error names the outermost link; below a
		// missing directory everything is missing too.
		missing := false
		for i := len(chain) - 1; i >= 0; i-- {
			d := chain[i]
			checked[d] = true
			if missing || removed[d] {
				continue
			}
			full := filepath.Join(s.root, filepath.FromSlash(d))
			fi, err := os.Lstat(full)
			switch {
			case errors.Is(err, os.ErrNotExist):
				missing = true
			case err != nil:
				return err
			case fi.Mode()&os.ModeSymlink != 0:
				to, _ := os.Readlink(full)
				return fmt.Errorf("%s is a symbolic link (to %s), and %s would be written or removed through it; gitalog (like git) writes only into real directories of the repository: replace the link with a directory", d, to, op.Path)
			case !fi.IsDir():
				return fmt.Errorf("%s is a file, not a directory, so %s cannot be written; move it away", d, op.Path)
			}
		}
	}
	return nil
}

// missing reports whether an lstat error says there is nothing there.
func missing(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// tmpName is deterministic so that Recover (or the next write) replaces a
// temp file a crash left behind instead of accumulating them. A name too
// long to take the suffix (git accepts any name the file system does) gets
// one derived from its hash, so the update never fails on it after the
// branch moved.
func tmpName(full string) string {
	base := filepath.Base(full)
	if len(base) > 200 {
		sum := sha1.Sum([]byte(base))
		base = hex.EncodeToString(sum[:10])
	}
	return filepath.Join(filepath.Dir(full), "."+base+".gitalog-tmp")
}

// pruneDirs removes directories left empty by deletions, deepest first,
// stopping at the first non-empty one like git does.
func (s *Store) pruneDirs(dirs []string) {
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	slices.SortFunc(dirs, func(a, b string) int { return len(b) - len(a) })
	for _, d := range dirs {
		for d != s.root && strings.HasPrefix(d, s.root+string(filepath.Separator)) {
			if os.Remove(d) != nil {
				break
			}
			d = filepath.Dir(d)
		}
	}
}

func (s *Store) blob(h plumbing.Hash, objs *objSet) ([]byte, error) {
	if objs != nil {
		if o, ok := objs.m[h]; ok {
			return o.data, nil
		}
	}
	return s.ReadBlob(h)
}

// checkoutFile writes one file and returns its index entry. A new path
// is created exclusively; a changed one (or a new one a crashed update
// left behind, under Recover: redo) is written under a temp name and
// renamed, so readers never see it half-written.
func (s *Store) checkoutFile(op fileOp, objs *objSet, made *sync.Map, redo bool) (*index.Entry, error) {
	full := filepath.Join(s.root, filepath.FromSlash(op.Path))
	if TestHookWriteFile != nil {
		hookMu.Lock()
		err := TestHookWriteFile(op.Path)
		hookMu.Unlock()
		if err != nil {
			return nil, &os.PathError{Op: "write", Path: full, Err: err}
		}
	}
	e := op.New
	ie := &index.Entry{Name: op.Path, Hash: e.Hash, Mode: e.Mode}
	if e.Mode == filemode.Submodule {
		return ie, os.MkdirAll(full, 0o777)
	}
	data, err := s.blob(e.Hash, objs)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(full); dir != s.root {
		if _, ok := made.Load(dir); !ok {
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return nil, err
			}
			made.Store(dir, true)
		}
	}
	perm := os.FileMode(0o666) // git's, before the umask
	if e.Mode == filemode.Executable {
		perm = 0o777
	}
	if op.Old == nil {
		if e.Mode == filemode.Symlink {
			if err = os.Symlink(string(data), full); err == nil {
				err = lstatInto(full, ie)
			}
		} else {
			err = writeFile(full, "", data, perm, ie)
		}
		if !errors.Is(err, os.ErrExist) {
			if err != nil {
				return nil, err
			}
			return ie, nil
		}
		// Outside Recover, what is there appeared after the last check:
		// it is the user's, and only the same blob stands for ours.
		if !redo {
			if done, err := keepExisting(full, e, ie); done || err != nil {
				return ie, err
			}
		}
	}
	tmp := tmpName(full)
	if e.Mode != filemode.Symlink {
		if err := writeFile(tmp, full, data, perm, ie); err != nil {
			return nil, err
		}
		return ie, nil
	}
	os.Remove(tmp)
	if err := os.Symlink(string(data), tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, full); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	// Stat after the rename: rename updates ctime, and git compares it.
	return ie, lstatInto(full, ie)
}

func lstatInto(full string, ie *index.Entry) error {
	fi, err := os.Lstat(full)
	if err == nil {
		fillStat(ie, fi)
	}
	return err
}

// errLocalFile is a file found where the update creates one and left as
// it is (see keepExisting).
var errLocalFile = errors.New("appeared after the worktree was checked")

// keepExisting decides about the file or link at full, where the update
// creates e: the same blob of the same kind is kept as the checkout (ie
// gets its stat data); anything else is left alone (errLocalFile), and
// its index entry, without stat data, makes git show it as modified. A
// directory is not decided here (done false): the rename fails on it.
func keepExisting(full string, e *Entry, ie *index.Entry) (done bool, err error) {
	fi, err := os.Lstat(full)
	if err != nil || fi.IsDir() {
		return false, nil
	}
	h, err := hashFile(full, fi)
	if err != nil {
		return true, err
	}
	link := fi.Mode()&os.ModeSymlink != 0
	exec := fi.Mode().IsRegular() && fi.Mode()&0o100 != 0
	if h == e.Hash && link == (e.Mode == filemode.Symlink) && exec == (e.Mode == filemode.Executable) {
		fillStat(ie, fi)
		return true, nil
	}
	return true, errLocalFile
}

// keptFiles is an update that wrote everything but files the user made
// while it ran: they stay theirs, local changes git shows as modified,
// and there is nothing for Recover to finish.
type keptFiles struct{ DirtyError }

func (e *keptFiles) Error() string {
	return fmt.Sprintf("%v: %s (%v, with other content than the commit's: left as found, and git shows the difference as a modification)", ErrDirty, e.list(), errLocalFile)
}

// CheckWorktree verifies that each path in the worktree still matches the
// parent commit (same content, or absent on both sides), so a sync does
// not overwrite hand edits, trusting the index's stat data as git does.
// A pending interrupted update is recovered first.
func (s *Store) CheckWorktree(parent plumbing.Hash, paths []string) error {
	if s.bare {
		return nil
	}
	if err := s.Recover(); err != nil {
		return err
	}
	return s.checkWorktree(parent, paths)
}

// checkWorktree is CheckWorktree without Recover, for MoveRef, which
// checks under index.lock: Recover would take the held lock for one a
// killed gitalog stranded (it is a link of our temp file) and remove it.
func (s *Store) checkWorktree(parent plumbing.Hash, paths []string) error {
	snap, err := s.Snapshot(parent)
	if err != nil {
		return err
	}
	idx, err := s.readIndex()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// Without an index (a fresh repository) nothing can be staged.
	hasIndex := idx != nil
	if !hasIndex {
		idx = &gitIndex{}
	}
	var dirty []string
	eolConverts := sync.OnceValue(s.eolConverts) // asked once per check, when needed
	seen := make(map[string]bool, len(paths))
	// Paths come sorted, so one directory's paths are consecutive: when a
	// directory is in neither the tree, the worktree nor the index (a
	// first sync's 100k new paths), each of its paths is clean without a
	// lookup.
	lastDir, lastNew := "", false
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		if err := checkPath(p); err != nil {
			return err
		}
		if d := path.Dir(p); d != lastDir {
			_, inTree := snap.Lookup(d)
			_, err := os.Lstat(filepath.Join(s.root, filepath.FromSlash(d)))
			lastDir, lastNew = d, !inTree && d != "." && missing(err) && !idx.hasUnder(d+"/")
		}
		if lastNew {
			continue
		}
		want, inTree := snap.Lookup(p)
		if inTree && isDir(want) {
			continue
		}
		// The index entry is replaced, so a change staged in it (even one
		// the worktree no longer shows) is a local change like a hand edit.
		ie, conflict, err := idx.find(p)
		if err != nil {
			return err
		}
		if hasIndex && (conflict || stagedChange(ie, want, inTree)) {
			dirty = append(dirty, p)
			continue
		}
		if inTree && want.Mode == filemode.Submodule {
			continue
		}
		full := filepath.Join(s.root, filepath.FromSlash(p))
		fi, err := os.Lstat(full)
		switch {
		case err != nil && !missing(err):
			return err
		case err != nil || !inTree: // dirty when on one side only
			if inTree != (err == nil) {
				dirty = append(dirty, p)
			}
			continue
		}
		if ie != nil && ie.Hash == want.Hash && statClean(ie, fi, idx.mtime) {
			continue
		}
		testHashCount.Add(1)
		got, err := hashFile(full, fi)
		if err != nil {
			return err
		}
		if got != want.Hash && !(fi.Mode().IsRegular() && eolConverts() && sameAfterEOL(full, want.Hash)) {
			dirty = append(dirty, p)
		}
	}
	if len(dirty) > 0 {
		return &DirtyError{Paths: dirty}
	}
	return nil
}

// stagedChange reports whether the stage-0 index entry ie (nil: none)
// differs from the parent tree's entry want (absent unless inTree).
func stagedChange(ie *index.Entry, want Entry, inTree bool) bool {
	if ie == nil || !inTree {
		return (ie == nil) == inTree
	}
	mode := want.Mode
	if mode == filemode.Deprecated { // git writes it to the index as 100644
		mode = filemode.Regular
	}
	return ie.Hash != want.Hash || ie.Mode != mode
}

// TestHookWriteFile, when set, runs before each worktree file is written
// and fails the write with its error, as a full disk would. It is for
// tests, in this package and in those built on it.
var TestHookWriteFile func(path string) error

var hookMu sync.Mutex // the hook is called from several writers

// eolConverts reports whether git may convert line endings in this
// worktree (core.autocrlf, or .gitattributes setting text or eol): there a
// file checked out with CRLF, which git status calls clean, is compared as
// git adds it, with LF.
func (s *Store) eolConverts() bool {
	get := s.configGetter(`^core\.autocrlf$`)
	if v := strings.ToLower(strings.TrimSpace(get("core.autocrlf"))); v == "input" || v != "" && parseBool(v) {
		return true
	}
	b, err := os.ReadFile(filepath.Join(s.root, ".gitattributes"))
	return err == nil && (bytes.Contains(b, []byte("eol")) || bytes.Contains(b, []byte("text")))
}

// sameAfterEOL reports whether the file at full, its CRLFs made LF, is the
// blob want.
func sameAfterEOL(full string, want plumbing.Hash) bool {
	b, err := os.ReadFile(full)
	return err == nil && bytes.Contains(b, []byte("\r\n")) && BlobHash(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))) == want
}
