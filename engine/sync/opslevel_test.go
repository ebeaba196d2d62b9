package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/extract/extracttest"
	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/engine/validate"
	"github.com/itchyny/gojq"
)

// olRepo is a catalog configured with OpsLevel's definitions, synced from
// the fakes of extracttest; secrets come from the process environment, as
// a user's would.
type olRepo struct {
	t   *testing.T
	dir string
}

// newOLRepo makes a catalog with `gitalog init --opslevel`.
func newOLRepo(t *testing.T) *olRepo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	t.Setenv("HOME", t.TempDir())
	if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: testAuthor, OpsLevel: true}); err != nil {
		t.Fatal(err)
	}
	return &olRepo{t: t, dir: dir}
}

// example is one of examples/opslevel, unchanged but for its hosts.
func example(t *testing.T, name, host string) string {
	t.Helper()
	data, err := os.ReadFile("../../examples/opslevel/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(extracttest.WithHost(data, host))
}

func setenv(t *testing.T, env map[string]string) {
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func (r *olRepo) path(rel string) string { return filepath.Join(r.dir, filepath.FromSlash(rel)) }

func (r *olRepo) write(rel, data string) {
	r.t.Helper()
	p := r.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *olRepo) read(rel string) string {
	r.t.Helper()
	b, err := os.ReadFile(r.path(rel))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// file is the path of an entity's file.
func file(blueprint, id string) string {
	return "catalog/" + catalog.EncodeDir(blueprint) + "/" + catalog.EncodeName(id) + ".json"
}

func (r *olRepo) exists(rel string) bool {
	_, err := os.Stat(r.path(rel))
	return err == nil
}

// commit commits what a person wrote.
func (r *olRepo) commit(msg string) {
	r.t.Helper()
	r.git("add", "-A")
	r.git("-c", "user.name=Person", "-c", "user.email=person@example.com", "commit", "-q", "-m", msg)
}

func (r *olRepo) git(args ...string) string {
	r.t.Helper()
	return testrepo.Git(r.t, r.dir, args...)
}

func (r *olRepo) options() Options {
	// Two tries a request, a millisecond apart: a fault costs no time.
	return Options{Dir: r.dir, Author: testAuthor, Env: func(string) string { return "" },
		Retry: RetryOptions{MaxAttempts: 2, Backoff: time.Millisecond}}
}

func (r *olRepo) sync() (*Result, error) {
	r.t.Helper()
	return Run(context.Background(), r.options())
}

func (r *olRepo) mustSync() *Result {
	r.t.Helper()
	res, err := r.sync()
	if err != nil {
		r.t.Fatalf("sync: %v", err)
	}
	r.check()
	return res
}

// check asserts what every sync must leave behind.
func (r *olRepo) check() {
	r.t.Helper()
	r.git("fsck", "--strict")
	if st := r.git("status", "--porcelain"); st != "" {
		r.t.Fatalf("git status is not clean:\n%s", st)
	}
}

// files are the identifiers of catalog/<dir>/*.json, sorted.
func (r *olRepo) files(dir string) []string {
	r.t.Helper()
	names, _ := filepath.Glob(r.path("catalog/" + dir + "/*.json"))
	var out []string
	for _, n := range names {
		id, ok := catalog.DecodeName(strings.TrimSuffix(filepath.Base(n), ".json"))
		if !ok {
			r.t.Fatalf("%s: not a file name gitalog writes", n)
		}
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (r *olRepo) entity(rel string) map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.read(rel)), &m); err != nil {
		r.t.Fatalf("%s: %v", rel, err)
	}
	return m
}

// jq runs a jq program with gojq, independently of gitalog's mapper.
func jq(t *testing.T, src string, v any) []any {
	t.Helper()
	q, err := gojq.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	it := q.Run(normalize(t, v))
	for {
		x, ok := it.Next()
		if !ok {
			return out
		}
		if err, ok := x.(error); ok {
			t.Fatalf("jq %s: %v", src, err)
		}
		out = append(out, x)
	}
}

// normalize makes v plain JSON values, as gojq wants them.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

var linkNext = regexp.MustCompile(`<([^>]+)>; rel="next"; results="(true|false)"`)

// sentryGet fetches every page of a Sentry list as a client reading the
// API by hand would: following Link's next while it says results="true".
func sentryGet(t *testing.T, url string) []any {
	t.Helper()
	var all []any
	for url != "" {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+sentrytest.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page []any
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		all = append(all, page...)
		url = ""
		if m := linkNext.FindStringSubmatch(resp.Header.Get("Link")); m != nil && m[2] == "true" {
			url = m[1]
		}
	}
	return all
}

// TestOpsLevelSeed000 runs seed 000 (init --opslevel, the host changed)
// against a fake Sentry with pages of two: every sentry_issue file is what
// jq computes from the issues the API serves, and the project the guide
// excludes is neither fetched for issues nor in the catalog.
func TestOpsLevelSeed000(t *testing.T) {
	s := extracttest.NewSentry(sentrytest.WithPageSize(2))
	defer s.Close()
	setenv(t, s.Env)
	r := newOLRepo(t)
	r.write("gitalog.yaml", strings.NewReplacer("https://sentry.io", s.URL).Replace(r.read("gitalog.yaml")))
	r.commit("sentry host")
	res := r.mustSync()

	// The expectation, from the API and jq alone.
	projects := jq(t, `.[] | select(.name | test("production") | not)`, sentryGet(t, s.URL+"/api/0/projects/"))
	want := map[string]any{}
	for _, p := range projects {
		id := p.(map[string]any)["id"].(string)
		for _, is := range sentryGet(t, s.URL+"/api/0/projects/opslevel/"+id+"/issues/") {
			e := jq(t, `{identifier: .id, blueprint: "sentry_issue", title: .title,
				properties: {name: .title, url: .permalink, substatus: .substatus, project_slug: [.project.slug]}}`, is)[0]
			want[e.(map[string]any)["identifier"].(string)] = e
		}
	}
	if len(projects) < 2 || len(want) < 10 {
		t.Fatalf("the fake serves too little to test: %d projects, %d issues", len(projects), len(want))
	}
	got := r.files("sentry_issue")
	if !reflect.DeepEqual(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("catalog/sentry_issue holds %v,\nwant %v", got, slices.Sorted(maps.Keys(want)))
	}
	for _, id := range got {
		e := r.entity("catalog/sentry_issue/" + id + ".json")
		if rel, ok := e["relations"]; ok && !reflect.DeepEqual(rel, map[string]any{}) {
			t.Errorf("%s: relations %v", id, rel)
		}
		delete(e, "relations")
		if !reflect.DeepEqual(e, want[id]) {
			t.Errorf("%s:\n got %v\nwant %v", id, e, want[id])
		}
	}
	if c := res.Counts["sentry_issue"]; c == nil || c.Created != len(want) {
		t.Errorf("counts %+v, want %d created", res.Counts["sentry_issue"], len(want))
	}

	excluded := s.Excluded()
	for _, rq := range s.Requests() {
		if strings.Contains(rq.Path, "/"+excluded+"/") || strings.Contains(rq.Path, "/"+extracttest.ExcludedProject+"/") {
			t.Errorf("the excluded project was fetched: %s", rq.Path)
		}
	}
	var excludedIssues []string
	s.Update(func(d *sentrytest.Dataset) {
		for _, id := range d.IssueIDs("") {
			if d.Issue(id).Project.Slug == extracttest.ExcludedProject {
				excludedIssues = append(excludedIssues, id)
			}
		}
	})
	for _, id := range excludedIssues {
		if r.exists("catalog/sentry_issue/" + id + ".json") {
			t.Errorf("issue %s of the excluded project is in the catalog", id)
		}
	}

	if res2 := r.mustSync(); !res2.NoChange {
		t.Errorf("resync changed: %+v", res2)
	}
}

// guideRepo is a catalog whose gitalog.yaml is one of OpsLevel's guides,
// unchanged but for its hosts, with the blueprints given (beside the two
// of init --opslevel).
func guideRepo(t *testing.T, guide, host string, blueprints map[string]string) *olRepo {
	t.Helper()
	r := newOLRepo(t)
	r.write("gitalog.yaml", example(t, guide, host))
	for name, bp := range blueprints {
		r.write("blueprints/"+name+".json", bp)
	}
	r.commit("the " + guide + " guide")
	return r
}

const jiraBlueprint = `{"identifier": "jira_ticket", "title": "Jira ticket", "schema": {"properties": {
	"summary": {"type": "string"}, "status": {"type": "string"}}}}`

// proxy forwards to target, answering 500 instead when fail says so.
func proxy(t *testing.T, target string, fail func(*http.Request) bool) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail(r) {
			http.Error(w, `{"errorMessages":["internal error"]}`, http.StatusInternalServerError)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// jiraKeys are the keys of the issues the Jira fake serves that are not
// Done, sorted.
func jiraKeys(f *extracttest.Fake) []string {
	var out []string
	for _, is := range f.Items["jira_ticket"] {
		if is["fields"].(map[string]any)["statusCategory"].(map[string]any)["name"] != "Done" {
			out = append(out, is["key"].(string))
		}
	}
	sort.Strings(out)
	return out
}

// TestOpsLevelJira runs the Jira guide: its payload cursor walks every
// page, its exclude drops Done issues, an issue moved to Done is deleted
// by the next sync, and a fetch that fails on page 2 deletes nothing.
func TestOpsLevelJira(t *testing.T) {
	f := extracttest.NewJira()
	defer f.Close()
	setenv(t, f.Env)
	var failing atomic.Bool
	var failed atomic.Int32
	px := proxy(t, f.URL, func(r *http.Request) bool {
		if failing.Load() && r.URL.Query().Get("startAt") == "3" {
			failed.Add(1)
			return true
		}
		return false
	})
	r := guideRepo(t, "jira-payload-cursor.yaml", px.URL, map[string]string{"jira_ticket": jiraBlueprint})
	r.mustSync()
	want := jiraKeys(f)
	if got := r.files("jira_ticket"); len(want) != 5 || !reflect.DeepEqual(got, want) {
		t.Fatalf("catalog/jira_ticket holds %v, want %v", got, want)
	}
	var starts []string
	for _, rq := range f.Requests() {
		u, _ := url.ParseQuery(rq.RawQuery)
		starts = append(starts, u.Get("startAt"))
	}
	if !reflect.DeepEqual(starts, []string{"", "3", "6", "9"}) {
		t.Errorf("startAt of the requests: %q, want the payload cursor's pages", starts)
	}
	first := f.Items["jira_ticket"][0]
	e := r.entity(file("jira_ticket", first["key"].(string)))
	if e["properties"].(map[string]any)["summary"] != first["fields"].(map[string]any)["summary"] {
		t.Errorf("%s: %v", first["key"], e)
	}

	// An issue on page 1 moves to Done: the next sync deletes it.
	setStatus := func(i int, st string) string {
		is := f.Items["jira_ticket"][i]
		is["fields"].(map[string]any)["statusCategory"].(map[string]any)["name"] = st
		return is["key"].(string)
	}
	done := setStatus(0, "Done")
	res := r.mustSync()
	if r.exists(file("jira_ticket", done)) || len(res.Deleted) != 1 {
		t.Fatalf("%s moved to Done upstream and was not deleted: deleted %v", done, res.Deleted)
	}
	if got := r.files("jira_ticket"); !reflect.DeepEqual(got, jiraKeys(f)) {
		t.Fatalf("catalog/jira_ticket holds %v, want %v", got, jiraKeys(f))
	}

	// Another moves to Done, and page 2 fails: nothing is deleted.
	done2 := setStatus(1, "Done")
	before := r.files("jira_ticket")
	head := r.git("rev-parse", "HEAD")
	failing.Store(true)
	res, err := r.sync()
	if err == nil && res.Err() == nil {
		t.Fatalf("a sync whose page 2 failed reported no error: %+v", res)
	}
	r.check()
	if got := r.files("jira_ticket"); !reflect.DeepEqual(got, before) {
		t.Fatalf("after an incomplete fetch catalog/jira_ticket holds %v, had %v", got, before)
	}
	if res != nil && len(res.Deleted) > 0 {
		t.Fatalf("an incomplete fetch deleted %v", res.Deleted)
	}
	if h := r.git("rev-parse", "HEAD"); h != head {
		t.Errorf("an incomplete fetch committed")
	}
	// The sync's retry options reach the extractors' client, as Sentry's.
	if n := failed.Load(); n != 2 {
		t.Errorf("page 2 was tried %d times, want the 2 of the sync's Retry.MaxAttempts", n)
	}
	failing.Store(false)
	r.mustSync()
	if r.exists(file("jira_ticket", done2)) {
		t.Fatalf("%s is still there once the fetch is whole again", done2)
	}
}

const sloBlueprint = `{"identifier": "slo", "title": "SLO", "schema": {"properties": {
	"name": {"type": "string"}, "dataset": {"type": "string"}}}}`

// TestOpsLevelHoneycomb runs the Honeycomb guide: for_each fetches each
// SLO's details, and the iterator makes one item, and one slo, per SLO
// and dataset.
func TestOpsLevelHoneycomb(t *testing.T) {
	f := extracttest.NewHoneycomb()
	defer f.Close()
	setenv(t, f.Env)
	r := guideRepo(t, "honeycomb-for-each.yaml", f.URL, map[string]string{"slo": sloBlueprint})
	r.mustSync()
	want := map[string]any{}
	for _, it := range f.Items["honeycomb_slo_details"] {
		e := jq(t, `{blueprint: "slo", identifier: (.id + "-" + .opslevel_slug), title: .name,
			properties: {name: .name, dataset: .opslevel_slug}, relations: {}}`, it)[0]
		want[e.(map[string]any)["identifier"].(string)] = e
	}
	got := r.files("slo")
	if len(want) != 5 || !reflect.DeepEqual(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("catalog/slo holds %v, want %v", got, slices.Sorted(maps.Keys(want)))
	}
	for id, w := range want {
		if e := r.entity(file("slo", id)); !reflect.DeepEqual(e, w) {
			t.Errorf("%s:\n got %v\nwant %v", id, e, w)
		}
	}
	var paths []string
	for _, rq := range f.Requests() {
		paths = append(paths, rq.Path+"?"+rq.RawQuery)
	}
	sort.Strings(paths)
	wantPaths := []string{"/1/slos/__all__?"}
	for _, s := range f.Items["honeycomb_slos"] {
		wantPaths = append(wantPaths, "/1/slos/__all__/"+s["id"].(string)+"?detailed=true")
	}
	sort.Strings(wantPaths)
	if !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("requests %q, want %q", paths, wantPaths)
	}
}

// handService is a hand-written service file, laid out as a person would
// (two-space indent, keys in their order, a key gitalog does not know).
const handService = `{
  "identifier": "%s",
  "title": "%s",
  "blueprint": "service",
  "aliases": [%s],
  "properties": {
    "owner": "team-%s",
    "description": "Written by hand; gitalog must not touch this line."
  },
  "relations": {}
}
`

func writeService(r *olRepo, id, aliases string) string {
	data := fmt.Sprintf(handService, id, strings.ToUpper(id), aliases, id)
	r.write(file("service", id), data)
	return data
}

// withoutProps is data with the properties named removed from its
// properties, as text: what a person's file was before gitalog added them.
func withoutProps(t *testing.T, data string, names ...string) string {
	t.Helper()
	out, err := catalog.PatchFields([]byte(data), func() []catalog.FieldChange {
		var ch []catalog.FieldChange
		for _, n := range names {
			ch = append(ch, catalog.FieldChange{Section: "properties", Name: n, Remove: true})
		}
		return ch
	}())
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestOpsLevelGraphQL runs the GraphQL guide: a POST whose body carries
// the cursor; its skip transform sets tags on the hand-written services
// it names and nothing else of them, and creates none.
func TestOpsLevelGraphQL(t *testing.T) {
	f := extracttest.NewOpsLevelGraphQL(extracttest.PageSize(2))
	defer f.Close()
	setenv(t, f.Env)
	r := guideRepo(t, "graphql-post-body.yaml", f.URL, nil)
	hand := map[string]string{
		"service-1": writeService(r, "service-1", ""),
		"service-4": writeService(r, "service-4", `"svc-four"`),
	}
	r.commit("two services by hand")
	res := r.mustSync()

	var cursors []any
	for _, rq := range f.Requests() {
		var body struct {
			Variables struct{ EndCursor any } `json:"variables"`
		}
		if rq.Method != http.MethodPost || json.Unmarshal([]byte(rq.Body), &body) != nil {
			t.Fatalf("request %s %s body %q", rq.Method, rq.Path, rq.Body)
		}
		cursors = append(cursors, body.Variables.EndCursor)
	}
	if !reflect.DeepEqual(cursors, []any{"", "cursor-2", "cursor-4", "cursor-5"}) {
		t.Errorf("the bodies' cursors: %q", cursors)
	}
	if got := r.files("service"); !reflect.DeepEqual(got, []string{"service-1", "service-4"}) {
		t.Fatalf("catalog/service holds %v: a skip transform created or deleted a service", got)
	}
	for _, it := range f.Items["opslevel_dependency_discovery"] {
		id := it["slug"].(string)
		if hand[id] == "" {
			continue
		}
		wantTags := jq(t, `.dependencies.nodes
			| any(.type.name? == "Service") as $i | any(.type.name? == "External Service") as $e
			| [{key: "has_internal_dependency", value: ($i | tostring)}, {key: "has_external_dependency", value: ($e | tostring)}]`, it)[0]
		data := r.read(file("service", id))
		var e map[string]any
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatal(err)
		}
		if got := e["properties"].(map[string]any)["tags"]; !reflect.DeepEqual(got, wantTags) {
			t.Errorf("%s: tags %v, want %v", id, got, wantTags)
		}
		if rest := withoutProps(t, data, "tags"); rest != hand[id] {
			t.Errorf("%s: more than its tags changed:\n%s\nwas\n%s", id, rest, hand[id])
		}
	}
	// The tags it manages, by key: a person's own tags stay theirs.
	if got, want := r.read(".gitalog/fields/service"), "service-1\ttag.has_external_dependency\nservice-1\ttag.has_internal_dependency\nservice-4\ttag.has_external_dependency\nservice-4\ttag.has_internal_dependency\n"; got != want {
		t.Errorf(".gitalog/fields/service = %q, want %q", got, want)
	}
	if len(res.Created) != 0 || res.Skipped != 3 {
		t.Errorf("created %v, skipped %d; want none created, 3 skipped", res.Created, res.Skipped)
	}
	if res2 := r.mustSync(); !res2.NoChange {
		t.Errorf("resync changed: %+v", res2.Changed)
	}
}

// TestOpsLevelPagerDuty runs the PagerDuty guide: its skip transform sets
// pd_service_id on the hand-written services it names, by identifier or
// alias, creates none, and when a service goes away upstream removes the
// property, leaving the person's file as it was.
func TestOpsLevelPagerDuty(t *testing.T) {
	f := extracttest.NewPagerDuty()
	defer f.Close()
	setenv(t, f.Env)
	r := guideRepo(t, "pagerduty-skip.yaml", f.URL, nil)
	checkout := writeService(r, "checkout-api", "")
	payments := writeService(r, "payments", `"payments-gateway", "pay"`)
	r.commit("two services by hand")
	res := r.mustSync()

	ids := map[string]string{} // PagerDuty name -> id
	for _, s := range f.Items["pagerduty_service"] {
		ids[s["name"].(string)] = s["id"].(string)
	}
	for stem, want := range map[string]string{"checkout-api": ids["Checkout API"], "payments": ids["Payments Gateway"]} {
		e := r.entity(file("service", stem))
		if got := e["properties"].(map[string]any)["pd_service_id"]; got != want {
			t.Errorf("%s: pd_service_id %v, want %s", stem, got, want)
		}
	}
	// The person's file, byte for byte, with one key added at the end of
	// its properties.
	added := func(data, id string) string {
		const last = `gitalog must not touch this line."`
		return strings.Replace(data, last, last+`,
    "pd_service_id": "`+id+`"`, 1)
	}
	if got, want := r.read(file("service", "checkout-api")), added(checkout, ids["Checkout API"]); got != want {
		t.Errorf("checkout-api:\n%s\nwant\n%s", got, want)
	}
	if got, want := r.read(file("service", "payments")), added(payments, ids["Payments Gateway"]); got != want {
		t.Errorf("payments:\n%s\nwant\n%s", got, want)
	}
	if got := r.files("service"); !reflect.DeepEqual(got, []string{"checkout-api", "payments"}) {
		t.Fatalf("catalog/service holds %v: a skip transform created a service", got)
	}
	if len(res.Created) != 0 {
		t.Errorf("created %v", res.Created)
	}
	if got, want := r.read(".gitalog/fields/service"), "checkout-api\tproperties.pd_service_id\npayments\tproperties.pd_service_id\n"; got != want {
		t.Errorf(".gitalog/fields/service = %q, want %q", got, want)
	}

	// A pull request that edits the managed property is flagged; one that
	// edits what the person owns is not.
	r.git("branch", "base")
	r.write(file("service", "payments"), strings.Replace(r.read(file("service", "payments")), "team-payments", "team-money", 1))
	r.commit("payments has a new owner")
	if fs := validateBase(t, r.dir, "base"); len(fs) != 0 {
		t.Errorf("an edit of the person's own field was flagged: %+v", fs)
	}
	r.write(file("service", "checkout-api"), strings.Replace(r.read(file("service", "checkout-api")), ids["Checkout API"], "PHAND01", 1))
	r.commit("a hand edit of pd_service_id")
	fs := validateBase(t, r.dir, "base")
	if len(fs) != 1 || fs[0].Path != file("service", "checkout-api") || fs[0].Pointer != "/properties/pd_service_id" || !fs[0].Warning ||
		!strings.Contains(fs[0].Reason, ".gitalog/fields/service") {
		t.Errorf("validate --base on a hand edit of pd_service_id: %+v", fs)
	}
	payments = strings.Replace(payments, "team-payments", "team-money", 1)

	// Checkout API goes away upstream.
	f.Items["pagerduty_service"] = slices.DeleteFunc(f.Items["pagerduty_service"], func(s map[string]any) bool { return s["name"] == "Checkout API" })
	r.mustSync()
	if got := r.read(file("service", "checkout-api")); got != checkout {
		t.Errorf("checkout-api after its PagerDuty service went away:\n%s\nwant the person's file:\n%s", got, checkout)
	}
	if got, want := r.read(".gitalog/fields/service"), "payments\tproperties.pd_service_id\n"; got != want {
		t.Errorf(".gitalog/fields/service = %q, want %q", got, want)
	}
	if got := r.files("service"); !reflect.DeepEqual(got, []string{"checkout-api", "payments"}) {
		t.Fatalf("catalog/service holds %v", got)
	}
	if log := r.git("log", "-p", "-1", "--format="); strings.Contains(log, "payments.json") {
		t.Errorf("the last sync touched payments.json:\n%s", log)
	}
}

// TestOpsLevelSuggest: a transform with on_component_not_found: suggest
// (the PagerDuty guide, with skip changed to suggest) writes nothing under
// catalog/, lists its suggestions in the result, the plan and a committed
// .gitalog/suggestions/service.jsonl; a suggestion a person then adds by
// hand is updated in its managed properties, and no longer suggested.
func TestOpsLevelSuggest(t *testing.T) {
	f := extracttest.NewPagerDuty()
	defer f.Close()
	setenv(t, f.Env)
	r := newOLRepo(t)
	r.write("gitalog.yaml", strings.Replace(example(t, "pagerduty-skip.yaml", f.URL), "on_component_not_found: skip", "on_component_not_found: suggest", 1))
	r.commit("suggest services from PagerDuty")

	// The expectation, from the fake's items and jq alone.
	want := map[string]any{}
	for _, s := range f.Items["pagerduty_service"] {
		e := jq(t, `{blueprint: "service", identifier: (.name | ascii_downcase | gsub(" "; "-")), title: null,
			properties: {pd_service_id: .id}}`, s)[0].(map[string]any)
		want[e["identifier"].(string)] = e
	}
	ids := slices.Sorted(maps.Keys(want))

	o := r.options()
	o.Plan = true
	pres, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, c := range pres.Plan.Suggest {
		planned = append(planned, c.Blueprint+"/"+c.Identifier)
	}
	if wantRefs := prefixed("service/", ids); !reflect.DeepEqual(planned, wantRefs) {
		t.Errorf("plan suggests %v, want %v", planned, wantRefs)
	}
	if len(pres.Plan.Create) != 0 {
		t.Errorf("plan creates %v", pres.Plan.Create)
	}

	res := r.mustSync()
	if r.exists("catalog") {
		t.Errorf("a suggest transform wrote under catalog/: %s", r.git("ls-files", "catalog"))
	}
	var suggested []string
	for _, e := range res.Suggested {
		suggested = append(suggested, e.Blueprint+"/"+e.Identifier)
	}
	if !reflect.DeepEqual(suggested, prefixed("service/", ids)) {
		t.Errorf("result suggests %v, want %v", suggested, prefixed("service/", ids))
	}
	if r.git("ls-files", ".gitalog/suggestions/service.jsonl") == "" {
		t.Fatal(".gitalog/suggestions/service.jsonl is not committed")
	}
	lines := strings.Split(strings.TrimSuffix(r.read(".gitalog/suggestions/service.jsonl"), "\n"), "\n")
	var got []any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("suggestion %q: %v", l, err)
		}
		delete(m, "relations")
		got = append(got, m)
	}
	var wantLines []any
	for _, id := range ids {
		wantLines = append(wantLines, want[id])
	}
	if !reflect.DeepEqual(got, wantLines) {
		t.Errorf("suggestions:\n got %v\nwant %v", got, wantLines)
	}

	// A person accepts one suggestion, writing the file by hand (without
	// the PagerDuty id): the next sync sets it, and suggests the rest.
	hand := writeService(r, "search-indexer", `"search"`)
	r.commit("accept the search-indexer suggestion")
	res = r.mustSync()
	wantFile := strings.Replace(hand, `touch this line."`, `touch this line.",
    "pd_service_id": "`+want["search-indexer"].(map[string]any)["properties"].(map[string]any)["pd_service_id"].(string)+`"`, 1)
	if got := r.read(file("service", "search-indexer")); got != wantFile {
		t.Errorf("the accepted suggestion:\n%s\nwant\n%s", got, wantFile)
	}
	if got := r.files("service"); !reflect.DeepEqual(got, []string{"search-indexer"}) {
		t.Errorf("catalog/service holds %v", got)
	}
	if s := r.read(".gitalog/suggestions/service.jsonl"); strings.Contains(s, `"search-indexer"`) || strings.Count(s, "\n") != len(ids)-1 {
		t.Errorf("suggestions after the person accepted one:\n%s", s)
	}
	if len(res.Suggested) != len(ids)-1 {
		t.Errorf("result suggests %v", res.Suggested)
	}
}

