package gitstore

import (
	"errors"
	"fmt"
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
