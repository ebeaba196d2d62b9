package engine

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestSyncWorktreeFailsAfterCommit: a sync whose commit landed but whose
// files could not be written (a full disk) reports the commit and a
// partial result (exit 3), with the cause once, not a line per file; the
// next sync repairs the worktree.
func TestSyncWorktreeFailsAfterCommit(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	commitsBefore := f.commits()
	f.srv.Update(func(d *sentrytest.Dataset) {
		for i := 0; i < 5; i++ {
			d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
		}
		for _, id := range d.IssueIDs("unresolved")[:10] {
			d.RegressIssue(id)
		}
	})
	gitstore.TestHookWriteFile = func(string) error { return syscall.ENOSPC }
	defer func() { gitstore.TestHookWriteFile = nil }()
	res, err := f.sync()
	gitstore.TestHookWriteFile = nil
	if err == nil || res == nil {
		t.Fatalf("want an error and a result, got %v", err)
	}
	head := strings.TrimSpace(f.git("rev-parse", "HEAD"))
	if f.commits() != commitsBefore+1 || res.Commit.String() != head {
		t.Fatalf("res.Commit = %s, HEAD = %s, %d commits (was %d)", res.Commit, head, f.commits(), commitsBefore)
	}
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("a landed commit must be a partial result (exit 3), got %v", err)
	}
	msg := err.Error()
	for _, w := range []string{"committed " + head[:12], "the worktree could not be updated", "no space left on device", "next sync"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error lacks %q:\n%s", w, msg)
		}
	}
	if n := strings.Count(msg, "no space left"); n != 1 {
		t.Fatalf("the cause is repeated %d times:\n%s", n, msg)
	}
	var b bytes.Buffer
	res.WriteSummary(&b, Normal)
	if !strings.Contains(b.String(), "Committed "+head[:12]) {
		t.Fatalf("the summary does not name the commit:\n%s", b.String())
	}

	res2 := f.mustSync()
	if !res2.NoChange {
		t.Fatalf("the next sync found changes: %+v", res2)
	}
	f.checkRepo()
}

// TestInitWorktreeFailsAfterCommit: init's commit is reported the same
// way, and running init again finishes the worktree from the journal.
func TestInitWorktreeFailsAfterCommit(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	gitstore.TestHookWriteFile = func(string) error { return syscall.ENOSPC }
	defer func() { gitstore.TestHookWriteFile = nil }()
	_, err := Init(t.Context(), InitOptions{Dir: dir, Author: testAuthor})
	gitstore.TestHookWriteFile = nil
	if !errors.Is(err, ErrPartial) || !strings.Contains(err.Error(), "the worktree could not be updated") {
		t.Fatalf("want a partial result naming the worktree, got %v", err)
	}
	f := &fixture{t: t, dir: dir}
	if f.commits() != 1 {
		t.Fatal("no commit made")
	}
	res, err := Init(t.Context(), InitOptions{Dir: dir, Author: testAuthor})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Commit.IsZero() || f.commits() != 1 {
		t.Fatalf("the second init committed again")
	}
	f.checkRepo()
}
