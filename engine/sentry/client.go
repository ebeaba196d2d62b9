package sentry

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gitalog/gitalog/engine/jsonx"
)

// Client talks to one Sentry host with one token or, made by NewHTTPClient,
// to any HTTP API with the headers each request brings.
type Client struct {
	base        *url.URL // nil for an HTTPClient
	setURL      string   // how to point the client elsewhere, for messages
	token       string
	http        *http.Client
	sem         chan struct{}
	log         *slog.Logger
	maxAttempts int
	backoff     time.Duration
	maxWait     time.Duration
	userAgent   string
	secrets     []string // redacted from server text
	bodySecrets [][]byte // the same, as they may stand in a JSON body
	maxPages    int
	maxBody     int64
	timeout     time.Duration

	// now and sleep are the clock, replaced in tests so that waits are
	// checked without being waited.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	slowWait time.Duration // a rate-limit wait longer than this is warned of

	mu       sync.Mutex
	buckets  map[string]*bucket // rate-limit windows by key (see bucketKey)
	farReset bool               // a reset beyond one window was seen (and capped) once
	warned   map[string]bool    // endpoints warned of a long rate-limit wait

	requests, retries, pages atomic.Int64

	epMu      sync.Mutex
	endpoints map[string]*EndpointStat
}

// ClientOptions configure a Client. Zero values mean the defaults.
type ClientOptions struct {
	HTTPClient  *http.Client
	Concurrency int           // requests in flight at once (default 4)
	Logger      *slog.Logger  // debug logs of every request, Authorization redacted
	MaxAttempts int           // tries per request, the first included (default 6)
	Backoff     time.Duration // first retry delay for 5xx and network errors (default 500ms)
	// MaxWait is the longest single wait for a rate limit (default 60s,
	// Sentry's longest window): a Retry-After or reset further out is
	// taken as this.
	MaxWait   time.Duration
	UserAgent string
	// MaxPages bounds the pages of one list (default 10000): a server
	// whose cursors never end cannot keep a sync going forever.
	MaxPages int
	// MaxResponseBytes bounds one response's body, decompressed (default
	// 256 MiB): a small gzip body can inflate a thousandfold.
	MaxResponseBytes int64
	// Timeout bounds one request, its body included (default 60s), so a
	// server that drips its answer cannot hold a sync.
	Timeout time.Duration
	// Secrets are values, besides the token, that requests carry (in a
	// URL or a header) and that are redacted from every error, log line
	// and response body, as the token is.
	Secrets []string
	// Sleep replaces the wait before a retry or for a rate-limit window:
	// tests record waits instead of waiting them.
	Sleep func(ctx context.Context, d time.Duration) error
	// SetURL says how to point the client at another host, for the
	// message that refuses a Link to one (default "set SENTRY_URL to it").
	SetURL string
}

// NewClient returns a client for baseURL (e.g. https://sentry.io).
func NewClient(baseURL, token string, o ClientOptions) (*Client, error) {
	u, err := ParseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base: u, token: token, http: o.HTTPClient, log: o.Logger,
		maxAttempts: o.MaxAttempts, backoff: o.Backoff, maxWait: o.MaxWait,
		userAgent: o.UserAgent, maxPages: o.MaxPages,
		maxBody: o.MaxResponseBytes, timeout: o.Timeout, now: time.Now, sleep: sleep,
		slowWait: 5 * time.Second, warned: map[string]bool{}, setURL: o.SetURL,
	}
	pw, _ := u.User.Password()
	for _, secret := range []string{token, pw, url.QueryEscape(token), url.QueryEscape(pw)} {
		if len(secret) >= minSecret && !slices.Contains(c.secrets, secret) {
			c.secrets = append(c.secrets, secret)
		}
	}
	if c.setURL == "" {
		c.setURL = "set SENTRY_URL to it"
	}
	c.init(o)
	return c, nil
}

// NewHTTPClient returns a client for any HTTP API, with Sentry's client's
// retries, rate-limit pacing, bounds and redaction: its requests (Do)
// carry their own headers, no token of its own, and go to any URL; a
// redirect is followed only on the request's own scheme, host and port.
func NewHTTPClient(o ClientOptions) *Client {
	c := &Client{
		http: o.HTTPClient, log: o.Logger,
		maxAttempts: o.MaxAttempts, backoff: o.Backoff, maxWait: o.MaxWait,
		userAgent: o.UserAgent, maxPages: o.MaxPages,
		maxBody: o.MaxResponseBytes, timeout: o.Timeout, now: time.Now, sleep: sleep,
		slowWait: 5 * time.Second, warned: map[string]bool{}, setURL: o.SetURL,
	}
	c.init(o)
	return c
}

