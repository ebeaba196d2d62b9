package sentrytest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLinkHeaderExactFormat(t *testing.T) {
	s := NewServer(Demo())
	defer s.Close()
	base := s.URL + "/api/0/organizations/acme-corp/projects/"

	r := get(t, s, "/api/0/organizations/acme-corp/projects/")
	want := `<` + base + `?&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", ` +
		`<` + base + `?&cursor=0:100:0>; rel="next"; results="false"; cursor="0:100:0"`
	if got := r.Header.Get("Link"); got != want {
		t.Fatalf("Link\n got %s\nwant %s", got, want)
	}

	// The old cursor is dropped, other parameters keep their order and are
	// re-encoded the way Django's QueryDict.urlencode does it.
	r = get(t, s, "/api/0/organizations/acme-corp/issues/?query=is:unresolved%20level:error&cursor=0:2:0&limit=2&project=-1")
	ib := s.URL + "/api/0/organizations/acme-corp/issues/?query=is%3Aunresolved+level%3Aerror&limit=2&project=-1"
	want = `<` + ib + `&cursor=0:0:1>; rel="previous"; results="true"; cursor="0:0:1", ` +
		`<` + ib + `&cursor=0:4:0>; rel="next"; results="true"; cursor="0:4:0"`
	if got := r.Header.Get("Link"); got != want {
		t.Fatalf("Link\n got %s\nwant %s", got, want)
	}
}

func TestLinkHeaderUsesRequestHost(t *testing.T) {
	s := NewHandler(Demo())
	r := getWith(t, s, "http://sentry.example.com/api/0/projects/", "Bearer "+Token)
	if !strings.HasPrefix(r.Header.Get("Link"), "<http://sentry.example.com/api/0/projects/?&cursor=") {
		t.Fatalf("Link %q", r.Header.Get("Link"))
	}
}

func TestPaginationVisitsEveryItemOnce(t *testing.T) {
	d := Generate(GenOptions{Seed: 3, Projects: 9, Issues: 1234, Teams: 7, Members: 31})
	for _, size := range []int{0, 1, 7, 50} {
		var opts []Option
		if size > 0 {
			opts = append(opts, WithPageSize(size))
		}
		s := NewServer(d, opts...)
		org := d.OrgSlug()
		cases := map[string]int{
			"/api/0/organizations/" + org + "/issues/?query=":                          d.NumIssues(),
			"/api/0/organizations/" + org + "/issues/":                                 len(d.IssueIDs("unresolved")),
			"/api/0/organizations/" + org + "/projects/":                               len(d.Projects),
			"/api/0/projects/":                                                         len(d.Projects),
			"/api/0/organizations/" + org + "/members/":                                len(d.Members),
			"/api/0/organizations/" + org + "/teams/":                                  len(d.Teams),
			"/api/0/projects/" + org + "/" + d.Projects[2].Slug + "/issues/?query=all": -1,
		}
		for path, want := range cases {
			items, pages := walk(t, s, path)
			seen := map[string]bool{}
			for _, it := range items {
				id := it["id"].(string)
				if seen[id] {
					t.Fatalf("%s (page size %d): %s seen twice", path, size, id)
				}
				seen[id] = true
			}
			if want >= 0 && len(items) != want {
				t.Fatalf("%s (page size %d): %d items, want %d", path, size, len(items), want)
			}
			if size > 0 && want > 0 && pages != (want+size-1)/size {
				t.Fatalf("%s: %d pages for %d items of %d", path, pages, want, size)
			}
		}
		s.Close()
	}
}

func TestIssueOrderAndIDs(t *testing.T) {
	d := Demo()
	s := NewServer(d, WithPageSize(7))
	defer s.Close()
	items, _ := walk(t, s, "/api/0/organizations/acme-corp/issues/?query=")
	ids := d.IssueIDs("")
	if len(items) != len(ids) || len(ids) < 35 {
		t.Fatalf("%d items, %d ids", len(items), len(ids))
	}
	for i, it := range items {
		if it["id"] != ids[i] {
			t.Fatalf("item %d: %v, want %v", i, it["id"], ids[i])
		}
		if i > 0 && it["lastSeen"].(string) > items[i-1]["lastSeen"].(string) {
			t.Fatalf("not sorted by lastSeen desc at %d", i)
		}
		if _, ok := it["count"].(string); !ok {
			t.Fatalf("count is %T, want string", it["count"])
		}
	}
}

