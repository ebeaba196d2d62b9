package sentry

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/jsonx"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// streamRaw collects Stream's batches, items decoded, and checks that each
// batch is raw (its items' JSON as received, each placed in its response)
// exactly when the kind allows it.
func streamRaw(t *testing.T, s *Source, kind string, params map[string]any, wantRaw bool) ([]any, int, error) {
	t.Helper()
	var got []any
	batches := 0
	where := regexp.MustCompile(`^GET /api/0/\S+ item [0-9]+$`)
	err := s.Stream(context.Background(), kind, params, func(b Batch) error {
		batches++
		if len(b.Where) != len(b.Items) {
			t.Fatalf("%s: %d items, %d places", kind, len(b.Items), len(b.Where))
		}
		for i, raw := range b.Items {
			if where.MatchString(b.Where[i]) != wantRaw {
				t.Errorf("%s: where %q; want raw %v", kind, b.Where[i], wantRaw)
			}
			v, err := jsonx.Decode(raw)
			if err != nil {
				t.Fatalf("%s: %s: %v", kind, b.Where[i], err)
			}
			got = append(got, v)
		}
		return nil
	})
	return got, batches, err
}

// TestStreamRawMatchesFetch: Stream's items, decoded, are Fetch's, in
// order, for every kind and both team variants; the kinds the client
// changes nothing in come raw.
func TestStreamRawMatchesFetch(t *testing.T) {
	srv := sentrytest.NewHandler(sentrytest.Demo(), sentrytest.WithPageSize(3))
	newSource := func() *Source { return pagedSource(t, srv) }
	raws := map[string]bool{}
	for _, members := range []bool{true, false} {
		for _, kind := range KindNames() {
			params := map[string]any{"includeMembers": members, "search": ""}
			want, err := newSource().Fetch(context.Background(), kind, params)
			if err != nil {
				t.Fatal(err)
			}
			_, sel := Variant(kind, params)
			raw := Raw(Kinds[kind], sel)
			if raw {
				raws[kind] = true
			}
			var progress []int
			s := newSource()
			s.Progress = func(k string, n int) {
				if k == kind {
					progress = append(progress, n)
				}
			}
			got, batches, err := streamRaw(t, s, kind, params, raw)
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("%s (members %v): Stream gave %d items, Fetch %d, or others", kind, members, len(got), len(want))
			}
			if len(want) > 3 && batches < 2 {
				t.Errorf("%s: %d items came in %d batch", kind, len(want), batches)
			}
			if len(progress) == 0 || progress[len(progress)-1] != len(want) {
				t.Errorf("%s: progress %v, want it to end at %d", kind, progress, len(want))
			}
		}
	}
	for _, k := range []string{"issue", "user", "team"} {
		if !raws[k] {
			t.Errorf("%s never came raw", k)
		}
	}
	for _, k := range []string{"project", "project-tag", "issue-tag"} {
		if raws[k] {
			t.Errorf("%s came raw, but the client changes its items", k)
		}
	}
}

// TestStreamRawReusesFetchedParents: a kind fetched whole as a parent is
// streamed from that result (decoded) without new requests.
func TestStreamRawReusesFetchedParents(t *testing.T) {
	_, srv, s := demoSource(t, 3)
	want, err := s.Fetch(context.Background(), "issue", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := len(srv.Requests())
	got, _, err := streamRaw(t, s, "issue", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	checkReused(t, srv, before, got, want)
}

// pagesTransport serves the bodies in turn, each linking to the next.
func pagesTransport(bodies ...string) *http.Client {
	return &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
		i := 0
		if c := r.URL.Query().Get("cursor"); c != "" {
			i = int(c[0] - '0')
		}
		h := http.Header{}
		if i+1 < len(bodies) {
			next := *r.URL
			q := next.Query()
			q.Set("cursor", string(rune('0'+i+1)))
			next.RawQuery = q.Encode()
			h.Set("Link", `<`+next.String()+`>; rel="next"; results="true"; cursor="x"`)
		}
		return jsonResp(r, 200, bodies[i], h), nil
	})}
}