func prefixed(p string, l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = p + s
	}
	return out
}

// TestOpsLevelRelationRules: seed 000 with init --opslevel's service
// blueprint, whose sentry_issues relation has the rule "issue's project
// slug equals one of the service's aliases". A hand-written service gets
// the issues of its project as a managed field, and nothing else changes
// in it; an issue deleted upstream leaves the list; when the issues of
// its project fail to fetch, the list is kept as it is.
func TestOpsLevelRelationRules(t *testing.T) {
	s := extracttest.NewSentry(sentrytest.WithPageSize(3))
	defer s.Close()
	setenv(t, s.Env)
	r := newOLRepo(t)
	r.write("gitalog.yaml", strings.NewReplacer("https://sentry.io", s.URL).Replace(r.read("gitalog.yaml")))
	backend := writeService(r, "backend", `"backend-api", "api"`)
	lonely := writeService(r, "lonely", `"no-such-project"`)
	r.commit("our services")
	o := r.options()
	o.Plan = true
	pres, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if u := pres.Plan.Update; len(u) != 1 || u[0].Blueprint != "service" || u[0].Identifier != "backend" ||
		len(u[0].Fields) != 1 || u[0].Fields[0].Path != "relations.sentry_issues" {
		t.Errorf("plan updates %+v, want backend's relations.sentry_issues", u)
	}
	r.mustSync()

	// The expectation, from the API and jq alone.
	projectIssues := func(slug string) []any {
		var id string
		for _, p := range sentryGet(t, s.URL+"/api/0/projects/") {
			if p.(map[string]any)["slug"] == slug {
				id = p.(map[string]any)["id"].(string)
			}
		}
		return jq(t, `[.[].id] | sort`, sentryGet(t, s.URL+"/api/0/projects/opslevel/"+id+"/issues/"))[0].([]any)
	}
	want := projectIssues("backend-api")
	if len(want) < 4 {
		t.Fatalf("backend-api has too few issues to test: %v", want)
	}
	related := func() any {
		return r.entity(file("service", "backend"))["relations"].(map[string]any)["sentry_issues"]
	}
	if got := related(); !reflect.DeepEqual(got, want) {
		t.Fatalf("backend's sentry_issues = %v, want %v", got, want)
	}
	if got := r.read(file("service", "lonely")); got != lonely {
		t.Errorf("a service no issue matches changed:\n%s", got)
	}
	if got, want := r.read(".gitalog/fields/service"), "backend\trelations.sentry_issues\n"; got != want {
		t.Errorf(".gitalog/fields/service = %q, want %q", got, want)
	}
	var hand map[string]any
	json.Unmarshal([]byte(backend), &hand)
	got := r.entity(file("service", "backend"))
	delete(got["relations"].(map[string]any), "sentry_issues")
	if !reflect.DeepEqual(got, hand) {
		t.Errorf("backend changed beyond its managed relation:\n%v\nwas\n%v", got, hand)
	}
	for _, id := range want {
		if !r.exists(file("sentry_issue", id.(string))) {
			t.Errorf("related issue %s has no file", id)
		}
	}

	// An issue is deleted upstream: the list shrinks by it.
	gone := want[1].(string)
	s.Update(func(d *sentrytest.Dataset) { d.DeleteIssue(gone) })
	r.mustSync()
	want = projectIssues("backend-api")
	if got := related(); !reflect.DeepEqual(got, want) || slices.Contains(want, any(gone)) {
		t.Fatalf("after %s was deleted, sentry_issues = %v, want %v", gone, got, want)
	}

	// Another is deleted, but the project's issues fail to fetch: the
	// relation stays as it is.
	s.Update(func(d *sentrytest.Dataset) { d.DeleteIssue(want[0].(string)) })
	var backendID string
	s.Update(func(d *sentrytest.Dataset) { backendID = d.Project("backend-api").ID })
	s.AddFault(sentrytest.Fault{PathContains: "/" + backendID + "/issues/", Status: 500, AfterRequests: 1})
	before := r.read(file("service", "backend"))
	res, err := r.sync()
	if err == nil && res.Err() == nil {
		t.Fatal("a sync whose issue fetch failed reported no error")
	}
	r.check()
	if got := r.read(file("service", "backend")); got != before {
		t.Errorf("after a failed issue fetch backend is\n%s\nwas\n%s", got, before)
	}
	if got := r.read(".gitalog/fields/service"); got != "backend\trelations.sentry_issues\n" {
		t.Errorf(".gitalog/fields/service = %q after a failed fetch", got)
	}
	s.ClearFaults()
	r.mustSync()
	if got, want := related(), projectIssues("backend-api"); !reflect.DeepEqual(got, want) {
		t.Fatalf("once the fetch is whole, sentry_issues = %v, want %v", got, want)
	}
}

