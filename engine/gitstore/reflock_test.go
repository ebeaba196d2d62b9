package gitstore

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// Refs live in the common dir of a repository's worktrees, and a ref lock
// left by a gitalog that died is removed on the strength of the gitalog
// lock: so that lock is one per repository, not one per worktree, and a
// gitalog in a linked worktree waits for one in the main worktree.
func TestLockSharedByWorktrees(t *testing.T) {
	a := newRepo(t)
	commit(t, a, "base", put("a.txt", "a\n"))
	wt := filepath.Join(t.TempDir(), "wt2")
	git(t, a.Root(), "worktree", "add", "-q", "--detach", wt)
	b, err := Open(wt)
	if err != nil {
		t.Fatal(err)
	}
	unlockA, err := a.Lock(t.Context(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if unlockB, err := b.Lock(t.Context(), 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		if err == nil {
			unlockB()
		}
		t.Fatalf("B's Lock while A holds the repository's: err = %v, want ErrLocked", err)
	}
	unlockA()
	unlockB, err := b.Lock(t.Context(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
}
