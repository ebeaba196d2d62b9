package sentrytest

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func get(t testing.TB, s *Server, path string) response {
	t.Helper()
	return getWith(t, s, path, "Bearer "+Token)
}

func getWith(t testing.TB, s *Server, path, auth string) response {
	t.Helper()
	url := path
	if !strings.HasPrefix(path, "http") {
		url = s.URL + path
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %.200s: %v", b, err)
	}
	return v
}

var linkRe = regexp.MustCompile(`<([^>]*)>; rel="(previous|next)"; results="(true|false)"; cursor="([^"]*)"`)

type links struct {
	prevURL, nextURL         string
	prevResults, nextResults bool
	prevCursor, nextCursor   string
}

func parseLink(t testing.TB, h string) links {
	t.Helper()
	parts := strings.Split(h, ", ")
	if len(parts) != 2 {
		t.Fatalf("Link header %q: want 2 links", h)
	}
	var l links
	for i, p := range parts {
		m := linkRe.FindStringSubmatch(p)
		if m == nil || m[0] != p {
			t.Fatalf("malformed link %q", p)
		}
		if (i == 0) != (m[2] == "previous") {
			t.Fatalf("links out of order: %q", h)
		}
		if !strings.HasSuffix(m[1], "&cursor="+m[4]) {
			t.Fatalf("link URL %q does not end with its cursor %q", m[1], m[4])
		}
		if m[2] == "previous" {
			l.prevURL, l.prevResults, l.prevCursor = m[1], m[3] == "true", m[4]
		} else {
			l.nextURL, l.nextResults, l.nextCursor = m[1], m[3] == "true", m[4]
		}
	}
	return l
}

// walk follows next links from path and returns every item seen.
func walk(t testing.TB, s *Server, path string) ([]map[string]any, int) {
	t.Helper()
	var all []map[string]any
	pages := 0
	for url := path; ; {
		r := get(t, s, url)
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %s", url, r.Status, r.Body)
		}
		pages++
		all = append(all, decode[[]map[string]any](t, r.Body)...)
		l := parseLink(t, r.Header.Get("Link"))
		if !l.nextResults {
			return all, pages
		}
		url = l.nextURL
		if pages > 100000 {
			t.Fatal("pagination does not end")
		}
	}
}
