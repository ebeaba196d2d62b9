package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitalog/gitalog/engine/sentry"
)

// Options configure a Source. Zero values mean the defaults of
// engine/sentry's client.
type Options struct {
	HTTPClient *http.Client
	// Concurrency bounds the requests in flight to one API host, and the
	// for_each chains run at once (default 4).
	Concurrency int
	Logger      *slog.Logger
	// MaxPages bounds the pages of one chain, for extractors without
	// max_pages (default sentry.DefaultMaxPages).
	MaxPages         int
	MaxResponseBytes int64
	Timeout          time.Duration
	UserAgent        string
	// MaxAttempts, Backoff and MaxWait tune retries as sentry.ClientOptions
	// do (zero: its defaults), so that one setting governs both sources.
	MaxAttempts int
	Backoff     time.Duration
	MaxWait     time.Duration
	// Sleep replaces the waits before retries (tests).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Stats count what a kind's extraction did.
type Stats struct {
	Requests   int64 // requests sent, one per page, failed ones included
	Pages      int64 // pages answered
	Items      int64 // items kept: after exclude, one per external id
	Excluded   int64 // items exclude dropped
	Duplicates int64 // items replaced by a later one with the same external id
	Skipped    int64 // for_each chains the Memo made unnecessary
}

// ErrPush is the error of Stream for an extractor without http_polling.
var ErrPush = errors.New("the extractor has no http_polling: OpsLevel receives its items by push, and gitalog has none to poll")

// Source streams the items of a Definition's extractors. Each kind is
// fetched once per Source: a parent's items feed its for_each children
// and its own Stream alike.
type Source struct {
	d      *Definition
	o      Options
	byKind map[string]*Extractor
	// secrets are the client's redactions: the secret values and the
	// constant header values that carry them (a Basic header's base64).
	secrets []string
	sem     chan struct{}   // bounds concurrent chains
	parents map[string]bool // kinds some for_each names: their decoded items are kept

	// Memo, when set, keeps the results of the for_each chains of
	// extractors with depends_on between syncs, under MemoName(kind):
	// the same state, and the same rules, as Sentry's fan-out.
	Memo sentry.Memo

	mu      sync.Mutex
	clients map[string]*sentry.Client // by origin
	results map[string]*result
}

// result is one kind's extraction, done once.
type result struct {
	done   chan struct{}
	err    error
	items  []item
	values []any // the items, decoded, for for_each children
	stats  Stats
}

type item struct {
	id    string
	json  []byte
	where string
	value any
}

// NewSource prepares d's extractors for streaming; nothing is sent yet.
func NewSource(d *Definition, o Options) (*Source, error) {
	if d.MissingSecrets != nil {
		return nil, d.MissingSecrets
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.MaxPages <= 0 {
		o.MaxPages = sentry.DefaultMaxPages
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{d: d, o: o, byKind: map[string]*Extractor{}, clients: map[string]*sentry.Client{},
		results: map[string]*result{}, sem: make(chan struct{}, o.Concurrency), parents: map[string]bool{}}
	s.secrets = d.Secrets.Values()
	for _, e := range d.Extractors {
		s.byKind[e.Kind] = e
		if e.ForEach != "" {
			s.parents[e.ForEach] = true
		}
		// A header built from a secret (Basic base64 of user:token) is as
		// secret as it, and a server may echo it back in an error.
		for _, h := range e.Headers {
			if len(h.Value.SecretNames()) == 0 {
				continue
			}
			v, err := h.Value.Render(s.baseVars(), d.Secrets)
			if err != nil {
				continue // it depends on a variable; its secrets are redacted as they are
			}
			for _, f := range strings.Fields(v) {
				if len(f) >= 8 && !slices.Contains(s.secrets, f) {
					s.secrets = append(s.secrets, f)
				}
			}
		}
	}
	return s, nil
}

// baseVars are the variables every template of the definition sees:
// source, for a definition bound to one.
func (s *Source) baseVars() map[string]any {
	vars := map[string]any{}
	if src := s.d.Source; src != nil {
		vars[SourceVar] = map[string]any{"name": src.Name, "url": src.URL, "org": src.Org}
	}
	return vars
}

// Has reports whether kind is an extractor that Stream can poll.
func (s *Source) Has(kind string) bool {
	e := s.byKind[kind]
	return e != nil && !e.Push
}

// Stats are kind's counters, once Stream has run.
func (s *Source) Stats(kind string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.results[kind]; r != nil {
		select {
		case <-r.done:
			return r.stats
		default:
		}
	}
	return Stats{}
}

// Sample is the JSON of kind's first item, nil when it has none (or has
// not been streamed).
func (s *Source) Sample(kind string) []byte {
	s.mu.Lock()
	r := s.results[kind]
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
		if len(r.items) > 0 {
			return r.items[0].json
		}
	default:
	}
	return nil
}

// streamBatch is how many items one call of Stream's fn gets.
const streamBatch = 256

// Stream fetches kind's items (every page of every chain) and calls fn
// with them, each as its JSON, in batches; where names the request and the
// item, for messages, and never holds a secret. Any failed request or
// chain, or an item without an external id, is an error, and fn sees
// nothing of the kind: an incomplete extraction must not pass for a
// complete one.
func (s *Source) Stream(ctx context.Context, kind string, fn func(items [][]byte, where []string) error) error {
	e := s.byKind[kind]
	if e == nil {
		return fmt.Errorf("no extractor has external_kind %q", kind)
	}
	if e.Push {
		return fmt.Errorf("%s: %w", e.Label(), ErrPush)
	}
	r := s.fetch(ctx, e)
	if r.err != nil {
		return r.err
	}
	for i := 0; i < len(r.items); i += streamBatch {
		batch := r.items[i:min(i+streamBatch, len(r.items))]
		items := make([][]byte, len(batch))
		where := make([]string, len(batch))
		for j, it := range batch {
			items[j], where[j] = it.json, it.where
		}
		if err := fn(items, where); err != nil {
			return err
		}
	}
	return nil
}

// fetch runs e's extraction once per Source; later callers wait for it.
func (s *Source) fetch(ctx context.Context, e *Extractor) *result {
	s.mu.Lock()
	r := s.results[e.Kind]
	if r != nil {
		s.mu.Unlock()
		select {
		case <-r.done:
		case <-ctx.Done():
			return &result{err: ctx.Err()}
		}
		return r
	}
	r = &result{done: make(chan struct{})}
	s.results[e.Kind] = r
	s.mu.Unlock()
	defer close(r.done)
	r.err = s.run(ctx, e, r)
	if r.err != nil {
		r.items, r.values = nil, nil
	}
	return r
}

// collector gathers one kind's items, in order, one per external id.
type collector struct {
	items []item
	byID  map[string]int
	stats *Stats
}

func (c *collector) add(it item) {
	if i, ok := c.byID[it.id]; ok {
		// The later wins, in the earlier's place.
		c.items[i] = it
		c.stats.Duplicates++
		return
	}
	c.byID[it.id] = len(c.items)
	c.items = append(c.items, it)
}

func (s *Source) run(ctx context.Context, e *Extractor, r *result) error {
	c := &collector{byID: map[string]int{}, stats: &r.stats}
	if e.ForEach == "" {
		got, err := s.chain(ctx, e, nil, "", &r.stats, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Label(), err)
		}
		for _, it := range got {
			c.add(it)
		}
	} else {
		parent := s.fetch(ctx, s.byKind[e.ForEach])
		if parent.err != nil {
			return fmt.Errorf("%s: its for_each parent failed, so it is not fetched: %w", e.Label(), parent.err)
		}
		if err := s.fanOut(ctx, e, parent, c, &r.stats); err != nil {
			return err
		}
	}
	r.items = c.items
	r.stats.Items = int64(len(c.items))
	// Decoded items are kept for fan-out only: a kind's JSON is enough
	// to stream it.
	keep := s.parents[e.Kind]
	if keep {
		r.values = make([]any, len(c.items))
	}
	for i := range c.items {
		if keep {
			r.values[i] = c.items[i].value
		}
		c.items[i].value = nil
	}
	return nil
}

// fanOut runs one chain per parent item, Concurrency at a time, and
// collects their items in the parents' order.
func (s *Source) fanOut(ctx context.Context, e *Extractor, parent *result, c *collector, stats *Stats) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	got := make([][]item, len(parent.values))
	chainStats := make([]Stats, len(parent.values))
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for i, pv := range parent.values {
		acquired := false
		select {
		case s.sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			if acquired {
				<-s.sem
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.sem }()
			label := fmt.Sprintf("for %s item %q", e.ForEach, parent.items[i].id)
			m := s.memoFor(e, pv)
			if values, ok := m.recall(); ok {
				items, excluded, err := e.build(values, label+", as stored by an earlier sync", s.redact)
				if err == nil {
					chainStats[i].Skipped++
					chainStats[i].Excluded += int64(len(excluded))
					got[i] = items
					return
				}
				// A stored result the definition no longer reads (another
				// external_id) is fetched again.
			}
			items, err := s.chain(ctx, e, map[string]any{e.ForEach: pv}, label, &chainStats[i], m)
			m.done(err)
			if err != nil {
				once.Do(func() {
					firstErr = fmt.Errorf("%s, %s: %w", e.Label(), label, err)
					cancel(firstErr)
				})
				return
			}
			got[i] = items
		}()
	}
	wg.Wait()
	for _, cs := range chainStats {
		stats.Requests += cs.Requests
		stats.Pages += cs.Pages
		stats.Excluded += cs.Excluded
		stats.Skipped += cs.Skipped
	}
	if s.Memo != nil && len(e.DependsOn) > 0 {
		// Only a run through every parent of a complete list lets the
		// entries of parents it did not see go.
		s.Memo.Listed(MemoName(e.Kind), firstErr == nil && ctx.Err() == nil)
	}
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, items := range got {
		for _, it := range items {
			c.add(it)
		}
	}
	return nil
}

