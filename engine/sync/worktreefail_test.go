package sync

import (
	"bytes"
	"errors"
	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/scaffold"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// fillDisk makes every worktree file write fail with ENOSPC until freeDisk
// (or the end of the test).
func fillDisk(t *testing.T) {
	gitstore.TestHookWriteFile = func(string) error { return syscall.ENOSPC }
	t.Cleanup(freeDisk)
}

func freeDisk() { gitstore.TestHookWriteFile = nil }

// wantPartial fails the test unless err is a partial result (exit 3).
func wantPartial(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("%s must be a partial result (exit 3), got %v", what, err)
	}
}

// wantHeadAt fails the test unless the fixture's HEAD is at the remote's
// head.
func (f *fixture) wantHeadAt(remoteHead string) {
	f.t.Helper()
	if head := strings.TrimSpace(f.git("rev-parse", "HEAD")); head != remoteHead {
		f.t.Fatalf("HEAD at %s, want the remote's %s", head, remoteHead)
	}
}

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
	fillDisk(t)
	res, err := f.sync()
	freeDisk()
	if err == nil || res == nil {
		t.Fatalf("want an error and a result, got %v", err)
	}
	head := strings.TrimSpace(f.git("rev-parse", "HEAD"))
	if f.commits() != commitsBefore+1 || res.Commit.String() != head {
		t.Fatalf("res.Commit = %s, HEAD = %s, %d commits (was %d)", res.Commit, head, f.commits(), commitsBefore)
	}
	wantPartial(t, err, "a landed commit")
	wantInError(t, err, "committed "+head[:12], "the worktree could not be updated", "no space left on device", "next sync")
	msg := err.Error()
	if n := strings.Count(msg, "no space left"); n != 1 {
		t.Fatalf("the cause is repeated %d times:\n%s", n, msg)
	}
	var b bytes.Buffer
	writeSummary(&b, res, Normal)
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
	fillDisk(t)
	_, err := scaffold.Init(t.Context(), scaffold.Options{Dir: dir, Author: testAuthor})
	freeDisk()
	if !errors.Is(err, catalog.ErrPartial) || !strings.Contains(err.Error(), "the worktree could not be updated") {
		t.Fatalf("want a partial result naming the worktree, got %v", err)
	}
	f := &fixture{t: t, dir: dir}
	if f.commits() != 1 {
		t.Fatal("no commit made")
	}
	res, err := scaffold.Init(t.Context(), scaffold.Options{Dir: dir, Author: testAuthor})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Commit.IsZero() || f.commits() != 1 {
		t.Fatalf("the second init committed again")
	}
	f.checkRepo()
}

// TestSyncWorktreeFailsAfterFastForward: a sync --push that fast-forwards
// its branch to the remote's and then cannot write the files reports the
// move as what it is (partial, exit 3), not as an error after which
// nothing happened; the next sync brings the worktree up to date.
func TestSyncWorktreeFailsAfterFastForward(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	pushNotes(t, remote)
	remoteHead := gitIn(t, remote, "rev-parse", "main")

	fillDisk(t)
	o := f.pushOptions()
	_, err := Run(t.Context(), o)
	freeDisk()
	wantPartial(t, err, "a branch that moved")
	f.wantHeadAt(remoteHead)
	wantInError(t, err, "fast-forwarded main to origin/main ("+remoteHead[:12]+")", "the worktree could not be updated", "no space left on device", "next sync")

	mustPush(t, o, "the next sync")
	if _, err := os.Stat(filepath.Join(f.dir, "NOTES.md")); err != nil {
		t.Fatal("the worktree lacks the remote's file")
	}
	f.checkRepo()
}

// TestSyncWorktreeFailsAfterRedoReset: when a push is refused because the
// remote moved, the branch is reset to the remote's head to redo the
// change; if the files cannot follow, the sync says the branch was reset
// and its change is not committed (partial), and the next sync makes it.
func TestSyncWorktreeFailsAfterRedoReset(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	other := otherClone(t, remote)
	beforePush(t, func() {
		pushNotesFrom(t, other)
		// The disk fills up after the sync's commit.
		fillDisk(t)
	})
	o := f.pushOptions()
	res, err := Run(t.Context(), o)
	freeDisk()
	wantPartial(t, err, "a branch that moved")
	remoteHead := gitIn(t, remote, "rev-parse", "main")
	f.wantHeadAt(remoteHead)
	wantInError(t, err, "main was reset to origin/main ("+remoteHead[:12]+")", "its change is not committed", "the worktree could not be updated", "no space left on device", "next sync")
	if res == nil || !res.Commit.IsZero() {
		t.Fatalf("the result names a commit that is no longer on the branch: %+v", res)
	}

	mustPush(t, o, "the next sync")
	wantSyncOnNotes(t, remote)
	f.checkRepo()
}

// TestSyncWorktreeFailsAfterUnpushedRedo: a sync that moves its branch
// back onto a remote that moved since an earlier push failed, to redo
// that sync's unpushed commit, and then cannot write the files, reports
// the reset (partial); the next sync redoes the change and pushes it.
func TestSyncWorktreeFailsAfterUnpushedRedo(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	o, res, _ := syncRefusedPush(t, f, remote)
	unpushed := res.Commit.String()
	pushNotes(t, remote)
	remoteHead := gitIn(t, remote, "rev-parse", "main")

	fillDisk(t)
	_, err := Run(t.Context(), o)
	freeDisk()
	wantPartial(t, err, "a branch that moved")
	wantInError(t, err, "main was reset to origin/main ("+remoteHead[:12]+") to redo the unpushed sync "+unpushed[:12], "the worktree could not be updated", "no space left on device")

	mustPush(t, o, "the next sync")
	wantSyncOnNotes(t, remote)
	f.checkRepo()
}

