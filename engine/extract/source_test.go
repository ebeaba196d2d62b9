package extract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/extract/extracttest"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// waits records the client's waits instead of waiting them.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

// example loads an example of OpsLevel's guides with its hosts replaced
// by the fake's, and parses its extractors.
func example(t *testing.T, name, host string, env map[string]string) *extract.Definition {
	t.Helper()
	data, err := os.ReadFile("../../examples/opslevel/" + name)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := extracttest.ExtractorLists(extracttest.WithHost(data, host))
	if err != nil {
		t.Fatal(err)
	}
	d, err := extract.Parse(name, extracttest.Compiler(name), func(k string) string { return env[k] }, lists...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func source(t *testing.T, d *extract.Definition, o extract.Options) (*extract.Source, *waits) {
	t.Helper()
	w := &waits{}
	if o.Sleep == nil {
		o.Sleep = w.sleep
	}
	s, err := extract.NewSource(d, o)
	if err != nil {
		t.Fatal(err)
	}
	return s, w
}

// stream collects kind's items, decoded, and their wheres.
func stream(s *extract.Source, kind string) ([]map[string]any, []string, error) {
	var items []map[string]any
	var wheres []string
	err := s.Stream(context.Background(), kind, func(batch [][]byte, where []string) error {
		if len(batch) != len(where) {
			return fmt.Errorf("%d items, %d wheres", len(batch), len(where))
		}
		for _, b := range batch {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			items = append(items, m)
		}
		wheres = append(wheres, where...)
		return nil
	})
	return items, wheres, err
}

func ids(items []map[string]any, key string) []string {
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprint(it[key]))
	}
	return out
}

// normal is v as JSON decodes it, for comparing with streamed items.
func normal(t *testing.T, v any) any {
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

// Seed 000: the Sentry guide, host changed, against the fake Sentry
// (Link-header pagination on both lists, projects addressed by id).
func TestExampleSentry(t *testing.T) {
	f := extracttest.NewSentry(sentrytest.WithPageSize(2))
	defer f.Close()
	d := example(t, "sentry.yaml", f.URL, f.Env)
	s, _ := source(t, d, extract.Options{})

	issues, wheres, err := stream(s, "sentry_issue")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(issues, "id"), f.IDs("sentry_issue"); !slices.Equal(got, want) || len(want) < 10 {
		t.Fatalf("issues %v, want %v", got, want)
	}
	// The parent kind was fetched once, for the fan-out, and is reused.
	before := len(f.Requests())
	projects, _, err := stream(s, "sentry_project")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(projects, "id"), f.IDs("sentry_project"); !slices.Equal(got, want) {
		t.Fatalf("projects %v, want %v", got, want)
	}
	if n := len(f.Requests()); n != before {
		t.Fatalf("streaming the parent again sent %d requests", n-before)
	}
	excluded := f.Excluded()
	var projectPages, issuePages int
	for _, r := range f.Requests() {
		if r.Path == "/api/0/projects/" {
			projectPages++
		}
		if strings.HasSuffix(r.Path, "/issues/") {
			issuePages++
			if strings.Contains(r.Path, "/"+excluded+"/") || strings.Contains(r.Path, extracttest.ExcludedProject) {
				t.Errorf("issues of the excluded project fetched: %s", r.Path)
			}
		}
	}
	st := s.Stats("sentry_project")
	if st.Excluded != 1 || st.Items != int64(len(projects)) || st.Pages != int64(projectPages) || projectPages < 3 {
		t.Errorf("project stats %+v, %d pages served", st, projectPages)
	}
	if st := s.Stats("sentry_issue"); st.Items != int64(len(issues)) || st.Pages != int64(issuePages) || st.Requests != st.Pages {
		t.Errorf("issue stats %+v, %d pages served", st, issuePages)
	}
	if !strings.HasPrefix(wheres[0], `extractor "sentry_issue": GET `+f.URL+"/api/0/projects/opslevel/") {
		t.Errorf("where %q", wheres[0])
	}
	var sample map[string]any
	if err := json.Unmarshal(s.Sample("sentry_issue"), &sample); err != nil || sample["id"] != issues[0]["id"] {
		t.Errorf("sample %s", s.Sample("sentry_issue"))
	}
}

// The other guides, host changed, against their fakes: every item served
// (and not excluded), with the guide's auth header.
func TestExampleGuides(t *testing.T) {
	cases := []struct {
		file  string
		fake  func(...extracttest.Option) *extracttest.Fake
		kinds []string
	}{
		{"jira-payload-cursor.yaml", extracttest.NewJira, []string{"jira_ticket"}},
		{"pagerduty-skip.yaml", extracttest.NewPagerDuty, []string{"pagerduty_service"}},
		{"honeycomb-for-each.yaml", extracttest.NewHoneycomb, []string{"honeycomb_slo_details", "honeycomb_slos"}},
		{"graphql-post-body.yaml", extracttest.NewOpsLevelGraphQL, []string{"opslevel_dependency_discovery"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f := c.fake()
			defer f.Close()
			s, _ := source(t, example(t, c.file, f.URL, f.Env), extract.Options{})
			for _, kind := range c.kinds {
				items, _, err := stream(s, kind)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := normal(t, items), normal(t, f.Items[kind]); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: got\n%v\nwant\n%v", kind, got, want)
				}
				if len(items) == 0 {
					t.Fatalf("%s: no items", kind)
				}
			}
			for _, r := range f.Requests() {
				if r.Status != 200 {
					t.Errorf("%s %s?%s: %d", r.Method, r.Path, r.RawQuery, r.Status)
				}
			}
		})
	}
}

