package sentry

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

func demoSource(t *testing.T, pageSize int) (*sentrytest.Dataset, *sentrytest.Server, *Source) {
	t.Helper()
	d := sentrytest.Demo()
	s, c := fake(t, d, sentrytest.Token, fastOpts(nil), sentrytest.WithPageSize(pageSize))
	return d, s, &Source{Client: c, Org: d.OrgSlug()}
}

func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("item is %T, not an object", v)
	}
	return m
}

// requestsTo returns the decoded queries of requests whose path ends so.
func requestsTo(s *sentrytest.Server, suffix string) []url.Values {
	var out []url.Values
	for _, r := range s.Requests() {
		if strings.HasSuffix(r.Path, suffix) {
			q, _ := url.ParseQuery(r.RawQuery)
			out = append(out, q)
		}
	}
	return out
}

func TestFetchProject(t *testing.T) {
	d, s, src := demoSource(t, 4)
	items, err := src.Fetch(context.Background(), "project", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(d.Projects) {
		t.Fatalf("%d projects, want %d", len(items), len(d.Projects))
	}
	var slugs []string
	for _, it := range items {
		m := asMap(t, it)
		slugs = append(slugs, m["slug"].(string))
		org := asMap(t, m["organization"])
		links := asMap(t, org["links"])
		if links["organizationUrl"] != "https://acme-corp.sentry.io" || org["slug"] != "acme-corp" {
			t.Errorf("project %s: organization %v", m["slug"], org)
		}
	}
	for i, p := range d.Projects {
		if slugs[i] != p.Slug {
			t.Errorf("project %d is %s, want %s (served order)", i, slugs[i], p.Slug)
		}
	}
	// The organization is fetched once, not per project.
	if n := len(requestsTo(s, "/organizations/acme-corp/")); n != 1 {
		t.Errorf("organization fetched %d times", n)
	}
	// A second Fetch is served from the cache.
	before := len(s.Requests())
	if _, err := src.Fetch(context.Background(), "project", map[string]any{"query": "ignored"}); err != nil {
		t.Fatal(err)
	}
	if len(s.Requests()) != before {
		t.Errorf("a second fetch of projects made requests")
	}
}

func TestFetchIssue(t *testing.T) {
	for _, tc := range []struct {
		name      string
		params    map[string]any
		query     string
		hasQuery  bool
		status    string // "" = all
		statsSent string
	}{
		{"default is:unresolved", nil, "is:unresolved", true, "unresolved", ""},
		{"search overrides", map[string]any{"search": "is:resolved"}, "is:resolved", true, "resolved", ""},
		{"empty search sends an empty query", map[string]any{"search": ""}, "", true, "", ""},
		{"statsPeriod passed", map[string]any{"statsPeriod": "14d"}, "is:unresolved", true, "unresolved", "14d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, s, src := demoSource(t, 2)
			items, err := src.Fetch(context.Background(), "issue", tc.params)
			if err != nil {
				t.Fatal(err)
			}
			want := d.IssueIDs(tc.status)
			var got []string
			for _, it := range items {
				got = append(got, asMap(t, it)["id"].(string))
			}
			sort.Strings(want)
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("issues\n got %v\nwant %v", got, want)
			}
			reqs := requestsTo(s, "/organizations/acme-corp/issues/")
			projects := map[string]bool{}
			for _, q := range reqs {
				vals, present := q["query"]
				if !present || len(vals) != 1 || vals[0] != tc.query {
					t.Errorf("request query=%v (present %v), want %q", vals, present, tc.query)
				}
				if len(q["project"]) != 1 || q.Get("limit") != "100" || q.Has("per_page") {
					t.Errorf("request %v: want one project and limit=100", q)
				}
				if q.Get("statsPeriod") != tc.statsSent || q.Has("statsPeriod") != (tc.statsSent != "") {
					t.Errorf("statsPeriod %v, want %q", q["statsPeriod"], tc.statsSent)
				}
				projects[q.Get("project")] = true
			}
			if len(projects) != len(d.Projects) {
				t.Errorf("issues fetched for %d projects, want %d", len(projects), len(d.Projects))
			}
		})
	}
}

