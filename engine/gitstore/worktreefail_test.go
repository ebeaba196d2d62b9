package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWorktreeFailsAfterCommit: when the files cannot be written after the
// ref moved (a full disk), Commit says the commit landed (WorktreeError
// with its hash), in one line however many files failed, and the next
// commit repairs the worktree from the journal.
func TestWorktreeFailsAfterCommit(t *testing.T) {
	s := newRepo(t)
	var base []Change
	for i := 0; i < 50; i++ {
		base = append(base, put(fmt.Sprintf("catalog/issue/%d.json", i), "old\n"))
	}
	commit(t, s, "base", base...)
	var changes []Change
	for i := 0; i < 40; i++ {
		changes = append(changes, put(fmt.Sprintf("catalog/issue/%d.json", i), "new\n"))
	}
	TestHookWriteFile = func(string) error { return syscall.ENOSPC }
	defer func() { TestHookWriteFile = nil }()
	h, _ := s.Head()
	got, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: changes, Message: "new", Author: sig("A B")})
	TestHookWriteFile = nil
	var we *WorktreeError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a WorktreeError", err)
	}
	if after, _ := s.Head(); got.IsZero() || we.Commit != got || after.Commit != got {
		t.Fatalf("returned %s, error names %s, HEAD is %s", got, we.Commit, after.Commit)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("the cause is lost: %v", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || strings.Count(msg, "no space left") != 1 {
		t.Fatalf("want one line naming the cause once, got:\n%s", msg)
	}
	if !strings.Contains(msg, "40 files") {
		t.Fatalf("the message does not count the files not written: %s", msg)
	}
	commit(t, s, "next", put("other.txt", "x\n"))
	checkRepo(t, s)
	if b := git(t, s.Root(), "show", "HEAD:catalog/issue/3.json"); b != "new\n" {
		t.Fatalf("catalog/issue/3.json = %q", b)
	}
}

// newDirChanges adds n files to each of dirs, which the base commit lacks,
// so the commit creates them.
func newDirChanges(tag string, n int, dirs ...string) []Change {
	var chs []Change
	for _, d := range dirs {
		for i := range n {
			chs = append(chs, put(fmt.Sprintf("%s/%d.json", d, i), fmt.Sprintf("%s %s %d\n", tag, d, i)))
		}
	}
	return chs
}

// checkFiles asserts that every change is in the worktree as committed.
func checkFiles(t *testing.T, s *Store, chs []Change) {
	t.Helper()
	for _, c := range chs {
		b, err := os.ReadFile(filepath.Join(s.Root(), filepath.FromSlash(c.Path)))
		if err != nil || string(b) != string(c.Content) {
			t.Fatalf("%s = %q, %v; want %q", c.Path, b, err, c.Content)
		}
	}
}

// TestMissingCountsStagedDirs: when writing files fails after the ref
// moved, the count of files not written includes those of new directories.
func TestMissingCountsStagedDirs(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "base", newDirChanges("old", 10, "catalog/old")...)
	chs := append(newDirChanges("new", 10, "catalog/old"), newDirChanges("new", 30, "catalog/new")...)
	TestHookWriteFile = func(p string) error {
		if strings.HasPrefix(p, "catalog/old/") {
			return syscall.ENOSPC
		}
		return nil
	}
	defer func() { TestHookWriteFile = nil }()
	h, _ := s.Head()
	_, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: chs, Message: "m", Author: sig("A B")})
	TestHookWriteFile = nil
	var we *WorktreeError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a WorktreeError", err)
	}
	missing := 0
	for _, c := range chs {
		if b, err := os.ReadFile(filepath.Join(s.Root(), filepath.FromSlash(c.Path))); err != nil || string(b) != string(c.Content) {
			missing++
		}
	}
	if want := fmt.Sprintf("(%d of %d files not written)", missing, len(chs)); !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q in: %v", want, err)
	}
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s)
	checkFiles(t, s, chs)
}
