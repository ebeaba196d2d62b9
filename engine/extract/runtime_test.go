package extract_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gitalog/gitalog/engine/extract"
)

// server answers each request with the body pages gives for its query's
// page parameter (page "" first), and the Link header link gives.
func server(t *testing.T, pages map[string]string, link func(r *http.Request) string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		body, ok := pages[r.URL.Query().Get("page")]
		if !ok {
			http.Error(w, "no such page", http.StatusNotFound)
			return
		}
		if link != nil {
			if l := link(r); l != "" {
				w.Header().Set("Link", l)
			}
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func one(t *testing.T, src string) *extract.Source {
	t.Helper()
	d, err := parse(t, src, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := source(t, d, extract.Options{})
	return s
}

// Items with one external id are one item, the later winning in the
// earlier's place; exclude drops; a payload cursor pages.
func TestDedupeAndExclude(t *testing.T) {
	srv, _ := server(t, map[string]string{
		"":   `{"items":[{"id":1,"v":"a"},{"id":2,"v":"b"},{"id":3,"skip":true}],"next":"p2"}`,
		"p2": `{"items":[{"id":1,"v":"c"},{"id":"4","v":"d"}],"next":null}`,
	}, nil)
	s := one(t, "extractors:\n- external_kind: k\n  iterator: .items\n  external_id: .id\n  exclude: .skip\n  http_polling:\n    url: "+srv.URL+"/?page={{ cursor }}\n    next_cursor: {from: payload, value: .next}\n")
	items, _, err := stream(s, "k")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(items); got != "[map[id:1 v:c] map[id:2 v:b] map[id:4 v:d]]" {
		t.Fatalf("items %s", got)
	}
	if st := s.Stats("k"); st != (extract.Stats{Requests: 2, Pages: 2, Items: 3, Excluded: 1, Duplicates: 1}) {
		t.Fatalf("stats %+v", st)
	}
}

// The iterator rule: an array is its elements, several outputs are each
// an item, one object is one item, no iterator is the whole body.
func TestIterator(t *testing.T) {
	srv, _ := server(t, map[string]string{"": `{"a":[{"id":1},{"id":2}],"o":{"id":3}}`}, nil)
	for _, c := range []struct {
		iterator string
		want     []string
	}{
		{"iterator: .a\n  ", []string{"1", "2"}},
		{"iterator: .a[]\n  ", []string{"1", "2"}},
		{"iterator: .o\n  ", []string{"3"}},
		{"iterator: '[.a[], .o]'\n  ", []string{"1", "2", "3"}},
		{"", []string{"body"}},
	} {
		id := ".id"
		if c.iterator == "" {
			id = `"body"`
		}
		s := one(t, "extractors:\n- external_kind: k\n  "+c.iterator+"external_id: '"+id+"'\n  http_polling: {url: '"+srv.URL+"/'}\n")
		items, _, err := stream(s, "k")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			if c.iterator == "" {
				got = append(got, "body")
			} else {
				got = append(got, fmt.Sprint(it["id"]))
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.iterator, got, c.want)
		}
	}
}

// What must not pass for a complete extraction: an iterator that finds no
// list (an error inside a 200), an item without an id.
func TestIncompleteIsError(t *testing.T) {
	srv, _ := server(t, map[string]string{"": `{"errorMessages":["token expired"]}`, "x": `[{"id":1},{"name":"no id"}]`}, nil)
	for _, c := range []struct{ src, want string }{
		{"  iterator: .issues\n  external_id: .id\n  http_polling: {url: '" + srv.URL + "/'}\n", `iterator ".issues" gave null`},
		{"  iterator: .\n  external_id: .id\n  http_polling: {url: '" + srv.URL + "/?page=x'}\n", `item 2: external_id: gave null`},
		{"  iterator: .\n  external_id: '.id, .id'\n  http_polling: {url: '" + srv.URL + "/?page=x'}\n", `item 1: external_id: gave`},
	} {
		s := one(t, "extractors:\n- external_kind: k\n"+c.src)
		called := false
		err := s.Stream(context.Background(), "k", func([][]byte, []string) error { called = true; return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) || called {
			t.Errorf("got %v (fn called: %v), want %q", err, called, c.want)
		}
	}
}

// A Link header that points at another host is not followed with the
// headers (the token) of the definition.
func TestCursorToAnotherHost(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request to the other host: %s", r.URL)
		fmt.Fprint(w, "[]")
	}))
	defer other.Close()
	srv, _ := server(t, map[string]string{"": `[{"id":1}]`}, func(r *http.Request) string {
		return "<" + other.URL + `/steal?page=2>; rel="next"; results="true"; cursor="2"`
	})
	s := one(t, "extractors:\n- external_kind: k\n  iterator: .\n  external_id: .id\n  http_polling:\n    url: \"{% if cursor %}{{ cursor }}{% else %}"+srv.URL+"/{% endif %}\"\n    headers: [{name: Authorization, value: secret-ish}]\n    next_cursor: {from: header, value: 'if .link.next.attributes.results == \"true\" then .link.next.target_url else null end'}\n")
	if _, _, err := stream(s, "k"); err == nil || !strings.Contains(err.Error(), "not a host the url template names") {
		t.Fatalf("got %v", err)
	}
}

