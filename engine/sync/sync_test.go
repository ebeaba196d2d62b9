package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/fanout"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// fixture is a catalog repository and a fake Sentry to sync it from.
type fixture struct {
	t    *testing.T
	dir  string
	srv  *sentrytest.Server
	data *sentrytest.Dataset
}

func newFixture(t *testing.T, data *sentrytest.Dataset, opts ...sentrytest.Option) *fixture {
	t.Helper()
	return &fixture{t: t, dir: testrepo.InitPort(t), srv: sentrytest.NewHandler(data, opts...), data: data}
}

var testAuthor = testrepo.Author

func (f *fixture) options() Options {
	return Options{Dir: f.dir, Env: testrepo.Env(f.srv, f.data), HTTPClient: f.srv.Client(), Author: testrepo.Author}
}

func (f *fixture) sync() (*Result, error) {
	f.t.Helper()
	return Run(context.Background(), f.options())
}

func (f *fixture) mustSync() *Result {
	f.t.Helper()
	res, err := f.sync()
	if err != nil {
		f.t.Fatalf("sync: %v", err)
	}
	return res
}

func (f *fixture) git(args ...string) string {
	f.t.Helper()
	return testrepo.Git(f.t, f.dir, args...)
}

// checkRepo asserts what every sync must leave behind.
func (f *fixture) checkRepo() {
	f.t.Helper()
	f.git("fsck", "--strict")
	if st := f.git("status", "--porcelain"); st != "" {
		f.t.Fatalf("git status is not clean:\n%s", st)
	}
}

