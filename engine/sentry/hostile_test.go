package sentry

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestUnreachableGivesUpFast: a host that refuses connections, does not
// resolve or fails TLS verification is tried at most twice, while
// transient network errors keep their full retries.
func TestUnreachableGivesUpFast(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &osSyscallErr{syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		name string
		err  error
		max  int
	}{
		{"connection refused", refused, 2},
		{"no such host", &net.DNSError{Err: "no such host", Name: "gitalog-does-not-exist.invalid", IsNotFound: true}, 2},
		{"unknown authority", &tls509{x509.UnknownAuthorityError{}}, 2},
		{"hostname mismatch", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "sentry.example"}, 2},
		{"no route to host", &net.OpError{Op: "dial", Net: "tcp", Err: &osSyscallErr{syscall.EHOSTUNREACH}}, 2},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: &timeoutErr{}}, 6},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: &osSyscallErr{syscall.ECONNRESET}}, 6},
		{"EOF", io.EOF, 6},
		{"DNS timeout", &net.DNSError{Err: "i/o timeout", Name: "sentry.example", IsTimeout: true}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			o := fastOpts(nil)
			o.HTTPClient = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
				n.Add(1)
				return nil, tc.err
			})}
			c, _ := NewClient("https://sentry.example", "tok", o)
			_, err := c.Object(context.Background(), "/organizations/o/", nil, "org:read")
			if err == nil {
				t.Fatal("no error")
			}
			if got := int(n.Load()); got != tc.max {
				t.Errorf("%d attempts, want %d (%v)", got, tc.max, err)
			}
		})
	}
}

// osSyscallErr stands in for *os.SyscallError, which wraps an errno the
// same way.
type osSyscallErr struct{ errno syscall.Errno }

func (e *osSyscallErr) Error() string { return "connect: " + e.errno.Error() }
func (e *osSyscallErr) Unwrap() error { return e.errno }

type timeoutErr struct{}

func (timeoutErr) Error() string { return "i/o timeout" }
func (timeoutErr) Timeout() bool { return true }

// tls509 wraps an x509 error as crypto/tls does.
type tls509 struct{ err error }

func (e *tls509) Error() string { return "tls: failed to verify certificate: " + e.err.Error() }
func (e *tls509) Unwrap() error { return e.err }

// countingClient makes real requests (a fresh transport, so no
// connection is reused between tests) and counts them in n.
func countingClient(n *atomic.Int32) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		return tr.RoundTrip(r)
	})}
}

// TestUnreachableRealDial: the same against a real closed port.
func TestUnreachableRealDial(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var n atomic.Int32
	o := fastOpts(nil)
	o.HTTPClient = countingClient(&n)
	c, _ := NewClient("http://"+addr, "tok", o)
	_, err = c.Object(context.Background(), "/organizations/o/", nil, "org:read")
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v", err)
	}
	if n.Load() > 2 {
		t.Errorf("%d attempts at a closed port", n.Load())
	}
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Errorf("not an UnreachableError: %#v", err)
	}
}

var _ = fmt.Sprint
var _ = time.Second