func TestFetchTeam(t *testing.T) {
	d, _, src := demoSource(t, 3)
	plain, err := src.Fetch(context.Background(), "team", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != len(d.Teams) {
		t.Fatalf("%d teams, want %d", len(plain), len(d.Teams))
	}
	for _, it := range plain {
		if _, ok := asMap(t, it)["__members"]; ok {
			t.Errorf("__members without includeMembers")
		}
	}
	with, err := src.Fetch(context.Background(), "team", map[string]any{"includeMembers": true})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range with {
		m := asMap(t, it)
		members, ok := m["__members"].([]any)
		if !ok {
			t.Fatalf("team %s: __members is %T", m["slug"], m["__members"])
		}
		want := 0
		for _, mem := range d.Members {
			if _, in := mem.Teams[m["slug"].(string)]; in {
				want++
			}
		}
		if len(members) != want {
			t.Errorf("team %s: %d members, want %d (paged by 3)", m["slug"], len(members), want)
		}
		for _, mem := range members {
			if asMap(t, mem)["email"] == nil {
				t.Errorf("member without email: %v", mem)
			}
		}
	}
	// The cached plain fetch was not changed by the attach.
	for _, it := range plain {
		if _, ok := asMap(t, it)["__members"]; ok {
			t.Errorf("attaching members changed the cached plain items")
		}
	}
}

func TestFetchUser(t *testing.T) {
	d, _, src := demoSource(t, 4)
	items, err := src.Fetch(context.Background(), "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(d.Members) {
		t.Errorf("%d users, want %d", len(items), len(d.Members))
	}
}

func TestFetchProjectTag(t *testing.T) {
	_, s, src := demoSource(t, 2)
	items, err := src.Fetch(context.Background(), "project-tag", map[string]any{"tag": "environment"})
	if err != nil {
		t.Fatal(err)
	}
	perProject := map[string][]string{}
	for _, it := range items {
		m := asMap(t, it)
		tag := asMap(t, m["__tags"])
		name, _ := tag["name"].(string)
		if name == "" || m["slug"] == nil || m["organization"] == nil {
			t.Errorf("item %v: want a project with organization and __tags.name", m)
		}
		perProject[m["slug"].(string)] = append(perProject[m["slug"].(string)], name)
	}
	if len(perProject) == 0 {
		t.Fatal("no project-tag items")
	}
	// One item per value the endpoint returns.
	for slug, names := range perProject {
		if len(requestsTo(s, "/projects/acme-corp/"+slug+"/tags/environment/values/")) == 0 {
			t.Errorf("%s: no tag values request", slug)
		}
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				t.Errorf("%s: value %s twice", slug, n)
			}
			seen[n] = true
		}
	}
	// Default tag is environment; an unknown tag 404s and yields nothing.
	def, err := src.Fetch(context.Background(), "project-tag", nil)
	if err != nil || len(def) != len(items) {
		t.Errorf("default tag: %d items, %v; want %d", len(def), err, len(items))
	}
	none, err := src.Fetch(context.Background(), "project-tag", map[string]any{"tag": "no-such-tag"})
	if err != nil || len(none) != 0 {
		t.Errorf("unknown tag: %d items, %v", len(none), err)
	}
}

func TestFetchIssueTag(t *testing.T) {
	d, s, src := demoSource(t, 2)
	items, err := src.Fetch(context.Background(), "issue-tag", map[string]any{"tag": "environment", "search": ""})
	if err != nil {
		t.Fatal(err)
	}
	// One item per issue that has the tag; each carries the list.
	if len(items) == 0 || len(items) > d.NumIssues() {
		t.Fatalf("%d issue-tag items for %d issues", len(items), d.NumIssues())
	}
	ids := map[string]bool{}
	for _, it := range items {
		m := asMap(t, it)
		ids[m["id"].(string)] = true
		tags, ok := m["__tags"].([]any)
		if !ok || len(tags) == 0 {
			t.Fatalf("issue %s: __tags %v", m["id"], m["__tags"])
		}
		for _, tv := range tags {
			if asMap(t, tv)["name"] == nil {
				t.Errorf("tag value without name: %v", tv)
			}
		}
	}
	if len(ids) != len(items) {
		t.Errorf("an issue appears twice")
	}
	if n := len(requestsTo(s, "/tags/environment/values/")); n < len(items) {
		t.Errorf("%d tag requests for %d items", n, len(items))
	}
	none, err := src.Fetch(context.Background(), "issue-tag", map[string]any{"tag": "no-such-tag", "search": ""})
	if err != nil || len(none) != 0 {
		t.Errorf("unknown tag: %d items, %v", len(none), err)
	}
	// The issue fetch was shared with the issue-tag fan-out.
	before := len(s.Requests())
	if _, err := src.Fetch(context.Background(), "issue", map[string]any{"search": "", "tag": "other"}); err != nil {
		t.Fatal(err)
	}
	if len(s.Requests()) != before {
		t.Errorf("issues were fetched twice")
	}
}