// init adds o's secrets and sets the defaults, for both kinds of client.
func (c *Client) init(o ClientOptions) {
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if o.Sleep != nil {
		c.sleep = o.Sleep
	}
	for _, v := range o.Secrets {
		for _, secret := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			if len(secret) >= minSecret && !slices.Contains(c.secrets, secret) {
				c.secrets = append(c.secrets, secret)
			}
		}
	}
	c.bodySecrets = jsonForms(c.secrets)
	c.buckets = map[string]*bucket{}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if c.http == nil {
		// The default transport keeps 2 idle connections per host: with
		// more requests in flight, every one past the second would open
		// (and, on sentry.io, TLS-handshake) a new connection.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = o.Concurrency
		c.http = &http.Client{Transport: t} // bounded by timeout, per request
	} else {
		// A copy: the caller's client may serve other hosts, with its
		// own redirect policy.
		hc := *c.http
		c.http = &hc
	}
	c.http.CheckRedirect = c.checkRedirect(c.http.CheckRedirect)
	c.sem = make(chan struct{}, o.Concurrency)
	if c.maxAttempts <= 0 {
		c.maxAttempts = 6
	}
	if c.backoff <= 0 {
		c.backoff = 500 * time.Millisecond
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxWait
	}
	if c.timeout <= 0 {
		c.timeout = 60 * time.Second
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	if c.maxPages <= 0 {
		c.maxPages = DefaultMaxPages
	}
	if c.userAgent == "" {
		c.userAgent = "gitalog"
	}
}

// DefaultMaxWait is the longest rate-limit wait: Sentry's rate-limit
// windows are 1 to 60 seconds, so a reset further out is not one.
const DefaultMaxWait = 60 * time.Second

// DefaultMaxPages is a list's page limit: a million items at Sentry's 100
// a page.
const DefaultMaxPages = 10000

// DefaultMaxResponseBytes bounds a response, decompressed: a page of 100
// issues is about 200 KB, so this is room for very large items.
const DefaultMaxResponseBytes = 256 << 20

// ParseBaseURL checks a Sentry URL and strips a trailing /api/0.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sentry URL %q must be an http(s) URL such as https://sentry.io", s)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/0")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

type requestCounterKey struct{}

// CountRequests returns a context under which every request the client
// sends (each attempt of a retried one too, as Stats counts them) is also
// counted in n: what a caller asks for on behalf of one kind, its
// fan-out and attached objects included, is counted where the caller
// knows the kind, rather than the client learning about kinds.
func CountRequests(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, requestCounterKey{}, n)
}

// Stats are counters for the summary.
type Stats struct{ Requests, Retries, Pages int64 }

type endpointKey struct{}

// WithEndpoint returns a context under which the client counts requests
// in the endpoint's EndpointStat: its path template with the ids replaced
// (see Endpoint), as Sentry's rate limits group them. Without it a
// request is counted under its path with numeric segments replaced.
func WithEndpoint(ctx context.Context, endpoint string) context.Context {
	return context.WithValue(ctx, endpointKey{}, endpoint)
}

// EndpointStat counts one endpoint's requests for the summary: those
// made (each attempt), those a memo made unnecessary (Skipped, counted
// by the Source), the 429s among those made, and the time waited for
// rate limits and retries before its requests.
type EndpointStat struct {
	Endpoint                   string
	Requests, Skipped, TooMany int64
	Wait                       time.Duration
}

// endpointName is the request's endpoint: the context's (WithEndpoint),
// else its path with numeric segments replaced.
func (c *Client) endpointName(ctx context.Context, u *url.URL) string {
	name, _ := ctx.Value(endpointKey{}).(string)
	if name == "" {
		segs := strings.Split(u.Path, "/")
		for i, s := range segs {
			if s != "" && strings.Trim(s, "0123456789") == "" {
				segs[i] = "{id}"
			}
		}
		name = c.redact(strings.TrimPrefix(strings.Join(segs, "/"), "/api/0"))
	}
	return name
}

// bucketKey is the rate-limit window a request counts against. Sentry
// limits each endpoint on its own (an issue's tag values and the issues'
// list each get their 40 a second), so its requests are paced per
// endpoint; another API's limits are usually the token's, whatever the
// path, so an HTTPClient keeps one window.
func (c *Client) bucketKey(ctx context.Context, u *url.URL) string {
	if c.base == nil {
		return ""
	}
	return c.endpointName(ctx, u)
}

// endpoint returns the stat of the request's endpoint.
func (c *Client) endpoint(ctx context.Context, u *url.URL) *EndpointStat {
	name := c.endpointName(ctx, u)
	c.epMu.Lock()
	defer c.epMu.Unlock()
	if c.endpoints == nil {
		c.endpoints = map[string]*EndpointStat{}
	}
	e := c.endpoints[name]
	if e == nil {
		e = &EndpointStat{Endpoint: name}
		c.endpoints[name] = e
	}
	return e
}

// countEndpoint adds to the stat of the request's endpoint.
func (c *Client) countEndpoint(ctx context.Context, u *url.URL, requests, tooMany int64, wait time.Duration) {
	e := c.endpoint(ctx, u)
	c.epMu.Lock()
	e.Requests += requests
	e.TooMany += tooMany
	e.Wait += wait
	c.epMu.Unlock()
}

