package sync

import (
	"context"
	"net/url"
	"strings"
	"testing"

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
func (f *fixture) lastDiff() string {
	f.t.Helper()
	return strings.TrimSpace(f.git("diff", "--name-status", "HEAD~1", "HEAD"))
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
	if strings.Contains(f.git("show", "HEAD:.gitalog/managed/issue.txt"), resolved+"\n") {
		t.Fatal("the managed list still names the deleted issue")
	}
	if res := f.mustSync(); !res.NoChange {
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
	if res := f.mustSync(); !res.NoChange {
		t.Fatalf("the resync disagrees with the batch: %s\n%s", res.Subject, f.lastDiff())
	}
}
