package sentrytest

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHostileFaults: the fault modes that exercise a client's bounds do
// what they say, and only where they are installed.
func TestHostileFaults(t *testing.T) {
	s := NewServer(Demo(), WithPageSize(2))
	defer s.Close()
	base := s.URL + "/api/0/organizations/acme-corp/members/?per_page=2"

	s.AddFault(Fault{PathContains: "/members/", RepeatCursor: true, Times: 2})
	for _, cursor := range []string{"", "0:2:0"} {
		u := base
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		r := get(t, s, u)
		l := parseLink(t, r.Header.Get("Link"))
		want := cursor
		if want == "" {
			want = "0:0:0"
		}
		if r.Status != 200 || !l.nextResults || l.nextCursor != want || l.nextURL != base+"&cursor="+want {
			t.Errorf("repeat cursor %q: %d %s", cursor, r.Status, r.Header.Get("Link"))
		}
		if len(decode[[]any](t, r.Body)) != 2 {
			t.Errorf("repeat cursor %q: body %s", cursor, r.Body)
		}
	}
	if l := parseLink(t, get(t, s, base).Header.Get("Link")); l.nextCursor != "0:2:0" {
		t.Errorf("the fault outlived Times: %+v", l)
	}

	s.AddFault(Fault{PathContains: "/members/", NoLink: true, Times: 1})
	if r := get(t, s, base); r.Status != 200 || r.Header.Get("Link") != "" || len(decode[[]any](t, r.Body)) != 2 {
		t.Errorf("no link: %d %q %s", r.Status, r.Header.Get("Link"), r.Body)
	}
	if r := get(t, s, base); r.Header.Get("Link") == "" {
		t.Errorf("the no-link fault outlived Times")
	}

	const size = 4 << 20
	s.AddFault(Fault{PathContains: "/teams/", GzipBomb: size, Times: 1})
	req, _ := http.NewRequest("GET", s.URL+"/api/0/organizations/acme-corp/teams/", nil)
	req.Header.Set("Authorization", "Bearer "+Token)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	zr, err := gzip.NewReader(strings.NewReader(string(wire)))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || len(plain) != size || plain[0] != '[' || plain[size-1] != ']' || len(wire) > size/100 {
		t.Errorf("bomb: %d bytes on the wire, %d inflated, %v", len(wire), len(plain), err)
	}
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.StatusCode != 200 {
		t.Errorf("bomb: %d %v", resp.StatusCode, resp.Header)
	}

	s.AddFault(Fault{PathContains: "/projects/", Drip: time.Microsecond, Times: 1})
	dripped := get(t, s, "/api/0/organizations/acme-corp/projects/")
	if normal := get(t, s, "/api/0/organizations/acme-corp/projects/"); dripped.Status != 200 || string(dripped.Body) != string(normal.Body) {
		t.Errorf("drip changed the answer: %d %.100s", dripped.Status, dripped.Body)
	}

	s.AddFault(Fault{PathContains: "/issues/", EchoAuth: true, Status: 400, Times: 1})
	r := get(t, s, "/api/0/organizations/acme-corp/issues/")
	if r.Status != 400 || !strings.Contains(string(r.Body), "Bearer "+Token) {
		t.Errorf("echo: %d %s", r.Status, r.Body)
	}
	s.AddFault(Fault{PathContains: "/issues/", EchoAuth: true, Times: 1})
	if r := get(t, s, "/api/0/organizations/acme-corp/issues/"); r.Status != 500 || !strings.Contains(string(r.Body), Token) {
		t.Errorf("echo: %d %s", r.Status, r.Body)
	}
}