// chain fetches the pages of one chain: the first with cursor nil, each
// next with the cursor next_cursor gives, until it gives none.
// m, when not nil, is given every page's values, to store.
func (s *Source) chain(ctx context.Context, e *Extractor, vars map[string]any, label string, stats *Stats, m *memoCall) ([]item, error) {
	maxPages := cmpOr(e.MaxPages, s.o.MaxPages)
	if vars == nil {
		vars = map[string]any{}
	}
	for k, v := range s.baseVars() {
		vars[k] = v
	}
	vars["cursor"] = nil
	var items []item
	var chainOrigin string
	hadLink := false
	seen := map[string]bool{}
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("more than %d pages in one chain; stopping (raise max_pages of the extractor if the list is really that long)", maxPages)
		}
		req, u, err := s.request(e, vars)
		if err != nil {
			return nil, err
		}
		o := origin(u)
		if chainOrigin == "" {
			chainOrigin = o
		}
		// The headers may carry a token: they go only where the
		// definition says, not where a server's Link header points.
		if allowed := e.origins; len(allowed) > 0 && !slices.Contains(allowed, o) || len(allowed) == 0 && o != chainOrigin {
			return nil, fmt.Errorf("refusing to send %s %s: not a host the url template names (%s)", e.Method, s.redact(u.Scheme+"://"+u.Host+u.Path), s.redact(strings.Join(cmpOrSlice(allowed, []string{chainOrigin}), ", ")))
		}
		// Each attempt counts, retries of a 429 too: what the server was asked.
		var sent atomic.Int64
		resp, err := s.client(o).Do(sentry.CountRequests(ctx, &sent), req)
		stats.Requests += sent.Load()
		if err != nil {
			return nil, err
		}
		stats.Pages++
		values, err := e.iterate(resp.Value, resp.Shown, s.redact)
		if err != nil {
			return nil, err
		}
		m.add(values)
		got, excluded, err := e.build(values, resp.Shown, s.redact)
		stats.Excluded += int64(len(excluded))
		if err != nil {
			return nil, err
		}
		items = append(items, got...)
		s.o.Logger.Debug("extract", "extractor", e.Kind, "chain", label, "page", page, "request", resp.Shown, "items", len(got))
		if e.Cursor == nil {
			return items, nil
		}
		// A proxy that strips the Link header would end the chain early,
		// and the rest of the list would read as deleted: a chain whose
		// cursor comes from the headers needs the header on every page
		// once one page had it, and Sentry's API sends it on every list.
		if e.Cursor.From == "header" {
			has := resp.Header.Get("Link") != ""
			switch {
			case has:
				hadLink = true
			case hadLink:
				return nil, fmt.Errorf("%s: page %d of the chain has no Link header, where the earlier pages had one; stopping, since the rest of the list cannot be told from a deletion", resp.Shown, page)
			case strings.Contains(u.Path, "/api/0/"):
				return nil, fmt.Errorf("%s: Sentry's answer has no Link header, which Sentry sends with every list; stopping, since the rest of the list cannot be told from a deletion (a proxy may strip it)", resp.Shown)
			}
		}
		next, err := s.next(e, resp)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", resp.Shown, err)
		}
		if next == "" {
			return items, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("%s: next_cursor repeats %q, a cursor of an earlier page of the chain; stopping rather than reading the same pages forever", resp.Shown, s.redact(clip(next)))
		}
		seen[next] = true
		vars["cursor"] = next
	}
}

