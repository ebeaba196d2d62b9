package sentrytest

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one request the server saw, with the status it answered.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Host     string
	Header   http.Header
	Status   int // 499 when the client went away before the answer
	Time     time.Time
}

// Fault makes matching requests fail in a chosen way instead of (or, for
// TruncateBody and Delay, on top of) the normal answer.
type Fault struct {
	PathContains  string        // applies to requests whose path contains this ("" = all)
	Status        int           // e.g. 500, 502, 401, 403, 404, 429
	Body          string        // raw body; empty takes a per-status default
	AfterRequests int           // let this many matching requests through first
	Times         int           // how many times to fire; 0 = forever
	TruncateBody  bool          // answer 200 with the real JSON body cut off halfway through its Content-Length
	Delay         time.Duration // sleep before answering, honouring the request context
	RetryAfter    string        // optional Retry-After header

	// Hostile servers, for a client's bounds:

	// RepeatCursor answers normally, but the next link (results="true")
	// carries the request's own cursor, so a client that follows it
	// blindly asks for the same page forever.
	RepeatCursor bool
	// GzipBomb answers 200 with Content-Encoding: gzip and a body that
	// inflates to this many bytes (a JSON array of blanks), small on the
	// wire.
	GzipBomb int64
	// Drip answers the normal body one byte at a time, pausing this long
	// before each, honouring the request context.
	Drip time.Duration
	// EchoAuth answers Status (500 if unset) with an error body that
	// quotes the request's Authorization header, as a careless proxy or
	// debug page would.
	EchoAuth bool
	// NoLink answers normally but without the Link header, as a proxy
	// that drops headers it does not know would.
	NoLink bool
}

type faultState struct {
	Fault
	seen, fired int
}

// Option configures a Server.
type Option func(*Server)

// WithRateLimit enforces limit requests per fixed window (windows aligned
// to the epoch, as Sentry's Redis limiter aligns them). Every request counts,
// refused ones included.
func WithRateLimit(limit int, window time.Duration) Option {
	return func(s *Server) {
		if limit < 1 {
			limit = 1
		}
		if window <= 0 {
			window = time.Second
		}
		s.rlLimit, s.rlWindow, s.rlEnforce = limit, window, true
	}
}

// WithEndpointRateLimit is sentry.io's limiter: limit requests per fixed
// window and at most concurrent in flight, each per endpoint (the path
// with its org, slugs, ids and tag keys replaced, see Endpoint), not for
// the whole API. Every request counts, refused ones included; a request
// over either limit is answered 429 with Sentry's bare-string body, and
// every response carries the headers of its own endpoint's window.
func WithEndpointRateLimit(limit int, window time.Duration, concurrent int) Option {
	return func(s *Server) {
		WithRateLimit(limit, window)(s)
		s.rlPerEndpoint = true
		s.rlConcurrent = max(concurrent, 1)
	}
}

// WithPageSize caps every list's page size below Sentry's 100 so that
// small datasets still span several pages.
func WithPageSize(n int) Option {
	return func(s *Server) {
		if n > 0 && n < maxPerPage {
			s.pageSize = n
		}
	}
}

// WithLatency delays every response, honouring the request context.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

const (
	maxPerPage = 100
	// Without WithRateLimit the headers still appear, as on sentry.io, but
	// with a budget no test exhausts, so throttling clients never wait.
	defaultRateLimit  = 100000
	concurrentLimit   = 25
	detailNotFound    = "The requested resource does not exist"
	detailInvalidAuth = "Invalid token"
)

// Server is a fake Sentry REST API over a Dataset.
type Server struct {
	// URL is the base URL without /api/0, e.g. http://127.0.0.1:40123.
	URL string

	ts       *httptest.Server
	mu       sync.RWMutex // guards d
	d        *Dataset
	pageSize int
	latency  time.Duration

	rlMu      sync.Mutex
	rlLimit   int
	rlWindow  time.Duration
	rlEnforce bool
	// rlPerEndpoint keys the windows and the in-flight counts by
	// endpoint; otherwise one key, "", counts every request.
	rlPerEndpoint bool
	rlConcurrent  int // enforced only with rlPerEndpoint
	rl            map[string]*rlState
	faults        []*faultState
	reqs          []Request
	cacheMu       sync.Mutex // guards the dataset's project tag cache
}