// TestSyncWorktreeFailsIndexFollows: after a commit whose files could not
// be written, the index still follows the branch, so git sees the old
// files as unstaged changes in the worktree, not as a staged revert of
// the sync that the user's next plain commit would make.
func TestSyncWorktreeFailsIndexFollows(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	f.srv.Update(func(d *sentrytest.Dataset) {
		d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
		for _, id := range d.IssueIDs("unresolved")[:5] {
			d.RegressIssue(id)
		}
	})
	gitstore.TestHookWriteFile = func(string) error { return syscall.ENOSPC }
	defer func() { gitstore.TestHookWriteFile = nil }()
	_, err := f.sync()
	gitstore.TestHookWriteFile = nil
	if !errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("want a partial result, got %v", err)
	}
	if staged := f.git("diff", "--cached", "--name-only"); staged != "" {
		t.Fatalf("the index differs from the new commit (a staged revert):\n%s", staged)
	}
	if unstaged := f.git("diff", "--name-only"); unstaged == "" {
		t.Fatal("the files not written do not show as changes in the worktree")
	}
	sync := strings.TrimSpace(f.git("rev-parse", "HEAD"))
	if err := os.WriteFile(filepath.Join(f.dir, "NOTE.md"), []byte("note\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("add", "NOTE.md")
	f.git("-c", "user.name=Me", "-c", "user.email=me@example.com", "commit", "-qm", "note")
	if got := strings.TrimSpace(f.git("diff", "--name-only", sync, "HEAD")); got != "NOTE.md" {
		t.Fatalf("the user's commit changed more than NOTE.md:\n%s", got)
	}

	for _, l := range strings.Split(strings.TrimRight(f.git("status", "--porcelain"), "\n"), "\n") {
		if l[0] != ' ' {
			t.Fatalf("a staged change after the user's commit:\n%s", l)
		}
	}

	// The next sync still writes the files the update left behind, though
	// HEAD moved on; a file the user edited meanwhile is left alone.
	var edited string
	for _, l := range strings.Split(strings.TrimRight(f.git("diff", "--name-only"), "\n"), "\n") {
		if _, err := os.Stat(filepath.Join(f.dir, l)); err == nil {
			edited = l
			break
		}
	}
	if edited == "" {
		t.Fatal("no changed file left in the worktree to edit")
	}
	if err := os.WriteFile(filepath.Join(f.dir, edited), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sync(); err != nil && !errors.Is(err, gitstore.ErrDirty) {
		t.Fatalf("the next sync: %v", err)
	}
	if got := f.git("status", "--porcelain"); got != " M "+edited+"\n" {
		t.Fatalf("git status after the next sync, want only the user's edit of %s:\n%s", edited, got)
	}
}

// TestSyncKeepsFileMadeDuringCommit: a file the user creates where the
// sync writes a new one, after the last check, is left as found; the
// sync reports the commit as a partial result that names the file as a
// local change, not as something the next sync finishes, and the next
// sync leaves it alone too.
func TestSyncKeepsFileMadeDuringCommit(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var id string
	f.srv.Update(func(d *sentrytest.Dataset) {
		id = d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	rel := "catalog/issue/" + id + ".json"
	mine := []byte("the user's own notes\n")
	gitstore.TestHookWriteFile = func(p string) error {
		if p == rel {
			return os.WriteFile(filepath.Join(f.dir, filepath.FromSlash(rel)), mine, 0o644)
		}
		return nil
	}
	t.Cleanup(freeDisk)
	_, err := f.sync()
	freeDisk()
	wantPartial(t, err, "a landed commit")
	wantInError(t, err, rel, "local changes")
	if strings.Contains(err.Error(), "next sync") {
		t.Fatalf("the error promises the next sync overwrites the user's file:\n%v", err)
	}
	check := func() {
		t.Helper()
		if b, _ := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(rel))); !bytes.Equal(b, mine) {
			t.Fatalf("%s = %q, the user's file was overwritten", rel, b)
		}
		if st := f.git("status", "--porcelain"); st != " M "+rel+"\n" {
			t.Fatalf("git status:\n%s", st)
		}
	}
	check()
	f.mustSync()
	check()
}

// A file the sync changes, edited after the sync checked the worktree and
// before it commits, is caught by the commit's own check under index.lock
// and reported in the sync's words: nothing moves, nothing is lost.
func TestSyncEditDuringCommitRefused(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue("4605181614") })
	rel := "catalog/sentryIssue/4605181614.json"
	mine := []byte("edited while the sync ran\n")
	head := f.git("rev-parse", "HEAD")
	o := f.options()
	o.Progress = func(stage, _ string) {
		if stage == "commit" {
			os.WriteFile(filepath.Join(f.dir, filepath.FromSlash(rel)), mine, 0o644)
		}
	}
	_, err := Run(t.Context(), o)
	if !errors.Is(err, gitstore.ErrDirty) {
		t.Fatalf("err = %v, want ErrDirty", err)
	}
	wantInError(t, err, "the sync would overwrite "+rel, "commit, stash or discard")
	if f.git("rev-parse", "HEAD") != head {
		t.Fatal("the branch moved")
	}
	if b, _ := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(rel))); !bytes.Equal(b, mine) {
		t.Fatalf("%s = %q: the edit was lost", rel, b)
	}
}