func cmpOr(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}

func cmpOrSlice(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}

// request renders e's templates into a request.
func (s *Source) request(e *Extractor, vars map[string]any) (sentry.Request, *url.URL, error) {
	raw, err := e.URL.Render(vars, s.d.Secrets)
	if err != nil {
		return sentry.Request{}, nil, fmt.Errorf("http_polling.url: %s", s.redact(err.Error()))
	}
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return sentry.Request{}, nil, fmt.Errorf("http_polling.url rendered %q, not an absolute http(s) URL", s.redact(clip(raw)))
	}
	req := sentry.Request{Method: e.Method, URL: raw, Header: http.Header{}}
	for i, h := range e.Headers {
		v, err := h.Value.Render(vars, s.d.Secrets)
		if err != nil {
			return sentry.Request{}, nil, fmt.Errorf("http_polling.headers[%d].value: %s", i, s.redact(err.Error()))
		}
		req.Header.Add(h.Name, v)
	}
	if e.Body != nil {
		b, err := e.Body.Render(vars, s.d.Secrets)
		if err != nil {
			return sentry.Request{}, nil, fmt.Errorf("http_polling.body: %s", s.redact(err.Error()))
		}
		req.Body = []byte(b)
	}
	return req, u, nil
}

func (s *Source) client(origin string) *sentry.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[origin]
	if c == nil {
		c = sentry.NewHTTPClient(sentry.ClientOptions{
			HTTPClient: s.o.HTTPClient, Concurrency: s.o.Concurrency, Logger: s.o.Logger,
			MaxResponseBytes: s.o.MaxResponseBytes, Timeout: s.o.Timeout, UserAgent: s.o.UserAgent,
			MaxAttempts: s.o.MaxAttempts, Backoff: s.o.Backoff, MaxWait: s.o.MaxWait,
			Secrets: s.secrets, Sleep: s.o.Sleep,
		})
		s.clients[origin] = c
	}
	return c
}