// Endpoints returns the per-endpoint counts so far, sorted by endpoint.
func (c *Client) Endpoints() []EndpointStat {
	c.epMu.Lock()
	defer c.epMu.Unlock()
	out := make([]EndpointStat, 0, len(c.endpoints))
	for _, e := range c.endpoints {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b EndpointStat) int { return strings.Compare(a.Endpoint, b.Endpoint) })
	return out
}

func (c *Client) Stats() Stats {
	return Stats{c.requests.Load(), c.retries.Load(), c.pages.Load()}
}

// HTTPError is a response Sentry answered with an error status.
type HTTPError struct {
	// URL is without host for Sentry, with it for an HTTPClient; it never
	// holds the token or a secret the client knows.
	Method, URL string
	Status      int
	Detail      string
	Scope       string // the token scope the endpoint needs, for 401/403
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	switch e.Status {
	case http.StatusUnauthorized:
		msg += " (the token is invalid, expired or revoked"
		if e.Scope != "" {
			msg += fmt.Sprintf("; it needs the %q scope", e.Scope)
		}
		msg += ")"
	case http.StatusForbidden:
		if e.Scope != "" {
			msg += fmt.Sprintf(" (the token lacks the %q scope, or access to this organization)", e.Scope)
		}
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// retryable reports whether a status is worth another try.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500
}

// get fetches rawURL (absolute, on the client's host) and decodes its JSON.
// It retries 429, 5xx and network errors.
func (c *Client) get(ctx context.Context, rawURL, scope string) (any, http.Header, error) {
	var v any
	h, _, err := c.getBody(ctx, rawURL, scope, func(body []byte) (err error) {
		v, err = jsonx.Decode(body)
		return err
	})
	return v, h, err
}

// getBody fetches rawURL (absolute, on the client's host); parse checks
// the body of a 200 and keeps what it needs of it. It retries 429, 5xx,
// network errors and bodies cut short, but not a body parse rejects (not
// valid JSON, the wrong shape, nested too deep) or one over the size limit:
// the same request gets the same bytes. shown is the request URI, for
// messages.
func (c *Client) getBody(ctx context.Context, rawURL, scope string, parse func(body []byte) error) (h http.Header, shown string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("bad URL %q: %w", rawURL, err)
	}
	// Never send the token to a host the user didn't name: a Link header
	// pointing elsewhere would otherwise leak it.
	if !sameOrigin(c.base, u) {
		return nil, "", fmt.Errorf("refusing to follow %s: not the configured Sentry host %s (if Sentry lives there, %s)", c.redact(u.Scheme+"://"+u.Host+u.Path), c.base.Host, c.setURL)
	}
	// The request URI came from the server's Link header, after the first
	// page: it may quote a secret back.
	shown = c.redact(u.RequestURI())
	return c.do(ctx, &request{method: http.MethodGet, u: u, shown: shown, scope: scope}, parse)
}

// request is one request to send, perhaps several times.
type request struct {
	method string
	u      *url.URL
	shown  string      // the URL for messages, redacted
	scope  string      // Sentry's token scope the endpoint needs
	header http.Header // an HTTPClient's request's own headers
	body   []byte
}

// do sends r, retrying 429, 5xx, network errors and bodies cut short (see
// getBody).
func (c *Client) do(ctx context.Context, r *request, parse func(body []byte) error) (h http.Header, shown string, err error) {
	u, shown := r.u, r.shown
	key := c.bucketKey(ctx, u)
	var lastErr error
	attempt := 1
	for ; attempt <= c.maxAttempts; attempt++ {
		if err := c.pace(ctx, r.method, u, key); err != nil {
			return nil, shown, err
		}
		h, err := c.once(ctx, r, key, parse)
		c.leave(key)
		if err == nil {
			return h, shown, nil
		}
		wait, header := retryAfter(h, c.now())
		err = c.redactErr(err)
		lastErr = err
		var he *HTTPError
		if wait <= 0 && errors.As(err, &he) && he.Status == http.StatusTooManyRequests {
			// A 429 without Retry-After: the window's end, if another
			// API's headers say when.
			now := c.now()
			if _, reset, name, ok := rateLimit(h, now); ok && reset.After(now) {
				wait, header = reset.Sub(now)+100*time.Millisecond, name
			}
		}
		if errors.As(err, &he) && he.Status == http.StatusTooManyRequests {
			c.countEndpoint(ctx, u, 0, 1, 0)
		}
		var na *jsonx.NotArrayError
		var deep *jsonx.DepthError
		var pe *permanentError
		if errors.As(err, &he) && !retryable(he.Status) || errors.As(err, &na) || errors.As(err, &deep) || errors.As(err, &pe) {
			return nil, shown, err
		}
		if ctx.Err() != nil {
			return nil, shown, ctx.Err()
		}
		// A host that refuses connections, does not resolve or fails TLS
		// gets one quick second chance (a server restarting, a DNS
		// hiccup), not minutes of backoff before the user hears of it.
		var ue *UnreachableError
		if attempt == c.maxAttempts || errors.As(err, &ue) && attempt >= 2 {
			break
		}
		if wait <= 0 {
			wait = c.backoff << (attempt - 1)
			wait += time.Duration(rand.Int64N(int64(wait)/4 + 1))
		}
		c.warnWait(r.method, u, header, wait)
		wait = min(wait, c.maxWait)
		c.retries.Add(1)
		c.log.Debug("retrying", "url", shown, "attempt", attempt+1, "wait", wait.String(), "error", err.Error())
		c.countEndpoint(ctx, u, 0, 0, wait)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, shown, err
		}
	}
	return nil, shown, fmt.Errorf("giving up after %d attempts: %w", min(attempt, c.maxAttempts), lastErr)
}

