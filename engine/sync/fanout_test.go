package sync

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/fanout"
	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// tagRequests counts the requests for issues' tag values (and, in
// members, for teams' members) since the last reset.
func tagRequests(srv *sentrytest.Server) (tags, members int, paths []string) {
	for _, r := range srv.Requests() {
		switch {
		case strings.Contains(r.Path, "/issues/") && strings.Contains(r.Path, "/tags/"):
			tags++
			paths = append(paths, r.Path)
		case strings.HasPrefix(strings.TrimPrefix(r.Path, "/api/0"), "/teams/") && strings.HasSuffix(r.Path, "/members/"):
			members++
		}
	}
	return tags, members, paths
}

func unresolved(f *fixture) []string {
	var ids []string
	f.srv.Update(func(d *sentrytest.Dataset) { ids = d.IssueIDs("unresolved") })
	return ids
}

// clone makes a fresh clone of the fixture's catalog, as a CI job starts
// from: no item cache, nothing but what was committed.
func (f *fixture) clone() *fixture {
	f.t.Helper()
	dir := filepath.Join(f.t.TempDir(), "clone")
	testrepo.Git(f.t, filepath.Dir(dir), "clone", "-q", f.dir, dir)
	if _, err := os.Stat(filepath.Join(dir, ".git", itemCacheFile)); err == nil {
		f.t.Fatal("the clone has an item cache")
	}
	c := *f
	c.dir = dir
	return &c
}

func TestFanoutUnchangedResyncMakesNoTagRequests(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	issues := len(unresolved(f))
	first := f.mustSync()
	tags, members, _ := tagRequests(f.srv)
	if tags != issues || members == 0 {
		t.Fatalf("first sync: %d tag-value requests for %d issues, %d member requests", tags, issues, members)
	}
	if n := len(strings.Fields(f.git("ls-files", fanout.Dir))); n == 0 {
		t.Fatalf("the first sync committed no fan-out state")
	}
	commits := f.commits()

	for _, c := range []struct {
		name string
		f    *fixture
	}{{"same clone", f}, {"fresh clone", f.clone()}} {
		t.Run(c.name, func(t *testing.T) {
			f.srv.ResetRequests()
			res, err := Run(context.Background(), c.f.options())
			if err != nil {
				t.Fatal(err)
			}
			tags, members, paths := tagRequests(f.srv)
			if tags != 0 || members != 0 {
				t.Fatalf("unchanged resync: %d tag-value requests (%v), %d member requests", tags, paths, members)
			}
			if !res.NoChange || !res.Commit.IsZero() || c.f.commits() != commits {
				t.Fatalf("unchanged resync committed: %+v", res.Commit)
			}
			if res.Requests >= first.Requests/2 {
				t.Fatalf("resync made %d requests, the first sync %d", res.Requests, first.Requests)
			}
			var skipped int64
			for _, e := range res.Endpoints {
				if e.Endpoint == "/organizations/{org}/issues/{id}/tags/{key}/values/" {
					skipped = e.Skipped
					if e.Requests != 0 {
						t.Fatalf("endpoint %+v", e)
					}
				}
			}
			if skipped != int64(issues) {
				t.Fatalf("skipped %d tag-value requests, want %d: %+v", skipped, issues, res.Endpoints)
			}
			c.f.checkRepo()
		})
	}
}

// moveIssue gives an issue a new event in another environment: its count
// and lastSeen move, and so do its tag values.
func moveIssue(t *testing.T, f *fixture, id string, events bool) {
	f.srv.Update(func(d *sentrytest.Dataset) {
		is := d.Issue(id)
		if len(is.Project.Environments) < 2 {
			t.Fatalf("issue %s: project %s has one environment", id, is.Project.Slug)
		}
		is.EnvMask ^= 2
		if is.EnvMask == 0 {
			is.EnvMask = 3
		}
		if events {
			d.RegressIssue(id)
		}
	})
}

// issueWithEnvs is an unresolved issue whose project has two environments.
func issueWithEnvs(t *testing.T, f *fixture) string {
	var id string
	f.srv.Update(func(d *sentrytest.Dataset) {
		for _, i := range d.IssueIDs("unresolved") {
			if len(d.Issue(i).Project.Environments) >= 2 {
				id = i
				return
			}
		}
	})
	if id == "" {
		t.Fatal("no issue with two environments")
	}
	return id
}

func TestFanoutMovedIssueIsRefetchedInTheSameSync(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	id := issueWithEnvs(t, f)
	moveIssue(t, f, id, true)
	for _, c := range []struct {
		name string
		f    *fixture
	}{{"fresh clone", f.clone()}, {"same clone", f}} {
		t.Run(c.name, func(t *testing.T) {
			f.srv.ResetRequests()
			res, err := Run(context.Background(), c.f.options())
			if err != nil {
				t.Fatal(err)
			}
			tags, _, paths := tagRequests(f.srv)
			if tags != 1 || !strings.Contains(paths[0], "/issues/"+id+"/") {
				t.Fatalf("want the moved issue's tag values fetched once, got %v", paths)
			}
			changed := false
			for _, e := range res.Changed {
				changed = changed || e.Blueprint == "sentryIssue" && e.Identifier == id
			}
			if !changed {
				t.Fatalf("issue %s did not change: %+v", id, res.Changed)
			}
			if st := c.f.git("show", "--stat", "--format=", "HEAD"); !strings.Contains(st, fanout.Dir) {
				t.Fatalf("the commit has no fan-out state:\n%s", st)
			}
		})
	}
}