// validateBase is what `gitalog validate --base base` finds.
func validateBase(t *testing.T, dir, base string) []validate.Finding {
	t.Helper()
	res, err := validate.Run(context.Background(), validate.Options{Dir: dir, Base: base})
	if err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

// TestOpsLevelSkipThreshold: when a whole fetch comes back empty, the
// managed properties of hand-written files are kept under the deletion
// threshold, as entities are: an API that suddenly lists nothing (a token
// that lost its scope) must not strip every service of its PagerDuty id.
// With the threshold at 1 the loss is meant, and they go.
func TestOpsLevelSkipThreshold(t *testing.T) {
	f := extracttest.NewPagerDuty()
	defer f.Close()
	setenv(t, f.Env)
	r := guideRepo(t, "pagerduty-skip.yaml", f.URL, nil)
	checkout := writeService(r, "checkout-api", "")
	writeService(r, "payments", `"payments-gateway"`)
	r.commit("two services by hand")
	r.mustSync()
	synced := r.read(file("service", "checkout-api"))
	record := r.read(".gitalog/fields/service")

	all := f.Items["pagerduty_service"]
	f.Items["pagerduty_service"] = []map[string]any{}
	res, err := r.sync()
	if err == nil || res.Err() == nil || !strings.Contains(res.Err().Error(), "refused to delete 2 of 2 hand-written service files' managed properties (100%), over entityDeletionThreshold 0.90") {
		t.Errorf("sync: %v", err)
	}
	r.check()
	if got := r.read(file("service", "checkout-api")); got != synced {
		t.Errorf("an empty listing removed checkout-api's pd_service_id:\n%s", got)
	}
	if got := r.read(".gitalog/fields/service"); got != record {
		t.Errorf("an empty listing changed the record: %q, was %q", got, record)
	}
	if len(res.Kept) != 1 || res.Kept[0].Blueprint != "service" || !res.Kept[0].OverThreshold || !res.Kept[0].Fields || res.Kept[0].Entities != 2 {
		t.Errorf("kept %+v, want the 2 services over the threshold", res.Kept)
	}

	// One of four services goes: under the threshold, its id goes.
	f.Items["pagerduty_service"] = all[1:]
	r.mustSync()
	if got := r.read(file("service", "checkout-api")); got != checkout {
		t.Errorf("checkout-api after its PagerDuty service went away:\n%s", got)
	}

	f.Items["pagerduty_service"] = []map[string]any{}
	o := r.options()
	one := 1.0
	o.DeleteThreshold = &one
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if r.exists(".gitalog/fields/service") || strings.Contains(r.read(file("service", "payments")), "pd_service_id") {
		t.Errorf("with the threshold at 1 the managed properties stayed: %s", r.read(file("service", "payments")))
	}
}

// TestOpsLevelRelationRulesThreshold: when the issues are kept by the
// deletion threshold (every one gone at once), the relations to them are
// kept too: the catalog does not say a service has no issues while their
// files are still there.
func TestOpsLevelRelationRulesThreshold(t *testing.T) {
	s := extracttest.NewSentry()
	defer s.Close()
	setenv(t, s.Env)
	r := newOLRepo(t)
	r.write("gitalog.yaml", strings.NewReplacer("https://sentry.io", s.URL).Replace(r.read("gitalog.yaml")))
	writeService(r, "backend", `"backend-api"`)
	r.commit("our services")
	r.mustSync()
	before := r.read(file("service", "backend"))
	if !strings.Contains(before, "sentry_issues") {
		t.Fatalf("backend has no issues:\n%s", before)
	}
	issues := r.files("sentry_issue")

	s.Update(func(d *sentrytest.Dataset) {
		for _, id := range d.IssueIDs("") {
			d.DeleteIssue(id)
		}
	})
	res, err := r.sync()
	if err == nil || len(res.Kept) == 0 {
		t.Fatalf("every issue gone at once: err %v, kept %+v", err, res.Kept)
	}
	r.check()
	if got := r.files("sentry_issue"); !reflect.DeepEqual(got, issues) {
		t.Fatalf("issues kept by the threshold: %d, had %d", len(got), len(issues))
	}
	if got := r.read(file("service", "backend")); got != before {
		t.Errorf("backend's relation to kept issues changed:\n%s\nwas\n%s", got, before)
	}
}

// TestOpsLevelParentFetchFails: when page 2 of the projects fails, the
// issues of the projects on it are not fetched, and no issue is deleted:
// an incomplete extractor holds everything fed by it, for_each children
// included.
func TestOpsLevelParentFetchFails(t *testing.T) {
	s := extracttest.NewSentry(sentrytest.WithPageSize(3))
	defer s.Close()
	setenv(t, s.Env)
	var failing atomic.Bool
	px := proxy(t, s.URL, func(r *http.Request) bool {
		return failing.Load() && r.URL.Path == "/api/0/projects/" && r.URL.Query().Get("cursor") != ""
	})
	r := newOLRepo(t)
	r.write("gitalog.yaml", strings.NewReplacer("https://sentry.io", px.URL).Replace(r.read("gitalog.yaml")))
	r.commit("sentry host")
	r.mustSync()
	before := r.files("sentry_issue")

	failing.Store(true)
	s.Update(func(d *sentrytest.Dataset) { d.AddIssue("backend-api", "KeyError: 'tenant'", "api.views", "error") })
	res, err := r.sync()
	if err == nil {
		t.Fatalf("a sync whose projects failed on page 2 reported no error: %+v", res)
	}
	r.check()
	got := r.files("sentry_issue")
	for _, id := range before {
		if !slices.Contains(got, id) {
			t.Errorf("issue %s was deleted after an incomplete project listing", id)
		}
	}
	if res != nil && len(res.Deleted) > 0 {
		t.Errorf("deleted %v", res.Deleted)
	}
	if !r.exists(file("sentry_issue", before[0])) {
		t.Errorf("%s is gone", before[0])
	}
}

// TestOpsLevelPushExtractor: the Kyverno guide's extractor has no
// http_polling (OpsLevel receives its items by push): a sync does not poll
// it, is complete (exit 0), and with nothing pushed commits nothing.
func TestOpsLevelPushExtractor(t *testing.T) {
	r := guideRepo(t, "kyverno-two-transforms.yaml", "http://127.0.0.1:1", map[string]string{
		"kyverno_issue": `{"identifier": "kyverno_issue", "schema": {"properties": {"summary": {"type": "string"}, "status": {"type": "string"}, "namespace": {"type": "string"}}}}`,
		"namespace":     `{"identifier": "namespace", "schema": {"properties": {}}}`,
	})
	head := r.git("rev-parse", "HEAD")
	if _, err := r.sync(); err != nil {
		t.Fatalf("sync of a push extractor: %v", err)
	}
	r.check()
	if r.git("rev-parse", "HEAD") != head || r.exists("catalog") {
		t.Error("a sync of a push extractor wrote something")
	}
}

// A skip transform updates an entity that another transform writes in the
// same sync, not only hand-written files: OpsLevel's "already exists in
// the catalog" is any component. One PagerDuty listing makes the services
// (create) and the guide's transform adds their PagerDuty id (skip).
func TestOpsLevelSkipUpdatesAnotherTransformsEntity(t *testing.T) {
	f := extracttest.NewPagerDuty()
	defer f.Close()
	setenv(t, f.Env)
	r := newOLRepo(t)
	cfg := example(t, "pagerduty-skip.yaml", f.URL)
	cfg = strings.Replace(cfg, "transforms:\n", `transforms:
- external_kind: pagerduty_service
  opslevel_kind: service
  opslevel_identifier: .name | ascii_downcase | gsub(" "; "-")
  on_component_not_found: create
  properties:
    description: .summary
`, 1)
	r.write("gitalog.yaml", cfg)
	r.commit("create and skip")
	res := r.mustSync()
	for _, s := range f.Items["pagerduty_service"] {
		stem := strings.ReplaceAll(strings.ToLower(s["name"].(string)), " ", "-")
		e := r.entity(file("service", stem))
		props := e["properties"].(map[string]any)
		if props["pd_service_id"] != s["id"] || props["description"] != s["summary"] {
			t.Errorf("%s: properties %v, want pd_service_id %v and description %v", stem, props, s["id"], s["summary"])
		}
	}
	if res.Skipped != 0 {
		t.Errorf("skipped %d, want 0: every skip entity has its created one", res.Skipped)
	}
	r.check()
	if res2 := r.mustSync(); !res2.NoChange {
		t.Errorf("resync changed: %+v", res2.Changed)
	}
}

// What a transform sets in a hand-written file is held to the blueprint:
// a value of the wrong type is not written (the file and its record stay
// as they were), it is reported, and the sync is partial.
func TestOpsLevelPatchIsValidated(t *testing.T) {
	f := extracttest.NewPagerDuty()
	defer f.Close()
	setenv(t, f.Env)
	cfg := strings.Replace(example(t, "pagerduty-skip.yaml", f.URL), `pd_service_id: ".id"`, `pd_service_id: ".id | length"`, 1)
	r := newOLRepo(t)
	r.write("gitalog.yaml", cfg)
	before := writeService(r, "checkout-api", "")
	r.commit("a number for a string property")
	res, err := r.sync()
	if !errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("sync: %v, want a partial sync", err)
	}
	if got := r.read(file("service", "checkout-api")); got != before {
		t.Errorf("the hand-written file changed:\n%s", got)
	}
	if r.exists(".gitalog/fields/service") {
		t.Errorf("a field that was not written is recorded")
	}
	found := false
	for _, p := range res.Problems {
		if p.Pointer == "/properties/pd_service_id" && !p.Warning {
			found = true
		}
	}
	if !found {
		t.Errorf("problems %v lack /properties/pd_service_id", res.Problems)
	}
	r.check()
}