func TestPreviousLink(t *testing.T) {
	s := NewServer(Demo(), WithPageSize(5))
	defer s.Close()
	r := get(t, s, "/api/0/organizations/acme-corp/issues/?query=")
	l := parseLink(t, r.Header.Get("Link"))
	r2 := get(t, s, l.nextURL)
	l2 := parseLink(t, r2.Header.Get("Link"))
	if !l2.prevResults || l.prevResults {
		t.Fatalf("previous results: first %v second %v", l.prevResults, l2.prevResults)
	}
	back := get(t, s, l2.prevURL)
	if string(back.Body) != string(r.Body) {
		t.Fatal("previous link does not lead back to the first page")
	}
	if r.Header.Get("X-Hits") != "40" {
		t.Fatalf("X-Hits %q", r.Header.Get("X-Hits"))
	}
}

func issueTitles(t *testing.T, s *Server, path string) []map[string]any {
	t.Helper()
	items, _ := walk(t, s, path)
	return items
}

func TestIssueQueryFiltering(t *testing.T) {
	d := Demo()
	s := NewServer(d)
	defer s.Close()
	org := "/api/0/organizations/acme-corp/issues/"
	count := func(status string) int { return len(d.IssueIDs(status)) }

	if n := len(issueTitles(t, s, org)); n != count("unresolved") {
		t.Fatalf("default query: %d, want %d unresolved", n, count("unresolved"))
	}
	if n := len(issueTitles(t, s, org+"?query=")); n != count("") {
		t.Fatalf("empty query: %d, want all %d", n, count(""))
	}
	for _, st := range []string{"resolved", "unresolved", "ignored"} {
		items := issueTitles(t, s, org+"?query=is:"+st)
		if len(items) != count(st) || len(items) == 0 {
			t.Fatalf("is:%s: %d, want %d", st, len(items), count(st))
		}
		for _, it := range items {
			if it["status"] != st {
				t.Fatalf("is:%s returned %v", st, it["status"])
			}
		}
	}
	if a, b := len(issueTitles(t, s, org+"?query=is:archived")), count("ignored"); a != b {
		t.Fatalf("is:archived %d, want %d", a, b)
	}
	// A present query replaces the is:unresolved default entirely.
	statuses := map[any]bool{}
	for _, it := range issueTitles(t, s, org+"?query=level:fatal") {
		if it["level"] != "fatal" {
			t.Fatalf("level:fatal returned %v", it["level"])
		}
		statuses[it["status"]] = true
	}
	if !statuses["resolved"] || !statuses["unresolved"] {
		t.Fatalf("level:fatal statuses %v", statuses)
	}
	items := issueTitles(t, s, org+"?query=is:unresolved%20typeerror")
	if len(items) != 2 {
		t.Fatalf("free text: %d items", len(items))
	}
	for _, it := range items {
		if !strings.Contains(strings.ToLower(it["title"].(string)), "typeerror") {
			t.Fatalf("free text returned %q", it["title"])
		}
	}
	if n := len(issueTitles(t, s, org+"?query=assigned:me%20is:unresolved")); n != count("unresolved") {
		t.Fatalf("assigned: should be ignored, got %d", n)
	}
	pay := d.Project("payments")
	ios := d.Project("ios-app")
	items = issueTitles(t, s, org+"?query=&project="+pay.ID+"&project="+ios.ID)
	for _, it := range items {
		slug := it["project"].(map[string]any)["slug"]
		if slug != "payments" && slug != "ios-app" {
			t.Fatalf("project filter returned %v", slug)
		}
	}
	perProject := issueTitles(t, s, "/api/0/projects/acme-corp/payments/issues/?query=")
	perProject = append(perProject, issueTitles(t, s, "/api/0/projects/acme-corp/ios-app/issues/?query=")...)
	if len(items) != len(perProject) || len(items) == 0 {
		t.Fatalf("two projects: %d, per-project lists: %d", len(items), len(perProject))
	}
	if n := len(issueTitles(t, s, org+"?query=&project=-1")); n != count("") {
		t.Fatalf("project=-1: %d", n)
	}
	if r := get(t, s, org+"?project=12345"); r.Status != 403 {
		t.Fatalf("unknown project id: %d", r.Status)
	}
}

