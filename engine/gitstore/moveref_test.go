package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// twoCommits makes a repository whose HEAD is at one, with two (which
// adds catalog/b.json and changes catalog/a.json) on a branch: MoveRef
// from one to two then has files to write.
func twoCommits(t *testing.T) (s *Store, one, two plumbing.Hash) {
	s = newRepo(t)
	one = commit(t, s, "one", put("catalog/a.json", "a\n"))
	two = commit(t, s, "two", put("catalog/a.json", "a2\n"), put("catalog/b.json", "b\n"))
	if err := s.MoveRef(t.Context(), "", two, one, "back"); err != nil {
		t.Fatal(err)
	}
	return s, one, two
}

// TestGitAddBesideMoveRef: MoveRef (a fast-forward, or the reset before a
// push is redone) takes index.lock before the ref moves, as Commit does. A
// git command holding it stops MoveRef with the ref where it was, instead
// of the ref moving and the worktree update failing after; and a git add
// while the worktree is updated fails at the lock instead of succeeding
// and being overwritten.
func TestGitAddBesideMoveRef(t *testing.T) {
	s, one, two := twoCommits(t)
	if err := os.WriteFile(filepath.Join(s.Root(), "notes.txt"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A git command is running: it holds index.lock, as git add does
	// between reading the index and writing it.
	lock := filepath.Join(s.GitDir(), "index.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := s.MoveRef(t.Context(), "", one, two, "forward")
	if !errors.Is(err, errLockExists) || !strings.Contains(err.Error(), "index.lock") {
		t.Fatalf("MoveRef beside a held index.lock: %v", err)
	}
	if h, _ := s.Head(); h.Commit != one {
		t.Fatalf("the ref moved to %s although the worktree could not follow", short(h.Commit))
	}
	if _, err := os.Stat(s.journalPath()); err == nil {
		t.Fatal("a journal was left for a move that did not happen")
	}
	if err := os.Remove(lock); err != nil { // the git command ends
		t.Fatal(err)
	}
	if got := git(t, s.Root(), "status", "--porcelain"); got != "?? notes.txt\n" {
		t.Fatalf("git status after the refused move = %q", got)
	}

	added := addBesideIndexUpdate(t, s, "notes.txt", func() {
		if err := s.MoveRef(t.Context(), "", one, two, "forward"); err != nil {
			t.Fatal(err)
		}
	})
	if got := git(t, s.Root(), "status", "--porcelain"); got != "A  notes.txt\n" {
		t.Fatalf("git status = %q (git add succeeded: %v)", got, added)
	}
	if b, _ := os.ReadFile(filepath.Join(s.Root(), "catalog", "a.json")); string(b) != "a2\n" {
		t.Fatalf("catalog/a.json = %q", b)
	}
}

// TestWorktreeFailsAfterMoveRef: when the files cannot be written after
// the ref moved (a full disk), MoveRef says the move stands (WorktreeError
// with the commit the ref is at), in one line, and Recover finishes the
// worktree update once the disk has room.
func TestWorktreeFailsAfterMoveRef(t *testing.T) {
	s := newRepo(t)
	var base, changes []Change
	for i := 0; i < 30; i++ {
		base = append(base, put(fmt.Sprintf("catalog/issue/%d.json", i), "old\n"))
		changes = append(changes, put(fmt.Sprintf("catalog/issue/%d.json", i), "new\n"))
	}
	one := commit(t, s, "one", base...)
	two := commit(t, s, "two", changes...)
	TestHookWriteFile = func(string) error { return syscall.ENOSPC }
	defer func() { TestHookWriteFile = nil }()
	err := s.MoveRef(t.Context(), "", two, one, "back")
	TestHookWriteFile = nil
	var we *WorktreeError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a WorktreeError", err)
	}
	if h, _ := s.Head(); we.Commit != one || h.Commit != one {
		t.Fatalf("the error names %s, HEAD is %s, want %s", short(we.Commit), short(h.Commit), short(one))
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("the cause is lost: %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || strings.Count(msg, "no space left") != 1 {
		t.Fatalf("want one line naming the cause once, got:\n%s", msg)
	}
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s)
	if b := git(t, s.Root(), "show", "HEAD:catalog/issue/3.json"); b != "old\n" {
		t.Fatalf("catalog/issue/3.json = %q", b)
	}
}

// TestMoveRefThroughSymlinkRefused: a symlinked directory MoveRef would
// write through is refused before the ref moves, as for Commit.
func TestMoveRefThroughSymlinkRefused(t *testing.T) {
	s, one, two := twoCommits(t)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.Rename(filepath.Join(s.Root(), "catalog"), outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.Root(), "catalog")); err != nil {
		t.Fatal(err)
	}
	err := s.MoveRef(t.Context(), "", one, two, "forward")
	if err == nil || !strings.Contains(err.Error(), "catalog is a symbolic link") {
		t.Fatalf("MoveRef through a symlinked catalog: %v", err)
	}
	if h, _ := s.Head(); h.Commit != one {
		t.Fatalf("the ref moved to %s", short(h.Commit))
	}
	if _, err := os.Stat(filepath.Join(outside, "b.json")); err == nil {
		t.Fatal("a file was written through the link")
	}
	if _, err := os.Stat(filepath.Join(s.GitDir(), "index.lock")); err == nil {
		t.Fatal("index.lock left behind")
	}
}

// TestMoveRefBesideACommitInFlight: moving a ref nothing is checked out on
// (a notify state ref, moved while gitalog serve commits in another
// goroutine) leaves the other commit's index.lock and worktree journal
// alone: only a move that updates the worktree recovers first, under the
// sync lock its callers hold.
func TestMoveRefBesideACommitInFlight(t *testing.T) {
	s := newRepo(t)
	one := commit(t, s, "one", put("catalog/a.json", "a\n"))
	committing, err := Open(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	l, err := committing.lockIndex()
	if err != nil {
		t.Fatal(err)
	}
	defer l.release()
	if err := committing.writeJournal(journal{old: one, new: one}); err != nil {
		t.Fatal(err)
	}
	if err := s.MoveRef(t.Context(), "refs/gitalog/notified/x", plumbing.ZeroHash, one, "delivered"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(s.GitDir(), "index.lock")); err != nil {
		t.Fatalf("the commit in flight lost its index.lock: %v", err)
	}
	if _, err := os.Stat(s.journalPath()); err != nil {
		t.Fatalf("the commit in flight lost its worktree journal: %v", err)
	}
	if h, ok, err := s.ResolveRef("refs/gitalog/notified/x"); err != nil || !ok || h != one {
		t.Fatalf("the ref is at %v (%v, %v), want %s", h, ok, err, short(one))
	}
}