func TestFetchErrors(t *testing.T) {
	_, s, src := demoSource(t, 100)
	if _, err := src.Fetch(context.Background(), "release", nil); err == nil || !strings.Contains(err.Error(), `unknown kind "release"`) {
		t.Errorf("unknown kind: %v", err)
	}
	s.AddFault(sentrytest.Fault{PathContains: "/issues/", Status: 403})
	_, err := src.Fetch(context.Background(), "issue", nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"fetching issues of project", "HTTP 403", `"event:read"`, "/api/0/organizations/acme-corp/issues/", "more failed requests"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Count(err.Error(), "HTTP 403") > 3 {
		t.Errorf("more than 3 errors shown: %v", err)
	}
}

func TestFetchConcurrentCallersShare(t *testing.T) {
	_, s, src := demoSource(t, 2)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := src.Fetch(context.Background(), "project", nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(requestsTo(s, "/organizations/acme-corp/projects/")); n != 3 {
		t.Errorf("%d project page requests, want 3 (6 projects in pages of 2, fetched once)", n)
	}
}

func TestExpand(t *testing.T) {
	env := tmplEnv{org: "acme corp", parent: map[string]any{"id": "42", "slug": "a/b", "n": nil},
		selector: map[string]any{"tag": "env", "search": ""}}
	for _, tc := range []struct {
		tmpl   string
		escape bool
		want   string
		ok     bool
		err    bool
	}{
		{"/organizations/{org}/", true, "/organizations/acme%20corp/", true, false},
		{"/projects/{org}/{parent.slug}/", true, "/projects/acme%20corp/a%2Fb/", true, false},
		{"{selector.tag|environment}", false, "env", true, false},
		{"{selector.missing|environment}", false, "environment", true, false},
		{"{selector.search|is:unresolved}", false, "", true, false},
		{"{selector.statsPeriod?}", false, "", false, false},
		{"{parent.n}", false, "", false, true},
		{"{bogus}", false, "", false, true},
		{"{org", false, "", false, true},
	} {
		got, ok, err := env.expand(tc.tmpl, tc.escape)
		if got != tc.want || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("expand(%q) = %q, %v, %v", tc.tmpl, got, ok, err)
		}
	}
}

// TestFetchKeepsWhatCameBeforeAFailure: a kind fetched whole that fails on
// a later page returns the pages before it with the error, and a kind
// fanned out over it has the children of those parents: what was fetched
// is the caller's to write (it deletes nothing on an error).
func TestFetchKeepsWhatCameBeforeAFailure(t *testing.T) {
	d, srv, s := demoSource(t, 4)
	srv.AddFault(sentrytest.Fault{PathContains: "/organizations/" + d.OrgSlug() + "/projects/", Status: 403, AfterRequests: 1})
	projects, err := s.Fetch(context.Background(), "project", nil)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("want the 403, got %v", err)
	}
	if len(projects) != 4 {
		t.Fatalf("%d projects, want the first page's 4", len(projects))
	}
	first := map[string]bool{}
	for _, p := range projects {
		first[asMap(t, p)["slug"].(string)] = true
	}
	issues, err := s.Fetch(context.Background(), "issue", nil)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("want the parents' 403, got %v", err)
	}
	want := 0
	for _, id := range d.IssueIDs("unresolved") {
		if first[d.Issue(id).Project.Slug] {
			want++
		}
	}
	if len(issues) != want || want == 0 {
		t.Fatalf("%d issues, want the %d of the first page's projects", len(issues), want)
	}
}

// An object attached to every item (the organization of each project) is
// bounded on its own: one large response would otherwise be copied into
// every item.
func TestAttachedObjectBounded(t *testing.T) {
	d := sentrytest.Demo()
	d.Org.Name = strings.Repeat("x", maxAttachedBytes)
	_, c := fake(t, d, sentrytest.Token, fastOpts(nil))
	src := &Source{Client: c, Org: d.OrgSlug()}
	err := src.Stream(context.Background(), "project", nil, func(Batch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "at most 256 KiB is attached to each item") || !strings.Contains(err.Error(), "/organizations/"+d.OrgSlug()+"/") {
		t.Fatalf("err = %v", err)
	}
	d.Org.Name = "Acme"
	src = &Source{Client: c, Org: d.OrgSlug()}
	if err := src.Stream(context.Background(), "project", nil, func(Batch) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