func TestStatsPeriod(t *testing.T) {
	s := NewServer(Demo())
	defer s.Close()
	for q, want := range map[string]string{"": "24h", "?statsPeriod=24h": "24h", "?statsPeriod=14d": "14d", "?statsPeriod=": ""} {
		items := decode[[]map[string]any](t, get(t, s, "/api/0/projects/acme-corp/backend-api/issues/"+q).Body)
		stats, has := items[0]["stats"].(map[string]any)
		if want == "" {
			if has {
				t.Fatalf("%s: stats %v, want none", q, stats)
			}
			continue
		}
		series, ok := stats[want].([]any)
		if !ok || len(stats) != 1 {
			t.Fatalf("%s: stats keys %v", q, stats)
		}
		if n := map[string]int{"24h": 24, "14d": 14}[want]; len(series) != n {
			t.Fatalf("%s: %d buckets", q, len(series))
		}
	}
	if r := get(t, s, "/api/0/projects/acme-corp/backend-api/issues/?statsPeriod=7d"); r.Status != 400 {
		t.Fatalf("bad statsPeriod: %d", r.Status)
	}
}

func TestLimits(t *testing.T) {
	s := NewServer(Generate(GenOptions{Seed: 1, Issues: 500}))
	defer s.Close()
	org := s.d.OrgSlug()
	r := get(t, s, "/api/0/organizations/"+org+"/issues/?query=&limit=1000")
	if n := len(decode[[]any](t, r.Body)); n != 100 {
		t.Fatalf("limit=1000 served %d", n)
	}
	r = get(t, s, "/api/0/organizations/"+org+"/issues/?query=&limit=10")
	if n := len(decode[[]any](t, r.Body)); n != 10 {
		t.Fatalf("limit=10 served %d", n)
	}
	if r := get(t, s, "/api/0/organizations/"+org+"/projects/?per_page=101"); r.Status != 400 {
		t.Fatalf("per_page=101: %d", r.Status)
	}
	if r := get(t, s, "/api/0/organizations/"+org+"/projects/?cursor=bogus"); r.Status != 400 {
		t.Fatalf("bad cursor: %d", r.Status)
	}
}

func TestTeamsDetailed(t *testing.T) {
	s := NewServer(Demo())
	defer s.Close()
	full := decode[[]map[string]any](t, get(t, s, "/api/0/organizations/acme-corp/teams/").Body)
	slim := decode[[]map[string]any](t, get(t, s, "/api/0/organizations/acme-corp/teams/?detailed=0").Body)
	if len(full) != 4 || len(slim) != 4 {
		t.Fatalf("%d/%d teams", len(full), len(slim))
	}
	if _, ok := full[0]["projects"]; !ok {
		t.Fatal("detailed teams lack projects")
	}
	if _, ok := slim[0]["projects"]; ok {
		t.Fatal("detailed=0 kept projects")
	}
	members := decode[[]map[string]any](t, get(t, s, "/api/0/organizations/acme-corp/members/").Body)
	roles := map[string]bool{}
	pending := 0
	for _, m := range members {
		roles[m["orgRole"].(string)] = true
		if m["pending"] == true {
			pending++
			if m["user"] != nil {
				t.Fatal("pending member has a user")
			}
		}
	}
	if len(members) != 10 || pending != 1 || !roles["owner"] || !roles["manager"] || !roles["admin"] || !roles["member"] {
		t.Fatalf("members %d pending %d roles %v", len(members), pending, roles)
	}
}

