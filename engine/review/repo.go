package review

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gitalog/gitalog/engine/gitstore"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Repo is a catalog repository opened for reading: gitalog's store for
// trees and blobs, and go-git for revisions and commit metadata.
type Repo struct {
	Store *gitstore.Store
	git   *gogit.Repository
}

// Open opens the repository whose worktree root (or bare git dir) is dir.
func Open(dir string) (*Repo, error) {
	st, err := gitstore.Open(dir)
	if err != nil {
		return nil, err
	}
	g, err := openGit(st)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", st.Root(), err)
	}
	return &Repo{Store: st, git: g}, nil
}

// openGit opens the repository for go-git's revision parser and commit
// reader, with a config go-git cannot decode taken as empty: its decoder
// refuses syntax git accepts (the old "[branch.main]" headers), and
// reading history needs nothing from the config. The repository format
// was checked by gitstore.Open already.
func openGit(st *gitstore.Store) (*gogit.Repository, error) {
	return gogit.Open(lenientConfig{st.NewStorage()}, nil)
}

type lenientConfig struct{ *filesystem.Storage }

func (s lenientConfig) Config() (*config.Config, error) {
	if c, err := s.Storage.Config(); err == nil {
		return c, nil
	}
	return config.NewConfig(), nil
}

// Rev is a revision as the user named it and the commit it resolved to. A
// zero Commit is the empty tree (what comes before a root commit).
type Rev struct {
	Name   string
	Commit plumbing.Hash
}

func (r Rev) String() string {
	if r.Commit.IsZero() {
		return "(empty)"
	}
	s := short(r.Commit)
	if r.Name != "" && r.Name != s && r.Name != r.Commit.String() {
		s += " (" + r.Name + ")"
	}
	return s
}

func short(h plumbing.Hash) string { return h.String()[:12] }

// Resolve resolves a revision (HEAD, HEAD~2, a branch, a tag, a hash or its
// prefix, ...) to a commit.
func (r *Repo) Resolve(rev string) (plumbing.Hash, error) {
	if strings.TrimSpace(rev) == "" {
		return plumbing.ZeroHash, errors.New("empty revision")
	}
	// go-git's parser reads X^{tree} as X; a history range needs commits.
	if i := strings.Index(rev, "^{"); i >= 0 {
		if peel := strings.TrimSuffix(rev[i+2:], "}"); peel != "" && peel != "commit" && !strings.HasPrefix(peel, "/") {
			return plumbing.ZeroHash, fmt.Errorf("revision %q does not name a commit", rev)
		}
	}
	h, err := r.git.ResolveRevision(plumbing.Revision(rev))
	if err != nil || h == nil || h.IsZero() {
		if c, ok := r.peelTag(rev); ok {
			return c, nil
		}
		return plumbing.ZeroHash, r.beyondBoundary(fmt.Errorf("unknown revision %q", rev))
	}
	return *h, nil
}

// peelTag resolves a tag that names another tag (git tag -a t2 t1), which
// go-git's revision parser does not follow, to the commit at its end.
func (r *Repo) peelTag(name string) (plumbing.Hash, bool) {
	ref, err := r.git.Reference(plumbing.NewTagReferenceName(name), true)
	if err != nil {
		return plumbing.ZeroHash, false
	}
	h := ref.Hash()
	for range 16 {
		t, err := r.git.TagObject(h)
		if err != nil {
			break
		}
		h = t.Target
	}
	_, err = r.git.CommitObject(h)
	return h, err == nil
}

// shallow returns the commits at a shallow clone's boundary (git's
// .git/shallow): their parents are named but were never fetched.
func (r *Repo) shallow() (map[plumbing.Hash]bool, error) {
	hs, err := r.git.Storer.Shallow()
	if err != nil {
		return nil, fmt.Errorf("reading .git/shallow: %w", err)
	}
	m := make(map[plumbing.Hash]bool, len(hs))
	for _, h := range hs {
		m[h] = true
	}
	return m, nil
}

// beyondBoundary adds to an error about a missing commit, in a shallow
// clone, that history stops at its boundary and how to fetch the rest.
func (r *Repo) beyondBoundary(err error) error {
	sh, serr := r.shallow()
	if serr != nil || len(sh) == 0 {
		return err
	}
	var at []string
	for h := range sh {
		at = append(at, short(h))
	}
	sort.Strings(at)
	return fmt.Errorf("%w (this is a shallow clone: its history stops at %s; %s)", err, strings.Join(at, ", "), unshallowHint)
}

