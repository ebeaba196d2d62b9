package sync

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
)

// The Kyverno guide's blueprints.
var kyvernoBlueprints = map[string]string{
	"kyverno_issue": `{"identifier": "kyverno_issue", "schema": {"properties": {"summary": {"type": "string"}, "status": {"type": "string"}, "namespace": {"type": "string"}}}}`,
	"namespace":     `{"identifier": "namespace", "schema": {"properties": {}}}`,
}

// kyvernoItem is a Kyverno policy report result, as pushed.
func kyvernoItem(name, ns, rule, status string) string {
	b, _ := json.Marshal(map[string]any{
		"policy": "require-labels", "rule": rule, "status": status,
		"message":  "validation error: the label `app` is required. rule " + rule + " failed",
		"resource": map[string]any{"name": name, "namespace": ns, "kind": "Pod", "apiVersion": "v1"},
		"scored":   true, "severity": "medium", "timestamp": map[string]any{"seconds": 1714000000},
	})
	return string(b)
}

var day0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// push applies bodies to the Kyverno guide's extractor at the time at.
func (r *olRepo) push(at time.Time, bodies ...string) (*Result, error) {
	r.t.Helper()
	o := r.options()
	o.now = func() time.Time { return at }
	var items []PushItem
	for i, b := range bodies {
		items = append(items, PushItem{Kind: "kyverno_issues", Body: []byte(b), ID: "req-" + string(rune('a'+i)), At: at})
	}
	return ApplyPush(context.Background(), o, items)
}

func (r *olRepo) mustPush(at time.Time, bodies ...string) *Result {
	r.t.Helper()
	res, err := r.push(at, bodies...)
	if err != nil {
		r.t.Fatalf("push: %v", err)
	}
	r.check()
	return res
}

func (r *olRepo) syncAt(at time.Time) (*Result, error) {
	r.t.Helper()
	o := r.options()
	o.now = func() time.Time { return at }
	return Run(context.Background(), o)
}

// tree is every file under dir (catalog/ or .gitalog/managed), by path.
func (r *olRepo) tree(dir string) map[string]string {
	r.t.Helper()
	out := map[string]string{}
	root := r.path(dir)
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			r.t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return out
}

var kyvernoBodies = []string{
	kyvernoItem("nginx", "default", "check-for-application-label", "fail"),
	kyvernoItem("redis", "cache", "run-as-non-root-user", "fail"),
	// exclude drops it: not one of the two rules the guide takes.
	kyvernoItem("nginx", "default", "disallow-latest-tag", "fail"),
}