// NewServer serves d over HTTP on a loopback port until Close.
func NewServer(d *Dataset, opts ...Option) *Server {
	s := NewHandler(d, opts...)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewHandler is NewServer without a listener: call ServeHTTP directly or
// use Client, whose transport does.
func NewHandler(d *Dataset, opts ...Option) *Server {
	s := &Server{URL: "http://sentry.invalid", d: d, pageSize: maxPerPage,
		rlLimit: defaultRateLimit, rlWindow: time.Second, rlConcurrent: concurrentLimit,
		rl: map[string]*rlState{}}
	for _, o := range opts {
		o(s)
	}
	d.ensureIndex()
	return s
}

// Close stops the listener, if any.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// Client returns an HTTP client for this server; for NewHandler servers it
// dispatches in process without any network.
func (s *Server) Client() *http.Client {
	if s.ts != nil {
		return s.ts.Client()
	}
	return &http.Client{Transport: roundTripper{s}}
}

type roundTripper struct{ s *Server }

func (rt roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	r2 := r.Clone(r.Context())
	if r2.Host == "" {
		r2.Host = r.URL.Host
	}
	r2.RequestURI = r.URL.RequestURI()
	rt.s.ServeHTTP(rec, r2)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// Update runs fn with exclusive access to the dataset, so tests and the
// demo can mutate it while requests are being served.
func (s *Server) Update(fn func(d *Dataset)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.d)
	s.d.ensureIndex()
}

// Requests returns a copy of the requests seen so far.
func (s *Server) Requests() []Request {
	s.rlMu.Lock()
	defer s.rlMu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ResetRequests forgets recorded requests.
func (s *Server) ResetRequests() {
	s.rlMu.Lock()
	s.reqs = nil
	s.rlMu.Unlock()
}

// AddFault installs a fault; faults are checked in the order added and the
// first that fires wins.
func (s *Server) AddFault(f Fault) {
	s.rlMu.Lock()
	s.faults = append(s.faults, &faultState{Fault: f})
	s.rlMu.Unlock()
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.rlMu.Lock()
	s.faults = nil
	s.rlMu.Unlock()
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	rec := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
		Header: r.Header.Clone(), Time: time.Now()}
	defer func() {
		rec.Status = w.status
		if rec.Status == 0 {
			rec.Status = 499
		}
		s.rlMu.Lock()
		s.reqs = append(s.reqs, rec)
		s.rlMu.Unlock()
	}()

	tooMany, fault, win := s.admit(w.Header(), r.URL.Path)
	defer func() {
		s.rlMu.Lock()
		win.inflight--
		s.rlMu.Unlock()
	}()
	// The latency is the server's work: the request is in flight for it.
	if !sleepCtx(r.Context(), s.latency) {
		return
	}
	if tooMany != "" {
		s.writeRaw(w, http.StatusTooManyRequests, tooMany)
		return
	}
	if fault != nil {
		if !sleepCtx(r.Context(), fault.Delay) {
			return
		}
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		switch {
		case fault.TruncateBody:
			buf := s.serveBuffered(w, r)
			// The whole length is announced and half is sent, as when a
			// connection drops mid-body.
			w.Header().Set("Content-Length", strconv.Itoa(buf.b.Len()))
			w.WriteHeader(http.StatusOK)
			w.Write(buf.b.Bytes()[:buf.b.Len()/2])
			return
		case fault.RepeatCursor:
			buf := s.serveBuffered(w, r)
			if buf.h.Get("Link") != "" {
				cursor := r.URL.Query().Get("cursor")
				if cursor == "" {
					cursor = "0:0:0"
				}
				w.Header().Set("Link", repeatLink(r, cursor))
			}
			w.WriteHeader(cmp.Or(buf.status, http.StatusOK))
			w.Write(buf.b.Bytes())
			return
		case fault.NoLink:
			buf := s.serveBuffered(w, r)
			w.Header().Del("Link")
			w.WriteHeader(cmp.Or(buf.status, http.StatusOK))
			w.Write(buf.b.Bytes())
			return
		case fault.GzipBomb > 0:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(http.StatusOK)
			writeBomb(w, fault.GzipBomb)
			return
		case fault.Drip > 0:
			buf := s.serveBuffered(w, r)
			w.WriteHeader(cmp.Or(buf.status, http.StatusOK))
			flusher, _ := w.ResponseWriter.(http.Flusher)
			for _, b := range buf.b.Bytes() {
				if !sleepCtx(r.Context(), fault.Drip) {
					return
				}
				w.Write([]byte{b})
				if flusher != nil {
					flusher.Flush()
				}
			}
			return
		case fault.EchoAuth:
			b, _ := json.Marshal(map[string]string{"detail": "Bad request; headers: Authorization: " + r.Header.Get("Authorization")})
			s.writeRaw(w, cmp.Or(fault.Status, http.StatusInternalServerError), string(b))
			return
		}
		if fault.Status != 0 {
			body := fault.Body
			if body == "" {
				body = s.defaultFaultBody(fault.Status)
			}
			if fault.Status == http.StatusTooManyRequests {
				w.Header().Set("X-Sentry-Rate-Limit-Remaining", "0")
			}
			s.writeRaw(w, fault.Status, body)
			return
		}
	}
	s.serveAPI(w, r)
}

// rlState is one rate-limit key's fixed window and requests in flight.
type rlState struct {
	bucket          int64 // the window's number since the epoch
	count, inflight int
}

// Endpoint is the rate-limit key of an API path, as Sentry groups its
// limits: the path with the organization, slugs, ids and tag keys
// replaced, e.g. /api/0/organizations/{org}/issues/{id}/tags/{key}/values/.
func Endpoint(path string) string {
	seg := strings.Split(strings.Trim(strings.TrimPrefix(path, "/api/0"), "/"), "/")
	names := map[string][]string{
		"organizations": {"", "{org}", "", "{id}", "", "{key}"},
		"projects":      {"", "{org}", "{slug}", "", "{key}"},
		"teams":         {"", "{org}", "{slug}"},
	}[seg[0]]
	for i := range seg {
		if i < len(names) && names[i] != "" {
			seg[i] = names[i]
		}
	}
	return "/api/0/" + strings.Join(seg, "/") + "/"
}

// admit sets the rate-limit headers, counts the request and picks the
// fault, all under one lock so concurrent requests see consistent numbers.
// tooMany is the body of a 429 when the request is over a limit; win is
// the request's window, whose in-flight count the caller lowers when it
// has answered.
func (s *Server) admit(h http.Header, path string) (tooMany string, fault *faultState, win *rlState) {
	s.rlMu.Lock()
	defer s.rlMu.Unlock()
	key := ""
	if s.rlPerEndpoint {
		key = Endpoint(path)
	}
	win = s.rl[key]
	if win == nil {
		win = &rlState{}
		s.rl[key] = win
	}
	win.inflight++
	now := time.Now()
	bucket := now.UnixNano() / int64(s.rlWindow)
	if bucket != win.bucket {
		win.bucket, win.count = bucket, 0
	}
	win.count++
	remaining := max(s.rlLimit-win.count, 0)
	reset := int64(math.Ceil(float64((bucket+1)*int64(s.rlWindow)) / float64(time.Second)))
	concRemaining := max(s.rlConcurrent-win.inflight, 0)
	h.Set("X-Sentry-Rate-Limit-Limit", strconv.Itoa(s.rlLimit))
	h.Set("X-Sentry-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Sentry-Rate-Limit-Reset", strconv.FormatInt(reset, 10))
	h.Set("X-Sentry-Rate-Limit-ConcurrentLimit", strconv.Itoa(s.rlConcurrent))
	h.Set("X-Sentry-Rate-Limit-ConcurrentRemaining", strconv.Itoa(concRemaining))
	if s.rlPerEndpoint && win.inflight > s.rlConcurrent {
		b, _ := json.Marshal(fmt.Sprintf("You are attempting to go above the allowed concurrency for this endpoint. Concurrency limit is %d", s.rlConcurrent))
		return string(b), nil, win
	}
	if s.rlEnforce && win.count > s.rlLimit {
		return s.tooManyBody(), nil, win
	}
	for _, f := range s.faults {
		if !strings.Contains(path, f.PathContains) {
			continue
		}
		f.seen++
		if f.seen <= f.AfterRequests || (f.Times > 0 && f.fired >= f.Times) {
			continue
		}
		f.fired++
		return "", f, win
	}
	return "", nil, win
}

// tooManyBody is Sentry's 429 body for the rate limit, a bare JSON string.
func (s *Server) tooManyBody() string {
	secs := s.rlWindow.Seconds()
	w := strconv.FormatFloat(secs, 'f', -1, 64)
	b, _ := json.Marshal(fmt.Sprintf("You are attempting to use this endpoint too frequently. Limit is %d requests in %s seconds", s.rlLimit, w))
	return string(b)
}

func (s *Server) defaultFaultBody(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		if !s.rlEnforce {
			return `"You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds"`
		}
		return s.tooManyBody()
	case http.StatusUnauthorized:
		return `{"detail":"` + detailInvalidAuth + `"}`
	case http.StatusForbidden:
		return `{"detail":"You do not have permission to perform this action."}`
	case http.StatusNotFound:
		return `{"detail":"` + detailNotFound + `"}`
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		// These come from the load balancer, not Sentry, so they are not JSON.
		return fmt.Sprintf("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n</body>\r\n</html>\r\n",
			status, http.StatusText(status), status, http.StatusText(status))
	}
	if status >= 500 {
		return `{"detail":"Internal Error","errorId":"5f1c7e2d9a3b4c8e9f0a1b2c3d4e5f60"}`
	}
	return `{"detail":"` + http.StatusText(status) + `"}`
}

