package gitstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

var (
	// ErrNotRepository is wrapped by Open when dir holds no repository.
	ErrNotRepository = errors.New("not a git repository")
	// ErrNotRoot is wrapped by Open when dir is inside a repository but is
	// not its root: gitalog paths are relative to the root, so guessing
	// would silently put the catalog in the wrong place.
	ErrNotRoot = errors.New("not the root of the git repository")
	// ErrRefMoved means the branch no longer points at the expected parent:
	// someone else committed. Re-read Head and redo the sync.
	ErrRefMoved = errors.New("branch moved since the sync started (someone else committed)")
	// ErrNoChanges means the change set leaves the tree as it is, so no
	// commit was made.
	ErrNoChanges = errors.New("no changes to commit")
	// ErrDirty is wrapped by CheckWorktree when files that a sync would
	// overwrite were edited by hand.
	ErrDirty = errors.New("worktree has local changes")
	// ErrLocked is wrapped by Lock when another process held the lock for
	// the whole wait.
	ErrLocked = errors.New("repository is locked by another gitalog process")
	// ErrUnsupportedFormat is wrapped by Open when the repository uses a
	// format gitstore cannot write without corrupting it (SHA-256 objects,
	// reftable refs, an extension it does not know).
	ErrUnsupportedFormat = errors.New("unsupported repository format")
)

func notRoot(dir, root string) error {
	return fmt.Errorf("%q is %w at %q; use the repository root", dir, ErrNotRoot, root)
}

// DirtyError lists the paths that differ from the parent commit.
type DirtyError struct{ Paths []string }

func (e *DirtyError) Error() string {
	return fmt.Sprintf("%v: %s; commit or revert them first", ErrDirty, e.list())
}

// list names the first ten paths and counts the others.
func (e *DirtyError) list() string {
	if p := e.Paths; len(p) > 10 {
		return fmt.Sprintf("%s (and %d more)", strings.Join(p[:10], ", "), len(p)-10)
	}
	return strings.Join(e.Paths, ", ")
}

func (e *DirtyError) Unwrap() error { return ErrDirty }

// WorktreeError is returned by Commit and MoveRef when the ref moved (to
// Commit) but the checked-out files and the index could not be brought up
// to date with it. The journal stays behind, so Recover, which every later
// Commit, MoveRef and CheckWorktree run first, finishes the update; unless
// Err wraps ErrDirty: then only files the user created while the update
// ran were left as they were, and they are local changes now, not
// something for Recover to overwrite.
type WorktreeError struct {
	Ref    plumbing.ReferenceName
	Commit plumbing.Hash
	Err    error
}

func (e *WorktreeError) Error() string {
	return fmt.Sprintf("%s moved to %s, but updating the worktree failed: %v", e.Ref.Short(), short(e.Commit), e.Err)
}

func (e *WorktreeError) Unwrap() error { return e.Err }