func (f *fixture) commits() int {
	f.t.Helper()
	var n int
	if err := json.Unmarshal([]byte(strings.TrimSpace(f.git("rev-list", "--count", "HEAD"))), &n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestSyncCommitsOnceAndResyncIsNoop(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	res := f.mustSync()
	f.checkRepo()
	if res.Commit.IsZero() || res.Counts["issue"] == nil || res.Counts["issue"].Created == 0 {
		t.Fatalf("first sync created nothing: %+v", res)
	}
	if got := f.commits(); got != 2 {
		t.Fatalf("commits after init+sync = %d, want 2", got)
	}
	subject := strings.TrimSpace(f.git("log", "-1", "--format=%s"))
	if subject != res.Subject || !strings.HasPrefix(subject, "sync: issue +") {
		t.Fatalf("subject %q, result subject %q", subject, res.Subject)
	}
	if an := strings.TrimSpace(f.git("log", "-1", "--format=%an <%ae>")); an != "Test <test@example.com>" {
		t.Fatalf("author %q", an)
	}

	res2 := f.mustSync()
	if !res2.NoChange || !res2.Commit.IsZero() {
		t.Fatalf("unchanged resync committed: %+v", res2)
	}
	if got := f.commits(); got != 2 {
		t.Fatalf("unchanged resync made a commit: %d commits", got)
	}
	f.checkRepo()
}

func TestSyncCommitsExactlyTheUpstreamChange(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var resolved, added string
	f.srv.Update(func(d *sentrytest.Dataset) {
		resolved = d.IssueIDs("unresolved")[0]
		d.ResolveIssue(resolved)
		added = d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	res := f.mustSync()
	f.checkRepo()
	got := strings.Split(strings.TrimSpace(f.git("diff", "--name-status", "HEAD~1", "HEAD")), "\n")
	want := []string{
		"M\t.gitalog/managed/issue.txt",
		"M\t.gitalog/managed/sentryIssue.txt",
		"A\tcatalog/issue/" + added + ".json",
		"D\tcatalog/issue/" + resolved + ".json",
		"A\tcatalog/sentryIssue/" + added + ".json",
		"D\tcatalog/sentryIssue/" + resolved + ".json",
	}
	// The fan-out state (the added issue's tag values in, the resolved
	// one's out) is checked in fanout_test.go.
	got = slices.DeleteFunc(got, func(l string) bool { return strings.Contains(l, "\t"+fanout.Dir+"/") })
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("diff HEAD~1 HEAD:\n got %v\nwant %v", got, want)
	}
	if res.Subject != "sync: issue +1 -1, sentryIssue +1 -1" {
		t.Fatalf("subject %q", res.Subject)
	}
	body := f.git("log", "-1", "--format=%b")
	for _, s := range []string{"+ issue/" + added + "  KeyError: 'currency'", "- issue/" + resolved} {
		if !strings.Contains(body, s) {
			t.Fatalf("commit body lacks %q:\n%s", s, body)
		}
	}
}

func TestSyncLeavesHandWrittenEntitiesAlone(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	hand := filepath.Join(f.dir, "catalog", "issue", "hand-written.json")
	content := []byte("{\"identifier\": \"hand-written\", \"blueprint\": \"issue\", \"title\": \"mine\", \"properties\": {}, \"relations\": {}}\n")
	if err := os.WriteFile(hand, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("add", "catalog/issue/hand-written.json")
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "hand")
	// Upstream loses every issue: the sync deletes its own files only.
	f.srv.Update(func(d *sentrytest.Dataset) {
		for _, id := range d.IssueIDs("") {
			d.DeleteIssue(id)
		}
	})
	o := f.options()
	one := 1.0
	o.DeleteThreshold = &one
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	f.checkRepo()
	got, err := os.ReadFile(hand)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("hand-written file changed: %q %v", got, err)
	}
	left, _ := filepath.Glob(filepath.Join(f.dir, "catalog", "issue", "*.json"))
	if len(left) != 1 {
		t.Fatalf("catalog/issue holds %v, want only the hand-written file", left)
	}
}

func TestSyncRefusesMassDeletion(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	before := f.commits()
	f.srv.Update(func(d *sentrytest.Dataset) {
		for _, id := range d.IssueIDs("") {
			d.DeleteIssue(id)
		}
	})
	o := f.options()
	half := 0.3
	o.DeleteThreshold = &half
	res, err := Run(context.Background(), o)
	if !errors.Is(err, catalog.ErrPartial) || !deletionsBlocked(res) {
		t.Fatalf("want a refused deletion, got %v %+v", err, res)
	}
	if f.commits() != before {
		t.Fatal("a refused mass deletion still committed")
	}
	f.checkRepo()
}

// A kind that fails to fetch keeps the entities of every blueprint it
// feeds (members feed sentryUser, and teams through their members); the
// rest of the sync, deletions of other blueprints included, goes ahead.
func TestSyncFetchFailureDeletesNothingItFeeds(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	files := func(bp string) []string {
		m, _ := filepath.Glob(filepath.Join(f.dir, "catalog", bp, "*.json"))
		return m
	}
	users, teams, issues := files("sentryUser"), files("sentryTeam"), files("issue")
	f.srv.Update(func(d *sentrytest.Dataset) {
		d.Members = d.Members[1:]
		d.DeleteIssue(d.IssueIDs("unresolved")[0])
		d.AddIssue("payments", "New thing", "x in y", "error")
		d.AddIssue("payments", "Another thing", "x in z", "error")
	})
	f.srv.AddFault(sentrytest.Fault{PathContains: "/members/", Status: 403})
	res, err := f.sync()
	if !errors.Is(err, catalog.ErrPartial) || len(res.FetchErrors) == 0 {
		t.Fatalf("want a partial sync, got %v", err)
	}
	if !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "member:read") {
		t.Fatalf("error should name the status and scope: %v", err)
	}
	if !strings.Contains(err.Error(), "fetching failed, so no entity of sentryTeam, sentryUser was deleted:") {
		t.Fatalf("error should name the blueprints kept: %v", err)
	}
	f.checkRepo()
	if len(files("sentryUser")) != len(users) || len(files("sentryTeam")) != len(teams) {
		t.Fatalf("users %d -> %d, teams %d -> %d: a failed fetch deleted what it feeds", len(users), len(files("sentryUser")), len(teams), len(files("sentryTeam")))
	}
	if len(files("issue")) != len(issues)+1 { // two new, one gone
		t.Fatalf("issues %d -> %d; the issue kind was fetched completely", len(issues), len(files("issue")))
	}
}

func TestSyncKeepsOldFileOfInvalidEntity(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	// Tighten the issue blueprint: "unresolved" is no longer allowed.
	bp := filepath.Join(f.dir, "blueprints", "issue.json")
	data, _ := os.ReadFile(bp)
	data = bytes.Replace(data, []byte(`"title": "status",`), []byte(`"title": "status", "enum": ["resolved"],`), 1)
	if err := os.WriteFile(bp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "tighten")
	var changed string
	f.srv.Update(func(d *sentrytest.Dataset) {
		changed = d.IssueIDs("unresolved")[0]
		d.RegressIssue(changed)
	})
	path := filepath.Join(f.dir, "catalog", "issue", changed+".json")
	old, _ := os.ReadFile(path)
	res, err := f.sync()
	if !errors.Is(err, catalog.ErrPartial) || res.Errors() == 0 {
		t.Fatalf("want invalid entities reported, got %v", err)
	}
	var p *string
	for _, pr := range res.Problems {
		if pr.Blueprint == "issue" && pr.Identifier == changed && pr.Pointer == "/properties/status" {
			p = &pr.Reason
		}
	}
	if p == nil {
		t.Fatalf("no problem at /properties/status for issue %s: %v", changed, res.Problems)
	}
	now, _ := os.ReadFile(path)
	if !bytes.Equal(old, now) {
		t.Fatal("the old valid file of an invalid entity changed")
	}
	f.checkRepo()
}

// TestSyncMatchesJQ checks every synced entity against what the jq CLI
// computes from the same raw items with the same mapping.
func TestSyncMatchesJQ(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not on PATH")
	}
	f := newFixture(t, sentrytest.Demo())
	cfgPath, _ := filepath.Abs("testdata/port-and-seed-config.yaml")
	o := f.options()
	o.ConfigPath = cfgPath
	if _, err := Run(context.Background(), o); err != nil && !errors.Is(err, catalog.ErrPartial) {
		t.Fatal(err)
	}
	f.checkRepo()
	dumpDir := t.TempDir()
	if _, err := Dump(context.Background(), o, dumpDir); err != nil {
		t.Fatal(err)
	}
	cfg, err := mapping.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range cfg.Resources {
		prog := jqProgram(r)
		cmd := exec.Command("jq", "-c", "-S", prog, filepath.Join(dumpDir, r.Kind+".jsonl"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("jq %s: %v\n%s", prog, err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var want map[string]any
			if err := json.Unmarshal([]byte(line), &want); err != nil {
				t.Fatal(err)
			}
			k := catalog.Key{Blueprint: want["blueprint"].(string), Identifier: want["identifier"].(string)}
			data, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(catalog.Path(k))))
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			var got map[string]any
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			// Search-rule relations are resolved against the catalog, which
			// jq cannot do; TestSearchRelationResolved covers them.
			for _, rel := range r.Relations {
				if rel.Search != nil {
					delete(got["relations"].(map[string]any), rel.Name)
				}
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if !bytes.Equal(g, w) {
				t.Errorf("%s:\n gitalog %s\n jq      %s", k, g, w)
			}
			checked++
		}
	}
	if checked < 90 {
		t.Fatalf("checked only %d entities", checked)
	}
}

// jqProgram writes a resource's mapping as one jq program, with Port's
// semantics: the first output of each expression, null on error.
func jqProgram(r *mapping.Resource) string {
	first := func(src string) string { return "(try ([" + src + "][0]) catch null)" }
	var props, rels []string
	for _, p := range r.Properties {
		props = append(props, jsonKey(p.Name)+": "+first(p.Source))
	}
	for _, rel := range r.Relations {
		if rel.Expr != nil {
			rels = append(rels, jsonKey(rel.Name)+": "+first(rel.Expr.Source))
		}
	}
	sort.Strings(props)
	return "select(" + r.Query.Source + ") | {identifier: " + first(r.Identifier.Source) +
		", title: " + first(r.Title.Source) + ", blueprint: " + first(r.Blueprint.Source) +
		", properties: {" + strings.Join(props, ", ") + "}, relations: {" + strings.Join(rels, ", ") + "}}"
}

func jsonKey(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func readEntity(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func TestSearchRelationResolved(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	// backend-api belongs to team "platform" alone; payments to two teams.
	read := func(p string) map[string]any { return readEntity(t, filepath.Join(f.dir, p)) }
	e := read("catalog/sentryProject/backend-api-production.json")
	if got := e["relations"].(map[string]any)["team"]; got != "platform" {
		t.Fatalf("team of backend-api-production = %v, want platform", got)
	}
	e = read("catalog/sentryProject/payments-production.json")
	if got := e["relations"].(map[string]any)["team"]; got != nil {
		t.Fatalf("team of payments-production (two teams) = %v, want null", got)
	}
}

// issueConfig writes a config mapping only issues (id, title, status,
// link) and returns its path.
func issueConfig(t *testing.T) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "issues.yaml")
	err := os.WriteFile(cfg, []byte(`resources:
  - kind: issue
    port:
      entity:
        mappings:
          identifier: .id
          title: .title
          blueprint: '"issue"'
          properties:
            status: .status
            link: .permalink
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestParentFetchedOnce: a kind that is both mapped and fanned out over
// (projects, for issues) is fetched once, whichever resource comes first.
func TestParentFetchedOnce(t *testing.T) {
	for _, order := range [][]string{{"project", "issue"}, {"issue", "project"}} {
		t.Run(strings.Join(order, "-"), func(t *testing.T) {
			f := newFixture(t, sentrytest.Demo())
			var cfg strings.Builder
			cfg.WriteString("resources:\n")
			for _, kind := range order {
				fmt.Fprintf(&cfg, "  - kind: %s\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          title: .title // .slug\n          blueprint: '\"%s\"'\n", kind, kind)
			}
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			o := f.options()
			o.ConfigPath = path
			res, err := Run(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			lists := 0
			for _, r := range f.srv.Requests() {
				if strings.HasSuffix(r.Path, "/organizations/"+f.data.OrgSlug()+"/projects/") {
					lists++
				}
			}
			if lists != 1 {
				t.Errorf("the project list was fetched %d times, want 1", lists)
			}
			if res.Counts["project"] == nil || res.Counts["issue"] == nil || res.Counts["issue"].Created == 0 {
				t.Errorf("counts %+v", res.Counts)
			}
		})
	}
}

// deletionsBlocked reports whether some blueprint's deletions were over the
// threshold.
func deletionsBlocked(res *Result) bool {
	return slices.ContainsFunc(res.Kept, func(k catalog.Kept) bool { return k.OverThreshold })
}
