package gitstore

import (
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
	abs = filepath.Clean(abs)
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, &notRepoError{dir: abs}
	}

	if gitDir, ok, err := dotGitDir(abs); err != nil {
		return nil, err
	} else if ok {
		return newStore(abs, gitDir, false)
	}

	if isGitDir(abs) {
		s, err := newStore(abs, abs, true)
		if err == nil && s.cfg.Section("core").HasOption("bare") && !parseBool(s.cfg.Section("core").Option("bare")) && filepath.Base(abs) == ".git" {
			return nil, &notRootError{dir: abs, root: filepath.Dir(abs)}
		}
		return s, err
	}

	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		if _, ok, _ := dotGitDir(p); ok {
			return nil, &notRootError{dir: abs, root: p}
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	return nil, &notRepoError{dir: abs}
}

// dotGitDir resolves root/.git, which is a directory for ordinary
// repositories and a "gitdir: ..." file for linked worktrees and submodules.
func dotGitDir(root string) (string, bool, error) {
	p := filepath.Join(root, ".git")
	fi, err := os.Stat(p)
	if err != nil {
		return "", false, nil
	}
	if fi.IsDir() {
		if !isGitDir(p) {
			return "", false, nil
		}
		return p, true, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false, err
	}
	line := strings.TrimSpace(string(b))
	if !strings.HasPrefix(line, "gitdir:") {
		return "", false, fmt.Errorf("%s: not a gitfile (expected \"gitdir: <path>\")", p)
	}
	target := strings.TrimSpace(strings.TrimPrefix(line, "gitdir:"))
	if !filepath.IsAbs(target) {
		target = filepath.Join(root, target)
	}
	target = filepath.Clean(target)
	if !isGitDir(target) {
		return "", false, fmt.Errorf("%s points to %s, which is not a git dir", p, target)
	}
	return target, true, nil
}

func isGitDir(d string) bool {
	if fi, err := os.Stat(filepath.Join(d, "HEAD")); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	c := commonDirOf(d)
	for _, sub := range []string{"objects", "refs"} {
		if fi, err := os.Stat(filepath.Join(c, sub)); err != nil || !fi.IsDir() {
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
		// git stops at such a file too; without it, whether a write
		// would be safe is unknown.
		return nil, err
	}
	if err := checkFormat(root, cfg); err != nil {
		return nil, err
	}
	// No LargeObjectThreshold: go-git v5.19's streaming path for large
	// objects (ReaderFromDelta) returns wrong bytes for deltified trees
	// that git repack makes; TestReadObjectMatchesGit shows it.
	// Parsed trees have their own cache (treeCache); this one mostly holds
	// delta bases.
	fs := dotgit.NewRepositoryFilesystem(osfs.New(gitDir), osfs.New(common))
	st := filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(32*cache.MiByte), filesystem.Options{})
	return &Store{root: root, gitDir: gitDir, commonDir: common, bare: bare, st: st, cfg: cfg}, nil
}

// Init opens dir as a repository, creating one first if there is none.
// A new repository's HEAD points at refs/heads/<defaultBranch>; an empty
// defaultBranch means init.defaultBranch from the user's git config, else
// "main".
func Init(dir, defaultBranch string) (*Store, error) {
	s, err := Open(dir)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, ErrNotRepository) && !errors.Is(err, ErrNotRoot) {
		return nil, err
	}
	if defaultBranch == "" {
		if b, ok := userConfig("init", "defaultbranch"); ok && b != "" {
			defaultBranch = b
		} else {
			defaultBranch = "main"
		}
	}
	ref := plumbing.NewBranchReferenceName(defaultBranch)
	if err := checkRefName(ref); err != nil {
		return nil, fmt.Errorf("invalid default branch %q: %w", defaultBranch, err)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	_, err = gogit.PlainInitWithOptions(dir, &gogit.PlainInitOptions{
		InitOptions: gogit.InitOptions{DefaultBranch: ref},
	})
	if err != nil {
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
	if err != nil {
		return Head{}, err
	}
	if sym == "" {
		return Head{Commit: h}, nil
	}
	h, _, err = s.resolveRef(sym)
	if err != nil {
		return Head{}, err
	}
	return Head{Ref: sym, Commit: h}, nil
}

// readHEAD returns HEAD's symbolic target, or its hash when detached.
func (s *Store) readHEAD() (plumbing.ReferenceName, plumbing.Hash, error) {
	s.mu.Lock()
	ref, err := s.st.Reference(plumbing.HEAD)
	s.mu.Unlock()
	if err != nil {
		return "", plumbing.ZeroHash, fmt.Errorf("reading HEAD: %w", err)
	}
	if ref.Type() == plumbing.SymbolicReference {
		return ref.Target(), plumbing.ZeroHash, nil
	}
	return "", ref.Hash(), nil
}

// refFile is where the loose ref lives: HEAD and a few namespaces are per
// worktree, everything else is shared via the common dir.
func (s *Store) refFile(name plumbing.ReferenceName) string {
	n := string(name)
	base := s.commonDir
	if n == "HEAD" || strings.HasPrefix(n, "refs/worktree/") || strings.HasPrefix(n, "refs/bisect/") || strings.HasPrefix(n, "refs/rewritten/") {
		base = s.gitDir
	}
	return filepath.Join(base, filepath.FromSlash(n))
}

// resolveRef returns the commit a ref points at, following symbolic refs;
// exists is false for an unborn branch. go-git reads loose refs and
// packed-refs, each worktree's HEAD from its own git dir.
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
	if len(s) != 40 || strings.ToLower(s) != s || !plumbing.IsHash(s) {
		return plumbing.ZeroHash, false
	}
	return plumbing.NewHash(s), true
}

// readObject returns an object's type and content, read by go-git's
// object storage. A miss triggers one reindex, because another process
// (git gc, a concurrent fetch) may have added packs since go-git listed
// them.
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
	// tree's buffer for its last read.
	size := obj.Size()
	if size < 0 || size > maxObjectSize {
		return plumbing.InvalidObject, nil, fmt.Errorf("object %s: implausible size %d", h, size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("object %s: %w", h, err)
	}
	var one [1]byte
	if n, _ := r.Read(one[:]); n != 0 {
		return plumbing.InvalidObject, nil, fmt.Errorf("object %s: longer than its header says", h)
	}
	return obj.Type(), data, nil
}

// maxObjectSize guards the allocation against a corrupt size header.
const maxObjectSize = 1 << 31

func (s *Store) reindex() {
	s.mu.Lock()
	s.st.Reindex()
	s.mu.Unlock()
}