// checkReachable fails clearly on a revision whose commit a shallow clone
// does not have: its parent is named by a boundary commit, but was never
// fetched.
func (r *Repo) checkReachable(rev Rev) error {
	if rev.Commit.IsZero() {
		return nil
	}
	if _, err := r.git.CommitObject(rev.Commit); errors.Is(err, plumbing.ErrObjectNotFound) {
		sh, serr := r.shallow()
		if serr == nil && len(sh) > 0 {
			return fmt.Errorf("%s is beyond the boundary of this shallow clone; %s", rev, unshallowHint)
		}
		return fmt.Errorf("%s: commit not found", rev)
	} else if err != nil {
		return fmt.Errorf("reading commit %s: %w", rev, err)
	}
	return nil
}

func (r *Repo) head() (plumbing.Hash, error) {
	h, err := r.Store.Head()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if h.Commit.IsZero() {
		return plumbing.ZeroHash, errors.New("the repository has no commits yet")
	}
	return h.Commit, nil
}

// Range picks the two revisions to compare, as `gitalog diff` does:
//
//	no from, no base:  HEAD~1..HEAD (the empty tree..HEAD when HEAD is a root commit)
//	from:              from..to (to defaults to HEAD)
//	base:              merge-base(base, HEAD)..HEAD, as a pull request compares
func (r *Repo) Range(from, to, base string) (Rev, Rev, error) {
	a, b, err := r.revRange(from, to, base)
	if err != nil {
		return a, b, err
	}
	for _, rev := range []Rev{a, b} {
		if err := r.checkReachable(rev); err != nil {
			return Rev{}, Rev{}, err
		}
	}
	return a, b, nil
}

func (r *Repo) revRange(from, to, base string) (Rev, Rev, error) {
	if base != "" {
		if from != "" || to != "" {
			return Rev{}, Rev{}, errors.New("--base compares with HEAD: give no revisions with it")
		}
		head, err := r.head()
		if err != nil {
			return Rev{}, Rev{}, err
		}
		b, err := r.Resolve(base)
		if err != nil {
			return Rev{}, Rev{}, err
		}
		mb, err := r.MergeBase(b, head)
		if err != nil {
			return Rev{}, Rev{}, r.beyondBoundary(fmt.Errorf("merge base of %s and HEAD: %w", base, err))
		}
		return Rev{Name: "merge-base(" + base + ", HEAD)", Commit: mb}, Rev{Name: "HEAD", Commit: head}, nil
	}
	toRev := Rev{Name: "HEAD"}
	if to != "" {
		toRev.Name = to
		h, err := r.Resolve(to)
		if err != nil {
			return Rev{}, Rev{}, err
		}
		toRev.Commit = h
	} else {
		h, err := r.head()
		if err != nil {
			return Rev{}, Rev{}, err
		}
		toRev.Commit = h
	}
	if from != "" {
		h, err := r.Resolve(from)
		if err != nil {
			return Rev{}, Rev{}, err
		}
		return Rev{Name: from, Commit: h}, toRev, nil
	}
	// The default: the parent of to, or nothing when to is a root commit.
	c, err := r.git.CommitObject(toRev.Commit)
	if err != nil {
		return Rev{}, Rev{}, fmt.Errorf("reading commit %s: %w", toRev.Commit, err)
	}
	fromRev := Rev{Name: toRev.Name + "~1"}
	if len(c.ParentHashes) > 0 {
		fromRev.Commit = c.ParentHashes[0]
	}
	return fromRev, toRev, nil
}

// MergeBase returns the best common ancestor of two commits. In a shallow
// clone the commits at the boundary count as having no parents, as git
// takes them, so a merge base inside the fetched history is found.
func (r *Repo) MergeBase(a, b plumbing.Hash) (plumbing.Hash, error) {
	return r.mergeBase(a, b)
}

func (r *Repo) commit(h plumbing.Hash) (*object.Commit, error) {
	c, err := r.git.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", h, err)
	}
	return c, nil
}
