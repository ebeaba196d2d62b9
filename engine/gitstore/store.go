package gitstore

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	format "github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// Store is an open repository. It is safe for concurrent use by multiple
// goroutines for reading; see the package doc for writers.
type Store struct {
	root      string // worktree root, or the git dir when bare
	gitDir    string // per-worktree git dir: HEAD, index, journal, lock
	commonDir string // shared git dir: objects, refs, config
	bare      bool
	cfg       *format.Config // the repository's config, read once

	// mu serialises object access: go-git's pack readers share file
	// offsets and lazily built indexes, so they are not safe to share.
	mu sync.Mutex
	st *filesystem.Storage

	trees treeCache
	index indexCache

	spool atomic.Pointer[Spool] // the open spool, whose temp pack Recover keeps
}

// Open opens the repository whose worktree root (or bare git dir) is dir.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%q is %w (run \"gitalog init\")", abs, ErrNotRepository)
	}
	if gitDir, ok, err := dotGitDir(abs); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return newStore(abs, gitDir, false)
	}
	if isGitDir(abs) {
		s, err := newStore(abs, abs, true)
		if err == nil && filepath.Base(abs) == ".git" && s.cfg.Section("core").HasOption("bare") && !parseBool(s.cfg.Section("core").Option("bare")) {
			return nil, notRoot(abs, filepath.Dir(abs))
		}
		return s, err
	}
	for p := filepath.Dir(abs); p != filepath.Dir(p); p = filepath.Dir(p) {
		if _, ok, _ := dotGitDir(p); ok {
			return nil, notRoot(abs, p)
		}
	}
	return nil, fmt.Errorf("%q is %w (run \"gitalog init\")", abs, ErrNotRepository)
}

// dotGitDir resolves root/.git, which is a directory for ordinary
// repositories and a "gitdir: ..." file for linked worktrees and submodules.
func dotGitDir(root string) (string, bool, error) {
	p := filepath.Join(root, ".git")
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() {
		return p, err == nil && isGitDir(p), nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false, err
	}
	target, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
	if !ok {
		return "", false, fmt.Errorf("%s: not a gitfile (expected \"gitdir: <path>\")", p)
	}
	if target = strings.TrimSpace(target); !filepath.IsAbs(target) {
		target = filepath.Join(root, target)
	}
	if target = filepath.Clean(target); !isGitDir(target) {
		return "", false, fmt.Errorf("%s points to %s, which is not a git dir", p, target)
	}
	return target, true, nil
}

func isGitDir(d string) bool {
	if fi, err := os.Stat(filepath.Join(d, "HEAD")); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	for _, sub := range []string{"objects", "refs"} {
		if fi, err := os.Stat(filepath.Join(commonDirOf(d), sub)); err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// commonDirOf follows the "commondir" file that linked worktrees use to
// share objects and refs with the main repository.
func commonDirOf(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir
	}
	c := strings.TrimSpace(string(b))
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitDir, c)
	}
	return filepath.Clean(c)
}

func newStore(root, gitDir string, bare bool) (*Store, error) {
	common := commonDirOf(gitDir)
	cfg, err := readConfig(filepath.Join(common, "config"))
	if err != nil {
		return nil, err // git stops at such a file too
	}
	if err := checkFormat(root, cfg); err != nil {
		return nil, err
	}
	s := &Store{root: root, gitDir: gitDir, commonDir: common, bare: bare, cfg: cfg}
	s.st = s.NewStorage()
	return s, nil
}

// NewStorage returns a go-git storage of the repository with an object
// cache of its own, for a reader that wants go-git's repository API
// beside the Store (which keeps its own storage behind its lock).
func (s *Store) NewStorage() *filesystem.Storage {
	// No LargeObjectThreshold: go-git v5.19's streaming path for large
	// objects returns wrong bytes for deltified trees that git repack
	// makes (TestReadObjectMatchesGit).
	// AlternatesFS: objects/info/alternates (git clone --shared or
	// --reference) name absolute paths, which go-git follows only on a
	// file system rooted at /.
	fs := dotgit.NewRepositoryFilesystem(osfs.New(s.gitDir), osfs.New(s.commonDir))
	return filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(32*cache.MiByte), filesystem.Options{AlternatesFS: osfs.New("/")})
}