func TestTagValues(t *testing.T) {
	d := Demo()
	s := NewServer(d)
	defer s.Close()
	vals := decode[[]map[string]any](t, get(t, s, "/api/0/projects/acme-corp/web-frontend/tags/environment/values/").Body)
	names := map[string]bool{}
	for _, v := range vals {
		names[v["value"].(string)] = true
		if v["key"] != "environment" || v["name"] != v["value"] {
			t.Fatalf("tag value %v", v)
		}
	}
	if !names["production"] || !names["staging"] || !names["development"] {
		t.Fatalf("environments %v", names)
	}
	id := d.IssueIDs("")[0]
	if r := get(t, s, "/api/0/organizations/acme-corp/issues/"+id+"/tags/environment/values/"); r.Status != 200 {
		t.Fatalf("issue tag values: %d", r.Status)
	}
	for _, p := range []string{
		"/api/0/projects/acme-corp/web-frontend/tags/browser.name/values/",
		"/api/0/organizations/acme-corp/issues/" + id + "/tags/nope/values/",
	} {
		r := get(t, s, p)
		if r.Status != 404 || string(r.Body) != `{"detail":"The requested resource does not exist"}` {
			t.Fatalf("%s: %d %s", p, r.Status, r.Body)
		}
	}
}

func TestAuthAndNotFound(t *testing.T) {
	s := NewServer(Demo())
	defer s.Close()
	for _, auth := range []string{"", "Bearer wrong", "Token " + Token, Token} {
		r := getWith(t, s, "/api/0/organizations/acme-corp/", auth)
		if r.Status != 401 || string(r.Body) != `{"detail":"Invalid token"}` {
			t.Fatalf("auth %q: %d %s", auth, r.Status, r.Body)
		}
		if r.Header.Get("X-Sentry-Rate-Limit-Limit") == "" {
			t.Fatal("401 lacks rate-limit headers")
		}
	}
	for _, p := range []string{
		"/api/0/organizations/nope/",
		"/api/0/organizations/nope/issues/",
		"/api/0/projects/acme-corp/nope/issues/",
		"/api/0/projects/nope/payments/issues/",
		"/api/0/teams/acme-corp/nope/members/",
		"/api/0/organizations/acme-corp/issues/999/",
		"/api/0/organizations/acme-corp/issues/abc/",
		"/api/0/nothing-here/",
	} {
		r := get(t, s, p)
		if r.Status != 404 || string(r.Body) != `{"detail":"The requested resource does not exist"}` {
			t.Fatalf("%s: %d %s", p, r.Status, r.Body)
		}
	}
	org := decode[map[string]any](t, get(t, s, "/api/0/organizations/acme-corp/").Body)
	links := org["links"].(map[string]any)
	if links["organizationUrl"] != "https://acme-corp.sentry.io" || links["regionUrl"] != "https://us.sentry.io" {
		t.Fatalf("links %v", links)
	}
	reqs := s.Requests()
	if len(reqs) == 0 || reqs[len(reqs)-1].Header.Get("Authorization") != "Bearer "+Token || reqs[len(reqs)-1].Status != 200 {
		t.Fatalf("last request %+v", reqs[len(reqs)-1])
	}
	if reqs[0].Status != 401 {
		t.Fatalf("first request status %d", reqs[0].Status)
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 {
		t.Fatal("ResetRequests kept requests")
	}
}

func TestShortIDLookup(t *testing.T) {
	s := NewServer(Demo())
	defer s.Close()
	r := get(t, s, "/api/0/organizations/acme-corp/issues/BACKEND-API-1/")
	is := decode[map[string]any](t, r.Body)
	if r.Status != 200 || is["shortId"] != "BACKEND-API-1" || is["permalink"] != "https://acme-corp.sentry.io/issues/"+is["id"].(string)+"/" {
		t.Fatalf("%d %v", r.Status, is["shortId"])
	}
}

func TestFaults(t *testing.T) {
	s := NewServer(Demo(), WithPageSize(5))
	defer s.Close()
	s.AddFault(Fault{PathContains: "/issues/", Status: 502, AfterRequests: 2, Times: 1})
	var statuses []int
	for i := 0; i < 4; i++ {
		statuses = append(statuses, get(t, s, "/api/0/organizations/acme-corp/issues/").Status)
	}
	if want := []int{200, 200, 502, 200}; !equalInts(statuses, want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	if get(t, s, "/api/0/projects/").Status != 200 {
		t.Fatal("fault hit a non-matching path")
	}

	s.AddFault(Fault{PathContains: "/members/", Status: 429, RetryAfter: "3", Times: 1})
	r := get(t, s, "/api/0/organizations/acme-corp/members/")
	var msg string
	if r.Status != 429 || json.Unmarshal(r.Body, &msg) != nil || !strings.HasPrefix(msg, "You are attempting to use this endpoint too frequently") {
		t.Fatalf("429 fault: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Retry-After") != "3" || r.Header.Get("X-Sentry-Rate-Limit-Remaining") != "0" || r.Header.Get("X-Sentry-Rate-Limit-Reset") == "" {
		t.Fatalf("429 headers %v", r.Header)
	}

	s.AddFault(Fault{PathContains: "/teams/", TruncateBody: true, Times: 1})
	req, _ := http.NewRequest("GET", s.URL+"/api/0/organizations/acme-corp/teams/", nil)
	req.Header.Set("Authorization", "Bearer "+Token)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	half, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var v any
	if resp.StatusCode != 200 || err != io.ErrUnexpectedEOF || json.Unmarshal(half, &v) == nil || len(half) < 10 || int64(len(half)) >= resp.ContentLength {
		t.Fatalf("truncated: %d, %d of %d bytes, %v", resp.StatusCode, len(half), resp.ContentLength, err)
	}
	if r = get(t, s, "/api/0/organizations/acme-corp/teams/"); json.Unmarshal(r.Body, &v) != nil {
		t.Fatal("truncation fired twice")
	}

	s.AddFault(Fault{PathContains: "/acme-corp/", Status: 500, Body: `{"detail":"boom"}`, Times: 2})
	for i := 0; i < 2; i++ {
		if r := get(t, s, "/api/0/organizations/acme-corp/"); r.Status != 500 || string(r.Body) != `{"detail":"boom"}` {
			t.Fatalf("500 fault: %d %s", r.Status, r.Body)
		}
	}
	if r := get(t, s, "/api/0/organizations/acme-corp/"); r.Status != 200 {
		t.Fatalf("after Times: %d", r.Status)
	}
}

func TestFaultDelayHonoursContext(t *testing.T) {
	s := NewServer(Demo())
	defer s.Close()
	s.AddFault(Fault{PathContains: "/projects/", Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/0/projects/", nil)
	req.Header.Set("Authorization", "Bearer "+Token)
	start := time.Now()
	_, err := s.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("delay ignored the context")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRateLimiter(t *testing.T) {
	s := NewServer(Demo(), WithRateLimit(5, time.Hour))
	defer s.Close()
	for i := 1; i <= 7; i++ {
		r := get(t, s, "/api/0/projects/")
		h := r.Header
		if h.Get("X-Sentry-Rate-Limit-Limit") != "5" || h.Get("X-Sentry-Rate-Limit-ConcurrentLimit") == "" ||
			h.Get("X-Sentry-Rate-Limit-ConcurrentRemaining") == "" {
			t.Fatalf("request %d headers %v", i, h)
		}
		remaining, _ := strconv.Atoi(h.Get("X-Sentry-Rate-Limit-Remaining"))
		if want := max(5-i, 0); remaining != want {
			t.Fatalf("request %d: remaining %d, want %d", i, remaining, want)
		}
		reset, _ := strconv.ParseInt(h.Get("X-Sentry-Rate-Limit-Reset"), 10, 64)
		if reset <= time.Now().Unix() || reset > time.Now().Add(time.Hour+time.Second).Unix() {
			t.Fatalf("reset %d", reset)
		}
		if i <= 5 {
			if r.Status != 200 {
				t.Fatalf("request %d: %d", i, r.Status)
			}
			continue
		}
		var msg string
		if r.Status != 429 || json.Unmarshal(r.Body, &msg) != nil {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
		if msg != "You are attempting to use this endpoint too frequently. Limit is 5 requests in 3600 seconds" {
			t.Fatalf("429 body %q", msg)
		}
	}
}

func TestRateLimitWindowResets(t *testing.T) {
	// A window long enough that a loaded machine still sends three
	// requests inside one; the loop stops at the first 429.
	s := NewServer(Demo(), WithRateLimit(2, time.Second))
	defer s.Close()
	got429 := false
	for i := 0; i < 20 && !got429; i++ {
		got429 = get(t, s, "/api/0/projects/").Status == 429
	}
	if !got429 {
		t.Fatal("limit never enforced")
	}
	time.Sleep(1100 * time.Millisecond)
	if r := get(t, s, "/api/0/projects/"); r.Status != 200 {
		t.Fatalf("after window: %d", r.Status)
	}
}

func TestMutationsWhileServing(t *testing.T) {
	d := Demo()
	s := NewServer(d, WithPageSize(10))
	defer s.Close()
	unresolved := len(d.IssueIDs("unresolved"))
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				get(t, s, "/api/0/organizations/acme-corp/issues/")
			}
		}()
	}
	var newID string
	resolved := d.IssueIDs("unresolved")[0]
	regressed := d.IssueIDs("resolved")[0]
	deleted := d.IssueIDs("ignored")[0]
	s.Update(func(d *Dataset) {
		if !d.ResolveIssue(resolved) || !d.RegressIssue(regressed) || !d.DeleteIssue(deleted) {
			t.Error("mutation failed")
		}
		newID = d.AddIssue("payments", "RuntimeError: ledger out of balance", "ledger.Reconcile", "error")
	})
	wg.Wait()
	if newID == "" || d.ResolveIssue("nope") || d.DeleteIssue(deleted) {
		t.Fatal("unexpected mutation results")
	}
	items := issueTitles(t, s, "/api/0/organizations/acme-corp/issues/")
	if len(items) != unresolved+1 {
		t.Fatalf("%d unresolved after mutations, want %d", len(items), unresolved+1)
	}
	// The newest activity comes first: the added issue, then the regression.
	if items[0]["id"] != newID || items[1]["id"] != regressed || items[1]["substatus"] != "regressed" {
		t.Fatalf("head %v %v", items[0]["id"], items[1]["id"])
	}
	if get(t, s, "/api/0/organizations/acme-corp/issues/"+deleted+"/").Status != 404 {
		t.Fatal("deleted issue still served")
	}
	is := decode[map[string]any](t, get(t, s, "/api/0/organizations/acme-corp/issues/"+newID+"/").Body)
	if is["status"] != "unresolved" || is["substatus"] != "new" || is["count"] != "1" {
		t.Fatalf("new issue %v", is)
	}
}

func TestInProcessHandler(t *testing.T) {
	s := NewHandler(Demo())
	r := get(t, s, "/api/0/organizations/acme-corp/issues/?query=")
	if r.Status != 200 || len(decode[[]any](t, r.Body)) != 40 {
		t.Fatalf("%d", r.Status)
	}
}

func TestLatencyAndConcurrencyHeaders(t *testing.T) {
	s := NewServer(Demo(), WithLatency(30*time.Millisecond))
	defer s.Close()
	start := time.Now()
	r := get(t, s, "/api/0/organizations/acme-corp/")
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("latency not applied")
	}
	if r.Header.Get("X-Sentry-Rate-Limit-ConcurrentLimit") != "25" || r.Header.Get("X-Sentry-Rate-Limit-ConcurrentRemaining") != "24" {
		t.Fatalf("concurrency headers %v", r.Header)
	}
	if r.Header.Get("Link") != "" {
		t.Fatal("a detail endpoint has a Link header")
	}
}

func TestDefault429FaultBody(t *testing.T) {
	s := NewServer(Demo())
	defer s.Close()
	s.AddFault(Fault{Status: 429})
	r := get(t, s, "/api/0/projects/")
	if string(r.Body) != `"You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds"` {
		t.Fatalf("body %s", r.Body)
	}
	s.AddFault(Fault{Status: 502})
	for i := 0; i < 2; i++ { // the first fault fires forever and shadows the second
		if r := get(t, s, "/api/0/projects/"); r.Status != 429 {
			t.Fatalf("status %d", r.Status)
		}
	}
}

func TestEndpoint(t *testing.T) {
	for path, want := range map[string]string{
		"/api/0/organizations/acme-corp/issues/":                            "/api/0/organizations/{org}/issues/",
		"/api/0/organizations/acme-corp/issues/42/tags/environment/values/": "/api/0/organizations/{org}/issues/{id}/tags/{key}/values/",
		"/api/0/organizations/acme-corp/issues/43/tags/release/values/":     "/api/0/organizations/{org}/issues/{id}/tags/{key}/values/",
		"/api/0/projects/acme-corp/payments/tags/environment/values/":       "/api/0/projects/{org}/{slug}/tags/{key}/values/",
		"/api/0/teams/acme-corp/backend/members/":                           "/api/0/teams/{org}/{slug}/members/",
		"/api/0/projects/": "/api/0/projects/",
	} {
		if got := Endpoint(path); got != want {
			t.Errorf("Endpoint(%s) = %s, want %s", path, got, want)
		}
	}
}

// Each endpoint has its own window: using one up leaves another's whole,
// and every response's headers are its own endpoint's.
func TestEndpointRateLimitPerEndpoint(t *testing.T) {
	s := NewServer(Demo(), WithEndpointRateLimit(3, time.Hour, 25))
	defer s.Close()
	for i := 1; i <= 4; i++ {
		r := get(t, s, "/api/0/organizations/acme-corp/projects/")
		remaining, _ := strconv.Atoi(r.Header.Get("X-Sentry-Rate-Limit-Remaining"))
		if remaining != max(3-i, 0) || (r.Status == 429) != (i == 4) {
			t.Fatalf("projects request %d: %d, remaining %d", i, r.Status, remaining)
		}
	}
	r := get(t, s, "/api/0/organizations/acme-corp/teams/")
	if r.Status != 200 || r.Header.Get("X-Sentry-Rate-Limit-Remaining") != "2" {
		t.Fatalf("teams after projects used up: %d, remaining %s", r.Status, r.Header.Get("X-Sentry-Rate-Limit-Remaining"))
	}
	// Two issues' tag values are one endpoint.
	ids := Demo().IssueIDs("unresolved")
	for i, id := range ids[:4] {
		r := get(t, s, "/api/0/organizations/acme-corp/issues/"+id+"/tags/environment/values/")
		if (r.Status == 429) != (i == 3) {
			t.Fatalf("tag values request %d: %d", i+1, r.Status)
		}
	}
}

// Past the concurrent limit of an endpoint a request is answered 429 with
// Sentry's bare-string body; another endpoint is not held up.
func TestEndpointConcurrencyLimit(t *testing.T) {
	s := NewServer(Demo(), WithEndpointRateLimit(1000, time.Second, 2), WithLatency(300*time.Millisecond))
	defer s.Close()
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	var body []byte
	var mu sync.Mutex
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/api/0/organizations/acme-corp/projects/"
			if i == 3 {
				path = "/api/0/organizations/acme-corp/teams/"
			}
			r := get(t, s, path)
			mu.Lock()
			statuses[i] = r.Status
			if r.Status == 429 {
				body = r.Body
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	n429 := 0
	for _, st := range statuses[:3] {
		if st == 429 {
			n429++
		}
	}
	var msg string
	if n429 != 1 || statuses[3] != 200 || json.Unmarshal(body, &msg) != nil || !strings.Contains(msg, "Concurrency limit is 2") {
		t.Fatalf("statuses %v, 429 body %s", statuses, body)
	}
}