func (s *Source) redact(v string) string {
	for _, secret := range s.secrets {
		for _, f := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			if len(f) >= 6 {
				v = strings.ReplaceAll(v, f, "[redacted]")
			}
		}
	}
	return v
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// split applies the iterator, external_id and exclude to a body; shown
// names it in messages. excluded are the ids of the items exclude drops.
func (e *Extractor) split(body any, shown string, redact func(string) string) (out []item, excluded []string, err error) {
	values, err := e.iterate(body, shown, redact)
	if err != nil {
		return nil, nil, err
	}
	return e.build(values, shown, redact)
}

// iterate applies the iterator to a body: the values a for_each memo
// stores, so that a change of exclude still applies to them.
func (e *Extractor) iterate(body any, shown string, redact func(string) string) ([]any, error) {
	if e.Iterator == nil {
		return []any{body}, nil
	}
	outs, err := e.Iterator.All(body)
	if err != nil {
		return nil, fmt.Errorf("%s: iterator: %s", shown, redact(err.Error()))
	}
	switch {
	case len(outs) == 1 && outs[0] == nil:
		// A body without the list (an error in a 200) must not read
		// as an empty list: that would delete every item.
		return nil, fmt.Errorf("%s: iterator %q gave null: the response does not hold the items (an empty list is [])", shown, e.iteratorSrc)
	case len(outs) == 1:
		if a, ok := outs[0].([]any); ok {
			return a, nil
		}
	}
	return outs, nil
}