// A transform's opslevel_kind and properties are held to the blueprints
// before any request: a typo is an error at its key.
func TestOpsLevelTransformCheckedAgainstBlueprints(t *testing.T) {
	f := extracttest.NewPagerDuty()
	defer f.Close()
	setenv(t, f.Env)
	for _, c := range []struct{ old, new, want string }{
		{"opslevel_kind: service", "opslevel_kind: servce", `gitalog.yaml:17:18: transform #1 (external_kind "pagerduty_service"): opslevel_kind: no blueprint "servce"`},
		{"pd_service_id:", "pd_service_ix:", `gitalog.yaml:21:5: transform #1 (external_kind "pagerduty_service"): properties.pd_service_ix: blueprint "service" has no property "pd_service_ix"`},
	} {
		r := newOLRepo(t)
		r.write("gitalog.yaml", strings.Replace(example(t, "pagerduty-skip.yaml", f.URL), c.old, c.new, 1))
		r.commit("a typo")
		n := len(f.Requests())
		if _, err := r.sync(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: sync: %v\nwant %s", c.new, err, c.want)
		}
		if len(f.Requests()) != n {
			t.Errorf("%s: requests were sent before the error", c.new)
		}
	}
}

// A transform's tags join a hand-written file's own: the person's tags of
// other keys stay, in their place; only the keys the transform sets are
// its, and when its item goes away only those go.
func TestOpsLevelTagsBesideThePersons(t *testing.T) {
	f := extracttest.NewOpsLevelGraphQL()
	defer f.Close()
	setenv(t, f.Env)
	r := guideRepo(t, "graphql-post-body.yaml", f.URL, nil)
	own := `{"key": "team", "value": "core"}`
	data := strings.Replace(fmt.Sprintf(handService, "service-1", "SERVICE-1", "", "service-1"),
		`"owner": "team-service-1",`, `"owner": "team-service-1",
    "tags": [`+own+`],`, 1)
	r.write(file("service", "service-1"), data)
	r.commit("a service with a tag of its own")
	r.mustSync()
	tags := r.entity(file("service", "service-1"))["properties"].(map[string]any)["tags"].([]any)
	if len(tags) != 3 || tags[0].(map[string]any)["key"] != "team" {
		t.Fatalf("tags %v: want the person's team tag first, then the transform's two", tags)
	}
	// The service goes away upstream: its two tags go, the person's stays.
	r.write("gitalog.yaml", strings.Replace(r.read("gitalog.yaml"), `iterator: ".data.account.services.nodes"`, `iterator: ".data.account.services.nodes"
    exclude: .slug == "service-1"`, 1))
	r.commit("exclude service-1")
	r.mustSync()
	// The same entity as the person's; the tags list, written anew twice,
	// is laid out as gitalog writes a list.
	var want map[string]any
	if err := json.Unmarshal([]byte(data), &want); err != nil {
		t.Fatal(err)
	}
	if got := r.entity(file("service", "service-1")); !reflect.DeepEqual(got, want) {
		t.Errorf("after its item went away the file is\n%v\nwant the person's\n%v", got, want)
	}
	if r.exists(".gitalog/fields/service") {
		t.Errorf("the record still lists fields: %q", r.read(".gitalog/fields/service"))
	}
}