func (s *Server) writeRaw(w http.ResponseWriter, status int, body string) {
	ct := "application/json"
	if strings.HasPrefix(body, "<") {
		ct = "text/html"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// bufferWriter captures a response so a fault can mangle it.
type bufferWriter struct {
	h      http.Header
	b      bytes.Buffer
	status int
}

// serveBuffered answers r into a buffer and copies its headers to w, for
// the faults that alter the answer before it is sent.
func (s *Server) serveBuffered(w http.ResponseWriter, r *http.Request) *bufferWriter {
	buf := &bufferWriter{h: http.Header{}}
	s.serveAPI(buf, r)
	for k, v := range buf.h {
		w.Header()[k] = v
	}
	return buf
}

func (b *bufferWriter) Header() http.Header         { return b.h }
func (b *bufferWriter) Write(p []byte) (int, error) { return b.b.Write(p) }
func (b *bufferWriter) WriteHeader(code int)        { b.status = code }

type apiError struct {
	status int
	detail string
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Sentry's Python serializer does not escape <, > and &.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"detail":"Internal Error"}`)
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	s.writeJSON(w, e.status, map[string]string{"detail": e.detail})
}

func notFound() *apiError { return &apiError{http.StatusNotFound, detailNotFound} }

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		s.writeError(w, &apiError{http.StatusUnauthorized, detailInvalidAuth})
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/0/")
	if !ok {
		s.writeError(w, notFound())
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, &apiError{http.StatusMethodNotAllowed, fmt.Sprintf("Method \"%s\" not allowed.", r.Method)})
		return
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")

	s.mu.RLock()
	if s.d.stale() {
		// Someone mutated the dataset outside Update; index it exclusively.
		s.mu.RUnlock()
		s.mu.Lock()
		s.d.ensureIndex()
		s.mu.Unlock()
		s.mu.RLock()
	}
	defer s.mu.RUnlock()
	if err := s.route(w, r, seg); err != nil {
		s.writeError(w, err)
	}
}

func (s *Server) org(slug string) bool { return slug == s.d.Org.Slug || slug == s.d.Org.ID }

func (s *Server) route(w http.ResponseWriter, r *http.Request, seg []string) *apiError {
	d := s.d
	n := len(seg)
	switch {
	case n == 1 && seg[0] == "projects":
		return s.list(w, r, len(d.Projects), "per_page", func(i int) any { return d.projectWithOrg(d.Projects[i]) })
	case seg[0] == "organizations" && n >= 2:
		if !s.org(seg[1]) {
			return notFound()
		}
		switch {
		case n == 2:
			s.writeJSON(w, http.StatusOK, d.orgDetails())
			return nil
		case n == 3 && seg[2] == "projects":
			return s.list(w, r, len(d.Projects), "per_page", func(i int) any { return d.projectSummary(d.Projects[i]) })
		case n == 3 && seg[2] == "teams":
			detailed := r.URL.Query().Get("detailed") != "0"
			return s.list(w, r, len(d.Teams), "per_page", func(i int) any { return d.team(d.Teams[i], detailed) })
		case n == 3 && seg[2] == "members":
			return s.list(w, r, len(d.Members), "per_page", func(i int) any { return d.member(d.Members[i]) })
		case n == 3 && seg[2] == "issues":
			return s.issues(w, r, nil)
		case n >= 4 && seg[2] == "issues":
			is := s.findIssue(seg[3])
			if is == nil {
				return notFound()
			}
			if n == 4 {
				s.writeJSON(w, http.StatusOK, d.issueDetail(is))
				return nil
			}
			if n == 7 && seg[4] == "tags" && seg[6] == "values" {
				return s.tagValues(w, r, d.issueTagValues(is, seg[5]))
			}
		}
	case seg[0] == "projects" && n >= 4:
		if !s.org(seg[1]) {
			return notFound()
		}
		p := d.Project(seg[2])
		if p == nil {
			return notFound()
		}
		switch {
		case n == 4 && seg[3] == "issues":
			return s.issues(w, r, p)
		case n == 6 && seg[3] == "tags" && seg[5] == "values":
			s.cacheMu.Lock()
			vals := d.projectTagValues(p, seg[4])
			s.cacheMu.Unlock()
			return s.tagValues(w, r, vals)
		}
	case seg[0] == "teams" && n == 4 && seg[3] == "members":
		if !s.org(seg[1]) {
			return notFound()
		}
		t := d.Team(seg[2])
		if t == nil {
			return notFound()
		}
		ms := d.teamMembers(t)
		return s.list(w, r, len(ms), "per_page", func(i int) any { return d.teamMember(ms[i], t) })
	}
	return notFound()
}

// findIssue accepts a numeric id or, like Sentry, a short id.
func (s *Server) findIssue(id string) *Issue {
	if is := s.d.Issue(id); is != nil {
		return is
	}
	up := strings.ToUpper(id)
	if !strings.Contains(up, "-") {
		return nil
	}
	for _, is := range s.d.sorted {
		if is.ShortID() == up {
			return is
		}
	}
	return nil
}

func (s *Server) tagValues(w http.ResponseWriter, r *http.Request, vals []TagValue) *apiError {
	if len(vals) == 0 {
		// Sentry raises TagKeyNotFound, which the endpoints map to a 404.
		return notFound()
	}
	if len(vals) > 1 {
		vals = append([]TagValue(nil), vals...)
		sortTagValues(vals)
	}
	return s.list(w, r, len(vals), "per_page", func(i int) any { return tagValue(vals[i]) })
}

// page validates the page-size parameter and cursor and returns the slice
// bounds, Sentry-style: per_page over 100 is an error, limit is clamped.
func (s *Server) page(r *http.Request, total int, sizeParam string) (start, end, size int, err *apiError) {
	q := r.URL.Query()
	size = s.pageSize
	if v := q.Get(sizeParam); v != "" {
		n, e := strconv.Atoi(v)
		switch {
		case e != nil || n < 1:
			return 0, 0, 0, &apiError{http.StatusBadRequest, "Invalid " + sizeParam + " parameter."}
		case n > maxPerPage && sizeParam == "per_page":
			return 0, 0, 0, &apiError{http.StatusBadRequest, "Invalid per_page value. Cannot exceed 100."}
		case n < size:
			size = n
		}
	}
	if c := q.Get("cursor"); c != "" {
		parts := strings.Split(c, ":")
		if len(parts) != 3 {
			return 0, 0, 0, &apiError{http.StatusBadRequest, "Invalid cursor parameter."}
		}
		if _, e := strconv.ParseFloat(parts[0], 64); e != nil {
			return 0, 0, 0, &apiError{http.StatusBadRequest, "Invalid cursor parameter."}
		}
		off, e1 := strconv.Atoi(parts[1])
		if e1 != nil || off < 0 || (parts[2] != "0" && parts[2] != "1") {
			return 0, 0, 0, &apiError{http.StatusBadRequest, "Invalid cursor parameter."}
		}
		start = off
	}
	start = min(start, total)
	end = min(start+size, total)
	return start, end, size, nil
}

// list serves items [start,end) of a list of total items built by item.
func (s *Server) list(w http.ResponseWriter, r *http.Request, total int, sizeParam string, item func(int) any) *apiError {
	start, end, size, err := s.page(r, total, sizeParam)
	if err != nil {
		return err
	}
	out := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, item(i))
	}
	w.Header().Set("Link", linkHeader(r, start, end, size, total))
	s.writeJSON(w, http.StatusOK, out)
	return nil
}

