package sync

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// repoFiles hashes every file of the repository, .git included (objects,
// refs, index, logs, the item cache), so that a run that writes anything
// anywhere shows.
func repoFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fmt.Sprintf("%x", sha256.Sum256(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffFiles(before, after map[string]string) []string {
	var d []string
	for p, h := range after {
		if before[p] != h {
			d = append(d, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			d = append(d, p+" (removed)")
		}
	}
	slices.Sort(d)
	return d
}

// TestPlanAndDryRunWriteNothing: neither a plan nor a dry run writes a
// file anywhere in the repository (no object, ref, index, cache), on a
// new catalog and on one with a catalog, a cache and upstream changes.
func TestPlanAndDryRunWriteNothing(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	check := func(when string) {
		t.Helper()
		for _, mode := range []string{"plan", "dry run"} {
			before := repoFiles(t, f.dir)
			o := f.options()
			o.Plan, o.DryRun = mode == "plan", mode == "dry run"
			res, err := Run(context.Background(), o)
			if err != nil {
				t.Fatalf("%s %s: %v", when, mode, err)
			}
			if res.NoChange {
				t.Fatalf("%s %s: nothing to change, so nothing to check", when, mode)
			}
			if d := diffFiles(before, repoFiles(t, f.dir)); len(d) > 0 {
				t.Errorf("%s, a %s wrote %s", when, mode, strings.Join(d, ", "))
			}
		}
	}
	check("before the first sync")
	f.mustSync()
	if _, err := os.Stat(filepath.Join(f.dir, ".git", itemCacheFile)); err != nil {
		t.Fatalf("the sync wrote no item cache, so the plan's keeping it is not tested: %v", err)
	}
	f.srv.Update(func(d *sentrytest.Dataset) {
		d.ResolveIssue(d.IssueIDs("unresolved")[0])
		d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	check("after a sync")
	f.checkRepo()
}

// TestPlanKinds: per kind, in config order: its items, the requests made
// for it (adding up to the sync's, less the access check), its first item
// as the sample and the entities that item maps to.
func TestPlanKinds(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	o := f.options()
	o.Plan = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range loadConfig(t, f).Resources {
		if !slices.Contains(want, r.Kind) {
			want = append(want, r.Kind)
		}
	}
	var got []string
	var sum int64
	for _, k := range res.Plan.Kinds {
		got = append(got, k.Kind)
		sum += k.Requests
		if k.Items != res.Items[k.Kind] || k.Items == 0 {
			t.Errorf("%s: %d items, the result counts %d", k.Kind, k.Items, res.Items[k.Kind])
		}
		if k.Requests == 0 {
			t.Errorf("%s: no request counted", k.Kind)
		}
		if len(k.Sample) == 0 || !json.Valid(k.Sample) {
			t.Errorf("%s: sample %q", k.Kind, k.Sample)
		}
		if len(k.Entities) == 0 {
			t.Errorf("%s: the sample mapped to nothing: %v", k.Kind, k.Issues)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("kinds %v, want the config's order %v", got, want)
	}
	// The access check is made before any kind is streamed.
	access := int64(0)
	for _, r := range f.srv.Requests() {
		if strings.HasSuffix(r.Path, "/organizations/"+f.data.OrgSlug()+"/") {
			access++
		}
	}
	if sum != res.Requests-access {
		t.Errorf("the kinds' requests add up to %d, the sync made %d (%d for the access check)", sum, res.Requests, access)
	}

	// The issue sample is the first issue the fake lists, and maps to its
	// issue entity.
	k := planKind(t, res.Plan, "issue")
	var sample map[string]any
	if err := json.Unmarshal(k.Sample, &sample); err != nil {
		t.Fatal(err)
	}
	id, _ := sample["id"].(string)
	var found bool
	for _, e := range k.Entities {
		var m map[string]any
		if err := json.Unmarshal(e, &m); err != nil {
			t.Fatal(err)
		}
		if m["blueprint"] == "issue" && m["identifier"] == id {
			found = true
		}
	}
	if id == "" || !found {
		t.Errorf("the issue sample (id %q) does not map to its issue entity: %s", id, k.Entities)
	}
	if len(res.Plan.Create) != len(res.Created) || len(res.Plan.Update)+len(res.Plan.Delete) != 0 {
		t.Errorf("a first plan lists %d creates, the result %d", len(res.Plan.Create), len(res.Created))
	}
}

func planKind(t *testing.T, p *Plan, kind string) PlanKind {
	t.Helper()
	for _, k := range p.Kinds {
		if k.Kind == kind {
			return k
		}
	}
	t.Fatalf("no kind %q in the plan", kind)
	return PlanKind{}
}

func loadConfig(t *testing.T, f *fixture) *mapping.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, "gitalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mapping.Parse("gitalog.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPlanChanges: the change lists are complete (past the summary's and
// the commit body's caps), sorted, and an update names the fields that
// change, old and new.
func TestPlanChanges(t *testing.T) {
	d := sentrytest.Generate(sentrytest.GenOptions{Seed: 3, Projects: 3, Issues: 300, Teams: 2, Members: 3})
	f := newFixture(t, d)
	f.mustSync()
	var resolved, deleted, added string
	f.srv.Update(func(d *sentrytest.Dataset) {
		ids := d.IssueIDs("unresolved")
		resolved, deleted = ids[0], ids[1]
		d.ResolveIssue(resolved)
		d.DeleteIssue(deleted)
		added = d.AddIssue(d.Projects[0].Slug, "KeyError: 'currency'", "payments.api in charge", "error")
	})
	o := f.options()
	o.Plan = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Plan
	has := func(l []PlanChange, bp, id string) *PlanChange {
		for i := range l {
			if l[i].Blueprint == bp && l[i].Identifier == id {
				return &l[i]
			}
		}
		return nil
	}
	if c := has(p.Create, "issue", added); c == nil || c.Title != "KeyError: 'currency'" || len(c.Fields) == 0 {
		t.Errorf("create list lacks issue/%s with its fields: %+v", added, c)
	}
	// The fake lists unresolved issues only: a resolved one is gone too.
	for _, id := range []string{deleted, resolved} {
		if has(p.Delete, "issue", id) == nil {
			t.Errorf("delete list lacks issue/%s: %+v", id, p.Delete)
		}
	}
	if p.Suggest == nil {
		t.Error("suggest is nil, not empty")
	}

	// A mapping change touches every issue: far more than any cap.
	f.editConfig(`title: ".title"`, `title: ("[" + .shortId + "] " + .title)`)
	res, err = Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	n := res.Counts["issue"].Changed
	if n <= MaxListed || len(res.Plan.Update) < n {
		t.Fatalf("%d issues changed (want more than %d); the plan lists %d updates", n, MaxListed, len(res.Plan.Update))
	}
	for _, l := range res.Plan.Update {
		if l.Blueprint != "issue" {
			continue
		}
		is := f.data.Issue(l.Identifier)
		if len(l.Fields) != 1 || l.Fields[0].Path != "title" || l.Fields[0].Old != is.Title || l.Fields[0].New != "["+is.ShortID()+"] "+is.Title {
			t.Fatalf("update of issue/%s: fields %+v, want its title changed", l.Identifier, l.Fields)
		}
	}
	if !slices.IsSortedFunc(res.Plan.Update, func(a, b PlanChange) int {
		return strings.Compare(a.Blueprint+"\x00"+a.Identifier, b.Blueprint+"\x00"+b.Identifier)
	}) {
		t.Error("updates are not sorted by blueprint and identifier")
	}
}

// TestTrimJSON: what is cut says so in place, and nothing else changes.
func TestTrimJSON(t *testing.T) {
	l := TrimLimits{String: 5, Array: 2, Depth: 2}
	for _, tc := range []struct {
		in, want string
		trimmed  bool
	}{
		{`{"a":"abc","b":[1,2],"c":{"d":1}}`, `{"a":"abc","b":[1,2],"c":{"d":1}}`, false},
		{`"abcdefgh"`, `"abcde… (8 chars)"`, true},
		{`"ééééééé"`, `"ééééé… (7 chars)"`, true},
		{`[1,2,3,4]`, `[1,2,"… 2 more"]`, true},
		{`{"a":{"b":{"c":1}}}`, `{"a":{"b":"{… 1 key}"}}`, true},
		{`{"a":{"b":[1]}}`, `{"a":{"b":"[… 1 item]"}}`, true},
		{`{"a":{"b":[]}}`, `{"a":{"b":[]}}`, false},
		{`{"z":1,"a":12345678901234567890}`, `{"a":12345678901234567890,"z":1}`, false},
	} {
		got, trimmed, err := TrimJSON([]byte(tc.in), l)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if string(got) != tc.want || trimmed != tc.trimmed {
			t.Errorf("TrimJSON(%s) = %s (trimmed %v), want %s", tc.in, got, trimmed, tc.want)
		}
	}
	if _, _, err := TrimJSON([]byte(`{"a":`), l); err == nil {
		t.Error("invalid JSON was not refused")
	}
}

// TestPlanSampleFromFetcher: a Fetcher that keeps its own sample and
// counts its requests (the interfaces a plan asks for) has both shown.
func TestPlanSampleFromFetcher(t *testing.T) {
	runs := newKindRuns(&mapping.Config{Resources: []*mapping.Resource{{Kind: "widget"}, {Kind: "gadget"}}})
	runs.page("widget", nil, Page{Items: [][]byte{[]byte(`{"id":1}`)}})
	ks := runs.kinds(reportingFetcher{}, map[string]int{"widget": 1})
	if len(ks) != 2 || ks[0].Kind != "widget" || ks[0].Requests != 7 || string(ks[0].Sample) != `{"page":[1,2,3,"… 3 more"]}` || !ks[0].Trimmed {
		t.Fatalf("kinds %+v", ks)
	}
	if ks[1].Sample != nil || ks[1].Items != 0 || ks[1].Entities == nil {
		t.Errorf("a kind with no item: %+v", ks[1])
	}
}

type reportingFetcher struct{ Fetcher }

func (reportingFetcher) Requests(kind string) int64 { return int64(len(kind) + 1) }
func (reportingFetcher) Sample(kind string) []byte {
	if kind == "widget" {
		return []byte(`{"page":[1,2,3,4,5,6]}`)
	}
	return nil
}
