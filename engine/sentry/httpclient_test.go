package sentry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// An HTTPClient's request carries its own method, headers and body, and
// no Sentry token.
func TestHTTPClientDo(t *testing.T) {
	var got struct {
		method, auth, ctype, body string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.auth, got.ctype, got.body = r.Method, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)
		w.Header().Set("X-Page", "1")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"data":{"n":1}}`)
	}))
	defer srv.Close()
	c := NewHTTPClient(ClientOptions{})
	h := http.Header{"Authorization": {"Token token=abcdef"}, "Content-Type": {"application/json"}}
	resp, err := c.Do(context.Background(), Request{Method: "POST", URL: srv.URL + "/graphql?x=1", Header: h, Body: []byte(`{"q":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got.method != "POST" || got.auth != "Token token=abcdef" || got.ctype != "application/json" || got.body != `{"q":1}` {
		t.Fatalf("server saw %+v", got)
	}
	if resp.Shown != "POST "+srv.URL+"/graphql?x=1" || resp.Header.Get("X-Page") != "1" {
		t.Fatalf("response %+v", resp)
	}
	if m, ok := resp.Value.(map[string]any); !ok || m["data"] == nil {
		t.Fatalf("value %v", resp.Value)
	}
}

// A redirect is followed on the request's own origin only: elsewhere its
// headers (a token) would go along.
func TestHTTPClientRedirect(t *testing.T) {
	var leaked string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = r.Header.Get("X-Api-Key")
		io.WriteString(w, `[]`)
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/here":
			http.Redirect(w, r, "/there", http.StatusFound)
		case "/there":
			io.WriteString(w, `[1]`)
		default:
			http.Redirect(w, r, other.URL+"/away", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := NewHTTPClient(ClientOptions{})
	h := http.Header{"X-Api-Key": {"key-123456"}}
	if _, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/here", Header: h}); err != nil {
		t.Fatalf("same origin: %v", err)
	}
	_, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/elsewhere", Header: h})
	var pe *permanentError
	if err == nil || !strings.Contains(err.Error(), "refusing to follow it to another host") || !errors.As(err, &pe) || leaked != "" {
		t.Fatalf("got %v (leaked %q)", err, leaked)
	}
}

// Secrets given to an HTTPClient are redacted as the token is: from a URL
// in an error, and from a body quoting them.
func TestHTTPClientSecrets(t *testing.T) {
	const secret = "k/ey+123456"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"detail":"no `+r.URL.RawQuery+` and `+r.Header.Get("X-Key")+`"}`)
	}))
	defer srv.Close()
	c := NewHTTPClient(ClientOptions{Secrets: []string{secret}})
	_, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/?key=k%2Fey%2B123456", Header: http.Header{"X-Key": {secret}}})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 404 {
		t.Fatalf("got %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "k%2Fey%2B123456") || !strings.Contains(msg, "[redacted]") {
		t.Fatalf("error shows the secret: %s", msg)
	}
}

// Another API's rate-limit headers are honoured as Sentry's are: a 429
// without Retry-After waits for X-RateLimit-Reset, and a window nearly
// used up is waited out before the next request.
func TestHTTPClientRateLimitHeaders(t *testing.T) {
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		switch n {
		case 1:
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", "5") // seconds from now
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.Header().Set("RateLimit-Remaining", "1")
			w.Header().Set("RateLimit-Reset", "3")
			io.WriteString(w, `[]`)
		default:
			io.WriteString(w, `[]`)
		}
	}))
	defer srv.Close()
	c := NewHTTPClient(ClientOptions{})
	var clock fakeClock
	clock.install(c)
	for range 2 {
		if _, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL}); err != nil {
			t.Fatal(err)
		}
	}
	if len(clock.waits) != 2 || clock.waits[0] != 5100*time.Millisecond || clock.waits[1] != 3100*time.Millisecond {
		t.Fatalf("waits %v, want 5.1s for the 429, then 3.1s for the window", clock.waits)
	}
}

func TestResetTime(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for s, want := range map[string]time.Time{
		"30":                   now.Add(30 * time.Second),
		"1767323075":           time.Unix(1767323075, 0),
		"2026-01-02T03:05Z":    time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC),
		"2026-01-02T03:05:10Z": time.Date(2026, 1, 2, 3, 5, 10, 0, time.UTC),
	} {
		if got, ok := resetTime(s, now); !ok || !got.Equal(want) {
			t.Errorf("resetTime(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	if _, ok := resetTime("soon", now); ok {
		t.Error("resetTime(soon) ok")
	}
}