// TestStreamPassesRepeatsOn: Sentry's kinds pass every item on, the
// repeated ones too (the sync writes the later copy, and warns).
func TestStreamPassesRepeatsOn(t *testing.T) {
	bodies := []string{
		`[{"id":"1","n":1},{"id":2,"n":2},{"id":"\u0033","n":3},{"n":4},{"id":null,"n":5}]`,
		`[{"id":"1","n":6},{"id":"3","n":7},{"n":8,"id":"2"},{"id":null,"n":9},"s",{"id":"é","n":10},` +
			`{"id":"\u00e9","n":11},{"id":true,"n":12},{"id":"true","n":13},{"id":1e2,"n":14},{"id":{"a":1},"n":15},` +
			`{"id":{"a":1},"n":16},{"id":"x","id":"4","n":17},{"id":"4","n":18}]`,
	}
	o := fastOpts(nil)
	o.HTTPClient = pagesTransport(bodies...)
	c, err := NewClient("https://sentry.example", "tok", o)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := streamRaw(t, &Source{Client: c, Org: "o"}, "user", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 19 {
		g, _ := json.Marshal(got)
		t.Errorf("user: kept %d items, want 19: %s", len(got), g)
	}
}

// TestStreamRawErrors: retries, bad bodies and fan-out failures read as
// they do for decoded items.
func TestStreamRawErrors(t *testing.T) {
	// A truncated page is retried in place.
	d, s, src := demoSource(t, 2)
	s.AddFault(sentrytest.Fault{PathContains: "/members/", TruncateBody: true, AfterRequests: 1, Times: 2})
	got, _, err := streamRaw(t, src, "user", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(d.Members) {
		t.Errorf("%d users, want %d", len(got), len(d.Members))
	}
	if st := src.Client.Stats(); st.Retries != 2 {
		t.Errorf("stats %+v, want 2 retries", st)
	}

	// A failing parent fails the kind, naming the parent and the request.
	_, s, src = demoSource(t, 100)
	s.AddFault(sentrytest.Fault{PathContains: "/issues/", Status: 403})
	_, _, err = streamRaw(t, src, "issue", nil, true)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"fetching issues of project", "HTTP 403", `"event:read"`, "/api/0/organizations/acme-corp/issues/", "more failed requests"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}

	// Bodies that are not arrays, or not JSON: not retried either way.
	for body, want := range map[string]string{
		`{"detail":"x"}`: "GET /organizations/o/members/: expected a JSON array, got an object",
		`[1] [2]`:        "fetching users: GET /api/0/organizations/o/members/?per_page=100: the response is not valid JSON (7 bytes): data after its JSON value",
		`"str"`:          "expected a JSON array, got a string",
		`null`:           "expected a JSON array, got null",
		`[{"id":1},`:     "not valid JSON",
	} {
		o := fastOpts(nil)
		o.MaxAttempts = 2
		n := 0
		o.HTTPClient = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
			n++
			return jsonResp(r, 200, body, nil), nil
		})}
		c, _ := NewClient("https://sentry.example", "tok", o)
		err := (&Source{Client: c, Org: "o"}).Stream(context.Background(), "user", nil, func(Batch) error { return nil })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("body %s: err = %v, want %q", body, err, want)
		}
		if n != 1 { // not retried
			t.Errorf("body %s: %d requests", body, n)
		}
	}
}

func TestReadBody(t *testing.T) {
	body := strings.Repeat("x", 1000)
	for _, n := range []int64{-1, 0, 1, 999, 1000, 1001, 5000, 1 << 40} {
		got, err := readBody(strings.NewReader(body), n)
		// Fewer bytes than announced: the transfer was cut short.
		want := error(nil)
		if n > 1000 {
			want = io.ErrUnexpectedEOF
		}
		if err != want || string(got) != body {
			t.Errorf("length %d: got %d bytes, %v", n, len(got), err)
		}
	}
}

// TestStreamRawExpectedParent: a kind another resource of the run fans out
// over is fetched whole once, whether it is streamed before or after that
// resource, and streamed from that result.
func TestStreamRawExpectedParent(t *testing.T) {
	for _, tc := range []struct {
		order   []string
		lastRaw bool // the second kind comes raw
	}{{[]string{"issue", "issue-tag"}, false}, {[]string{"issue-tag", "issue"}, false}, {[]string{"project", "issue"}, true}} {
		order := tc.order
		_, srv, s := demoSource(t, 3)
		params := map[string]any{"search": ""}
		want, err := s.Fetch(context.Background(), order[0], params)
		if err != nil {
			t.Fatal(err)
		}
		_, srv, s = demoSource(t, 3)
		for _, k := range order {
			s.Expect(k, params)
		}
		got, _, err := streamRaw(t, s, order[0], params, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := streamRaw(t, s, order[1], params, tc.lastRaw); err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%v: %s streamed other items than Fetch's", order, order[0])
		}
		for _, path := range []string{"/projects/", "/issues/"} {
			pages := map[string]int{}
			for _, r := range srv.Requests() {
				if strings.HasSuffix(r.Path, path) {
					pages[r.RawQuery]++
				}
			}
			for q, n := range pages {
				if n > 1 {
					t.Errorf("%v: %s?%s fetched %d times", order, path, q, n)
				}
			}
		}
	}
}