// sameOrigin reports whether u is on base's scheme, host and port: the
// only place the token may go. Go's own redirect policy keeps the
// Authorization header for another port or plain HTTP of the same host.
func sameOrigin(base, u *url.URL) bool {
	return strings.EqualFold(u.Scheme, base.Scheme) && strings.EqualFold(u.Hostname(), base.Hostname()) &&
		originPort(u) == originPort(base)
}

func originPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// maxRedirects is as many redirects as net/http follows by default.
const maxRedirects = 10

// checkRedirect follows a redirect only on Sentry's own origin: anywhere
// else the token would go along (or, dropped, the answer of a server
// that never saw it would be taken for Sentry's). Its errors are
// permanent: the same request is redirected the same way again.
func (c *Client) checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if c.base == nil {
			// Any API's headers are its own request's: they may only go
			// where that request went.
			if len(via) > 0 && !sameOrigin(via[0].URL, req.URL) {
				return &permanentError{fmt.Errorf("the server answered with a redirect to %s: refusing to follow it to another host, port or scheme", c.shownURL(req.URL))}
			}
		} else if !sameOrigin(c.base, req.URL) {
			return &permanentError{fmt.Errorf("Sentry answered with a redirect to %s: refusing to follow it to another host, port or scheme (if Sentry lives there, %s)", c.shownURL(req.URL), c.setURL)}
		}
		if len(via) >= maxRedirects {
			return &permanentError{fmt.Errorf("%s answered with more than %d redirects, the last to %s; stopping", c.server(), maxRedirects, c.shownURL(req.URL))}
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// server names the server in messages.
func (c *Client) server() string {
	if c.base == nil {
		return "the server"
	}
	return "Sentry"
}

// setting is the config key named in a message, " (sentry.KEY)", for
// Sentry's client only: an HTTPClient's caller has its own settings.
func (c *Client) setting(key string) string {
	if c.base == nil {
		return ""
	}
	return " (sentry." + key + ")"
}

// shownURL is u for a message: no user or password, no secret it quotes.
func (c *Client) shownURL(u *url.URL) string {
	v := *u
	v.User = nil
	return c.redact(v.String())
}

// UnreachableError is a network failure that retrying will not soon mend:
// the host refuses connections, its name does not resolve, or its TLS
// certificate does not verify.
type UnreachableError struct {
	Err error
	TLS bool // the certificate, not the network
}

func (e *UnreachableError) Error() string { return e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// unreachable tells a dead end from a transient failure (a reset, an EOF,
// a timeout), which is worth the full backoff: a connection that could
// not be made (refused, no route; on any OS) or a name that did not
// resolve.
func unreachable(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsTimeout
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && !op.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || tlsFailure(err)
}

func tlsFailure(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		header    tls.RecordHeaderError
	)
	return errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &header) ||
		// net/http turns the RecordHeaderError of a plain HTTP server
		// behind an https URL into this text, with no type to test.
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

func (c *Client) once(ctx context.Context, r *request, key string, parse func([]byte) error) (http.Header, error) {
	u, shown, scope, method := r.u, r.shown, r.scope, r.method
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// The slot is held for the request and its body, not for parsing it:
	// a page's items are split while the next requests are in flight.
	held := true
	release := func() {
		if held {
			held = false
			<-c.sem
		}
	}
	defer release()
	// The deadline covers the body too: a server that sends its answer a
	// byte at a time would otherwise hold the request for as long as it
	// likes.
	rctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errRequestTimeout)
	defer cancel()
	timedOut := func() error {
		if ctx.Err() == nil && context.Cause(rctx) == errRequestTimeout {
			return fmt.Errorf("%s %s: timed out after %s%s", method, shown, c.timeout, c.setting("requestTimeout"))
		}
		return nil
	}
	var reqBody io.Reader
	if r.body != nil {
		reqBody = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(rctx, method, u.String(), reqBody)
	if err != nil {
		return nil, c.redactErr(err)
	}
	if c.base != nil {
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Accept", "application/json")
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	// Asked for explicitly, gzip is not undone by the transport: the
	// client inflates it itself, under its own limit.
	req.Header.Set("Accept-Encoding", "gzip")
	c.requests.Add(1)
	c.countEndpoint(ctx, u, 1, 0, 0)
	if n, _ := ctx.Value(requestCounterKey{}).(*atomic.Int64); n != nil {
		n.Add(1)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error repeats the full URL; it has no token, but keep it short.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if te := timedOut(); te != nil {
			return nil, te
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("%s %s: timed out: %w", method, shown, err)
		}
		if unreachable(err) {
			return nil, &UnreachableError{Err: fmt.Errorf("%s %s: %w", method, shown, err), TLS: tlsFailure(err)}
		}
		return nil, fmt.Errorf("%s %s: %w", method, shown, err)
	}
	body, err := c.readBody(resp)
	body = c.redactBody(body)
	resp.Body.Close()
	release()
	c.observe(key, resp.Header, c.now())
	c.log.Debug("http", "method", method, "url", shown, "status", resp.StatusCode,
		"bytes", len(body), "ms", time.Since(start).Milliseconds(), "authorization", "[redacted]",
		"rate_remaining", rateRemaining(resp.Header))
	var pe *permanentError
	if errors.As(err, &pe) {
		return nil, &permanentError{fmt.Errorf("%s %s: %w", method, shown, err)}
	}
	if te := timedOut(); err != nil && te != nil {
		return nil, te
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading body: %w", method, shown, err)
	}
	// Sentry answers its lists with 200; another API may say 2xx.
	if resp.StatusCode != http.StatusOK && (c.base != nil || resp.StatusCode/100 != 2) {
		he := &HTTPError{Method: method, URL: shown, Status: resp.StatusCode, Detail: clip(c.redact(detail(body)))}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			he.Scope = scope
		}
		// The headers, for the wait they ask before a retry.
		return resp.Header, he
	}
	if err := parse(body); err != nil {
		var na *jsonx.NotArrayError
		if errors.As(err, &na) {
			return nil, err
		}
		if de := new(jsonx.DepthError); errors.As(err, &de) {
			return nil, &permanentError{fmt.Errorf("%s %s: the response (%d bytes) is refused: %w", method, shown, len(body), err)}
		}
		// A whole body that does not parse (a body cut short is a read
		// error above) would parse no better the next time.
		return nil, &permanentError{fmt.Errorf("%s %s: the response is not valid JSON (%d bytes): %w", method, shown, len(body), err)}
	}
	return resp.Header, nil
}

var errRequestTimeout = errors.New("the request took too long")

// permanentError is a failed request that would fail the same way again.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// readBody reads a response's body, inflating gzip, up to maxBody bytes.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	hint := ""
	if c.base != nil {
		hint = " (raise sentry.maxResponseBytes if it is genuine)"
	}
	tooLarge := &permanentError{fmt.Errorf("the response is more than %d bytes (decompressed); stopping%s", c.maxBody, hint)}
	r, n := io.Reader(resp.Body), resp.ContentLength
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		r, n = zr, -1
	} else if n > c.maxBody {
		return nil, tooLarge
	}
	body, err := readBody(io.LimitReader(r, c.maxBody+1), n)
	if int64(len(body)) > c.maxBody {
		return nil, tooLarge
	}
	return body, err
}

