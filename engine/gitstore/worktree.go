package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

const journalName = "gitalog-pending"

// journal records a ref move whose worktree update may not have finished.
type journal struct{ old, new plumbing.Hash }

func (s *Store) journalPath() string { return filepath.Join(s.gitDir, journalName) }

func (s *Store) writeJournal(j journal) error {
	p := s.journalPath()
	tmp := p + ".tmp"
	content := fmt.Sprintf("gitalog-pending v1\nold %s\nnew %s\n", j.old, j.new)
	if err := writeFileSync(tmp, []byte(content)); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func (s *Store) removeJournal() error {
	err := os.Remove(s.journalPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
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
	_, err = fmt.Sscanf(string(b), "gitalog-pending v1\nold %s\nnew %s\n", &o, &n)
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
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Recover finishes a worktree update that a crash interrupted. It is a
// no-op when no journal is pending. If HEAD is not at the journal's new
// commit, the ref move never happened (or was superseded), so there is
// nothing to replay and the journal is dropped.
func (s *Store) Recover() error {
	sweepTemp(s.spool.Load().live, s.gitDir, s.commonDir, filepath.Join(s.commonDir, "objects", "pack"))
	// A commit holds index.lock from before its ref move to the end of
	// its worktree update; if it was killed there, git add would fail
	// until a later commit took the lock. Only a lock that is one of our
	// temp files is removed (see removeStranded), never git's.
	if !s.bare {
		removeStranded(s.gitDir, s.indexPath()+".lock")
	}
	j, ok, err := s.readJournal()
	if err != nil {
		return err
	}
	if !ok {
		s.sweepStage()
		return nil
	}
	if s.bare {
		return s.removeJournal()
	}
	head, err := s.Head()
	if err != nil {
		return err
	}
	if head.Commit != j.new {
		// Committed on top before the files were written (the index
		// followed, so a plain git commit works): the files that still
		// hold the old version, where HEAD still has the new one, are
		// the update's to finish; anything else is the user's now.
		if on, err := s.IsAncestor(j.new, head.Commit); err == nil && on {
			if err := s.finishLagging(j, head.Commit); err != nil {
				return fmt.Errorf("recover: %w", err)
			}
		}
		return s.removeJournal()
	}
	oldTree := emptyTree
	if !j.old.IsZero() {
		if oldTree, err = s.commitTree(j.old); err != nil {
			return fmt.Errorf("recover: %w", err)
		}
	}
	newTree, err := s.commitTree(j.new)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	if err := s.updateWorktree(oldTree, newTree, nil); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	return s.removeJournal()
}

// finishLagging writes the files of the journal's update that still hold
// the old version while head has the new one.
func (s *Store) finishLagging(j journal, head plumbing.Hash) error {
	oldTree := emptyTree
	var err error
	if !j.old.IsZero() {
		if oldTree, err = s.commitTree(j.old); err != nil {
			return err
		}
	}
	newTree, err := s.commitTree(j.new)
	if err != nil {
		return err
	}
	now, err := s.Snapshot(head)
	if err != nil {
		return err
	}
	return s.updateWorktreeOnly(oldTree, newTree, nil, func(op fileOp) bool {
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
	})
}

// fileOp is one path whose tree entry differs between two trees; Old or
// New is nil when the path is absent on that side.
type fileOp struct {
	Path     string
	Old, New *Entry
}

// treeReader reads trees preferring objects still held in memory.
func (s *Store) treeReader(objs *objSet) func(plumbing.Hash) ([]Entry, error) {
	return func(h plumbing.Hash) ([]Entry, error) {
		if objs != nil {
			if es, ok := objs.trees[h]; ok {
				return es, nil
			}
			if o, ok := objs.m[h]; ok {
				return parseTree(o.data)
			}
		}
		return s.readTree(h)
	}
}

// diffTrees lists file-level differences, skipping subtrees whose ids are
// equal, which is what keeps worktree updates proportional to the change.
// Both trees are merged in one pass in tree order, where a file and a
// directory of the same name are different keys.
func diffTrees(read func(plumbing.Hash) ([]Entry, error), a, b plumbing.Hash, prefix string, ops *[]fileOp) error {
	if a == b {
		return nil
	}
	var ea, eb []Entry
	var err error
	if !a.IsZero() {
		if ea, err = read(a); err != nil {
			return err
		}
	}
	if !b.IsZero() {
		if eb, err = read(b); err != nil {
			return err
		}
	}
	// A tree out of canonical order (git fsck flags it, but it can exist)
	// is merged from a sorted copy; cached trees are shared.
	for _, es := range []*[]Entry{&ea, &eb} {
		if !slices.IsSortedFunc(*es, compareEntries) {
			*es = slices.Clone(*es)
			sortEntries(*es)
		}
	}
	*ops = slices.Grow(*ops, max(len(eb)-len(ea), 0))
	emit := func(x, y *Entry) error {
		if x != nil && isDir(*x) || y != nil && isDir(*y) {
			var sa, sb plumbing.Hash
			name := ""
			if x != nil {
				sa, name = x.Hash, x.Name
			}
			if y != nil {
				sb, name = y.Hash, y.Name
			}
			return diffTrees(read, sa, sb, prefix+name+"/", ops)
		}
		if x != nil {
			*ops = append(*ops, fileOp{Path: prefix + x.Name, Old: x, New: y})
		} else {
			*ops = append(*ops, fileOp{Path: prefix + y.Name, New: y})
		}
		return nil
	}
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		c := 0
		switch {
		case i == len(ea):
			c = 1
		case j == len(eb):
			c = -1
		default:
			c = compareEntries(ea[i], eb[j])
		}
		switch {
		case c < 0:
			err = emit(&ea[i], nil)
			i++
		case c > 0:
			err = emit(nil, &eb[j])
			j++
		default:
			if ea[i] != eb[j] {
				err = emit(&ea[i], &eb[j])
			}
			i++
			j++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// updateWorktree makes the worktree and index match newTree on the paths
// that differ from oldTree. It is idempotent, so Recover can rerun it.
func (s *Store) updateWorktree(oldTree, newTree plumbing.Hash, objs *objSet) error {
	return s.updateWorktreeOnly(oldTree, newTree, objs, nil)
}

// updateWorktreeOnly is updateWorktree on the paths keep accepts (nil:
// all).
func (s *Store) updateWorktreeOnly(oldTree, newTree plumbing.Hash, objs *objSet, keep func(fileOp) bool) error {
	u, err := s.planWorktreeOnly(oldTree, newTree, objs, nil, keep)
	if err != nil {
		return err
	}
	lock, err := s.lockIndex()
	if err != nil {
		return err
	}
	defer lock.release()
	if err := u.stage(); err != nil {
		return err
	}
	return u.finish(lock)
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

// worktreeUpdate is one worktree update in three steps: plan (the diff
// and the staging dirs), stage (write the files of directories that do
// not exist yet into the invisible staging dir) and finish (removals, the
// other files, moving the staged dirs into place, the index). Only finish
// changes what anyone can see, so Commit runs stage before the ref moves,
// alongside writing the pack.
type worktreeUpdate struct {
	s       *Store
	newTree plumbing.Hash
	objs    *objSet
	read    func(plumbing.Hash) ([]Entry, error)
	ops     []fileOp
	writes  []int // indexes into ops of the paths to write
	st      *staging
	results []*index.Entry // nil until the op's file is written
}

func (s *Store) planWorktree(oldTree, newTree plumbing.Hash, objs *objSet, pre *Prestage) (*worktreeUpdate, error) {
	return s.planWorktreeOnly(oldTree, newTree, objs, pre, nil)
}

func (s *Store) planWorktreeOnly(oldTree, newTree plumbing.Hash, objs *objSet, pre *Prestage, keep func(fileOp) bool) (*worktreeUpdate, error) {
	u := &worktreeUpdate{s: s, newTree: newTree, objs: objs, read: s.treeReader(objs)}
	if err := diffTrees(u.read, oldTree, newTree, "", &u.ops); err != nil {
		return nil, err
	}
	if keep != nil {
		u.ops = slices.DeleteFunc(u.ops, func(op fileOp) bool { return !keep(op) })
	}
	if err := s.checkDirs(u.ops); err != nil {
		return nil, err
	}
	for i, op := range u.ops {
		if op.New != nil {
			u.writes = append(u.writes, i)
		}
	}
	st, err := s.newStaging(u.ops, u.writes, pre)
	if err != nil {
		return nil, err
	}
	u.st = st
	u.results = make([]*index.Entry, len(u.ops))
	return u, nil
}

// checkDirs refuses an update when a directory it writes into or removes
// from is, in the worktree, not a directory: a symbolic link would have
// files written or removed where it points (and git, which does not
// follow it, would show every tracked file below as deleted); a file
// would stop the update after the ref moved. The tree cannot tell (an
// untracked link is not in it), so this is the worktree's lstat, as
// buildTree's check is the tree's. A path the update itself removes is
// fine: removals run first.
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

// stage writes the files of the staged directories; nothing it does is
// visible in the worktree until finish.
func (u *worktreeUpdate) stage() error {
	if len(u.st.dirs) == 0 {
		return nil
	}
	var todo []int
	for _, i := range u.writes {
		op := u.ops[i]
		if _, ok := u.st.stagedDir(filepath.Join(u.s.root, filepath.FromSlash(op.Path)), op.New.Mode); ok {
			todo = append(todo, i)
		}
	}
	todo, err := u.usePrestaged(todo)
	if err != nil {
		return err
	}
	return u.checkout(todo)
}

// usePrestaged takes the prestaged files that are exactly what the commit
// has, removes the others, and returns the writes still to do.
func (u *worktreeUpdate) usePrestaged(todo []int) ([]int, error) {
	if len(u.st.fromPre) == 0 {
		return todo, nil
	}
	// The writer has stopped and the directories are this commit's alone:
	// their entries are taken over, and removed from the map once used,
	// rather than copied and tracked in another 100k-entry set.
	dirs := map[string]map[string]preFile{} // a failed writer's: nil, but present
	for _, dir := range u.st.fromPre {
		files, ok := u.st.pre.written(dir)
		if !ok {
			// The writer failed: start the directory afresh.
			staged := u.st.dirs[dir]
			if err := os.RemoveAll(staged); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(staged, 0o777); err != nil {
				return nil, err
			}
			files = nil
		}
		dirs[dir] = files
	}
	left := todo[:0]
	for _, i := range todo {
		op := u.ops[i]
		full := filepath.Join(u.s.root, filepath.FromSlash(op.Path))
		files, pre := dirs[filepath.Dir(full)]
		if !pre {
			left = append(left, i)
			continue
		}
		name := filepath.Base(full)
		f, ok := files[name]
		if ok && f.hash == op.New.Hash && op.New.Mode == filemode.Regular {
			f.entry.Name = op.Path
			u.results[i] = f.entry
			delete(files, name)
			continue
		}
		if ok { // other content: written again
			if err := os.Remove(filepath.Join(u.st.dirs[filepath.Dir(full)], name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			delete(files, name)
		}
		left = append(left, i)
	}
	for dir, files := range dirs {
		for name := range files { // prestaged, but not in the tree
			if err := os.Remove(filepath.Join(u.st.dirs[dir], name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
	}
	return left, nil
}

// abandon drops what stage wrote, for a commit that did not land.
func (u *worktreeUpdate) abandon() {
	os.RemoveAll(u.st.root)
	u.st.pre.Abandon()
}

// checkout writes the files todo lists, from one goroutine: a catalog's
// files sit in a few very large directories, and creating files in one
// directory from several threads contends on its lock in the kernel
// (100k new files, ext4, 2 cores: one writer 8.9-13.5 s, two 11.7-18.6
// s). It stops at the first failure: what fails one file (a full disk, a
// read-only directory) fails the rest too, and a line for each of 3,000
// files would hide the one that says why. The count of files not written
// is added by notWritten, which sees the staged directories too.
func (u *worktreeUpdate) checkout(todo []int) error {
	for _, i := range todo {
		var err error
		if u.results[i], err = u.s.checkoutFile(u.ops[i], u.objs, u.st); err != nil {
			return err
		}
	}
	return nil
}

// missing reports whether the file of write i is not in the worktree: not
// written, or written into a staged directory that is not in place.
func (u *worktreeUpdate) missing(i int) bool {
	op := u.ops[i]
	if u.results[i] == nil {
		return true
	}
	_, staged := u.st.stagedDir(filepath.Join(u.s.root, filepath.FromSlash(op.Path)), op.New.Mode)
	return staged
}

// notWritten adds to err, an update's first failure, how many of its
// files are not in the worktree.
func (u *worktreeUpdate) notWritten(err error) error {
	n := 0
	for _, i := range u.writes {
		if u.missing(i) {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("%w (%d of %d files not written)", err, n, len(u.writes))
	}
	return err
}

// finish needs index.lock held (lockIndex): the index is read under it.
// When files cannot be written, the index still moves to the new tree,
// with zero stat data for them: git then compares their content and shows
// the old files as unstaged changes. An index left at the old tree would
// show the sync reverted as staged, and the user's next commit would make
// that revert. Recover writes the files later.
func (u *worktreeUpdate) finish(lock *heldLock) error {
	err := u.apply()
	if err == nil {
		return u.s.updateIndex(lock, u.ops, u.results, u.newTree, u.read)
	}
	err = u.notWritten(err)
	for _, i := range u.writes {
		if op := u.ops[i]; u.missing(i) {
			u.results[i] = &index.Entry{Name: op.Path, Hash: op.New.Hash, Mode: op.New.Mode}
		}
	}
	if ierr := u.s.updateIndex(lock, u.ops, u.results, u.newTree, u.read); ierr != nil {
		return fmt.Errorf("%w (and the index still holds the old files: %v)", err, ierr)
	}
	return err
}

// apply makes the removals and writes the files.
func (u *worktreeUpdate) apply() error {
	s := u.s
	// Removals first, so a file can become a directory and vice versa.
	var dirs []string
	for _, op := range u.ops {
		if op.Old == nil || (op.New != nil && op.New.Mode != filemode.Submodule) {
			continue
		}
		full := filepath.Join(s.root, filepath.FromSlash(op.Path))
		os.Remove(tmpName(full))
		if op.Old.Mode != filemode.Submodule {
			if err := os.Remove(full); err != nil && !errors.Is(err, os.ErrNotExist) && !isNotDir(err) {
				return err
			}
		}
		dirs = append(dirs, filepath.Dir(full))
	}
	s.pruneDirs(dirs)

	var todo []int
	for _, i := range u.writes {
		if u.results[i] == nil { // not written by stage
			todo = append(todo, i)
		}
	}
	if err := u.checkout(todo); err != nil {
		return err
	}
	return u.publish()
}

// staging speeds up filling directories that do not exist yet (a first
// sync writes 100k files into catalog/<blueprint>/): their files are
// written inside the git dir, where no reader looks, and each directory is
// then renamed into place whole. That is one rename instead of one per
// file, and still no half-written file is ever visible in the worktree.
type staging struct {
	root    string
	dirs    map[string]string // final directory -> staged directory
	order   []string
	mkdirs  sync.Map // directories known to exist
	pre     *Prestage
	fromPre []string // staged directories that are prestaged ones
}

const stageDir = "gitalog-stage"

func (s *Store) newStaging(ops []fileOp, writes []int, pre *Prestage) (*staging, error) {
	st := &staging{root: filepath.Join(s.gitDir, stageDir), dirs: map[string]string{}, pre: pre}
	// Whatever a killed run staged is incomplete; its journal redoes it.
	if err := os.RemoveAll(st.root); err != nil {
		return nil, err
	}
	if !s.canStage() {
		return st, nil
	}
	counts := map[string]int{}
	for _, i := range writes {
		op := ops[i]
		if op.Old != nil || op.New.Mode == filemode.Submodule || op.New.Mode == filemode.Symlink {
			continue
		}
		counts[filepath.Dir(filepath.Join(s.root, filepath.FromSlash(op.Path)))]++
	}
	cand := map[string]bool{}
	for dir, n := range counts {
		if n < 16 {
			continue // not worth it
		}
		if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		cand[dir] = true
	}
	// Whatever is made in place (a file of an unstaged subdirectory, a
	// symlink, a submodule) creates its directories in the worktree, and a
	// staged directory that then exists cannot be renamed into place: no
	// ancestor of such a path is staged.
	if len(cand) > 0 {
		for _, i := range writes {
			op := ops[i]
			full := filepath.Join(s.root, filepath.FromSlash(op.Path))
			d := filepath.Dir(full)
			switch {
			case op.New.Mode == filemode.Submodule:
				d = full
			case op.New.Mode != filemode.Symlink && cand[d]:
				continue
			}
			for ; len(d) > len(s.root); d = filepath.Dir(d) {
				delete(cand, d)
			}
		}
	}
	for dir := range cand {
		staged, ok := pre.claim(dir)
		if ok {
			st.fromPre = append(st.fromPre, dir)
		} else {
			staged = filepath.Join(st.root, strconv.Itoa(len(st.order)))
		}
		if err := os.MkdirAll(staged, 0o777); err != nil {
			return nil, err
		}
		st.dirs[dir] = staged
		st.order = append(st.order, dir)
	}
	// Parents before children, so a staged child lands in a placed parent.
	sort.Slice(st.order, func(i, j int) bool { return len(st.order[i]) < len(st.order[j]) })
	return st, nil
}

// canStage reports whether directories built in the git dir can be
// renamed into the worktree. Not when the two are on different
// filesystems (a git worktree added on another mount, a git init
// --separate-git-dir elsewhere): rename fails there with EXDEV, so the
// files are written in place, one by one.
func (s *Store) canStage() bool {
	return !testHookCrossDevice && sameDevice(s.gitDir, s.root)
}

// sweepStage removes files a commit staged before it was killed ahead of
// its ref move (with no journal, nothing will publish them). Only an old
// staging dir is touched, so a concurrent writer's live one survives.
// (The prestage dir is not swept here: a sync streaming for over an hour
// would lose its own; NewPrestage clears leftovers under the lock.)
func (s *Store) sweepStage() {
	root := filepath.Join(s.gitDir, stageDir)
	if fi, err := os.Lstat(root); err == nil && fi.ModTime().Before(time.Now().Add(-time.Hour)) {
		os.RemoveAll(root)
	}
}

// stagedDir returns the staged copy of the directory that the file full,
// of mode m, is written into, if that directory is staged. Symlinks and
// submodules are always made in place.
func (st *staging) stagedDir(full string, m filemode.FileMode) (string, bool) {
	if m == filemode.Symlink || m == filemode.Submodule {
		return "", false
	}
	d, ok := st.dirs[filepath.Dir(full)]
	return d, ok
}

// mkdirAll is os.MkdirAll, remembered, since most files share a directory.
func (st *staging) mkdirAll(dir string) error {
	if _, ok := st.mkdirs.Load(dir); ok {
		return nil
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	st.mkdirs.Store(dir, true)
	return nil
}

// publish moves the staged directories into place, each leaving st.dirs
// once it is there. A rename that fails with EXDEV (the git dir is on
// another filesystem than the worktree, though canStage saw one device, as
// across a bind mount, or a journal Recover finishes) is not an error:
// that directory and the ones after it are written in place instead.
func (u *worktreeUpdate) publish() error {
	st := u.st
	staged := len(st.order) > 0
	for k, dir := range st.order {
		if err := os.MkdirAll(filepath.Dir(dir), 0o777); err != nil {
			return err
		}
		err := renameDir(st.dirs[dir], dir)
		if errors.Is(err, syscall.EXDEV) {
			if err := u.unstage(st.order[k:]); err != nil {
				return err
			}
			break
		}
		if err != nil {
			return fmt.Errorf("placing %s: %w", dir, err)
		}
		delete(st.dirs, dir)
	}
	st.order = nil
	if staged {
		return os.RemoveAll(st.root)
	}
	return nil
}

// unstage writes the files of the staged directories dirs in place, one
// by one from the objects, as if they had never been staged, and drops
// their staged copies (a prestaged one is outside st.root).
func (u *worktreeUpdate) unstage(dirs []string) error {
	gone := make(map[string]string, len(dirs))
	for _, d := range dirs {
		gone[d] = u.st.dirs[d]
	}
	var todo []int
	for _, i := range u.writes {
		op := u.ops[i]
		full := filepath.Join(u.s.root, filepath.FromSlash(op.Path))
		if _, ok := u.st.stagedDir(full, op.New.Mode); ok {
			if _, ok := gone[filepath.Dir(full)]; ok {
				u.results[i] = nil
				todo = append(todo, i)
			}
		}
	}
	for d, staged := range gone {
		delete(u.st.dirs, d)
		os.RemoveAll(staged)
	}
	return u.checkout(todo)
}

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// tmpName is deterministic so that Recover (or the next write) replaces a
// temp file a crash left behind instead of accumulating them.
func tmpName(full string) string {
	return filepath.Join(filepath.Dir(full), "."+filepath.Base(full)+".gitalog-tmp")
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

// checkoutFile writes one file via a temp name and rename, so readers never
// see a half-written file, and returns its index entry.
func (s *Store) checkoutFile(op fileOp, objs *objSet, st *staging) (*index.Entry, error) {
	full := filepath.Join(s.root, filepath.FromSlash(op.Path))
	if TestHookWriteFile != nil {
		if err := TestHookWriteFile(op.Path); err != nil {
			return nil, &os.PathError{Op: "write", Path: full, Err: err}
		}
	}
	e := op.New
	if e.Mode == filemode.Submodule {
		if err := os.MkdirAll(full, 0o777); err != nil {
			return nil, err
		}
		return &index.Entry{Name: op.Path, Hash: e.Hash, Mode: e.Mode}, nil
	}
	data, err := s.blob(e.Hash, objs)
	if err != nil {
		return nil, err
	}
	if staged, ok := st.stagedDir(full, e.Mode); ok {
		// An unseen directory: write in place in its staged copy; the
		// directory appears whole later, and its rename leaves the files'
		// stat data (what the index records) as it is.
		p := filepath.Join(staged, filepath.Base(full))
		ie := &index.Entry{Name: op.Path, Hash: e.Hash, Mode: e.Mode}
		if err := writeFile(p, "", data, filePerm(e.Mode), ie); err != nil {
			return nil, err
		}
		return ie, nil
	}
	if err := st.mkdirAll(filepath.Dir(full)); err != nil {
		return nil, err
	}
	tmp := tmpName(full)
	ie := &index.Entry{Name: op.Path, Hash: e.Hash, Mode: e.Mode}
	if e.Mode != filemode.Symlink {
		if err := writeFile(tmp, full, data, filePerm(e.Mode), ie); err != nil {
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
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	fillStat(ie, fi)
	return ie, nil
}

// filePerm is what git creates files with, before the umask.
func filePerm(m filemode.FileMode) os.FileMode {
	if m == filemode.Executable {
		return 0o777
	}
	return 0o666
}

func (s *Store) indexPath() string { return filepath.Join(s.gitDir, "index") }

// updateIndex replaces the index entries of the changed paths. Without an
// index (a fresh repository) it builds one from the whole new tree. The
// extensions are dropped (see gitIndex); the cached tree would describe
// old trees. The index is read under lock, which the new one replaces.
func (s *Store) updateIndex(lock *heldLock, ops []fileOp, written []*index.Entry, newTree plumbing.Hash, read func(plumbing.Hash) ([]Entry, error)) error {
	old, err := s.readIndex()
	if testHookIndexRead != nil {
		testHookIndexRead()
	}
	var idx *gitIndex
	switch {
	case errors.Is(err, os.ErrNotExist):
		es, err := s.indexFromTree(newTree, ops, written, read)
		if err != nil {
			return err
		}
		idx = &gitIndex{version: 2, entries: make([]idxEntry, len(es))}
		for i, e := range es {
			idx.entries[i] = decoded(e)
		}
		slices.SortStableFunc(idx.entries, compareIdx)
	case err != nil:
		return err
	default:
		touched := make(map[string]bool, len(ops))
		for _, op := range ops {
			touched[op.Path] = true
		}
		added := make([]idxEntry, 0, len(written))
		for _, e := range written {
			if e != nil {
				added = append(added, decoded(e))
			}
		}
		slices.SortStableFunc(added, compareIdx)
		// old is shared with the index cache: build a new slice, merging
		// the sorted survivors with the sorted new entries.
		out := make([]idxEntry, 0, len(old.entries)+len(added))
		j := 0
		for _, e := range old.entries {
			if touched[e.name] {
				continue
			}
			for j < len(added) && compareIdx(added[j], e) < 0 {
				out = append(out, added[j])
				j++
			}
			if e, err = s.smudgeRacy(e, old); err != nil {
				return err
			}
			out = append(out, e)
		}
		out = append(out, added[j:]...)
		idx = &gitIndex{version: old.version, entries: out}
	}
	return s.writeIndex(lock, idx)
}

// smudgeRacy is git's ce_smudge_racily_clean_entry for an entry kept from
// the old index: one not older than that index may have been changed
// within the same timestamp tick without its stat data showing it, which
// only the old index's mtime told readers. The new index is newer, so
// when the file's content no longer matches, the entry's size is zeroed
// and readers compare content instead of trusting the stat data.
func (s *Store) smudgeRacy(e idxEntry, old *gitIndex) (idxEntry, error) {
	t := e.mtime()
	if t.IsZero() || old.mtime.IsZero() || t.Before(old.mtime) {
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
	var data []byte
	switch {
	case fi.Mode().IsRegular():
		data, err = os.ReadFile(full)
	case fi.Mode()&os.ModeSymlink != 0:
		var target string
		target, err = os.Readlink(full)
		data = []byte(target)
	default:
		return e, nil
	}
	if err == nil && BlobHash(data) == ie.Hash {
		return e, nil // racily clean, and really clean
	}
	c := *ie // the old index is shared with the cache
	c.Size = 0
	return decoded(&c), nil
}

func (s *Store) writeIndex(lock *heldLock, idx *gitIndex) error {
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

func (s *Store) indexFromTree(tree plumbing.Hash, ops []fileOp, written []*index.Entry, read func(plumbing.Hash) ([]Entry, error)) ([]*index.Entry, error) {
	have := make(map[string]*index.Entry, len(written))
	for _, e := range written {
		if e != nil {
			have[e.Name] = e
		}
	}
	var out []*index.Entry
	var walk func(h plumbing.Hash, prefix string) error
	walk = func(h plumbing.Hash, prefix string) error {
		es, err := read(h)
		if err != nil {
			return err
		}
		for _, e := range es {
			p := prefix + e.Name
			if isDir(e) {
				if err := walk(e.Hash, p+"/"); err != nil {
					return err
				}
				continue
			}
			if ie := have[p]; ie != nil {
				out = append(out, ie)
				continue
			}
			ie := &index.Entry{Name: p, Hash: e.Hash, Mode: e.Mode}
			// A file we did not write gets stat data only if its content
			// matches; otherwise zero stat makes git rehash it.
			full := filepath.Join(s.root, filepath.FromSlash(p))
			if fi, err := os.Lstat(full); err == nil && fi.Mode().IsRegular() && isFile(e) {
				if b, err := os.ReadFile(full); err == nil && BlobHash(b) == e.Hash {
					fillStat(ie, fi)
				}
			}
			out = append(out, ie)
		}
		return nil
	}
	if err := walk(tree, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckWorktree verifies that each path in the worktree still matches the
// parent commit (same content, or absent on both sides), so a sync does
// not overwrite hand edits. Like git, it trusts the index's stat data to
// skip hashing files that have not been touched. A pending interrupted
// update is recovered first, since it would otherwise show as dirty.
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
	if idx == nil {
		idx = &gitIndex{}
	}
	var dirty []string
	seen := map[string]bool{}
	// A path whose directory is missing is missing too: the first sync
	// checks 100k new paths in a directory that does not exist yet, and
	// one lstat of that directory answers for all of them.
	dirMissing := map[string]bool{}
	// Paths come sorted, so one directory's paths are consecutive: when a
	// directory is in neither the tree nor the worktree, each of its paths
	// is clean without a lookup of its own.
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
			lastDir, lastNew = d, false
			if _, inTree := snap.Lookup(d); !inTree && d != "." {
				_, err := os.Lstat(filepath.Join(s.root, filepath.FromSlash(d)))
				lastNew = errors.Is(err, os.ErrNotExist) || isNotDir(err)
			}
		}
		if lastNew {
			continue
		}
		want, inTree := snap.Lookup(p)
		if inTree && (isDir(want) || want.Mode == filemode.Submodule) {
			continue
		}
		full := filepath.Join(s.root, filepath.FromSlash(p))
		dir := filepath.Dir(full)
		missing, known := dirMissing[dir]
		if !known {
			_, err := os.Lstat(dir)
			missing = errors.Is(err, os.ErrNotExist) || isNotDir(err)
			dirMissing[dir] = missing
		}
		var fi os.FileInfo
		if missing {
			err = os.ErrNotExist
		} else {
			fi, err = os.Lstat(full)
		}
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || isNotDir(err) {
				if inTree {
					dirty = append(dirty, p)
				}
				continue
			}
			return err
		}
		if !inTree {
			dirty = append(dirty, p)
			continue
		}
		if ie, err := idx.find(p); err != nil {
			return err
		} else if ie != nil && ie.Hash == want.Hash && statClean(ie, fi, idx.mtime) {
			continue
		}
		testHashCount.Add(1)
		var got plumbing.Hash
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(full)
			if err != nil {
				return err
			}
			got = BlobHash([]byte(t))
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(full)
			if err != nil {
				return err
			}
			got = BlobHash(b)
		}
		if got != want.Hash {
			dirty = append(dirty, p)
		}
	}
	if len(dirty) > 0 {
		return &DirtyError{Paths: dirty}
	}
	return nil
}

// TestHookWriteFile, when set, runs before each worktree file is written
// and fails the write with its error, as a full disk would. It is for
// tests, in this package and in those built on it; nothing else sets it.
var TestHookWriteFile func(path string) error

// testHookCrossDevice makes canStage see the git dir on another
// filesystem than the worktree.
var testHookCrossDevice bool

// testHookPlaceDir, when set, runs before a staged directory is renamed
// into the worktree and fails the rename with its error: tests cannot
// mount a second filesystem to get a real EXDEV.
var testHookPlaceDir func(dir string) error

func renameDir(from, to string) error {
	if testHookPlaceDir != nil {
		if err := testHookPlaceDir(to); err != nil {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
		}
	}
	return os.Rename(from, to)
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
