package sentry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/jsonx"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// logBuf is a goroutine-safe buffer for a captured debug log.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fastOpts retry quickly: no test waits for a real backoff or reset.
func fastOpts(log io.Writer) ClientOptions {
	o := ClientOptions{Backoff: time.Millisecond, MaxWait: 5 * time.Millisecond, MaxAttempts: 6}
	if log != nil {
		o.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o
}

// fake serves d in process and returns a client for it.
func fake(t *testing.T, d *sentrytest.Dataset, token string, o ClientOptions, opts ...sentrytest.Option) (*sentrytest.Server, *Client) {
	t.Helper()
	s := sentrytest.NewHandler(d, opts...)
	o.HTTPClient = s.Client()
	c, err := NewClient(s.URL, token, o)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// listIDs lists path and returns the "id" of every item, in order.
func listIDs(t *testing.T, c *Client, path string, q url.Values) ([]string, error) {
	t.Helper()
	var ids []string
	err := listItems(c, context.Background(), path, q, "project:read", func(items []any) error {
		for _, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return fmt.Errorf("item %T", it)
			}
			ids = append(ids, fmt.Sprint(m["id"]))
		}
		return nil
	})
	return ids, err
}

func checkOnce(t *testing.T, got []string, want int) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("item %s seen twice", id)
		}
		seen[id] = true
	}
	if len(got) != want {
		t.Errorf("got %d items, want %d", len(got), want)
	}
}

func TestParseBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://sentry.io":              "https://sentry.io",
		"https://sentry.io/":             "https://sentry.io",
		"https://sentry.io/api/0":        "https://sentry.io",
		"https://sentry.io/api/0/":       "https://sentry.io",
		" https://de.sentry.io ":         "https://de.sentry.io",
		"http://host:9000/sentry/api/0/": "http://host:9000/sentry",
		"https://sentry.io/?x=1#frag":    "https://sentry.io",
	} {
		u, err := ParseBaseURL(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseBaseURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, in := range []string{"", "sentry.io", "ftp://sentry.io", "https://", "://x"} {
		if _, err := ParseBaseURL(in); err == nil {
			t.Errorf("ParseBaseURL(%q) accepted", in)
		}
	}
	c, _ := NewClient("https://h.example/base/api/0/", "t", ClientOptions{})
	if got := c.URL("/organizations/o/issues/", url.Values{"query": {""}, "a": {"b c"}}); got != "https://h.example/base/api/0/organizations/o/issues/?a=b+c&query=" {
		t.Errorf("URL = %s", got)
	}
}

func TestListPaginationVisitsEveryItemOnce(t *testing.T) {
	gen := sentrytest.Generate(sentrytest.GenOptions{Seed: 7, Projects: 23, Teams: 7, Members: 31, Issues: 157})
	for _, tc := range []struct {
		name, path string
		q          url.Values
		want       int
		pageSize   int
	}{
		{"projects, no query (?&cursor=)", "/organizations/gen-org/projects/", nil, 23, 1},
		{"projects, page 4", "/organizations/gen-org/projects/", nil, 23, 4},
		{"projects, exact pages", "/organizations/gen-org/projects/", url.Values{"per_page": {"100"}}, 23, 23},
		{"members", "/organizations/gen-org/members/", nil, 31, 3},
		{"teams", "/organizations/gen-org/teams/", url.Values{"detailed": {"0"}}, 7, 2},
		{"all issues", "/organizations/gen-org/issues/", url.Values{"query": {""}, "limit": {"100"}}, 157, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := fake(t, gen, sentrytest.Token, fastOpts(nil), sentrytest.WithPageSize(tc.pageSize))
			ids, err := listIDs(t, c, tc.path, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			checkOnce(t, ids, tc.want)
			pages := (tc.want + tc.pageSize - 1) / tc.pageSize
			if n := len(s.Requests()); n != pages {
				t.Errorf("%d requests, want %d (one per page)", n, pages)
			}
			if st := c.Stats(); st.Pages != int64(pages) || st.Retries != 0 || st.Requests != int64(pages) {
				t.Errorf("stats %+v, want %d pages", st, pages)
			}
			for _, r := range s.Requests() {
				if r.Header.Get("Authorization") != "Bearer "+sentrytest.Token || r.Status != 200 {
					t.Errorf("request %s?%s: status %d", r.Path, r.RawQuery, r.Status)
				}
			}
		})
	}
}

func TestListRetries429Storm(t *testing.T) {
	d := sentrytest.Demo()
	s, c := fake(t, d, sentrytest.Token, fastOpts(nil), sentrytest.WithPageSize(2))
	s.AddFault(sentrytest.Fault{PathContains: "/members/", Status: 429, AfterRequests: 1, Times: 4})
	ids, err := listIDs(t, c, "/organizations/acme-corp/members/", nil)
	if err != nil {
		t.Fatal(err)
	}
	checkOnce(t, ids, len(d.Members))
	n429 := 0
	for _, r := range s.Requests() {
		if r.Status == 429 {
			n429++
		}
	}
	if n429 != 4 || c.Stats().Retries != 4 {
		t.Errorf("%d 429s, %d retries; want 4 each", n429, c.Stats().Retries)
	}
}

// A real windowed limiter: far more requests than the window allows; the
// client must keep going until every page is in.
func TestListRateLimiterStorm(t *testing.T) {
	d := sentrytest.Generate(sentrytest.GenOptions{Seed: 3, Projects: 40})
	o := fastOpts(nil)
	o.MaxAttempts = 1000
	o.Concurrency = 8
	s, c := fake(t, d, sentrytest.Token, o, sentrytest.WithPageSize(1), sentrytest.WithRateLimit(5, 20*time.Millisecond))
	ids, err := listIDs(t, c, "/organizations/gen-org/projects/", nil)
	if err != nil {
		t.Fatal(err)
	}
	checkOnce(t, ids, 40)
	ok := 0
	for _, r := range s.Requests() {
		if r.Status == 200 {
			ok++
		}
	}
	if ok != 40 {
		t.Errorf("%d successful requests, want 40", ok)
	}
}

func TestListRetries5xxMidPagination(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			d := sentrytest.Demo()
			s, c := fake(t, d, sentrytest.Token, fastOpts(nil), sentrytest.WithPageSize(2))
			s.AddFault(sentrytest.Fault{PathContains: "/members/", Status: status, AfterRequests: 2, Times: 3})
			ids, err := listIDs(t, c, "/organizations/acme-corp/members/", nil)
			if err != nil {
				t.Fatal(err)
			}
			checkOnce(t, ids, len(d.Members))
			reqs := s.Requests()
			// Requests 3-5 failed; the 6th retried the same page.
			if len(reqs) < 6 || reqs[2].Status != status || reqs[5].Status != 200 || reqs[5].RawQuery != reqs[2].RawQuery {
				for _, r := range reqs {
					t.Logf("%d %s?%s", r.Status, r.Path, r.RawQuery)
				}
				t.Errorf("the failing page was not retried in place")
			}
		})
	}
}

