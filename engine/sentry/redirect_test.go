package sentry

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// authSink is a server that records the Authorization headers it gets.
type authSink struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func newAuthSink(t *testing.T) *authSink {
	s := &authSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		w.Header().Set("Link", `<`+"http://"+r.Host+r.URL.Path+`?cursor=0:1:0>; rel="next"; results="false"; cursor="0:1:0"`)
		w.Write([]byte(`[]`))
	}))
	t.Cleanup(s.Close)
	return s
}

func redirectTo(t *testing.T, target func(r *http.Request) string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target(r), http.StatusFound)
	}))
	t.Cleanup(s.Close)
	return s
}

// A redirect to another port of the same host, or to localhost for
// 127.0.0.1, must not carry the token there, and its answer is not taken
// for the list: the request fails, once, naming where it was sent.
func TestRedirectElsewhereRefused(t *testing.T) {
	sink := newAuthSink(t)
	sinkURL, _ := url.Parse(sink.URL)
	for name, host := range map[string]string{
		"other port": sinkURL.Host,
		"localhost":  "localhost:" + sinkURL.Port(),
	} {
		t.Run(name, func(t *testing.T) {
			var hits atomic.Int64
			from := redirectTo(t, func(r *http.Request) string {
				hits.Add(1)
				return "http://" + host + r.URL.RequestURI()
			})
			c, err := NewClient(from.URL, safetyToken, fastOpts(nil))
			if err != nil {
				t.Fatal(err)
			}
			_, err = listIDs(t, c, "/organizations/o/members/", nil)
			if err == nil || !strings.Contains(err.Error(), "redirect to http://"+host+"/api/0/organizations/o/members/") ||
				!strings.Contains(err.Error(), "refusing to follow it") {
				t.Fatalf("err = %v, want the refused redirect named", err)
			}
			if strings.Contains(err.Error(), safetyToken) {
				t.Fatalf("the error quotes the token: %v", err)
			}
			if hits.Load() != 1 {
				t.Errorf("%d requests, want 1: a refused redirect is not retried", hits.Load())
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			for _, a := range sink.auth {
				if strings.Contains(a, safetyToken) {
					t.Fatalf("the token was sent to the redirect target")
				}
			}
			if len(sink.auth) != 0 {
				t.Errorf("the redirect target got %d requests, want none", len(sink.auth))
			}
		})
	}
}

// A redirect on Sentry's own origin is followed, with the token.
func TestRedirectSameOriginFollowed(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/old/") {
			http.Redirect(w, r, "/"+strings.TrimPrefix(r.URL.Path, "/old/"), http.StatusMovedPermanently)
			return
		}
		auth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Link", `<http://`+r.Host+r.URL.Path+`?cursor=0:1:0>; rel="next"; results="false"; cursor="0:1:0"`)
		w.Write([]byte(`[{"id":"1"}]`))
	}))
	defer srv.Close()
	hc := &http.Client{}
	o := fastOpts(nil)
	o.HTTPClient = hc
	c, err := NewClient(srv.URL+"/old", safetyToken, o)
	if err != nil {
		t.Fatal(err)
	}
	if hc.CheckRedirect != nil {
		t.Fatal("NewClient changed the caller's http.Client")
	}
	ids, err := listIDs(t, c, "/organizations/o/members/", nil)
	if err != nil || len(ids) != 1 {
		t.Fatalf("ids %v, err %v", ids, err)
	}
	if got, _ := auth.Load().(string); got != "Bearer "+safetyToken {
		t.Fatalf("Authorization after a same-origin redirect = %q", got)
	}
}

// A redirect loop fails the request once, not after six rounds of ten
// redirects each.
func TestRedirectLoopNotRetried(t *testing.T) {
	var hits atomic.Int64
	var srv *httptest.Server
	srv = redirectTo(t, func(r *http.Request) string {
		hits.Add(1)
		return srv.URL + r.URL.RequestURI()
	})
	c, err := NewClient(srv.URL, safetyToken, fastOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = listIDs(t, c, "/organizations/o/members/", nil)
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("err = %v", err)
	}
	if n := hits.Load(); n > 11 {
		t.Fatalf("%d requests for one redirect loop", n)
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		base, to string
		want     bool
	}{
		{"https://sentry.io", "https://sentry.io/api/0/x/", true},
		{"https://sentry.io", "https://SENTRY.io:443/api/0/x/", true},
		{"http://h:8080", "http://h:8080/x", true},
		{"https://sentry.io", "http://sentry.io/api/0/x/", false},
		{"https://sentry.io", "https://sentry.io:8443/api/0/x/", false},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9001/", false},
		{"http://127.0.0.1:9000", "http://localhost:9000/", false},
		{"https://sentry.io", "https://evil.example/", false},
	} {
		b, _ := ParseBaseURL(tc.base)
		u, _ := url.Parse(tc.to)
		if got := sameOrigin(b, u); got != tc.want {
			t.Errorf("sameOrigin(%s, %s) = %v", tc.base, tc.to, got)
		}
	}
}

// safetyToken looks like a Sentry user token.
const safetyToken = "sntryu_0123456789abcdef0123456789abcdef"