// readBody is readAll, and an error when fewer bytes than announced
// arrive: a transfer cut short is worth another try, a bad body is not.
func readBody(r io.Reader, n int64) ([]byte, error) {
	b, err := readAll(r, n)
	if err == nil && n > 0 && int64(len(b)) < n {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}

// readAll is io.ReadAll sized by Content-Length when it is given (and
// believable), so a 200 KB page is read into one allocation instead of a
// dozen growing copies.
func readAll(r io.Reader, n int64) ([]byte, error) {
	if n <= 0 || n > 64<<20 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, n+1) // +1: room to see EOF without growing
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			// Longer than announced: read the rest the ordinary way.
			rest, err := io.ReadAll(r)
			return append(b, rest...), err
		}
	}
}

// detail extracts Sentry's error text: {"detail": "..."} or a bare JSON
// string (429s); it is redacted, then clipped.
func detail(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) == nil {
		switch v := v.(type) {
		case string:
			return v
		case map[string]any:
			if d, ok := v["detail"].(string); ok {
				return d
			}
		}
	}
	if len(body) > 4096 {
		body = body[:4096] // enough for clip, and for a secret across its end
	}
	return strings.TrimSpace(string(body))
}

// minSecret is the shortest secret redacted: a shorter one would turn
// ordinary words of a message into [redacted] and hide next to nothing.
const minSecret = 6

// redact blanks the secrets the client holds (the token, a password in the
// URL) out of text that came from the server, which may quote them: an
// error body echoing the Authorization header, a Link header.
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// jsonForms are the ways each secret can stand inside a JSON string: as
// is when none of its characters needs escaping (Sentry's tokens are hex,
// or base64 with "sntrys_"/"sntryu_" in front, so they never do), as
// encoders escape it otherwise, and with "/" written "\/", as some
// encoders write it.
func jsonForms(secrets []string) [][]byte {
	var forms [][]byte
	add := func(b []byte) {
		if len(b) >= minSecret && !slices.ContainsFunc(forms, func(f []byte) bool { return bytes.Equal(f, b) }) {
			forms = append(forms, b)
		}
	}
	for _, secret := range secrets {
		for _, html := range []bool{false, true} {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(html)
			if enc.Encode(secret) != nil {
				continue
			}
			q := bytes.TrimSpace(buf.Bytes())
			q = q[1 : len(q)-1] // the quotes
			add(q)
			add(bytes.ReplaceAll(q, []byte("/"), []byte(`\/`)))
		}
	}
	return forms
}