func TestTruncatedJSON(t *testing.T) {
	d := sentrytest.Demo()
	s, c := fake(t, d, sentrytest.Token, fastOpts(nil), sentrytest.WithPageSize(2))
	s.AddFault(sentrytest.Fault{PathContains: "/projects/", TruncateBody: true, AfterRequests: 1, Times: 2})
	ids, err := listIDs(t, c, "/organizations/acme-corp/projects/", nil)
	if err != nil {
		t.Fatal(err)
	}
	checkOnce(t, ids, len(d.Projects))

	o := fastOpts(nil)
	o.MaxAttempts = 3
	s, c = fake(t, d, sentrytest.Token, o)
	s.AddFault(sentrytest.Fault{PathContains: "/projects/", TruncateBody: true})
	_, err = listIDs(t, c, "/organizations/acme-corp/projects/", nil)
	if err == nil {
		t.Fatal("a body that is always truncated was accepted")
	}
	for _, want := range []string{"giving up after 3 attempts", "/api/0/organizations/acme-corp/projects/", "reading body: unexpected EOF"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if n := len(s.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestAuthErrorsNameEndpointStatusScope(t *testing.T) {
	const secret = "sntrys_THIS_IS_SECRET_abc123"
	for _, tc := range []struct {
		name   string
		token  string
		fault  int
		status int
		want   []string
	}{
		{"bad token", secret, 0, 401, []string{"HTTP 401", "invalid, expired or revoked", `"project:read"`, "Invalid token"}},
		{"forbidden", sentrytest.Token, 403, 403, []string{"HTTP 403", `lacks the "project:read" scope`, "permission"}},
		{"not found", sentrytest.Token, 404, 404, []string{"HTTP 404", "does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log logBuf
			s, c := fake(t, sentrytest.Demo(), tc.token, fastOpts(&log))
			if tc.fault != 0 {
				s.AddFault(sentrytest.Fault{Status: tc.fault})
			}
			_, err := listIDs(t, c, "/organizations/acme-corp/projects/", url.Values{"per_page": {"100"}})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			want := append([]string{"GET /api/0/organizations/acme-corp/projects/?per_page=100"}, tc.want...)
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != tc.status {
				t.Errorf("error is not an HTTPError with status %d: %#v", tc.status, err)
			}
			if n := len(s.Requests()); n != 1 {
				t.Errorf("a %d was retried: %d requests", tc.status, n)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, sentrytest.Token) || strings.Contains(log.String(), secret) || strings.Contains(log.String(), sentrytest.Token) {
				t.Errorf("the token leaked:\n%s\n%s", msg, log.String())
			}
		})
	}
}

// TestTokenNeverLeaks runs every failure path with a debug logger and
// checks neither errors nor logs hold the token.
func TestTokenNeverLeaks(t *testing.T) {
	faults := []sentrytest.Fault{
		{Status: 401}, {Status: 403}, {Status: 404}, {Status: 429, Times: 2}, {Status: 500},
		{Status: 502, Times: 1}, {TruncateBody: true}, {Status: 400, Body: `{"detail":"Authorization: Bearer ` + sentrytest.Token + `"}`},
	}
	for i, f := range faults {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var log logBuf
			o := fastOpts(&log)
			o.MaxAttempts = 3
			s, c := fake(t, sentrytest.Demo(), sentrytest.Token, o, sentrytest.WithPageSize(2))
			s.AddFault(f)
			src := &Source{Client: c, Org: "acme-corp"}
			_, err := src.Fetch(context.Background(), "issue", map[string]any{})
			msgs := log.String()
			if err != nil {
				msgs += err.Error()
			}
			if strings.Contains(msgs, sentrytest.Token) {
				t.Errorf("token leaked:\n%s", msgs)
			}
			if !strings.Contains(log.String(), "authorization=[redacted]") {
				t.Errorf("debug log lacks the request lines:\n%s", log.String())
			}
		})
	}
	// Network errors too.
	var log logBuf
	o := fastOpts(&log)
	o.MaxAttempts = 2
	o.HTTPClient = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	})}
	c, _ := NewClient("https://sentry.example", sentrytest.Token, o)
	_, err := c.Object(context.Background(), "/organizations/x/", nil, "org:read")
	if err == nil || strings.Contains(err.Error()+log.String(), sentrytest.Token) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("network error: %v\n%s", err, log.String())
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func jsonResp(r *http.Request, status int, body string, h http.Header) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json")
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: r}
}