// Init opens dir as a repository, creating one first if there is none.
// A new repository's HEAD points at refs/heads/<defaultBranch>; an empty
// defaultBranch means init.defaultBranch from the user's git config, else
// "main".
func Init(dir, defaultBranch string) (*Store, error) {
	s, err := Open(dir)
	if !errors.Is(err, ErrNotRepository) && !errors.Is(err, ErrNotRoot) {
		return s, err
	}
	if defaultBranch == "" {
		defaultBranch, _ = userConfig("init", "defaultbranch")
	}
	ref := plumbing.NewBranchReferenceName(cmp.Or(defaultBranch, "main"))
	if err := checkRefName(ref); err != nil {
		return nil, fmt.Errorf("invalid default branch %q: %w", defaultBranch, err)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	if _, err := gogit.PlainInitWithOptions(dir, &gogit.PlainInitOptions{InitOptions: gogit.InitOptions{DefaultBranch: ref}}); err != nil {
		return nil, fmt.Errorf("git init %s: %w", dir, err)
	}
	return Open(dir)
}

// Bare reports whether the repository has no worktree.
func (s *Store) Bare() bool { return s.bare }

// Root is the worktree root, or the git dir of a bare repository.
func (s *Store) Root() string { return s.root }

// GitDir is the (per-worktree) git directory.
func (s *Store) GitDir() string { return s.gitDir }

// Head describes what HEAD points at.
type Head struct {
	Ref    plumbing.ReferenceName // "" when detached
	Commit plumbing.Hash          // zero when the branch is unborn
}

// Head reads HEAD and the commit it resolves to.
func (s *Store) Head() (Head, error) {
	sym, h, err := s.readHEAD()
	if err != nil || sym == "" {
		return Head{Commit: h}, err
	}
	h, _, err = s.resolveRef(sym)
	return Head{Ref: sym, Commit: h}, err
}

// readHEAD returns HEAD's symbolic target, or its hash when detached.
func (s *Store) readHEAD() (plumbing.ReferenceName, plumbing.Hash, error) {
	s.mu.Lock()
	ref, err := s.st.Reference(plumbing.HEAD)
	s.mu.Unlock()
	switch {
	case err != nil:
		return "", plumbing.ZeroHash, fmt.Errorf("reading HEAD: %w", err)
	case ref.Type() == plumbing.SymbolicReference:
		return ref.Target(), plumbing.ZeroHash, nil
	}
	return "", ref.Hash(), nil
}

// resolveRef returns the commit a ref points at, following symbolic refs;
// exists is false for an unborn branch.
func (s *Store) resolveRef(name plumbing.ReferenceName) (h plumbing.Hash, exists bool, err error) {
	s.mu.Lock()
	ref, err := storer.ResolveReference(s.st, name)
	s.mu.Unlock()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, false, nil
	}
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("ref %s: %w", name, err)
	}
	return ref.Hash(), true, nil
}

func parseHash(s string) (plumbing.Hash, bool) {
	return plumbing.NewHash(s), len(s) == 40 && strings.ToLower(s) == s && plumbing.IsHash(s)
}

// readObject returns an object's type and content. A miss triggers one
// reindex: another process (git gc, a fetch) may have added packs since
// go-git listed them.
func (s *Store) readObject(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, err := s.st.EncodedObject(plumbing.AnyObject, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		s.st.Reindex()
		obj, err = s.st.EncodedObject(plumbing.AnyObject, h)
	}
	if err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("object %s: %w", h, err)
	}
	r, err := obj.Reader()
	if err != nil {
		return plumbing.InvalidObject, nil, err
	}
	defer r.Close()
	// Exactly sized, unlike a bytes.Buffer, which doubles a multi-megabyte
	// tree's buffer for its last read; the bound guards against a corrupt
	// size header.
	if obj.Size() < 0 || obj.Size() > 1<<31 {
		return plumbing.InvalidObject, nil, fmt.Errorf("object %s: implausible size %d", h, obj.Size())
	}
	data := make([]byte, obj.Size())
	if _, err := io.ReadFull(r, data); err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("object %s: %w", h, err)
	}
	if n, _ := r.Read(make([]byte, 1)); n != 0 {
		return plumbing.InvalidObject, nil, fmt.Errorf("object %s: longer than its header says", h)
	}
	return obj.Type(), data, nil
}

func (s *Store) reindex() {
	s.mu.Lock()
	s.st.Reindex()
	s.mu.Unlock()
}