// Jira's payload cursor: startAt empty first, then startAt + maxResults,
// until an empty page; two Done tickets excluded.
func TestExampleJiraPages(t *testing.T) {
	f := extracttest.NewJira()
	defer f.Close()
	s, _ := source(t, example(t, "jira-payload-cursor.yaml", f.URL, f.Env), extract.Options{})
	if _, _, err := stream(s, "jira_ticket"); err != nil {
		t.Fatal(err)
	}
	var starts []string
	for _, r := range f.Requests() {
		_, after, _ := strings.Cut(r.RawQuery, "startAt=")
		starts = append(starts, after)
	}
	if want := []string{"", "3", "6", "9"}; !slices.Equal(starts, want) {
		t.Fatalf("startAt %q, want %q", starts, want)
	}
	if st := s.Stats("jira_ticket"); st.Excluded != 2 || st.Items != 5 || st.Requests != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// The GraphQL guide's POST body carries the cursor: "" first, then each
// page's endCursor, until an empty page's null.
func TestExampleGraphQLBody(t *testing.T) {
	f := extracttest.NewOpsLevelGraphQL(extracttest.PageSize(2))
	defer f.Close()
	s, _ := source(t, example(t, "graphql-post-body.yaml", f.URL, f.Env), extract.Options{})
	if _, _, err := stream(s, "opslevel_dependency_discovery"); err != nil {
		t.Fatal(err)
	}
	var cursors []any
	for _, r := range f.Requests() {
		var body struct{ Variables map[string]any }
		if r.Method != "POST" || json.Unmarshal([]byte(r.Body), &body) != nil {
			t.Fatalf("%s %q", r.Method, r.Body)
		}
		cursors = append(cursors, body.Variables["endCursor"])
	}
	if want := []any{"", "cursor-2", "cursor-4", "cursor-5"}; !reflect.DeepEqual(cursors, want) {
		t.Fatalf("cursors %v, want %v", cursors, want)
	}
}

// Honeycomb: one detail request per SLO, the parent visible in Liquid as
// honeycomb_slos.
func TestExampleHoneycombForEach(t *testing.T) {
	f := extracttest.NewHoneycomb()
	defer f.Close()
	s, _ := source(t, example(t, "honeycomb-for-each.yaml", f.URL, f.Env), extract.Options{})
	if _, _, err := stream(s, "honeycomb_slo_details"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range f.Requests() {
		got = append(got, r.Path+"?"+r.RawQuery)
	}
	slices.Sort(got)
	want := []string{"/1/slos/__all__/slo1AbC?detailed=true", "/1/slos/__all__/slo2AbC?detailed=true", "/1/slos/__all__/slo3AbC?detailed=true", "/1/slos/__all__?"}
	if !slices.Equal(got, want) {
		t.Fatalf("requests %q", got)
	}
}

// Kyverno's extractor is pushed to OpsLevel: it parses, and has nothing to
// poll.
func TestExamplePush(t *testing.T) {
	s, _ := source(t, example(t, "kyverno-two-transforms.yaml", "http://unused", nil), extract.Options{})
	if s.Has("kyverno_issues") {
		t.Fatal("a push extractor is not pollable")
	}
	if _, _, err := stream(s, "kyverno_issues"); !errors.Is(err, extract.ErrPush) {
		t.Fatalf("got %v", err)
	}
}

// A 429's Retry-After is waited, then the request is made again.
func TestRetryAfter(t *testing.T) {
	f := extracttest.NewPagerDuty(extracttest.RateLimitOnce("7"))
	defer f.Close()
	s, w := source(t, example(t, "pagerduty-skip.yaml", f.URL, f.Env), extract.Options{})
	items, _, err := stream(s, "pagerduty_service")
	if err != nil || len(items) != len(f.Items["pagerduty_service"]) {
		t.Fatalf("%d items, %v", len(items), err)
	}
	if !slices.Contains(w.d, 7*time.Second) {
		t.Fatalf("waits %v, want the 7s Retry-After asked", w.d)
	}
	if r := f.Requests(); len(r) != 2 || r[0].Status != 429 || r[1].Status != 200 {
		t.Fatalf("requests %+v", r)
	}
	// plan shows what was asked of the server, retries included, as it
	// does for Sentry's kinds.
	if st := s.Stats("pagerduty_service"); st.Requests != 2 || st.Pages != 1 {
		t.Errorf("stats %+v, want 2 requests (the 429 and its retry) for 1 page", st)
	}
}

// A server handing out the same cursor again is stopped, not followed
// forever, and nothing of the kind is streamed.
func TestRepeatedCursor(t *testing.T) {
	f := extracttest.NewSentry(sentrytest.WithPageSize(2))
	defer f.Close()
	f.AddFault(sentrytest.Fault{PathContains: "/api/0/projects/", RepeatCursor: true, AfterRequests: 1})
	s, _ := source(t, example(t, "sentry.yaml", f.URL, f.Env), extract.Options{})
	n := 0
	err := s.Stream(context.Background(), "sentry_project", func(items [][]byte, _ []string) error { n += len(items); return nil })
	if err == nil || !strings.Contains(err.Error(), "next_cursor repeats") || n != 0 {
		t.Fatalf("got %v after %d items", err, n)
	}
	if _, _, err := stream(s, "sentry_issue"); err == nil || !strings.Contains(err.Error(), "for_each parent failed") {
		t.Fatalf("child: %v", err)
	}
}

// A chain longer than max_pages is an error.
func TestPageBound(t *testing.T) {
	f := extracttest.NewJira(extracttest.PageSize(1))
	defer f.Close()
	data, _ := os.ReadFile("../../examples/opslevel/jira-payload-cursor.yaml")
	data = bytes.Replace(data, []byte("    iterator:"), []byte("    max_pages: 3\n    iterator:"), 1)
	lists, err := extracttest.ExtractorLists(extracttest.WithHost(data, f.URL))
	if err != nil {
		t.Fatal(err)
	}
	d, err := extract.Parse("j.yaml", extracttest.Compiler("j.yaml"), func(k string) string { return f.Env[k] }, lists...)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := source(t, d, extract.Options{})
	if _, _, err := stream(s, "jira_ticket"); err == nil || !strings.Contains(err.Error(), "more than 3 pages") {
		t.Fatalf("got %v", err)
	}
	if n := len(f.Requests()); n != 3 {
		t.Fatalf("%d requests", n)
	}
	// Options.MaxPages, for extractors without max_pages.
	d2 := example(t, "jira-payload-cursor.yaml", f.URL, f.Env)
	s2, _ := source(t, d2, extract.Options{MaxPages: 2})
	if _, _, err := stream(s2, "jira_ticket"); err == nil || !strings.Contains(err.Error(), "more than 2 pages") {
		t.Fatalf("got %v", err)
	}
}

// A server that quotes the Authorization header back in an error body:
// the token shows in no error and no log line, at debug level too.
func TestSecretEchoedInError(t *testing.T) {
	f := extracttest.NewSentry()
	defer f.Close()
	f.AddFault(sentrytest.Fault{PathContains: "/api/0/projects/", EchoAuth: true, Status: 400})
	var log bytes.Buffer
	s, _ := source(t, example(t, "sentry.yaml", f.URL, f.Env), extract.Options{
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	_, _, err := stream(s, "sentry_issue")
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), sentrytest.Token) || strings.Contains(log.String(), sentrytest.Token) {
		t.Fatalf("token shown:\n%v\n%s", err, log.String())
	}
	if log.Len() == 0 {
		t.Fatal("no log lines to check")
	}
}

// A secret in the URL (a query parameter) and in a Basic header: a server
// echoing both, in an error and in the items it serves, shows neither in
// errors, logs, items or wheres.
func TestSecretInURL(t *testing.T) {
	const secret = "s3cr3t/with+chars=="
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo := r.URL.String() + " " + fmt.Sprint(r.Header)
		if fail {
			fail = false
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "forbidden: %s", echo)
			return
		}
		json.NewEncoder(w).Encode([]map[string]string{{"id": "1", "echo": echo}})
	}))
	defer srv.Close()
	src := "extractors:\n- external_kind: a\n  external_id: .id\n  iterator: .\n  http_polling:\n    url: " + srv.URL +
		"/x?key={{ 'api_key' | secret | url_encode }}\n    headers:\n    - {name: Authorization, value: \"Basic {{ 'api_key' | secret | prepend: 'me:' | base64_encode }}\"}\n"
	var log bytes.Buffer
	check := func(what, text string) {
		t.Helper()
		for _, form := range []string{secret, "s3cr3t%2Fwith%2Bchars%3D%3D", "bWU6czNjcjN0L3dpdGgrY2hhcnM9PQ=="} {
			if strings.Contains(text, form) {
				t.Fatalf("%s shows %q:\n%s", what, form, text)
			}
		}
	}
	for _, pass := range []int{1, 2} {
		d, err := parse(t, src, env(map[string]string{"API_KEY": secret}))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := source(t, d, extract.Options{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		items, wheres, err := stream(s, "a")
		if pass == 1 {
			if err == nil || !strings.Contains(err.Error(), "HTTP 403") {
				t.Fatalf("got %v", err)
			}
			check("the error", err.Error())
			continue
		}
		if err != nil || len(items) != 1 {
			t.Fatalf("%v %v", items, err)
		}
		check("the item", fmt.Sprint(items))
		check("the where", strings.Join(wheres, "\n"))
		if !strings.Contains(fmt.Sprint(items), "[redacted]") {
			t.Fatalf("nothing redacted in %v", items)
		}
	}
	check("the log", log.String())
}

// The Sentry guide with SENTRY_API_TOKEN unset: the config loads (a dump
// can be mapped or replayed without it), and polling is refused with an
// error naming the variable and where the secret is used, before any
// request.
func TestMissingSecret(t *testing.T) {
	data, _ := os.ReadFile("../../examples/opslevel/sentry.yaml")
	lists, _ := extracttest.ExtractorLists(data)
	d, err := extract.Parse("sentry.yaml", extracttest.Compiler("sentry.yaml"), env(nil), lists...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := extract.NewSource(d, extract.Options{})
	if s != nil || err == nil || !strings.Contains(err.Error(), "SENTRY_API_TOKEN") ||
		!strings.Contains(err.Error(), `sentry.yaml:14:14: extractor "sentry_project" (#1): http_polling.headers[1].value: secret not set`) {
		t.Fatalf("got %v", err)
	}
}

// A header cursor without its header is not the end of the list: a proxy
// that strips Link, on the first page of Sentry's list or on a later
// page of any chain, makes the extractor incomplete (nothing deleted)
// instead of ending it early.
func TestMissingLinkIsIncomplete(t *testing.T) {
	for _, after := range []int{0, 1} {
		f := extracttest.NewSentry(sentrytest.WithPageSize(2))
		f.AddFault(sentrytest.Fault{PathContains: "/api/0/projects/", NoLink: true, AfterRequests: after})
		s, _ := source(t, example(t, "sentry.yaml", f.URL, f.Env), extract.Options{})
		if _, _, err := stream(s, "sentry_project"); err == nil || !strings.Contains(err.Error(), "no Link header") {
			t.Errorf("Link stripped after %d requests: %v", after, err)
		}
		f.Close()
	}
}