// TestPushWritesWhatSyncWrites: the entities a push writes are byte for
// byte those a sync writes from the same items polled; exclude drops.
func TestPushWritesWhatSyncWrites(t *testing.T) {
	pushed := guideRepo(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1", kyvernoBlueprints)
	res := pushed.mustPush(day0, kyvernoBodies...)
	if res.Commit.IsZero() {
		t.Fatal("the push made no commit")
	}
	if n := strings.Count(pushed.git("log", "--format=%s"), "\n"); n != 3 {
		t.Errorf("want one commit for the batch, log:\n%s", pushed.git("log", "--format=%s"))
	}
	if body := pushed.git("log", "-1", "--format=%B"); !strings.Contains(body, "Source: push, 3 bodies (req-a, req-b, req-c)") {
		t.Errorf("commit body:\n%s", body)
	}

	// The same items, polled.
	var all []json.RawMessage
	for _, b := range kyvernoBodies {
		all = append(all, json.RawMessage(b))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(all)
	}))
	defer srv.Close()
	polled := newOLRepo(t)
	yaml := example(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1")
	yaml = strings.Replace(yaml, "  expires_after_days: 20\n", "  iterator: \".\"\n  http_polling:\n    url: "+srv.URL+"/reports\n", 1)
	polled.write("gitalog.yaml", yaml)
	for name, bp := range kyvernoBlueprints {
		polled.write("blueprints/"+name+".json", bp)
	}
	polled.commit("polled")
	polled.mustSync()

	for _, dir := range []string{"catalog", catalog.ManagedDir} {
		a, b := pushed.tree(dir), polled.tree(dir)
		if len(a) == 0 {
			t.Fatalf("%s: the push wrote nothing", dir)
		}
		for p, want := range b {
			if a[p] != want {
				t.Errorf("%s/%s:\npushed: %q\npolled: %q", dir, p, a[p], want)
			}
		}
		for p := range a {
			if _, ok := b[p]; !ok {
				t.Errorf("%s/%s: pushed, not polled", dir, p)
			}
		}
	}
	if pushed.exists(file("kyverno_issue", "nginx-disallow-latest-tag")) {
		t.Error("exclude did not drop the excluded item")
	}
	if !pushed.exists(file("namespace", "cache")) || !pushed.exists(file("kyverno_issue", "redis-run-as-non-root-user")) {
		t.Errorf("missing entities: %v", pushed.tree("catalog"))
	}
	rec := pushed.read(PushedPath("kyverno_issues"))
	lines := strings.Split(strings.TrimSuffix(rec, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"id":"nginx-check-for-application-label","pushed":"2024-05-01","item":{`) ||
		!strings.HasPrefix(lines[1], `{"id":"redis-run-as-non-root-user","pushed":"2024-05-01","item":{`) {
		t.Errorf("record:\n%s", rec)
	}

	// The same bodies again the same day: nothing changes.
	if res := pushed.mustPush(day0.Add(time.Hour), kyvernoBodies...); !res.Commit.IsZero() {
		t.Errorf("a repeated push committed %s", res.Commit)
	}
}

// TestSyncKeepsPushedEntities: a sync does not poll a push extractor, is
// not incomplete for it (exit 0), and keeps what was pushed.
func TestSyncKeepsPushedEntities(t *testing.T) {
	r := guideRepo(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1", kyvernoBlueprints)
	head := r.git("rev-parse", "HEAD")
	if _, err := r.syncAt(day0); err != nil {
		t.Fatalf("sync with a push extractor: %v", err)
	}
	r.check()
	if r.git("rev-parse", "HEAD") != head {
		t.Error("a sync with nothing pushed committed")
	}
	r.mustPush(day0, kyvernoBodies...)
	before := r.tree("catalog")
	head = r.git("rev-parse", "HEAD")
	res, err := r.syncAt(day0.AddDate(0, 0, 3))
	if err != nil {
		t.Fatalf("sync after a push: %v", err)
	}
	r.check()
	if r.git("rev-parse", "HEAD") != head || len(res.Deleted) > 0 {
		t.Errorf("the sync changed the pushed catalog: deleted %v", res.Deleted)
	}
	if got := r.tree("catalog"); len(got) != len(before) {
		t.Errorf("catalog after the sync: %v", got)
	}
	if res.Items["kyverno_issues"] != 2 {
		t.Errorf("items: %v", res.Items)
	}
}

// TestPushExpiry: entities of items not pushed again within
// expires_after_days (20) are deleted, by a sync and by a push batch;
// an item pushed again is kept; a namespace another item still gives stays.
func TestPushExpiry(t *testing.T) {
	r := guideRepo(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1", kyvernoBlueprints)
	a := kyvernoItem("nginx", "default", "check-for-application-label", "fail")
	b := kyvernoItem("redis", "cache", "run-as-non-root-user", "fail")
	c := kyvernoItem("web", "default", "run-as-non-root-user", "fail")
	d := kyvernoItem("api", "default", "check-for-application-label", "fail")
	r.mustPush(day0, a, b, c, d)
	r.mustPush(day0.AddDate(0, 0, 10), c) // refreshed
	// Day 20 after the push: still within the 20 days.
	if res, err := r.syncAt(day0.AddDate(0, 0, 20)); err != nil || !res.Commit.IsZero() {
		t.Fatalf("sync on day 20: commit %v, %v", res.Commit, err)
	}
	// Day 21: a and b expire, c (pushed on day 10) and d (pushed on day 21) do not.
	r.mustPush(day0.AddDate(0, 0, 21), d)
	gone := []string{file("kyverno_issue", "nginx-check-for-application-label"), file("kyverno_issue", "redis-run-as-non-root-user"), file("namespace", "cache")}
	kept := []string{file("kyverno_issue", "web-run-as-non-root-user"), file("kyverno_issue", "api-check-for-application-label"), file("namespace", "default")}
	for _, f := range gone {
		if r.exists(f) {
			t.Errorf("%s is still there after its item expired", f)
		}
	}
	for _, f := range kept {
		if !r.exists(f) {
			t.Errorf("%s was deleted", f)
		}
	}
	rec := r.read(PushedPath("kyverno_issues"))
	if strings.Contains(rec, "nginx") || strings.Contains(rec, "redis") || strings.Count(rec, "\n") != 2 {
		t.Errorf("expired items are still recorded:\n%s", rec)
	}
	if !strings.Contains(rec, `"id":"web-run-as-non-root-user","pushed":"2024-05-11"`) || !strings.Contains(rec, `"id":"api-check-for-application-label","pushed":"2024-05-22"`) {
		t.Errorf("record:\n%s", rec)
	}
	// A later sync agrees: no commit.
	if res, err := r.syncAt(day0.AddDate(0, 0, 22)); err != nil || !res.Commit.IsZero() {
		t.Errorf("sync after the expiry: %v, %v", res.Commit, err)
	}
	// Everything expired at once is over the deletion threshold: kept,
	// records too, and the sync says so (exit 3).
	head := r.git("rev-parse", "HEAD")
	res, err := r.syncAt(day0.AddDate(0, 0, 60))
	if !errors.Is(err, catalog.ErrPartial) || !strings.Contains(err.Error(), "entityDeletionThreshold") {
		t.Fatalf("sync with everything expired: %v", err)
	}
	r.check()
	if r.git("rev-parse", "HEAD") != head || len(res.Deleted) > 0 {
		t.Error("a mass expiry deleted entities over the threshold")
	}
	// Confirmed with the threshold 1: gone, with their records.
	o := r.options()
	o.now = func() time.Time { return day0.AddDate(0, 0, 60) }
	one := 1.0
	o.DeleteThreshold = &one
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	r.check()
	if got := r.tree("catalog"); len(got) != 0 {
		t.Errorf("left after the confirmed expiry: %v", slices.Sorted(func(yield func(string) bool) {
			for k := range got {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if r.exists(PushedPath("kyverno_issues")) {
		t.Error("the record of expired items stayed")
	}
}

// TestPushRecordDoubt: a record a person broke is a doubt: the sync
// deletes nothing of the push extractor's blueprints and says so.
func TestPushRecordDoubt(t *testing.T) {
	r := guideRepo(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1", kyvernoBlueprints)
	r.mustPush(day0, kyvernoBodies...)
	r.write(PushedPath("kyverno_issues"), "{not json\n")
	r.commit("oops")
	head := r.git("rev-parse", "HEAD")
	_, err := r.syncAt(day0)
	if !errors.Is(err, catalog.ErrPartial) || !strings.Contains(err.Error(), PushedPath("kyverno_issues")+":1") {
		t.Fatalf("sync with a broken record: %v", err)
	}
	r.check()
	if r.git("rev-parse", "HEAD") != head {
		t.Error("a sync with a broken record committed")
	}
}

// TestPushOnBrokenRecordFails: a push batch onto a record it cannot read
// fails whole (the server keeps it in its journal), rather than dropping
// the pushes.
func TestPushOnBrokenRecordFails(t *testing.T) {
	r := guideRepo(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1", kyvernoBlueprints)
	r.write(PushedPath("kyverno_issues"), "{not json\n")
	r.commit("oops")
	head := r.git("rev-parse", "HEAD")
	_, err := r.push(day0, kyvernoBodies...)
	if err == nil || errors.Is(err, catalog.ErrPartial) || !strings.Contains(err.Error(), PushedPath("kyverno_issues")+":1") {
		t.Fatalf("push onto a broken record: %v", err)
	}
	r.check()
	if r.git("rev-parse", "HEAD") != head {
		t.Error("committed")
	}
}

// TestPushLeavesOtherKinds: a push batch fetches nothing else and deletes
// nothing of other kinds' blueprints, whose entities it did not produce.
func TestPushLeavesOtherKinds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"id": "t1", "name": "Team one"}, {"id": "t2", "name": "Team two"}]`))
	}))
	defer srv.Close()
	r := newOLRepo(t)
	yaml := example(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1")
	yaml = strings.Replace(yaml, "---\ntransforms:\n", `- external_kind: team
  external_id: .id
  iterator: "."
  http_polling:
    url: `+srv.URL+`/teams
---
transforms:
- external_kind: team
  on_component_not_found: create
  opslevel_kind: team
  opslevel_identifier: .id
  properties:
    label: .name
`, 1)
	r.write("gitalog.yaml", yaml)
	for name, bp := range kyvernoBlueprints {
		r.write("blueprints/"+name+".json", bp)
	}
	r.write("blueprints/team.json", `{"identifier": "team", "schema": {"properties": {"label": {"type": "string"}}}}`)
	r.commit("teams and kyverno")
	r.mustSync()
	if !r.exists(file("team", "t1")) {
		t.Fatalf("the sync wrote no team: %v", r.tree("catalog"))
	}
	srv.Close() // a push batch must not need it
	res := r.mustPush(day0, kyvernoBodies[0])
	if len(res.Deleted) > 0 || len(res.Kept) > 0 || !r.exists(file("team", "t2")) {
		t.Errorf("the push touched the teams: deleted %v, kept %v", res.Deleted, res.Kept)
	}
	if !r.exists(file("kyverno_issue", "nginx-check-for-application-label")) {
		t.Error("the push wrote nothing")
	}
}

// With sources, each source keeps its own record of pushed items
// (.gitalog/sources/<name>/pushed/): what is pushed to one source's serve
// is that source's, and another source's sync makes nothing of it.
func TestPushedItemsArePerSource(t *testing.T) {
	r := newOLRepo(t)
	yaml := example(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1")
	yaml = strings.ReplaceAll(yaml, "opslevel_identifier: .resource.name", `opslevel_identifier: $source + "-" + .resource.name`)
	yaml = strings.ReplaceAll(yaml, `opslevel_identifier: ".resource.namespace"`, `opslevel_identifier: $source + "-" + .resource.namespace`)
	r.write("gitalog.yaml", "sources:\n  - name: a\n    org: acme-a\n  - name: b\n    org: acme-b\n"+strings.TrimPrefix(yaml, "---\n"))
	for name, bp := range kyvernoBlueprints {
		r.write("blueprints/"+name+".json", bp)
	}
	r.commit("two sources")
	o := r.options()
	o.Source = "a"
	o.now = func() time.Time { return day0 }
	if _, err := ApplyPush(context.Background(), o, []PushItem{{Kind: "kyverno_issues", Body: []byte(kyvernoBodies[0]), ID: "req-a", At: day0}}); err != nil {
		t.Fatalf("push to a: %v", err)
	}
	r.check()
	want := catalog.Scope("a").Sub("pushed") + "/kyverno_issues.jsonl"
	if !r.exists(want) {
		t.Errorf("no record %s; .gitalog holds %v", want, slices.Sorted(maps.Keys(r.tree(".gitalog"))))
	}
	if r.exists(PushedPath("kyverno_issues")) {
		t.Errorf("the push to a wrote the unsourced record %s", PushedPath("kyverno_issues"))
	}
	before := r.tree("catalog")
	if len(before) == 0 {
		t.Fatal("the push to a wrote no entity")
	}
	head := r.git("rev-parse", "HEAD")
	o.Source = "b"
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("sync b: %v", err)
	}
	r.check()
	if r.git("rev-parse", "HEAD") != head || len(res.Created) > 0 {
		t.Errorf("b's sync made something of a's pushes: created %v", res.Created)
	}
	if got := r.tree("catalog"); len(got) != len(before) {
		t.Errorf("catalog after b's sync: %v", slices.Sorted(maps.Keys(got)))
	}
	// a's own sync keeps them.
	o.Source = "a"
	if res, err := Run(context.Background(), o); err != nil || !res.Commit.IsZero() {
		t.Errorf("a's sync after its push: commit %v, %v", res.Commit, err)
	}
}

// With sources, a push is checked against the source's own extractors:
// a kind only another source takes is refused (404), not accepted and
// dropped by the batch.
func TestPushCheckerIsOfTheSource(t *testing.T) {
	r := newOLRepo(t)
	yaml := strings.TrimPrefix(example(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1"), "---\n")
	yaml = strings.Replace(yaml, "- external_kind: kyverno_issues\n  external_id:", "- external_kind: kyverno_issues\n  source: b\n  external_id:", 1)
	r.write("gitalog.yaml", "sources:\n  - name: a\n    org: acme-a\n  - name: b\n    org: acme-b\n"+yaml)
	for name, bp := range kyvernoBlueprints {
		r.write("blueprints/"+name+".json", bp)
	}
	r.commit("kyverno for b only")
	for source, wantErr := range map[string]error{"a": ErrNotPush, "b": nil} {
		o := r.options()
		o.Source = source
		_, _, err := PushChecker(o)("kyverno_issues", []byte(kyvernoBodies[0]))
		if !errors.Is(err, wantErr) || wantErr == nil && err != nil {
			t.Errorf("source %s: %v, want %v", source, err, wantErr)
		}
	}
}

// A push batch states the rule relations of a hand-written entity over
// the whole catalog, as a sync does: the blueprint a polled extractor
// writes too is held in a push (none of its entities goes), and that hold
// is no doubt about what the catalog holds, so the relation lists the
// pushed issue with the polled ones at once, not after the next sync.
func TestPushStatesRuleRelations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"id": "old-1", "ns": "default"}, {"id": "old-2", "ns": "cache"}]`))
	}))
	defer srv.Close()
	r := newOLRepo(t)
	yaml := example(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1")
	yaml = strings.Replace(yaml, "---\ntransforms:\n", `- external_kind: old_issues
  external_id: .id
  iterator: "."
  http_polling:
    url: `+srv.URL+`/old
---
transforms:
- external_kind: old_issues
  on_component_not_found: create
  opslevel_kind: kyverno_issue
  opslevel_identifier: .id
  properties:
    namespace: .ns
`, 1)
	r.write("gitalog.yaml", yaml)
	r.write("blueprints/kyverno_issue.json", kyvernoBlueprints["kyverno_issue"])
	r.write("blueprints/namespace.json", `{"identifier": "namespace", "schema": {"properties": {}}, "relations": {"issues": {"target": "kyverno_issue", "many": true,
  "rules": [{"operator": "EQUALS", "sourceProperty": "$identifier", "targetProperty": "namespace"}]}}}`)
	r.write(file("namespace", "default"), `{"identifier": "default", "title": "Default", "blueprint": "namespace", "properties": {}}`+"\n")
	r.commit("kyverno, old issues, a namespace by hand")
	r.mustSync()
	related := func() any {
		return r.entity(file("namespace", "default"))["relations"].(map[string]any)["issues"]
	}
	if got, want := related(), []any{"old-1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the sync: %v, want %v", got, want)
	}
	r.mustPush(day0, kyvernoBodies[0])
	if got, want := related(), []any{"nginx-check-for-application-label", "old-1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the push: %v, want %v", got, want)
	}
	if !r.exists(file("kyverno_issue", "old-2")) {
		t.Error("the push deleted a polled issue")
	}
	if msg := r.git("log", "-1", "--format=%B"); !strings.Contains(msg, "2 kyverno_issue entities, not fetched in this run (a push batch polls nothing)") || strings.Contains(msg, "because\n") {
		t.Errorf("the push commit's message says why the polled issues stay:\n%s", msg)
	}
	head := r.git("rev-parse", "HEAD")
	if _, err := r.syncAt(day0); err != nil {
		t.Fatal(err)
	}
	if now := r.git("rev-parse", "HEAD"); now != head {
		t.Errorf("the sync after the push changed:\n%s", r.git("log", "-p", strings.TrimSpace(head)+".."+strings.TrimSpace(now)))
	}
}