func TestRefusesLinkToAnotherHost(t *testing.T) {
	for _, next := range []string{
		"https://evil.example/api/0/organizations/acme/projects/?&cursor=0:1:0",
		"http://sentry.example/api/0/organizations/acme/projects/?&cursor=0:1:0", // scheme downgrade
		"https://sentry.example.evil.example/api/0/x/",
		"https://sentry.example:8443/api/0/x/",
	} {
		t.Run(next, func(t *testing.T) {
			var hosts []string
			o := fastOpts(nil)
			o.HTTPClient = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
				hosts = append(hosts, r.URL.Host)
				h := http.Header{}
				h.Set("Link", `<`+next+`>; rel="next"; results="true"; cursor="0:1:0"`)
				return jsonResp(r, 200, `[{"id":"1"}]`, h), nil
			})}
			c, _ := NewClient("https://sentry.example", "tok", o)
			ids, err := listIDs(t, c, "/organizations/acme/projects/", nil)
			// As for a refused redirect, the error says how to follow it
			// when the other host is where Sentry lives.
			if err == nil || !strings.Contains(err.Error(), "refusing to follow") || !strings.Contains(err.Error(), "sentry.example") || !strings.Contains(err.Error(), "set SENTRY_URL") {
				t.Errorf("err = %v", err)
			}
			if len(hosts) != 1 || len(ids) != 1 {
				t.Errorf("requests to %v, items %v", hosts, ids)
			}
		})
	}
	// A source's client names the source's url: and variable instead:
	// SENTRY_URL is not read for a source.
	o := fastOpts(nil)
	o.SetURL = Settings{Source: "eu"}.SetURLHint()
	o.HTTPClient = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
		h := http.Header{}
		h.Set("Link", `<https://other.example/api/0/x/>; rel="next"; results="true"; cursor="0:1:0"`)
		return jsonResp(r, 200, `[{"id":"1"}]`, h), nil
	})}
	c, _ := NewClient("https://sentry.example", "tok", o)
	_, err := listIDs(t, c, "/organizations/acme/projects/", nil)
	if err == nil || !strings.Contains(err.Error(), "(if Sentry lives there, set the url: of source eu, or SENTRY_URL_EU, to it)") {
		t.Errorf("a source's client: err = %v", err)
	}
}