// twoSourcesOL is the OpsLevel repository with sources a and b, each
// against its own fake Sentry (the same data), identifiers prefixed with
// the source, and a hand-written service whose aliases match a project
// of both; more is added to the transforms.
func twoSourcesOL(t *testing.T, more string) *olRepo {
	s1, s2 := extracttest.NewSentry(), extracttest.NewSentry()
	t.Cleanup(s1.Close)
	t.Cleanup(s2.Close)
	setenv(t, s1.Env)
	r := newOLRepo(t)
	cfg := strings.ReplaceAll(r.read("gitalog.yaml"), "https://sentry.io", "{{ source.url }}")
	cfg = strings.Replace(cfg, `opslevel_identifier: ".id"`, `opslevel_identifier: '$source + "-" + .id'`, 1)
	i := strings.Index(cfg, "\n---\n")
	cfg = cfg[:i] + "\nsources:\n  - {name: a, url: " + s1.URL + ", org: opslevel}\n  - {name: b, url: " + s2.URL + ", org: opslevel}" + cfg[i:] + more
	r.write("gitalog.yaml", cfg)
	r.commit("two sources")
	r.mustSync()
	writeService(r, "backend", `"backend-api"`)
	r.commit("service: backend")
	return r
}

// asList is v as a list: a property of array type holds one, a scalar
// stands for a list of itself.
func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// A blueprint's rule relation on a hand-written service (its aliases
// against the issues' project_slug) is stated from the whole catalog: the
// issues of every source match, each source states the same value, and
// none of them owns it, so no sync is partial and nothing is rewritten
// back and forth.
func TestSourcesOpsLevelRuleRelationIsEveryones(t *testing.T) {
	r := twoSourcesOL(t, "")
	if _, err := r.sync(); err != nil {
		t.Fatalf("the sources disagree about the rule relation: %v", err)
	}
	r.mustSync() // the source that went first sees the other's issues now
	got, _ := r.entity(file("service", "backend"))["relations"].(map[string]any)["sentry_issues"].([]any)
	var want []any
	for _, src := range []string{"a", "b"} {
		for _, id := range r.files("sentry_issue") {
			e := r.entity(file("sentry_issue", id))
			if strings.HasPrefix(e["identifier"].(string), src+"-") && slices.Contains(asList(e["properties"].(map[string]any)["project_slug"]), any("backend-api")) {
				want = append(want, e["identifier"])
			}
		}
	}
	slices.SortFunc(want, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	if len(want) < 2 || !strings.HasPrefix(want[0].(string), "a-") || !strings.HasPrefix(want[len(want)-1].(string), "b-") {
		t.Fatalf("the fixture matches too little: %v", want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("service backend relates to\n%v\nwant the issues of both sources\n%v", got, want)
	}
	head := r.git("rev-parse", "HEAD")
	for _, src := range []string{"", "a", "b"} {
		o := r.options()
		o.Source = src
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatalf("sync --source %q: %v", src, err)
		}
	}
	if now := r.git("rev-parse", "HEAD"); now != head {
		t.Errorf("an unchanged catalog was committed again:\n%s", r.git("log", "--stat", head+".."+now))
	}
	r.check()
}

// In one run of every source, each source deletes one of its issues that
// the hand-written service's rule relation lists: the sources commit one
// after the other, and the one that commits second states the relation
// against the catalog the first left, not the one it started from, so
// the relation lists exactly the issues the catalog holds, and the next
// sync has nothing to commit.
func TestSourcesOpsLevelRuleRelationAfterBothCommit(t *testing.T) {
	r := twoSourcesOL(t, "")
	r.mustSync()
	r.mustSync()
	related := func() []any {
		got, _ := r.entity(file("service", "backend"))["relations"].(map[string]any)["sentry_issues"].([]any)
		return got
	}
	var fromA, fromB string
	for _, id := range related() {
		switch s := id.(string); {
		case fromA == "" && strings.HasPrefix(s, "a-"):
			fromA = strings.TrimPrefix(s, "a-")
		case strings.HasPrefix(s, "b-"):
			fromB = strings.TrimPrefix(s, "b-") // the last of b's
		}
	}
	if fromA == "" || fromB == "" || fromA == fromB {
		t.Fatalf("the fixture: %v", related())
	}
	cfg := r.read("gitalog.yaml")
	i := strings.Index(cfg, "- external_kind: sentry_issue\n")
	j := i + strings.Index(cfg[i:], "  external_id: \".id\"\n") + len("  external_id: \".id\"\n")
	cfg = cfg[:j] + fmt.Sprintf("  exclude: ($source == \"a\" and .id == %q) or ($source == \"b\" and .id == %q)\n", fromA, fromB) + cfg[j:]
	r.write("gitalog.yaml", cfg)
	r.commit("each source loses an issue of backend-api")
	if _, err := r.sync(); err != nil {
		t.Fatal(err)
	}
	var want []any
	for _, id := range r.files("sentry_issue") {
		e := r.entity(file("sentry_issue", id))
		if slices.Contains(asList(e["properties"].(map[string]any)["project_slug"]), any("backend-api")) {
			want = append(want, id)
		}
	}
	if slices.Contains(want, any("a-"+fromA)) || slices.Contains(want, any("b-"+fromB)) {
		t.Fatalf("the excluded issues are still in the catalog: %v", want)
	}
	if got := related(); !reflect.DeepEqual(got, want) {
		t.Errorf("backend relates to\n%v\nthe catalog's backend-api issues are\n%v", got, want)
	}
	head := r.git("rev-parse", "HEAD")
	r.mustSync()
	if now := r.git("rev-parse", "HEAD"); now != head {
		t.Errorf("a sync with nothing changed upstream committed:\n%s", r.git("log", "--stat", head+".."+now))
	}
	r.check()
}

// Two sources whose transforms state the same property of one
// hand-written file (here each Sentry's project id as the service's
// pd_service_id): the first to set it keeps it, the other says so and
// leaves it, and nothing is rewritten back and forth.
func TestSourcesOpsLevelFieldFirstOwnerKeeps(t *testing.T) {
	r := twoSourcesOL(t, `- external_kind: sentry_project
  on_component_not_found: skip
  opslevel_kind: service
  opslevel_identifier: .slug
  properties:
    pd_service_id: $source + "-" + .id
`)
	res, err := r.sync()
	if !errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("want the conflict to make the sync partial, got %v", err)
	}
	wantInError(t, err, "properties.pd_service_id", "owned by source")
	first := r.read(file("service", "backend"))
	props, _ := r.entity(file("service", "backend"))["properties"].(map[string]any)
	id, _ := props["pd_service_id"].(string)
	owner, other, ok := strings.Cut(id, "-")
	switch {
	case !ok:
		t.Fatalf("no source stated the property:\n%s", first)
	case owner == "a":
		other = "b"
	default:
		other = "a"
	}
	if res.Sources == nil {
		t.Fatal("not a run of every source")
	}
	for range 2 {
		r.sync()
		if got := r.read(file("service", "backend")); got != first {
			t.Fatalf("the property moved from source %s's to %s's:\n%s", owner, other, got)
		}
	}
	if rec, _ := testrepoGitOK(r.dir, "show", "HEAD:"+catalog.Scope(other).FieldsPath("service")); strings.Contains(rec, "pd_service_id") {
		t.Errorf("source %s records the field too:\n%s", other, rec)
	}
}