// The header object next_cursor from: header sees.
func TestHeaderObject(t *testing.T) {
	h := http.Header{}
	h.Set("X-Hits", "12")
	h.Set("Link", `<https://sentry.io/api/0/projects/?&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", <https://sentry.io/api/0/projects/?&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"`)
	got := extract.HeaderObject(h)
	want := map[string]any{
		"x-hits": "12",
		"link": map[string]any{
			"previous": map[string]any{"target_url": "https://sentry.io/api/0/projects/?&cursor=0:0:1", "attributes": map[string]any{"results": "false", "cursor": "0:0:1"}},
			"next":     map[string]any{"target_url": "https://sentry.io/api/0/projects/?&cursor=0:100:0", "attributes": map[string]any{"results": "true", "cursor": "0:100:0"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}

// A cursor of null, false, "" or no output ends the chain; a number is
// a cursor like a string.
func TestCursorEnds(t *testing.T) {
	for _, end := range []string{`null`, `false`, `""`, `empty`} {
		srv, n := server(t, map[string]string{
			"":  `{"items":[{"id":1}],"next":2}`,
			"2": `{"items":[{"id":2}],"next":"end"}`,
		}, nil)
		s := one(t, "extractors:\n- external_kind: k\n  iterator: .items\n  external_id: .id\n  http_polling:\n    url: "+srv.URL+"/?page={{ cursor }}\n    next_cursor: {from: payload, value: 'if .next == \"end\" then "+end+" else .next end'}\n")
		items, _, err := stream(s, "k")
		if err != nil || len(items) != 2 || n.Load() != 2 {
			t.Errorf("%s: %d items, %d requests, %v", end, len(items), n.Load(), err)
		}
	}
}

// One failed chain of a fan-out fails the kind, naming the parent item;
// the parent itself is complete and streams.
func TestFanOutChainFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/p":
			fmt.Fprint(w, `[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d"},{"id":"e"},{"id":"f"}]`)
		case "/c/c":
			http.Error(w, `{"detail":"gone"}`, http.StatusNotFound)
		default:
			fmt.Fprintf(w, `[{"id":%q}]`, r.URL.Path)
		}
	}))
	defer srv.Close()
	s := one(t, "extractors:\n- external_kind: p\n  iterator: .\n  external_id: .id\n  http_polling: {url: '"+srv.URL+"/p'}\n"+
		"- external_kind: ch\n  iterator: .\n  external_id: .id\n  http_polling: {url: '"+srv.URL+"/c/{{ p.id }}', for_each: p}\n")
	_, _, err := stream(s, "ch")
	if err == nil || !strings.Contains(err.Error(), `extractor "ch" (#2), for p item "c": GET `+srv.URL+`/c/c: HTTP 404`) {
		t.Fatalf("got %v", err)
	}
	if items, _, err := stream(s, "p"); err != nil || len(items) != 6 {
		t.Fatalf("parent: %d items, %v", len(items), err)
	}
}

// A response header quoting the token, read by next_cursor from: header,
// shows redacted in the error of a jq expression that fails on it.
func TestHeaderEchoRedacted(t *testing.T) {
	const secret = "hdr-secret-123456"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		fmt.Fprint(w, `[{"id":1}]`)
	}))
	defer srv.Close()
	d, err := parse(t, "extractors:\n- external_kind: k\n  iterator: .\n  external_id: .id\n  http_polling:\n    url: "+srv.URL+"/\n    headers: [{name: Authorization, value: \"Bearer {{ 'tok' | secret }}\"}]\n    next_cursor: {from: header, value: '.[\"x-echo\"] | tonumber'}\n",
		env(map[string]string{"TOK": secret}))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := source(t, d, extract.Options{})
	_, _, err = stream(s, "k")
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("got %v", err)
	}
}

// A parent without items (all excluded, or none) fans out to nothing:
// the child is complete and empty, with no request sent.
func TestFanOutNoParents(t *testing.T) {
	var child atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/p" {
			child.Add(1)
		}
		fmt.Fprint(w, `[{"id":"a","off":true}]`)
	}))
	defer srv.Close()
	s := one(t, "extractors:\n- external_kind: p\n  iterator: .\n  external_id: .id\n  exclude: .off\n  http_polling: {url: '"+srv.URL+"/p'}\n"+
		"- external_kind: ch\n  iterator: .\n  external_id: .id\n  http_polling: {url: '"+srv.URL+"/c/{{ p.id }}', for_each: p}\n")
	items, _, err := stream(s, "ch")
	if err != nil || len(items) != 0 || child.Load() != 0 {
		t.Fatalf("%d items, %d child requests, %v", len(items), child.Load(), err)
	}
}