func TestNonArrayAndTrailingData(t *testing.T) {
	for body, want := range map[string]string{
		`{"detail":"x"}`: "expected a JSON array, got an object",
		`[1] [2]`:        "data after its JSON value",
		`"str"`:          "expected a JSON array, got a string",
	} {
		o := fastOpts(nil)
		o.MaxAttempts = 2
		o.HTTPClient = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
			return jsonResp(r, 200, body, nil), nil
		})}
		c, _ := NewClient("https://sentry.example", "tok", o)
		err := listItems(c, context.Background(), "/x/", nil, "", func([]any) error { return nil })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("body %s: err = %v, want %q", body, err, want)
		}
	}
}

// TestPacing: when few requests are left in the window the client waits for
// the reset instead of running into 429s. With a limit of 4 per one-second
// window and one request in flight, no request may ever be refused.
func TestPacingAvoids429(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for real rate-limit windows")
	}
	d := sentrytest.Demo()
	o := ClientOptions{Concurrency: 1, Backoff: time.Millisecond, MaxWait: 3 * time.Second, MaxAttempts: 1}
	s, c := fake(t, d, sentrytest.Token, o, sentrytest.WithPageSize(1), sentrytest.WithRateLimit(4, time.Second))
	ids, err := listIDs(t, c, "/organizations/acme-corp/members/", nil)
	if err != nil {
		t.Fatalf("%v (MaxAttempts is 1, so any 429 fails the test)", err)
	}
	checkOnce(t, ids, len(d.Members))
	// Ordering: per fake window, at most limit requests were made.
	perWindow := map[int64]int{}
	for _, r := range s.Requests() {
		if r.Status != 200 {
			t.Errorf("request %s?%s answered %d", r.Path, r.RawQuery, r.Status)
		}
		perWindow[r.Time.Unix()]++
	}
	for w, n := range perWindow {
		if n > 4 {
			t.Errorf("%d requests in window %d, limit 4", n, w)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		h    map[string]string
		want time.Duration
	}{
		{nil, 0},
		{map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{map[string]string{"Retry-After": now.Add(2 * time.Second).UTC().Format(http.TimeFormat)}, 2 * time.Second},
		{map[string]string{"X-Sentry-Rate-Limit-Reset": "1700000002"}, 2*time.Second + 100*time.Millisecond},
		{map[string]string{"X-Sentry-Rate-Limit-Reset": "1699999990"}, 100 * time.Millisecond},
		{map[string]string{"X-Sentry-Rate-Limit-Reset": "garbage"}, 0},
		{map[string]string{"Retry-After": "1", "X-Sentry-Rate-Limit-Reset": "1700000009"}, time.Second},
	} {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got, _ := retryAfter(h, now); got != tc.want {
			t.Errorf("retryAfter(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestDetail(t *testing.T) {
	for body, want := range map[string]string{
		`"You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds"`: "You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds",
		`{"detail":"Invalid token"}`:         "Invalid token",
		"<html>502</html>\n":                 "<html>502</html>",
		`{"other":1}`:                        `{"other":1}`,
		strings.Repeat("x", 300):             strings.Repeat("x", 200) + "...",
		`"` + strings.Repeat("y", 250) + `"`: strings.Repeat("y", 200) + "...",
	} {
		if got := clip(detail([]byte(body))); got != want {
			t.Errorf("detail(%.40q) = %q, want %q", body, got, want)
		}
	}
	// A 429 from the fake: the bare-string body is shown.
	s, c := fake(t, sentrytest.Demo(), sentrytest.Token, ClientOptions{MaxAttempts: 1})
	s.AddFault(sentrytest.Fault{Status: 429})
	_, err := c.Object(context.Background(), "/organizations/acme-corp/", nil, "org:read")
	if err == nil || !strings.Contains(err.Error(), "HTTP 429 Too Many Requests: You are attempting to use this endpoint too frequently") {
		t.Errorf("err = %v", err)
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	s, c := fake(t, sentrytest.Demo(), sentrytest.Token, ClientOptions{Backoff: time.Hour, MaxWait: time.Hour})
	s.AddFault(sentrytest.Fault{Status: 500})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Object(ctx, "/organizations/acme-corp/", nil, "org:read")
		done <- err
	}()
	for len(s.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// listItems is Client.List with each page's items decoded, for the tests
// that read them.
func listItems(c *Client, ctx context.Context, path string, q url.Values, scope string, fn func([]any) error) error {
	return (&Source{Client: c}).listDecoded(ctx, path, q, scope, fn)
}

// streamItems is Source.Stream with each batch's items decoded, for the
// tests that read them.
func streamItems(s *Source, ctx context.Context, kind string, params map[string]any, fn func([]any) error) error {
	return s.Stream(ctx, kind, params, func(b Batch) error {
		items := make([]any, len(b.Items))
		for i, raw := range b.Items {
			v, err := jsonx.Decode(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", b.Where[i], err)
			}
			items[i] = v
		}
		return fn(items)
	})
}