// redactBody blanks the secrets out of a response body before it is
// parsed: Sentry's data can quote the token (an exception message in an
// issue's title, a member's name), and what is parsed ends up in entity
// files, dumps, the summary and commits. A body with no secret (the
// rule) is returned as it is, after one scan per form.
func (c *Client) redactBody(body []byte) []byte {
	for _, secret := range c.bodySecrets {
		if bytes.Contains(body, secret) {
			body = bytes.ReplaceAll(body, secret, []byte("[redacted]"))
		}
	}
	return body
}

// redactErr is err, or when its text quotes a secret, the same error with
// the text redacted.
func (c *Client) redactErr(err error) error {
	msg := err.Error()
	if r := c.redact(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}

// redactedError keeps the error's kind (for retries and messages) but
// shows redacted text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// retryAfter is how long a 429/503 asks us to wait, and the header that
// says so: Retry-After (seconds or a date), else until
// X-Sentry-Rate-Limit-Reset; 0 when neither says.
func retryAfter(h http.Header, now time.Time) (time.Duration, string) {
	if s := h.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			return time.Duration(min(n, 1<<30)) * time.Second, "Retry-After"
		}
		if t, err := http.ParseTime(s); err == nil {
			return max(t.Sub(now), 0), "Retry-After"
		}
	}
	if s := h.Get("X-Sentry-Rate-Limit-Reset"); s != "" {
		if t, ok := epoch(s); ok {
			// Reset has one-second resolution; wait until just after it.
			return max(t.Sub(now)+100*time.Millisecond, 100*time.Millisecond), "X-Sentry-Rate-Limit-Reset"
		}
	}
	return 0, ""
}

func epoch(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(f*float64(time.Second))), true
}

// rateLimitHeaders are the (remaining, reset) pairs read, first found
// wins: Sentry's, then the X-RateLimit-* of most APIs (GitHub, Jira,
// PagerDuty, ...), then the IETF draft's RateLimit-*.
var rateLimitHeaders = [][2]string{
	{"X-Sentry-Rate-Limit-Remaining", "X-Sentry-Rate-Limit-Reset"},
	{"X-RateLimit-Remaining", "X-RateLimit-Reset"},
	{"RateLimit-Remaining", "RateLimit-Reset"},
}

// rateLimit reads a response's rate-limit window: the requests left in it
// and when it resets, and the header that says so.
func rateLimit(h http.Header, now time.Time) (remaining int, reset time.Time, header string, ok bool) {
	for _, names := range rateLimitHeaders {
		rs, ts := h.Get(names[0]), h.Get(names[1])
		if rs == "" || ts == "" {
			continue
		}
		rem, err := strconv.Atoi(strings.TrimSpace(rs))
		if err != nil {
			return 0, time.Time{}, "", false
		}
		if names[1] == "X-Sentry-Rate-Limit-Reset" {
			reset, ok = epoch(ts)
		} else {
			reset, ok = resetTime(ts, now)
		}
		return rem, reset, names[1], ok
	}
	return 0, time.Time{}, "", false
}

// resetTime reads another API's reset: seconds since the epoch (GitHub),
// seconds from now (the IETF draft), or a timestamp (Jira).
func resetTime(s string, now time.Time) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
		if f > 1e9 {
			return time.Unix(0, int64(f*float64(time.Second))), true
		}
		return now.Add(time.Duration(f * float64(time.Second))), true
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", http.TimeFormat} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// rateRemaining is the requests left in the window, for the log.
func rateRemaining(h http.Header) string {
	for _, names := range rateLimitHeaders {
		if v := h.Get(names[0]); v != "" {
			return v
		}
	}
	return ""
}

// bucket is one rate-limit key's window, as the server last told it,
// and the key's requests in flight.
type bucket struct {
	remaining int       // requests left in the window; -1: unknown
	reset     time.Time // when the window ends, capped (see observe)
	asked     time.Time // the reset the server named, before the cap
	header    string    // the header that named it
	// limit and concLimit are X-Sentry-Rate-Limit-Limit (or another
	// API's X-RateLimit-Limit) and -ConcurrentLimit, 0 until told;
	// concLimit caps inflight.
	limit, concLimit int
	// window is the shortest step seen between two resets: the window's
	// length, 0 until seen.
	window   time.Duration
	inflight int           // requests past pace and not yet answered
	freed    chan struct{} // closed when a request ends, for those waiting for a slot
}

// bucketLocked returns key's bucket; c.mu is held.
func (c *Client) bucketLocked(key string) *bucket {
	b := c.buckets[key]
	if b == nil {
		b = &bucket{remaining: -1}
		c.buckets[key] = b
	}
	return b
}

