package sync

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/jsonx"
	"github.com/gitalog/gitalog/engine/sentry"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// issueItem is issue id as the fake Sentry's issue list serves it: what a
// full sync maps, and what a webhook's data.issue carries.
func (f *fixture) issueItem(id string) Item {
	f.t.Helper()
	c, err := sentry.NewClient(f.srv.URL, sentrytest.Token, sentry.ClientOptions{HTTPClient: f.srv.Client()})
	if err != nil {
		f.t.Fatal(err)
	}
	var found []byte
	q := url.Values{"query": {""}, "limit": {"100"}}
	err = c.List(context.Background(), "/organizations/"+f.data.OrgSlug()+"/issues/", q, "event:read", func(items [][]byte, _ string) error {
		for _, raw := range items {
			v, err := jsonx.Decode(raw)
			if err != nil {
				return err
			}
			if m, _ := v.(map[string]any); m["id"] == id {
				found = append([]byte(nil), raw...)
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if found == nil {
		f.t.Fatalf("issue %s not served", id)
	}
	return Item{Kind: "issue", JSON: found, ID: "req-" + id}
}

func (f *fixture) apply(items ...Item) *Result {
	f.t.Helper()
	res, err := Apply(context.Background(), f.options(), items)
	if err != nil {
		f.t.Fatalf("apply: %v", err)
	}
	return res
}

// files lists the paths HEAD changed against its parent, with their status.
// The fan-out state (.gitalog/fanout/) is left out: that the batch keeps
// it as a resync would is what agrees checks.
func (f *fixture) lastDiff() string {
	f.t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(f.git("diff", "--name-status", "HEAD~1", "HEAD")), "\n") {
		if !strings.Contains(l, "\t.gitalog/fanout/") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A webhook's new issue is written as a full sync writes it (the resync
// after it changes nothing), its managed lists name it, and nothing else
// changes: not the issues the batch did not bring, whatever Sentry says
// of them now.
func TestApplyCreatedIssueIsWhatSyncWrites(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var added, resolvedMeanwhile string
	f.srv.Update(func(d *sentrytest.Dataset) {
		added = d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
		resolvedMeanwhile = d.IssueIDs("unresolved")[1]
		d.ResolveIssue(resolvedMeanwhile)
	})
	before := f.commits()
	res := f.apply(f.issueItem(added))
	f.checkRepo()
	if f.commits() != before+1 || res.Commit.IsZero() {
		t.Fatalf("apply made no commit: %+v", res)
	}
	want := strings.Join([]string{
		"M\t.gitalog/managed/issue.txt",
		"M\t.gitalog/managed/sentryIssue.txt",
		"A\tcatalog/issue/" + added + ".json",
		"A\tcatalog/sentryIssue/" + added + ".json",
	}, "\n")
	if got := f.lastDiff(); got != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", got, want)
	}
	if res.Subject != "sync: issue +1, sentryIssue +1" {
		t.Fatalf("subject %q", res.Subject)
	}
	if body := f.git("log", "-1", "--format=%b"); !strings.Contains(body, "Source: webhook, 1 item (req-"+added+")") {
		t.Fatalf("body:\n%s", body)
	}
	// The resync deletes the issue resolved meanwhile, and rewrites
	// nothing the batch wrote.
	res = f.mustSync()
	if got := f.lastDiff(); strings.Contains(got, added) || !strings.Contains(got, "D\tcatalog/issue/"+resolvedMeanwhile+".json") {
		t.Fatalf("resync after the batch:\n%s", got)
	}
	f.checkRepo()
}

// A resolved issue no longer matches the default search (is:unresolved):
// its entities go, as the resync would delete them; an issue whose
// webhook changes nothing makes no commit.
func TestApplyResolvedIssueIsDeleted(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var resolved, same string
	f.srv.Update(func(d *sentrytest.Dataset) {
		ids := d.IssueIDs("unresolved")
		resolved, same = ids[0], ids[1]
		d.ResolveIssue(resolved)
	})
	before := f.commits()
	res := f.apply(f.issueItem(same))
	if !res.NoChange || !res.Commit.IsZero() || f.commits() != before {
		t.Fatalf("an unchanged issue committed: %+v", res)
	}
	res = f.apply(f.issueItem(resolved))
	f.checkRepo()
	want := strings.Join([]string{
		"M\t.gitalog/managed/issue.txt",
		"M\t.gitalog/managed/sentryIssue.txt",
		"D\tcatalog/issue/" + resolved + ".json",
		"D\tcatalog/sentryIssue/" + resolved + ".json",
	}, "\n")
	if got := f.lastDiff(); got != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", got, want)
	}
	if res.Subject != "sync: issue -1, sentryIssue -1" {
		t.Fatalf("subject %q", res.Subject)
	}
	// The body says why, for notify's resolved event.
	if body := f.git("log", "-1", "--format=%B"); !strings.Contains(body, "\nLeft the selection:\n  issue/"+resolved+": resolved\n  sentryIssue/"+resolved+": resolved\n") {
		t.Errorf("commit body does not say the issue left the selection resolved:\n%s", body)
	}
	if strings.Contains(f.git("show", "HEAD:.gitalog/managed/issue.txt"), resolved+"\n") {
		t.Fatal("the managed list still names the deleted issue")
	}
	if res := f.mustSync(); !agrees(f, res) {
		t.Fatalf("the resync disagrees with the batch: %s\n%s", res.Subject, f.lastDiff())
	}
}

// Webhooks of one issue come in order: the later one wins. Created then
// resolved is deleted (here: never written); resolved then regressed is
// written.
func TestApplyLaterItemWins(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var id string
	f.srv.Update(func(d *sentrytest.Dataset) {
		id = d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	created := f.issueItem(id)
	f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(id) })
	resolved := f.issueItem(id)
	before := f.commits()
	if res := f.apply(created, resolved); !res.NoChange || f.commits() != before {
		t.Fatalf("created then resolved wrote something: %+v\n%s", res, f.lastDiff())
	}
	f.srv.Update(func(d *sentrytest.Dataset) { d.RegressIssue(id) })
	regressed := f.issueItem(id)
	res := f.apply(resolved, regressed)
	if res.Counts["issue"] == nil || res.Counts["issue"].Created != 1 {
		t.Fatalf("resolved then regressed: %+v", res.Counts)
	}
	if got := f.git("show", "HEAD:catalog/issue/"+id+".json"); !strings.Contains(got, `"status": "unresolved"`) {
		t.Fatalf("written:\n%s", got)
	}
	if res := f.mustSync(); !agrees(f, res) {
		t.Fatalf("the resync disagrees with the batch: %s\n%s", res.Subject, f.lastDiff())
	}
}

// A search term the issue object cannot decide (a date) and statsPeriod,
// which Sentry alone applies, leave the item's entities of that resource
// as they are, and the result says which: the resync decides.
func TestApplyUndecidedSelectionLeavesEntities(t *testing.T) {
	for _, sel := range []string{`search: "is:unresolved firstSeen:-30d"`, `statsPeriod: "14d"`} {
		t.Run(sel, func(t *testing.T) {
			f := newFixture(t, sentrytest.Demo())
			f.editConfig("  - kind: issue\n    selector:\n      query: \"true\"\n", "  - kind: issue\n    selector:\n      query: \"true\"\n      "+sel+"\n")
			f.mustSync()
			var id string
			f.srv.Update(func(d *sentrytest.Dataset) {
				id = d.IssueIDs("unresolved")[0]
				d.ResolveIssue(id)
			})
			res := f.apply(f.issueItem(id))
			// issue-tag's default search decides: its entity goes.
			if got, want := f.lastDiff(), "M\t.gitalog/managed/sentryIssue.txt\nD\tcatalog/sentryIssue/"+id+".json"; got != want {
				t.Fatalf("diff:\n%s\nwant:\n%s", got, want)
			}
			if len(res.Undecided) != 1 || res.Undecided[0].Item != "req-"+id || !strings.Contains(res.Undecided[0].Resource, `"issue"`) {
				t.Fatalf("undecided: %+v", res.Undecided)
			}
			f.mustSync()
			if got := f.lastDiff(); !strings.Contains(got, "D\tcatalog/issue/"+id+".json") {
				t.Fatalf("the resync did not decide:\n%s", got)
			}
		})
	}
}

// A batch never deletes or overwrites a hand-written file (one the managed
// list does not name): a resolved issue's hand-written file stays, a new
// issue's hand-written file is a conflict, as in a full sync.
func TestApplyLeavesHandWrittenFiles(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var resolved, added string
	f.srv.Update(func(d *sentrytest.Dataset) {
		resolved = d.IssueIDs("unresolved")[0]
		d.ResolveIssue(resolved)
		added = d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	f.edit(".gitalog/managed/issue.txt", resolved+"\n", "")
	hand := `{"identifier":"` + added + `","blueprint":"issue","title":"mine"}` + "\n"
	if err := os.WriteFile(filepath.Join(f.dir, "catalog/issue/"+added+".json"), []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("add", "-A")
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "hand-written")
	res := f.apply(f.issueItem(resolved), f.issueItem(added))
	f.checkRepo()
	want := strings.Join([]string{
		"M\t.gitalog/managed/sentryIssue.txt",
		"D\tcatalog/sentryIssue/" + resolved + ".json",
		"A\tcatalog/sentryIssue/" + added + ".json",
	}, "\n")
	if got := f.lastDiff(); got != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", got, want)
	}
	if len(res.Conflicts) != 1 || res.Conflicts[0] != "catalog/issue/"+added+".json" {
		t.Fatalf("conflicts: %v", res.Conflicts)
	}
}

// An entity that fails validation is not written (an older file stays),
// and the batch is partial, as a sync is: exit 3.
func TestApplyInvalidEntityIsNotWritten(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var id string
	f.srv.Update(func(d *sentrytest.Dataset) {
		id = d.IssueIDs("unresolved")[0]
		d.RegressIssue(id)
	})
	old := f.git("show", "HEAD:catalog/issue/"+id+".json")
	f.editConfig(`isUnhandled: ".isUnhandled"`, `isUnhandled: '"not a boolean"'`)
	res, err := Apply(context.Background(), f.options(), []Item{f.issueItem(id)})
	if !errors.Is(err, catalog.ErrPartial) || res == nil || res.InvalidEntities() != 1 {
		t.Fatalf("apply: %v, %+v", err, res)
	}
	if got := f.git("show", "HEAD:catalog/issue/"+id+".json"); got != old {
		t.Fatalf("the invalid entity was written:\n%s", got)
	}
	f.checkRepo()
}

// Webhooks that mirror what happens on Sentry (an issue created, one
// assigned, one resolved, one ignored, a resolved one regressed), applied
// one by one and in batches, leave the catalog a full sync agrees with: the
// resync after them commits nothing.
func TestApplyThenResyncAgrees(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var created, assigned, resolved, ignored, regressed string
	f.srv.Update(func(d *sentrytest.Dataset) {
		open := d.IssueIDs("unresolved")
		assigned, resolved, ignored = open[0], open[1], open[2]
		regressed = d.IssueIDs("resolved")[0]
	})
	f.srv.Update(func(d *sentrytest.Dataset) {
		created = d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	f.apply(f.issueItem(created))
	f.srv.Update(func(d *sentrytest.Dataset) {
		m := d.Members[0]
		d.Issue(assigned).AssignedTo = &sentrytest.Assignee{Type: "user", ID: m.UserID, Name: m.Name, Email: m.Email}
		d.ResolveIssue(resolved)
	})
	f.apply(f.issueItem(assigned), f.issueItem(resolved))
	f.srv.Update(func(d *sentrytest.Dataset) {
		d.Issue(ignored).Status = "ignored"
		d.RegressIssue(regressed)
	})
	res := f.apply(f.issueItem(ignored), f.issueItem(regressed))
	if c := res.Counts["issue"]; c == nil || c.Created != 1 || c.Deleted != 1 {
		t.Fatalf("ignored and regressed: %+v", res.Counts)
	}
	f.checkRepo()
	before := f.commits()
	if res := f.mustSync(); !agrees(f, res) || f.commits() > before+1 {
		t.Fatalf("the resync disagrees with the webhooks: %s\n%s", res.Subject, f.lastDiff())
	}
	f.agreesWithMapping()
}

// The item cache was written for the catalog a full sync left; a batch
// commits another, so the next sync checks each cached entry against the
// catalog (lookups) instead of trusting it: an entity a webhook wrote
// from bytes Sentry no longer lists is mapped again, the rest still comes
// from the cache.
func TestApplyThenResyncItemCache(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var id string
	f.srv.Update(func(d *sentrytest.Dataset) { id = d.IssueIDs("unresolved")[0] })
	it := f.issueItem(id)
	// A delivery that says more than the listing does now (say, a title
	// changed and changed back since).
	it.JSON = []byte(strings.Replace(string(it.JSON), `"title":"`, `"title":"was: `, 1))
	if res := f.apply(it); res.Counts["issue"] == nil || res.Counts["issue"].Changed != 1 {
		t.Fatalf("apply: %+v", res.Counts)
	}
	res := f.mustSync()
	if c := res.Counts["issue"]; c == nil || c.Changed != 1 || res.Changed[0].Identifier != id {
		t.Fatalf("the resync did not restore the issue: %+v", res.Counts)
	}
	if res.Cached == 0 {
		t.Fatal("the resync mapped every item: the item cache was dropped")
	}
	f.agreesWithMapping()
}

// One item the sync's decoder refuses (nested too deep) is left for the
// next full sync; the batch's other items are written.
func TestApplyBadItemLeavesTheRest(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var id string
	f.srv.Update(func(d *sentrytest.Dataset) {
		id = d.AddIssue("payments", "KeyError: 'tax'", "payments.api in charge", "error")
	})
	bad := Item{Kind: "issue", JSON: []byte(`{"id":"1","deep":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`), ID: "req-bad"}
	res, err := Apply(context.Background(), f.options(), []Item{bad, f.issueItem(id)})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(res.Undecided) == 0 || !strings.Contains(res.Undecided[0].Reason, "invalid JSON") {
		t.Errorf("undecided %+v, want the bad item", res.Undecided)
	}
	if !strings.Contains(f.lastDiff(), "catalog/issue/"+id+".json") {
		t.Errorf("the good item was not written:\n%s", f.lastDiff())
	}
	f.checkRepo()
}

// agrees reports whether a resync after webhooks committed nothing: the
// batches kept the fan-out state as the resync would (the tag values of
// the issues they fetched for, no entry for the issues that left).
func agrees(f *fixture, res *Result) bool {
	if !res.NoChange {
		f.t.Logf("the resync committed %s:\n%s", res.Subject, f.lastDiff())
	}
	return res.NoChange
}
