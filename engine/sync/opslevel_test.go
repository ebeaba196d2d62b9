package sync

import (
	"context"
	"encoding/json"
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