// observe records the rate-limit window of key from a response.
func (c *Client) observe(key string, h http.Header, now time.Time) {
	rem, reset, header, ok := rateLimit(h, now)
	limit, _ := strconv.Atoi(strings.TrimSpace(cmp.Or(h.Get("X-Sentry-Rate-Limit-Limit"), h.Get("X-RateLimit-Limit"))))
	conc, _ := strconv.Atoi(strings.TrimSpace(h.Get("X-Sentry-Rate-Limit-ConcurrentLimit")))
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.bucketLocked(key)
	if limit > 0 {
		b.limit = limit
	}
	if conc > 0 {
		b.concLimit = conc
	}
	if !ok {
		return
	}
	asked := reset
	// A reset further out than a window is no window's: it is waited
	// for as one window once, and not believed again, since a server
	// that says so on every response would otherwise cost a window a
	// request for the whole sync.
	if horizon := now.Add(c.maxWait + time.Second); reset.After(horizon) {
		if c.farReset {
			return
		}
		c.farReset = true
		reset = horizon
	}
	if reset.After(b.reset) {
		if step := reset.Sub(b.reset); !b.reset.IsZero() && step <= c.maxWait && (b.window == 0 || step < b.window) {
			b.window = step
		}
		b.reset, b.asked, b.remaining, b.header = reset, asked, rem, header
	} else if reset.Equal(b.reset) {
		b.remaining = min(b.remaining, rem)
		if b.remaining < 0 {
			b.remaining = rem
		}
	}
}