// linkHeader reproduces Sentry's build_cursor_link: the request URL with
// cursor dropped and the rest re-encoded in order (Django's
// QueryDict.urlencode), then "&cursor=C", previous link first.
func linkHeader(r *http.Request, start, end, size, total int) string {
	var kept []string
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		uk, e1 := unescapeQuery(k)
		uv, e2 := unescapeQuery(v)
		if e1 != nil || e2 != nil || uk == "cursor" {
			continue
		}
		kept = append(kept, queryEscape(uk)+"="+queryEscape(uv))
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host + r.URL.EscapedPath() + "?" + strings.Join(kept, "&")
	prevStart := max(start-size, 0)
	prev := fmt.Sprintf("0:%d:1", prevStart)
	next := fmt.Sprintf("0:%d:0", start+size)
	return link(base, "previous", prev, start > 0) + ", " + link(base, "next", next, end < total)
}

// repeatLink is a Link header whose next page is the request's own.
func repeatLink(r *http.Request, cursor string) string {
	h := linkHeader(r, 0, 0, 1, 1)
	prev, _, _ := strings.Cut(h, ", ")
	base := prev[1:strings.Index(prev, "&cursor=")]
	return prev + ", " + link(base, "next", cursor, true)
}

// writeBomb writes a gzip stream that inflates to n bytes: "[", blanks,
// "]". Blanks compress about a thousandfold.
func writeBomb(w io.Writer, n int64) {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	defer zw.Close()
	zw.Write([]byte("["))
	blank := bytes.Repeat([]byte(" "), 64<<10)
	for left := n - 2; left > 0; {
		k := min(left, int64(len(blank)))
		if _, err := zw.Write(blank[:k]); err != nil {
			return
		}
		left -= k
	}
	zw.Write([]byte("]"))
}

func link(base, rel, cursor string, results bool) string {
	return fmt.Sprintf("<%s&cursor=%s>; rel=\"%s\"; results=\"%t\"; cursor=\"%s\"", base, cursor, rel, results, cursor)
}