// build applies external_id and exclude to the iterator's values.
func (e *Extractor) build(values []any, shown string, redact func(string) string) (out []item, excluded []string, err error) {
	out = make([]item, 0, len(values))
	for i, v := range values {
		where := fmt.Sprintf("%s, item %d", shown, i+1)
		id, err := externalID(e.ExternalID, v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: external_id: %s", where, redact(err.Error()))
		}
		if e.Exclude != nil {
			ex, err := e.Exclude.All(v)
			if err != nil {
				return nil, nil, fmt.Errorf("%s (id %q): exclude: %s", where, id, redact(err.Error()))
			}
			if slices.ContainsFunc(ex, truthy) {
				excluded = append(excluded, id)
				continue
			}
		}
		b, err := marshal(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", where, err)
		}
		out = append(out, item{id: id, json: b, where: fmt.Sprintf("extractor %q: %s", e.Kind, where), value: v})
	}
	return out, excluded, nil
}

// Pushed is one item of a pushed body, as a poll would have extracted it.
type Pushed struct {
	ID   string // its external_id
	JSON []byte // the item, encoded as a polled item is
}

// Split runs a pushed body (decoded JSON) through the extractor's
// iterator, external_id and exclude, exactly as a polled page: kept are
// the items a poll would stream, excluded the ids exclude drops. shown
// names the body in messages.
func (e *Extractor) Split(body any, shown string) (kept []Pushed, excluded []string, err error) {
	items, excluded, err := e.split(body, shown, func(s string) string { return s })
	if err != nil {
		return nil, nil, err
	}
	kept = make([]Pushed, len(items))
	for i, it := range items {
		kept[i] = Pushed{ID: it.id, JSON: it.json}
	}
	return kept, excluded, nil
}

func truthy(v any) bool { return v != nil && v != false }

// externalID is the one string or number id gives for v.
func externalID(id Program, v any) (string, error) {
	outs, err := id.All(v)
	if err != nil {
		return "", err
	}
	if len(outs) != 1 {
		return "", fmt.Errorf("gave %d values; it must give one string or number", len(outs))
	}
	s, ok := scalar(outs[0])
	if !ok || s == "" {
		b, _ := marshal(outs[0])
		return "", fmt.Errorf("gave %s; it must give a non-empty string or a number", clip(string(b)))
	}
	return s, nil
}

// scalar is a string or number as text.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case int:
		return strconv.Itoa(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case *big.Int:
		return v.String(), true
	}
	return "", false
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// next is the cursor next_cursor gives for resp, "" when the chain ends.
func (s *Source) next(e *Extractor, resp *sentry.Response) (string, error) {
	in := resp.Value
	if e.Cursor.From == "header" {
		in = HeaderObject(resp.Header)
	}
	outs, err := e.Cursor.Value.All(in)
	if err != nil {
		return "", fmt.Errorf("next_cursor: %s", s.redact(err.Error()))
	}
	if len(outs) == 0 || !truthy(outs[0]) {
		return "", nil
	}
	c, ok := scalar(outs[0])
	if !ok {
		b, _ := marshal(outs[0])
		return "", fmt.Errorf("next_cursor gave %s; it must give a string or number (or null to stop)", s.redact(clip(string(b))))
	}
	return c, nil
}

// HeaderObject is a response's headers as next_cursor from: header sees
// them: lower-case names to string values (repeated ones joined with ", "),
// and link, the Link header parsed into an object keyed by rel:
// {"next": {"target_url": ..., "attributes": {"results": "true", "cursor": ...}}}.
func HeaderObject(h http.Header) map[string]any {
	out := make(map[string]any, len(h)+1)
	for k, vs := range h {
		out[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	if vs := h.Values("Link"); len(vs) > 0 {
		links := map[string]any{}
		for _, l := range sentry.ParseLinks(strings.Join(vs, ", ")) {
			attrs := map[string]any{}
			for k, v := range l.Params {
				if k != "rel" {
					attrs[k] = v
				}
			}
			for _, rel := range strings.Fields(strings.ToLower(l.Params["rel"])) {
				if _, dup := links[rel]; !dup {
					links[rel] = map[string]any{"target_url": l.URL, "attributes": attrs}
				}
			}
		}
		out["link"] = links
	}
	return out
}
