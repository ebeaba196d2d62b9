package sync

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestSyncPushFromShallowClone: a CI checkout is shallow (actions/checkout
// fetches one commit by default). A sync --push there fetches, commits on
// top of the shallow tip and pushes, never walking past the boundary.
func TestSyncPushFromShallowClone(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	o := f.options()
	o.Push = true
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(d.IssueIDs("unresolved")[0]) })
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}

	shallow := filepath.Join(t.TempDir(), "shallow")
	gitIn(t, ".", "clone", "-q", "--depth", "1", "file://"+remote, shallow)
	f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(d.IssueIDs("unresolved")[0]) })
	o.Dir = shallow
	o.Branch = "main"
	res, err := Run(t.Context(), o)
	if err != nil || !res.Pushed || res.Commit.IsZero() {
		t.Fatalf("sync --push in a shallow clone: %v", err)
	}
	if got, want := gitIn(t, remote, "rev-parse", "main"), res.Commit.String(); got != want {
		t.Fatalf("remote at %s, want %s", got, want)
	}
	gitIn(t, remote, "fsck", "--strict")
	gitIn(t, shallow, "fsck", "--strict")
	if st := gitIn(t, shallow, "status", "--porcelain"); st != "" {
		t.Fatalf("status:\n%s", st)
	}
	// A commit of the user's on top (a config change) is ahead of the
	// remote: finding that out must not walk past the boundary.
	gitIn(t, shallow, "commit", "-q", "--allow-empty", "-m", "mine")
	f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(d.IssueIDs("unresolved")[0]) })
	if res, err = Run(t.Context(), o); err != nil || !res.Pushed {
		t.Fatalf("sync --push on top of a local commit in the shallow clone: %v", err)
	}

	// And again, with the remote moved by someone else meanwhile.
	other := filepath.Join(t.TempDir(), "other")
	gitIn(t, ".", "clone", "-q", remote, other)
	gitIn(t, other, "commit", "-q", "--allow-empty", "-m", "other")
	gitIn(t, other, "push", "-q", "origin", "main")
	f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(d.IssueIDs("unresolved")[0]) })
	res, err = Run(t.Context(), o)
	if err != nil || !res.Pushed {
		t.Fatalf("second sync --push in the shallow clone: %v", err)
	}
	log := gitIn(t, remote, "log", "--format=%s", "-3", "main")
	if lines := strings.Split(log, "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "sync: ") || lines[1] != "other" {
		t.Fatalf("remote history:\n%s", log)
	}
	gitIn(t, remote, "fsck", "--strict")

	// The remote moves between the commit and the push: the change is
	// redone on top of the new head.
	testHookBeforePush = func() {
		testHookBeforePush = nil
		gitIn(t, other, "pull", "-q", "--ff-only")
		gitIn(t, other, "commit", "-q", "--allow-empty", "-m", "race")
		gitIn(t, other, "push", "-q", "origin", "main")
	}
	t.Cleanup(func() { testHookBeforePush = nil })
	f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(d.IssueIDs("unresolved")[0]) })
	if res, err = Run(t.Context(), o); err != nil || !res.Pushed {
		t.Fatalf("sync --push racing another push from the shallow clone: %v", err)
	}
	log = gitIn(t, remote, "log", "--format=%s", "-2", "main")
	if lines := strings.Split(log, "\n"); !strings.HasPrefix(lines[0], "sync: ") || lines[1] != "race" {
		t.Fatalf("remote history:\n%s", log)
	}
	gitIn(t, remote, "fsck", "--strict")
	gitIn(t, shallow, "fsck", "--strict")
}