// TestRepeatedCursorStops: a Link header that sends the client back to the
// page it just read fails the list at once instead of looping.
func TestRepeatedCursorStops(t *testing.T) {
	d := sentrytest.Demo()
	s, c := fake(t, d, sentrytest.Token, fastOpts(nil), sentrytest.WithPageSize(2))
	// Times bounds the loop for a client that does not stop on its own.
	s.AddFault(sentrytest.Fault{PathContains: "/members/", RepeatCursor: true, AfterRequests: 1, Times: 50})
	_, err := listIDs(t, c, "/organizations/acme-corp/members/", url.Values{"per_page": {"2"}})
	if err == nil || !strings.Contains(err.Error(), `repeats cursor "0:2:0"`) || !strings.Contains(err.Error(), "/organizations/acme-corp/members/") {
		t.Fatalf("err = %v", err)
	}
	if n := len(s.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 (the second page's next link is the second page)", n)
	}
}

// TestMaxPages: a list that never ends (fresh cursors forever) stops at
// the configured page limit.
func TestMaxPages(t *testing.T) {
	d := sentrytest.Demo()
	o := fastOpts(nil)
	o.MaxPages = 3
	s, c := fake(t, d, sentrytest.Token, o, sentrytest.WithPageSize(2))
	_, err := listIDs(t, c, "/organizations/acme-corp/members/", nil)
	if err == nil || !strings.Contains(err.Error(), "more than 3 pages") || !strings.Contains(err.Error(), "sentry.maxPages") {
		t.Fatalf("err = %v", err)
	}
	if n := len(s.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	// A list within the limit is whole.
	o.MaxPages = (len(d.Members) + 1) / 2
	_, c = fake(t, d, sentrytest.Token, o, sentrytest.WithPageSize(2))
	ids, err := listIDs(t, c, "/organizations/acme-corp/members/", nil)
	if err != nil || len(ids) != len(d.Members) {
		t.Fatalf("%d of %d members: %v", len(ids), len(d.Members), err)
	}
}

// TestGzipBomb: a small gzip body that inflates past MaxResponseBytes
// fails its request at once, and is not retried.
func TestGzipBomb(t *testing.T) {
	o := fastOpts(nil)
	o.MaxResponseBytes = 1 << 20
	s, c := fake(t, sentrytest.Demo(), sentrytest.Token, o)
	s.AddFault(sentrytest.Fault{PathContains: "/members/", GzipBomb: 8 << 20})
	_, err := listIDs(t, c, "/organizations/acme-corp/members/", nil)
	if err == nil || !strings.Contains(err.Error(), "more than 1048576 bytes") || !strings.Contains(err.Error(), "sentry.maxResponseBytes") {
		t.Fatalf("err = %v", err)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	// The client asks for gzip, and reads it.
	if h := s.Requests()[0].Header.Get("Accept-Encoding"); h != "gzip" {
		t.Errorf("Accept-Encoding %q", h)
	}
}

// TestGzipBody: a gzip answer within the limit reads as the plain one, and
// so does a plain answer of exactly the limit.
func TestGzipBody(t *testing.T) {
	const body = `[{"id":"1"},{"id":"2"}]`
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(body))
	zw.Close()
	for _, gz := range []bool{true, false} {
		o := fastOpts(nil)
		o.MaxResponseBytes = int64(len(body))
		o.HTTPClient = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
			if !gz {
				return jsonResp(r, 200, body, nil), nil
			}
			resp := jsonResp(r, 200, "", http.Header{"Content-Encoding": {"gzip"}})
			resp.Body = io.NopCloser(bytes.NewReader(zb.Bytes()))
			return resp, nil
		})}
		c, _ := NewClient("https://sentry.example", "tok", o)
		ids, err := listIDs(t, c, "/organizations/o/members/", nil)
		if err != nil || strings.Join(ids, ",") != "1,2" {
			t.Errorf("gzip %v: %v %v", gz, ids, err)
		}
	}
}

// TestParseErrorNotRetried: a complete 200 whose body is not JSON would
// be the same the next time; a body cut short in transfer is retried.
func TestParseErrorNotRetried(t *testing.T) {
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	for _, body := range []string{`[{"id":`, `<html>maintenance</html>`, `[1] [2]`, deep} {
		s, c := fake(t, sentrytest.Demo(), sentrytest.Token, fastOpts(nil))
		s.AddFault(sentrytest.Fault{PathContains: "/members/", Status: 200, Body: body})
		_, err := listIDs(t, c, "/organizations/acme-corp/members/", nil)
		if err == nil || !strings.Contains(err.Error(), "not valid JSON") && !strings.Contains(err.Error(), "nested deeper") || strings.Contains(err.Error(), "giving up") {
			t.Errorf("%.20s: err = %v", body, err)
		}
		if n := len(s.Requests()); n != 1 {
			t.Errorf("%.20s: %d requests, want 1", body, n)
		}
	}
	// Cut short: Content-Length announces more than arrives.
	s, c := fake(t, sentrytest.Demo(), sentrytest.Token, fastOpts(nil))
	s.AddFault(sentrytest.Fault{PathContains: "/members/", TruncateBody: true, Times: 2})
	if _, err := listIDs(t, c, "/organizations/acme-corp/members/", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// TestServerTextRedacted: a server that echoes the token (in an error
// body, or in the next page's URL) does not get it into an error message
// or a debug line.
func TestServerTextRedacted(t *testing.T) {
	for _, status := range []int{400, 500} {
		var log logBuf
		o := fastOpts(&log)
		o.MaxAttempts = 3
		s, c := fake(t, sentrytest.Demo(), sentrytest.Token, o)
		s.AddFault(sentrytest.Fault{PathContains: "/members/", EchoAuth: true, Status: status})
		_, err := listIDs(t, c, "/organizations/acme-corp/members/", nil)
		if err == nil {
			t.Fatal("no error")
		}
		all := err.Error() + log.String()
		if strings.Contains(all, sentrytest.Token) {
			t.Errorf("%d: the token leaked:\n%s", status, all)
		}
		if !strings.Contains(err.Error(), "Authorization: Bearer [redacted]") {
			t.Errorf("%d: error %q", status, err)
		}
		if status == 500 && !strings.Contains(log.String(), "msg=retrying") {
			t.Errorf("no retrying lines:\n%s", log.String())
		}
	}

	// The token, and a password in the URL, in a Link header.
	const tok = "sntrys_secret_in_a_cursor"
	var log logBuf
	o := fastOpts(&log)
	o.MaxAttempts = 2
	o.HTTPClient = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("cursor") == "" {
			h := http.Header{"Link": {`<https://sentry.example/api/0/o/?cursor=` + tok + `:pw0rd-secret>; rel="next"; results="true"; cursor="x"`}}
			return jsonResp(r, 200, `[]`, h), nil
		}
		return jsonResp(r, 502, `{"detail":"no page `+tok+`"}`, nil), nil
	})}
	c, _ := NewClient("https://user:pw0rd-secret@sentry.example", tok, o)
	err := listItems(c, context.Background(), "/o/", nil, "org:read", func([]any) error { return nil })
	if err == nil {
		t.Fatal("no error")
	}
	all := err.Error() + log.String()
	if strings.Contains(all, tok) || strings.Contains(all, "pw0rd-secret") {
		t.Errorf("a secret leaked:\n%s", all)
	}
	if !strings.Contains(err.Error(), "cursor=[redacted]:[redacted]") || !strings.Contains(err.Error(), "no page [redacted]") {
		t.Errorf("error %q", err)
	}
}