// pace waits for key's window to reset when the requests left in it are
// about to run out, so we slow down before Sentry answers 429, then for
// a slot under the key's concurrent limit; the caller gives the slot back
// with leave once the request is answered.
func (c *Client) pace(ctx context.Context, method string, u *url.URL, key string) error {
	var waitedFor time.Time
	for {
		c.mu.Lock()
		b := c.bucketLocked(key)
		now := c.now()
		if b.remaining >= 0 && !now.Before(b.reset.Add(resetMargin)) {
			// The window is over. Windows are fixed: the next one is
			// whole, and ends a window's length later, until an answer
			// says otherwise. Without a limit to start it from, it is
			// unknown until an answer comes.
			b.remaining = -1
			if b.limit > 0 {
				step := cmp.Or(b.window, time.Second) // Sentry's usual window
				b.reset = b.reset.Add(step * (now.Sub(b.reset)/step + 1))
				b.asked, b.remaining = b.reset, b.limit
			}
		}
		// The requests in flight may all land in the window before
		// their answers tell us so.
		reserve := cap(c.sem)
		if b.concLimit > 0 {
			reserve = min(reserve, b.concLimit)
		}
		// A wait is for a later reset than the last one waited for: a
		// clock that did not move (a test's) is not waited on again.
		if b.remaining >= 0 && b.remaining <= reserve && b.reset.After(waitedFor) {
			wait := b.reset.Sub(now) + resetMargin
			asked := b.asked.Sub(now) + resetMargin
			header := b.header
			waitedFor = b.reset
			c.mu.Unlock()
			c.warnWait(method, u, header, asked)
			wait = min(wait, c.maxWait)
			c.log.Debug("rate limit nearly used; waiting for the window to reset", "endpoint", key, "wait", wait.String())
			c.countEndpoint(ctx, u, 0, 0, wait)
			if err := c.sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		// In flight at once: the endpoint's concurrent limit and, while
		// the window is unknown (no answer yet, or a window over with no
		// limit to start the next from), no more than one round of
		// requests, so that a hundred waiting lists do not all go out
		// before the first answer says how many the window allows.
		slots := b.concLimit
		if b.remaining < 0 {
			slots = min(cmp.Or(slots, reserve), reserve)
		}
		if slots <= 0 || b.inflight < slots {
			if b.remaining > 0 {
				// Our own request counts against the window before
				// its answer says so.
				b.remaining--
			}
			b.inflight++
			c.mu.Unlock()
			return nil
		}
		if b.freed == nil {
			b.freed = make(chan struct{})
		}
		freed := b.freed
		c.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// resetMargin is waited past a window's reset: the reset has one-second
// resolution, and the server's clock is not ours.
const resetMargin = 100 * time.Millisecond

// leave gives back the slot pace took.
func (c *Client) leave(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.bucketLocked(key)
	b.inflight--
	if b.freed != nil {
		close(b.freed)
		b.freed = nil
	}
}

// warnWait warns, once per endpoint in a client's life (a sync), of a
// rate-limit wait long enough to look like a hang; asked is what header
// asked for, before the cap.
func (c *Client) warnWait(method string, u *url.URL, header string, asked time.Duration) {
	wait := min(asked, c.maxWait)
	if header == "" || wait <= c.slowWait {
		return
	}
	endpoint := c.redact(u.Path)
	c.mu.Lock()
	seen := c.warned[endpoint]
	c.warned[endpoint] = true
	c.mu.Unlock()
	if seen {
		return
	}
	whose := "Sentry's rate limit"
	if c.base == nil {
		whose = "the rate limit of " + c.redact(u.Host)
	}
	msg := fmt.Sprintf("%s: waiting %s before %s %s, as its %s header asks", whose, wait.Round(time.Second), method, endpoint, header)
	if asked > c.maxWait+time.Second {
		msg = fmt.Sprintf("%s: its %s header asks for a wait of %s before %s %s; waiting %s, one rate-limit window, instead", whose, header, asked.Round(time.Second), method, endpoint, wait.Round(time.Second))
	}
	c.log.Warn(msg)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Request is a request of an HTTPClient, to any API.
type Request struct {
	Method string // GET, POST, ...
	URL    string // absolute
	Header http.Header
	Body   []byte // nil: none
}

// Response is the answer to a Request: its body, decoded JSON with the
// client's secrets redacted, and its headers. Shown is the request for
// messages ("POST https://host/path?query"), without user, password or
// any secret.
type Response struct {
	Value  any
	Header http.Header
	Shown  string
}

// Do sends r, with the retries, pacing and bounds of every request of the
// client, and decodes its body as JSON. A non-2xx answer is an
// *HTTPError; no error or log line quotes a secret the client knows.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %s: not an absolute http(s) URL", r.Method, c.redact(r.URL))
	}
	shown := c.shownURL(&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery})
	var v any
	h, shown, err := c.do(ctx, &request{method: r.Method, u: u, shown: shown, header: r.Header, body: r.Body}, func(body []byte) (err error) {
		v, err = jsonx.Decode(body)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.pages.Add(1)
	return &Response{Value: v, Header: h, Shown: r.Method + " " + shown}, nil
}

// BaseURL is the Sentry URL for messages, without any credentials in it.
func (c *Client) BaseURL() string {
	u := *c.base
	u.User = nil
	return u.String()
}

// URL builds an absolute URL for an API path under /api/0.
func (c *Client) URL(path string, q url.Values) string {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/0" + path
	u.RawQuery = q.Encode()
	return u.String()
}

// List fetches every page of a list endpoint, calling fn for each page in
// order with the bytes of its items as received: each page's body is
// checked as JSON and split into its elements (sub-slices of the body)
// without being decoded. where names the request, e.g.
// "GET /api/0/organizations/o/issues/?cursor=...". It follows rel="next"
// links while results="true".
func (c *Client) List(ctx context.Context, path string, q url.Values, scope string, fn func(items [][]byte, where string) error) error {
	first := c.URL(path, q)
	next := first
	// A server that hands out the same cursor again (or endless fresh
	// ones) would be followed forever: each list stops at a cursor it has
	// seen and at maxPages.
	seen := map[string]bool{}
	for pages := 0; next != ""; pages++ {
		if pages == c.maxPages {
			return fmt.Errorf("GET %s: more than %d pages; stopping (raise sentry.maxPages if the list is really that long)", path, c.maxPages)
		}
		var items [][]byte
		h, shown, err := c.getBody(ctx, next, scope, func(body []byte) (err error) {
			items, err = jsonx.SplitArray(body, nil)
			return err
		})
		var na *jsonx.NotArrayError
		if errors.As(err, &na) {
			return fmt.Errorf("GET %s: expected a JSON array, got %s", path, na.Kind)
		}
		if err != nil {
			return err
		}
		c.pages.Add(1)
		if items == nil {
			items = [][]byte{}
		}
		n := len(items)
		if err := fn(items, "GET "+shown); err != nil {
			return err
		}
		size := pageSize(next, q)
		var known bool
		next, known = NextPage(h.Get("Link"))
		// Sentry sends a Link header on every page of a list. Without one
		// (a proxy that drops it, a server of another make) a short page
		// is the end, but a full one may be followed by more: taking it
		// for the end would delete the rest of the list.
		if !known && (size == 0 || n < size) {
			next = ""
		} else if !known && next == "" {
			return fmt.Errorf("GET %s: the server sent a full page of %d items without a Link header to the next page; cannot tell whether the list is complete", shown, n)
		}
		if next == "" {
			break
		}
		cursor := next
		if u, err := url.Parse(next); err == nil && u.Query().Has("cursor") {
			cursor = u.Query().Get("cursor")
		}
		if seen[cursor] || next == first {
			return fmt.Errorf("GET %s: the server's Link header repeats cursor %q; stopping rather than reading the same pages forever", path, c.redact(cursor))
		}
		seen[cursor] = true
	}
	return nil
}

// pageSize is the page size a list request asked for (per_page, or limit
// for issues), read from the request's URL, else from the first request's
// query; 0 when it asked for none.
func pageSize(rawURL string, first url.Values) int {
	for _, q := range []url.Values{nil, first} {
		if q == nil {
			u, err := url.Parse(rawURL)
			if err != nil {
				continue
			}
			q = u.Query()
		}
		for _, key := range []string{"per_page", "limit"} {
			if n, err := strconv.Atoi(q.Get(key)); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// Object fetches one JSON object.
func (c *Client) Object(ctx context.Context, path string, q url.Values, scope string) (map[string]any, error) {
	v, _, err := c.get(ctx, c.URL(path, q), scope)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("GET %s: expected a JSON object, got %s", path, kindOf(v))
	}
	return m, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}