func TestFanoutFullRefetchesEverything(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	issues := len(unresolved(f))
	f.mustSync()
	id := issueWithEnvs(t, f)
	// Tag values that change without a new event (count and lastSeen as
	// they were) are the full refresh's to catch.
	moveIssue(t, f, id, false)
	f.srv.ResetRequests()
	res := f.mustSync()
	if tags, _, _ := tagRequests(f.srv); tags != 0 || !res.NoChange {
		t.Fatalf("a resync fetched %d tag values; NoChange %v", tags, res.NoChange)
	}

	f.srv.ResetRequests()
	o := f.options()
	o.Full = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if tags, members, _ := tagRequests(f.srv); tags != issues || members == 0 {
		t.Fatalf("--full: %d tag-value requests for %d issues, %d member requests", tags, issues, members)
	}
	if res.FullRefresh != "--full" {
		t.Fatalf("FullRefresh %q", res.FullRefresh)
	}
	changed := false
	for _, e := range res.Changed {
		changed = changed || e.Identifier == id
	}
	if !changed {
		t.Fatalf("--full did not update issue %s: %+v", id, res.Changed)
	}
}

func TestFanoutFullRefreshPeriod(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	issues := len(unresolved(f))
	f.mustSync()
	last := f.git("show", "HEAD:"+fanout.LastFullPath)
	at := func(d time.Duration) (*Result, int) {
		t.Helper()
		f.srv.ResetRequests()
		o := f.options()
		o.now = func() time.Time { return time.Now().Add(d) }
		res, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		tags, _, _ := tagRequests(f.srv)
		return res, tags
	}
	if res, tags := at(23 * time.Hour); tags != 0 || res.FullRefresh != "" {
		t.Fatalf("23h later: %d tag requests, full refresh %q", tags, res.FullRefresh)
	}
	res, tags := at(25 * time.Hour)
	if tags != issues || !strings.Contains(res.FullRefresh, "sentry.fullRefresh: 24h0m0s") {
		t.Fatalf("25h later: %d tag requests for %d issues, full refresh %q", tags, issues, res.FullRefresh)
	}
	// Recorded in the commit, so that a fresh clone knows it too.
	if now := f.git("show", "HEAD:"+fanout.LastFullPath); now == last {
		t.Fatalf("the full refresh was not recorded: %s", now)
	}
	c := f.clone()
	f.srv.ResetRequests()
	o := c.options()
	o.now = func() time.Time { return time.Now().Add(26 * time.Hour) }
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if tags, _, _ := tagRequests(f.srv); tags != 0 {
		t.Fatalf("a fresh clone an hour after the full refresh fetched %d tag values", tags)
	}
}

func TestFanoutFailedChildStoresNothing(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	ids := unresolved(f)
	moved := issueWithEnvs(t, f)
	state := func() string { return f.git("grep", "-h", "/issues/"+moved+"/tags/", "HEAD", "--", fanout.Dir) }
	before := state()
	var added string
	f.srv.Update(func(d *sentrytest.Dataset) {
		added = d.AddIssue(d.Issue(moved).Project.Slug, "KeyError: 'x'", "app.x in y", "error")
	})
	moveIssue(t, f, moved, true)
	for _, id := range []string{moved, added} {
		f.srv.AddFault(sentrytest.Fault{PathContains: "/issues/" + id + "/tags/", Status: 500})
	}
	managed := f.git("show", "HEAD:.gitalog/managed/issue.txt")
	res, err := f.sync()
	if err == nil {
		t.Fatalf("a sync whose tag fetches failed succeeded")
	}
	if res == nil || len(res.Deleted) != 0 {
		t.Fatalf("deleted %+v", res)
	}
	if got := state(); got != before {
		t.Fatalf("the failed issue's stored result changed:\n%s\nwas\n%s", got, before)
	}
	if out, _ := testrepoGitOK(f.dir, "grep", "-c", "/issues/"+added+"/tags/", "HEAD", "--", fanout.Dir); out != "" {
		t.Fatalf("a failed fetch stored a result: %s", out)
	}
	if got := f.git("show", "HEAD:.gitalog/managed/issue.txt"); len(strings.Fields(got)) < len(strings.Fields(managed)) {
		t.Fatalf("managed issues went from %d to %d", len(strings.Fields(managed)), len(strings.Fields(got)))
	}
	// Every other issue's entry is still there.
	if n := strings.Count(f.git("grep", "-h", "/tags/", "HEAD", "--", fanout.Dir+"/issue-tag"), "\n"); n != len(ids) {
		t.Fatalf("%d stored results, want %d", n, len(ids))
	}
	// Once Sentry answers, both are fetched: the old entry's fingerprint
	// is not the moved issue's.
	f.srv.ClearFaults()
	f.srv.ResetRequests()
	f.mustSync()
	if tags, _, _ := tagRequests(f.srv); tags != 2 {
		t.Fatalf("after the failure: %d tag requests, want 2", tags)
	}
	if got := state(); got == before {
		t.Fatalf("the moved issue's stored result was not renewed")
	}
}

func TestFanoutGoneParentsLeaveTheState(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	gone := unresolved(f)[0]
	f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(gone) })
	f.mustSync()
	if out, _ := testrepoGitOK(f.dir, "grep", "-c", "/issues/"+gone+"/tags/", "HEAD", "--", fanout.Dir); out != "" {
		t.Fatalf("a resolved issue's result stayed: %s", out)
	}
}

// testrepoGitOK runs git, returning its output and whether it succeeded
// (git grep fails when nothing matches).
func testrepoGitOK(dir string, args ...string) (string, bool) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err == nil
}
