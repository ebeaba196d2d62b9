package sync

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestSyncFailedCommitSummary: a sync whose commit fails says that nothing
// was committed, never "Committed 000000000000".
func TestSyncFailedCommitSummary(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var added string
	f.srv.Update(func(d *sentrytest.Dataset) {
		added = d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	// A hand edit of a file the sync rewrites stops the commit.
	managed := filepath.Join(f.dir, ".gitalog", "managed", "issue.txt")
	if err := os.WriteFile(managed, []byte("edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := f.sync()
	if !errors.Is(err, gitstore.ErrDirty) || res == nil {
		t.Fatalf("want a dirty-worktree failure with a result, got %v", err)
	}
	if !res.Commit.IsZero() {
		t.Fatalf("res.Commit = %s after a failed commit", res.Commit)
	}
	// The advice is given once.
	if msg := err.Error(); strings.Count(msg, " first") != 1 || !strings.Contains(msg, ".gitalog/managed/issue.txt; commit, stash or discard those changes first") {
		t.Errorf("advice:\n%s", msg)
	}
	for _, v := range []int{Normal, Quiet, Verbose} {
		var b bytes.Buffer
		writeSummary(&b, res, v)
		out := b.String()
		if strings.Contains(out, "Committed") || strings.Contains(out, "000000000000") {
			t.Fatalf("verbosity %d: the summary claims a commit:\n%s", v, out)
		}
		if !strings.Contains(out, "Nothing was committed.") {
			t.Fatalf("verbosity %d: the summary does not say nothing was committed:\n%s", v, out)
		}
		if v != Quiet && (strings.Contains(out, "Created:") || !strings.Contains(out, "Would create:\n  + issue/"+added)) {
			t.Fatalf("verbosity %d: entities listed as created:\n%s", v, out)
		}
	}
}

// TestSyncIndexErrorAdvice: "commit, stash or discard those changes" is
// advice for local changes only; an index gitalog cannot write (split)
// has its own hint and no changes to stash.
func TestSyncIndexErrorAdvice(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	f.srv.Update(func(d *sentrytest.Dataset) {
		d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	f.git("update-index", "--split-index")
	_, err := f.sync()
	if err == nil {
		t.Fatal("sync with a split index succeeded")
	}
	if errors.Is(err, gitstore.ErrDirty) || strings.Contains(err.Error(), "stash") {
		t.Fatalf("a split index is reported as local changes:\n%v", err)
	}
	if !strings.Contains(err.Error(), "split") {
		t.Fatalf("the error does not name the split index:\n%v", err)
	}
}