// TestSlowDrip: a server that sends its body a byte at a time cannot hold
// a request past Timeout, which covers the body as well as the headers.
func TestSlowDrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, inProcess := range []bool{true, false} {
		o := fastOpts(nil)
		o.MaxAttempts = 2
		o.Timeout = 50 * time.Millisecond
		var s *sentrytest.Server
		if inProcess {
			s = sentrytest.NewHandler(sentrytest.Demo())
		} else {
			s = sentrytest.NewServer(sentrytest.Demo())
			defer s.Close()
		}
		o.HTTPClient = s.Client()
		c, _ := NewClient(s.URL, sentrytest.Token, o)
		s.AddFault(sentrytest.Fault{PathContains: "/members/", Drip: time.Second})
		// ctx bounds the test for a client without the bound.
		err := listItems(c, ctx, "/organizations/acme-corp/members/", nil, "member:read", func([]any) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "giving up after 2 attempts") || !strings.Contains(err.Error(), "timed out after 50ms") {
			t.Errorf("in process %v: err = %v", inProcess, err)
		}
	}
}

// TestCheckAccessTLS: a certificate the client does not trust, or a plain
// HTTP server behind an https URL, fails the access check at once with
// the URL and what to check.
func TestCheckAccessTLS(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors are the point
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	for _, tc := range []struct{ url, want string }{
		{tlsSrv.URL, "certificate signed by unknown authority"},
		{strings.Replace(plain.URL, "http:", "https:", 1), "server gave HTTP response to HTTPS client"},
	} {
		var n atomic.Int32
		o := fastOpts(nil)
		o.HTTPClient = countingClient(&n)
		c, _ := NewClient(tc.url, "tok", o)
		err := (&Source{Client: c, Org: "acme"}).CheckAccess(context.Background(), Settings{URLFrom: "SENTRY_URL", OrgFrom: "SENTRY_ORG", TokenFrom: "SENTRY_AUTH_TOKEN"})
		if err == nil {
			t.Fatalf("%s: no error", tc.url)
		}
		for _, want := range []string{"cannot reach Sentry at " + tc.url + " (URL from SENTRY_URL)", "GET /api/0/organizations/acme/", tc.want, "server's certificate"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		if n.Load() > 2 {
			t.Errorf("%s: %d attempts", tc.url, n.Load())
		}
	}
}

// TestCheckAccessReused: the project kind attaches the organization's
// details the access check already fetched, without asking again.
func TestCheckAccessReused(t *testing.T) {
	s, c := fake(t, sentrytest.Demo(), sentrytest.Token, fastOpts(nil))
	src := &Source{Client: c, Org: "acme-corp"}
	if err := src.CheckAccess(context.Background(), Settings{}); err != nil {
		t.Fatal(err)
	}
	items, err := src.Fetch(context.Background(), "project", nil)
	if err != nil || len(items) == 0 {
		t.Fatalf("%d projects, %v", len(items), err)
	}
	if org, _ := items[0].(map[string]any)["organization"].(map[string]any); org["slug"] != "acme-corp" {
		t.Errorf("organization %v", org)
	}
	n := 0
	for _, r := range s.Requests() {
		if r.Path == "/api/0/organizations/acme-corp/" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the organization was fetched %d times", n)
	}
}
