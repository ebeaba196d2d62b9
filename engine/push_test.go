package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Other", "GIT_AUTHOR_EMAIL=o@example.com", "GIT_COMMITTER_NAME=Other", "GIT_COMMITTER_EMAIL=o@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// withRemote gives the fixture a bare origin holding its main branch.
func withRemote(t *testing.T, f *fixture) string {
	remote := filepath.Join(t.TempDir(), "origin.git")
	gitIn(t, ".", "init", "-q", "--bare", "--initial-branch=main", remote)
	f.git("remote", "add", "origin", remote)
	f.git("push", "-q", "origin", "main")
	return remote
}

func TestSyncPushUpdatesRemote(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	o := f.options()
	o.Push = true
	res, err := Sync(t.Context(), o)
	if err != nil || !res.Pushed {
		t.Fatalf("push: %v %+v", err, res)
	}
	if got := gitIn(t, remote, "rev-parse", "main"); got != res.Commit.String() {
		t.Fatalf("remote main = %s, want %s", got, res.Commit)
	}
	gitIn(t, remote, "fsck", "--strict")
	f.checkRepo()
}

func TestSyncPushRedoesOnTopOfMovedRemote(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	// Someone else pushes between our commit and our push.
	other := filepath.Join(t.TempDir(), "other")
	gitIn(t, ".", "clone", "-q", remote, other)
	testHookBeforePush = func() {
		testHookBeforePush = nil
		os.WriteFile(filepath.Join(other, "NOTES.md"), []byte("hello\n"), 0o644)
		gitIn(t, other, "add", "NOTES.md")
		gitIn(t, other, "commit", "-qm", "notes")
		gitIn(t, other, "push", "-q", "origin", "main")
	}
	t.Cleanup(func() { testHookBeforePush = nil })
	o := f.options()
	o.Push = true
	res, err := Sync(t.Context(), o)
	if err != nil || !res.Pushed {
		t.Fatalf("push: %v", err)
	}
	log := gitIn(t, remote, "log", "--format=%s", "main")
	lines := strings.Split(log, "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "sync: ") || lines[1] != "notes" {
		t.Fatalf("remote history:\n%s\nwant the sync on top of the other push", log)
	}
	// Our worktree follows: it has the other push's file and is clean.
	if _, err := os.Stat(filepath.Join(f.dir, "NOTES.md")); err != nil {
		t.Fatal("the worktree lacks the remote's new file")
	}
	f.checkRepo()
	if n := strings.Count(f.git("ls-tree", "-r", "--name-only", "HEAD", "catalog/issue"), "\n"); n == 0 {
		t.Fatal("the redone sync lost its entities")
	}
}

func TestSyncOnNewBranchLeavesWorktree(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	o := f.options()
	o.Branch = "gitalog/sync"
	res, err := Sync(t.Context(), o)
	if err != nil || res.Commit.IsZero() {
		t.Fatalf("sync on branch: %v", err)
	}
	if got := f.git("rev-parse", "gitalog/sync"); strings.TrimSpace(got) != res.Commit.String() {
		t.Fatalf("branch at %s, want %s", got, res.Commit)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "catalog")); !os.IsNotExist(err) {
		t.Fatal("a sync on another branch wrote the checked-out worktree")
	}
	if head := strings.TrimSpace(f.git("rev-parse", "--abbrev-ref", "HEAD")); head != "main" {
		t.Fatalf("HEAD moved to %s", head)
	}
	f.checkRepo()
	// A second sync on the branch finds nothing to do.
	res2, err := Sync(t.Context(), o)
	if err != nil || !res2.NoChange {
		t.Fatalf("resync on branch: %v %+v", err, res2)
	}
}
