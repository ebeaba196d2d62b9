package extracttest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
)

// Request is one request a fake saw, with the status it answered.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
	Status                 int
}

// Fake is an httptest server shaped like one API of OpsLevel's guides. It
// checks the auth header its guide sends and records every request.
type Fake struct {
	// URL is scheme://host:port, what replaces the guide's host.
	URL string
	// Env holds the secret the guide's templates read, by variable.
	Env map[string]string
	// Items are what the guide's extractors should yield, by external_kind,
	// in order: the objects served, after exclude (and with what an
	// iterator adds, for Honeycomb's details).
	Items map[string][]map[string]any

	id map[string]func(map[string]any) string // the guide's external_id, by kind

	srv       *httptest.Server
	authName  string
	authValue string
	mu        sync.Mutex
	reqs      []Request
	throttle  int    // 429s still to answer
	retry     string // their Retry-After
	pageSize  int
	serve     func(w http.ResponseWriter, r *http.Request, body []byte)
}

// Option configures a Fake.
type Option func(*Fake)

// RateLimitOnce answers the first request 429 with Retry-After: seconds.
func RateLimitOnce(seconds string) Option {
	return func(f *Fake) { f.throttle, f.retry = 1, seconds }
}

// PageSize sets the items per page where the API pages (Jira, GraphQL).
func PageSize(n int) Option { return func(f *Fake) { f.pageSize = n } }

func newFake(authName, authValue string, env map[string]string, opts []Option) *Fake {
	f := &Fake{Env: env, Items: map[string][]map[string]any{}, id: map[string]func(map[string]any) string{}, authName: authName, authValue: authValue, pageSize: 3}
	for _, o := range opts {
		o(f)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	f.URL = f.srv.URL
	return f
}

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// Requests are the requests seen so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// IDs are the external ids of Items[kind], in order, as the guide's
// external_id gives them.
func (f *Fake) IDs(kind string) []string {
	var out []string
	for _, it := range f.Items[kind] {
		out = append(out, f.id[kind](it))
	}
	return out
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (f *Fake) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := &recorder{ResponseWriter: w}
	defer func() {
		f.mu.Lock()
		f.reqs = append(f.reqs, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: string(body), Status: max(rec.status, 200)})
		f.mu.Unlock()
	}()
	f.mu.Lock()
	throttled := f.throttle > 0
	if throttled {
		f.throttle--
	}
	f.mu.Unlock()
	if throttled {
		rec.Header().Set("Retry-After", f.retry)
		writeJSON(rec, http.StatusTooManyRequests, map[string]any{"message": "rate limit exceeded"})
		return
	}
	if r.Header.Get(f.authName) != f.authValue {
		writeJSON(rec, http.StatusUnauthorized, map[string]any{"message": "missing or wrong " + f.authName})
		return
	}
	f.serve(rec, r, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// origins are the scheme://host[:port] of URLs.
var origins = regexp.MustCompile(`https?://[A-Za-z0-9.-]+(:[0-9]+)?`)

// WithHost is a definition's YAML with the scheme, host and port of every
// URL in it replaced by host (a Fake's URL): the one change an OpsLevel
// user makes to run a guide against gitalog's fakes.
func WithHost(yaml []byte, host string) []byte {
	return origins.ReplaceAll(yaml, []byte(host))
}
