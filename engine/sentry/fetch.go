package sentry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/itchyny/gojq"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gitalog/gitalog/engine/jsonx"
)

// Source fetches items of the known kinds for one organization. Results
// are cached per kind and selector, so a parent kind is fetched once even
// when several kinds fan out over it.
type Source struct {
	Client *Client
	Org    string
	// Progress, when set, is told the running count of items of a kind.
	Progress func(kind string, items int)
	// Memo, when set, keeps the results of fan-outs and attaches whose
	// kind declares DependsOn, and saves the requests of parents whose
	// fields are unchanged.
	Memo Memo

	mu     sync.Mutex
	reqs   map[string]*atomic.Int64 // requests made while streaming each kind
	cache  map[string]*fetchResult
	once   map[string]map[string]any // Attach.Once responses by path
	parent map[string]bool           // variants a resource of the run fans out over
	kinds  map[string]bool           // kinds the run streams
	// skipped counts, per endpoint, the requests the memo saved.
	skipped map[string]*atomic.Int64
}

// Expect tells the source that the run will also stream kind with params.
// Stream then fetches the kinds it fans out over whole, decoded and
// kept, when they are streamed themselves, so that they are fetched once
// for both, whichever comes first.
func (s *Source) Expect(kind string, params map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parent == nil {
		s.parent, s.kinds = map[string]bool{}, map[string]bool{}
	}
	s.kinds[kind] = true
	for k := Kinds[kind]; k != nil && k.Parent != ""; k = Kinds[k.Parent] {
		key, _ := Variant(k.Parent, params)
		s.parent[key] = true
	}
}

type fetchResult struct {
	done  chan struct{}
	items []any
	err   error
}

// Variant names a kind and the selector values its fetch depends on.
func Variant(kind string, params map[string]any) (string, map[string]any) {
	k := Kinds[kind]
	sel := map[string]any{}
	if k != nil {
		for _, u := range uses(k) {
			if v, ok := params[u]; ok {
				sel[u] = v
			}
		}
	}
	b, _ := json.Marshal(sel)
	return kind + " " + string(b), sel
}

// Fetch returns every item of kind, for a resource whose selector is params.
// With an error, the items are those fetched before it: every page that
// came, and the items of every parent whose own fetch did not fail.
func (s *Source) Fetch(ctx context.Context, kind string, params map[string]any) ([]any, error) {
	k, ok := Kinds[kind]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q (known: %v)", kind, KindNames())
	}
	key, sel := Variant(kind, params)
	s.mu.Lock()
	if s.cache == nil {
		s.cache = map[string]*fetchResult{}
	}
	r, found := s.cache[key]
	if !found {
		r = &fetchResult{done: make(chan struct{})}
		s.cache[key] = r
	}
	s.mu.Unlock()
	if found {
		// A fetch already done is the answer even once ctx has ended: a
		// select picks at random among ready cases, and a kind fetched
		// whole would sometimes pass for a failed one.
		select {
		case <-r.done:
			return r.items, r.err
		default:
		}
		select {
		case <-r.done:
			return r.items, r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	streamed := s.kinds[kind]
	s.mu.Unlock()
	if streamed {
		// A parent the run streams too is charged its own requests,
		// whichever kind needed it first.
		ctx = CountRequests(ctx, s.requestCounter(kind))
	}
	r.items, r.err = s.fetch(ctx, k, sel)
	close(r.done)
	return r.items, r.err
}

func (s *Source) fetch(ctx context.Context, k *Kind, sel map[string]any) ([]any, error) {
	env := tmplEnv{org: s.Org, selector: sel}
	if k.Parent == "" {
		items, err := s.fetchOne(ctx, k, env)
		out, ferr := s.finish(ctx, k, env, items)
		s.listedAttaches(k, sel, err == nil && ferr == nil && ctx.Err() == nil)
		if err != nil {
			return out, fmt.Errorf("fetching %ss: %w", k.Name, err)
		}
		return out, ferr
	}
	// The parents fetched before a failure still have their children.
	parents, perr := s.Fetch(ctx, k.Parent, sel)
	results := make([][]any, len(parents))
	errs := make([]error, len(parents))
	var wg sync.WaitGroup
	// The client bounds requests in flight; this bounds goroutines.
	limit := make(chan struct{}, cap(s.Client.sem)*2)
	var mu sync.Mutex
	count := 0
	for i, p := range parents {
		pm, _ := p.(map[string]any)
		wg.Add(1)
		limit <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-limit }()
			e := env
			e.parent = pm
			items, err := s.fetchOne(ctx, k, e)
			if err != nil {
				errs[i] = fmt.Errorf("fetching %ss of %s %s: %w", k.Name, k.Parent, describe(pm), err)
				if k.Shape == MergeAll {
					return // part of a parent's values would make a wrong item
				}
			}
			items = shape(k, pm, items)
			results[i] = items
			mu.Lock()
			count += len(items)
			if s.Progress != nil {
				s.Progress(k.Name, count)
			}
			mu.Unlock()
		}()
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	if len(k.DependsOn) > 0 {
		s.listed(k.Name, perr == nil && ctx.Err() == nil)
	}
	var all []any
	for _, r := range results {
		all = append(all, r...)
	}
	out, ferr := s.finish(ctx, k, env, all)
	if err := joinErrors(append([]error{perr}, errs...)); err != nil {
		return out, err
	}
	return out, ferr
}

// describe names a parent item in messages: slug or id, quoted.
func describe(m map[string]any) string {
	for _, f := range []string{"slug", "shortId", "id"} {
		if v, ok := field(m, f); ok {
			return fmt.Sprintf("%q", v)
		}
	}
	return "(unnamed)"
}

func shape(k *Kind, parent map[string]any, items []any) []any {
	switch k.Shape {
	case MergeEach:
		out := make([]any, 0, len(items))
		for _, it := range items {
			m := maps.Clone(parent)
			m[k.Key] = it
			out = append(out, m)
		}
		return out
	case MergeAll:
		if items == nil {
			// Port yields nothing for a parent whose values are missing.
			return nil
		}
		m := maps.Clone(parent)
		m[k.Key] = items
		return []any{m}
	}
	return items
}

// fetchOne fetches a kind's endpoint for one parent (or none).
func (s *Source) fetchOne(ctx context.Context, k *Kind, env tmplEnv) ([]any, error) {
	path, q, err := s.request(k, env)
	if err != nil {
		return nil, err
	}
	ctx = endpointCtx(ctx, k.Path)
	m := s.memoFor(k.Name, k.DependsOn, env.parent, Endpoint(k.Path), path, q)
	if items, ok := m.recall(); ok {
		return items, nil
	}
	var items []any
	count := 0
	err = s.Client.List(ctx, path, q, k.Scope, func(raw [][]byte, where string) error {
		page, err := decodePage(raw, where)
		if err != nil {
			return err
		}
		m.add(raw)
		items = append(items, page...)
		if k.Parent == "" && s.Progress != nil {
			count += len(page)
			s.Progress(k.Name, count)
		}
		return nil
	})
	var he *HTTPError
	if k.NotFoundEmpty && errors.As(err, &he) && he.Status == http.StatusNotFound {
		m.done(nil, true)
		return nil, nil
	}
	m.done(err, false)
	if err == nil && items == nil {
		items = []any{}
	}
	return items, err
}

// request expands a kind's endpoint and query for one parent (or none).
func (s *Source) request(k *Kind, env tmplEnv) (string, url.Values, error) {
	path, _, err := env.expand(k.Path, true)
	if err != nil {
		return "", nil, err
	}
	q := url.Values{}
	keys := make([]string, 0, len(k.Query))
	for name := range k.Query {
		keys = append(keys, name)
	}
	sort.Strings(keys)
	for _, name := range keys {
		v, ok, err := env.expand(k.Query[name], false)
		if err != nil {
			return "", nil, err
		}
		if ok {
			q.Set(name, v)
		}
	}
	if k.Paged && k.Query["limit"] == "" {
		q.Set("per_page", "100")
	}
	return path, q, nil
}

// maxAttachedBytes bounds an object attached to every item of a kind (a
// project's organization: a few KiB from Sentry).
const maxAttachedBytes = 256 << 10

// onceObject fetches an object once per Source.
func (s *Source) onceObject(ctx context.Context, path, scope string) (map[string]any, error) {
	s.mu.Lock()
	obj, ok := s.once[path]
	s.mu.Unlock()
	if ok {
		return obj, nil
	}
	obj, err := s.Client.Object(ctx, path, nil, scope)
	if err != nil {
		return nil, err
	}
	// The object is copied into every item of the kind, so its size is
	// bounded here: a response bound alone would let one large object
	// multiply by the number of items.
	if b, err := gojq.Marshal(obj); err != nil || len(b) > maxAttachedBytes {
		return nil, fmt.Errorf("GET %s: the object is %d bytes; at most %d KiB is attached to each item", path, len(b), maxAttachedBytes>>10)
	}
	s.mu.Lock()
	if s.once == nil {
		s.once = map[string]map[string]any{}
	}
	s.once[path] = obj
	s.mu.Unlock()
	return obj, nil
}

// finish attaches extra keys.
func (s *Source) finish(ctx context.Context, k *Kind, env tmplEnv, items []any) ([]any, error) {
	for _, a := range k.Attach {
		if a.When != "" {
			if b, _ := env.selector[a.When].(bool); !b {
				continue
			}
		}
		if a.Once {
			path, _, err := env.expand(a.Path, true)
			if err != nil {
				return nil, err
			}
			obj, err := s.onceObject(endpointCtx(ctx, a.Path), path, a.Scope)
			if err != nil {
				return nil, fmt.Errorf("fetching %s for %ss: %w", a.Key, k.Name, err)
			}
			for i, it := range items {
				if m, ok := it.(map[string]any); ok {
					m = maps.Clone(m)
					m[a.Key] = obj
					items[i] = m
				}
			}
			continue
		}
		errs := make([]error, len(items))
		var wg sync.WaitGroup
		limit := make(chan struct{}, cap(s.Client.sem)*2)
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				continue
			}
			wg.Add(1)
			limit <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-limit }()
				e := env
				e.item = m
				path, _, err := e.expand(a.Path, true)
				if err != nil {
					errs[i] = err
					return
				}
				ctx := endpointCtx(ctx, a.Path)
				var mc *memoCall
				if a.Paged {
					mc = s.memoFor(attachMemoName(k, a), a.DependsOn, m, Endpoint(a.Path), path, nil)
				}
				vals, recalled := mc.recall()
				if !recalled && a.Paged {
					err = s.Client.List(ctx, path, nil, a.Scope, func(raw [][]byte, where string) error {
						page, err := decodePage(raw, where)
						if err != nil {
							return err
						}
						mc.add(raw)
						vals = append(vals, page...)
						return nil
					})
					mc.done(err, false)
				} else if !recalled {
					var obj map[string]any
					obj, err = s.Client.Object(ctx, path, nil, a.Scope)
					vals = []any{obj}
				}
				if err != nil {
					errs[i] = fmt.Errorf("fetching %s of %s %s: %w", a.Key, k.Name, describe(m), err)
					return
				}
				if vals == nil {
					vals = []any{}
				}
				m = maps.Clone(m)
				if a.Paged {
					m[a.Key] = vals
				} else {
					m[a.Key] = vals[0]
				}
				items[i] = m
			}()
		}
		wg.Wait()
		if err := joinErrors(errs); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// joinErrors joins the first few errors of a fan-out: a failing token can
// fail thousands of requests, and one screen of the same error is enough.
func joinErrors(errs []error) error {
	var first []error
	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		n++
		if len(first) < 3 {
			first = append(first, err)
		}
	}
	if n > len(first) {
		first = append(first, fmt.Errorf("(and %d more failed requests)", n-len(first)))
	}
	return errors.Join(first...)
}

// Seed makes items the fetched list of kind under params, replacing any:
// a kind that fans out over it (issue tags over issues) then fans out over
// these alone. A webhook's issue is its own list of one.
func (s *Source) Seed(kind string, params map[string]any, items []any) {
	key, _ := Variant(kind, params)
	r := &fetchResult{done: make(chan struct{}), items: items}
	close(r.done)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		s.cache = map[string]*fetchResult{}
	}
	s.cache[key] = r
}

// cached returns a kind's items when Fetch has already got them all.
func (s *Source) cached(kind string, params map[string]any) ([]any, bool) {
	key, _ := Variant(kind, params)
	s.mu.Lock()
	r, ok := s.cache[key]
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	select {
	case <-r.done:
		return r.items, r.err == nil
	default:
		return nil, false
	}
}

// Batch is one batch of a stream: the JSON of each item, with Where naming
// the request and the item's place in its response, for messages.
type Batch struct {
	Items [][]byte
	Where []string
}

// Stream calls fn with the items of kind, a batch at a time, in the same
// order Fetch returns them, holding little in memory: a root kind is passed
// on page by page; a fan-out kind parent by parent, with a bounded window
// of parents in flight. Where the client changes nothing in a kind's items
// (see Raw) their JSON is passed on as received, split out of each
// response without being decoded; the items of the other kinds, and of a
// kind fetched whole as a parent (see Expect), are decoded, finished and
// shaped here, and encoded again. Nothing is cached beyond what Expect
// asks for, so a kind that is also a parent is otherwise fetched again for
// its children.
func (s *Source) Stream(ctx context.Context, kind string, params map[string]any, fn func(Batch) error) error {
	return s.stream(CountRequests(ctx, s.requestCounter(kind)), kind, params, fn)
}

// requestCounter is the counter of the requests made for kind.
func (s *Source) requestCounter(kind string) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reqs == nil {
		s.reqs = map[string]*atomic.Int64{}
	}
	n := s.reqs[kind]
	if n == nil {
		n = new(atomic.Int64)
		s.reqs[kind] = n
	}
	return n
}

// Requests is how many requests were made for kind: its pages and the
// objects attached to its items, retries included, and the pages of the
// parents it fans out over unless the run streams those too (see Expect),
// which are then charged their own. So the counts of a run's kinds add up
// to the client's total, less the access check made before any kind.
func (s *Source) Requests(kind string) int64 {
	return s.requestCounter(kind).Load()
}

// Raw reports whether a kind's items, under a selector, reach the caller
// exactly as the API lists them: one item per element, nothing attached.
func Raw(k *Kind, sel map[string]any) bool {
	if k.Shape != EachElement {
		return false
	}
	for _, a := range k.Attach {
		if a.When == "" {
			return false
		}
		if b, _ := sel[a.When].(bool); b {
			return false
		}
	}
	return true
}

// part is a page on its way to emit: raw items passed on as received, or
// (decoded) items that emit finishes and encodes.
type part struct {
	Batch
	decoded   []any
	isDecoded bool
}

func (s *Source) stream(ctx context.Context, kind string, params map[string]any, fn func(Batch) error) error {
	k, ok := Kinds[kind]
	if !ok {
		return fmt.Errorf("unknown kind %q (known: %v)", kind, KindNames())
	}
	key, sel := Variant(kind, params)
	env := tmplEnv{org: s.Org, selector: sel}
	count := 0
	emit := func(p part, env tmplEnv) error {
		b := p.Batch
		if p.isDecoded {
			items, err := s.finish(ctx, k, env, p.decoded)
			if err != nil {
				return err
			}
			if b, err = encode(k, items); err != nil {
				return err
			}
		}
		count += len(b.Items)
		if s.Progress != nil {
			s.Progress(k.Name, count)
		}
		if len(b.Items) == 0 {
			return nil
		}
		return fn(b)
	}
	// A kind already fetched whole as another kind's parent (projects for
	// issues and project tags, issues for issue tags) is not fetched again;
	// one that will be is fetched whole now, once for both.
	s.mu.Lock()
	parent := s.parent[key]
	s.mu.Unlock()
	emitAll := func(items []any) error {
		for lo := 0; lo < len(items); lo += 100 {
			if err := emit(part{decoded: slices.Clone(items[lo:min(lo+100, len(items))]), isDecoded: true}, env); err != nil {
				return err
			}
		}
		return nil
	}
	if parent {
		// What was fetched before a failure is passed on, then the error.
		items, err := s.Fetch(ctx, kind, params)
		if eerr := emitAll(items); eerr != nil {
			return eerr
		}
		return err
	}
	if items, ok := s.cached(kind, params); ok {
		return emitAll(items)
	}
	raw := Raw(k, sel)
	if k.Parent == "" {
		err := s.pages(ctx, k, env, nil, raw, func(p part) error { return emit(p, env) })
		s.listedAttaches(k, sel, err == nil && ctx.Err() == nil)
		if err != nil {
			return fmt.Errorf("fetching %ss: %w", k.Name, err)
		}
		return nil
	}
	// The parents fetched before a failure still have their children
	// passed on; the failure is returned at the end.
	parents, perr := s.Fetch(ctx, k.Parent, sel)
	type result struct {
		part
		err   error
		token bool // holds one of the budget's tokens, returned once consumed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Parents are fetched several at once, but a parent's pages follow
	// each other (Sentry's cursors) and are passed on in parent order: a
	// parent with thousands of issues goes on page by page, and a slow
	// consumer holds back the fetchers instead of piling pages up. The
	// parent being consumed (the head) sends freely; the others may run
	// ahead by a shared budget of pages. A budget per parent would let
	// each one only a page or two ahead, and fetching would fall back to
	// the head's one request at a time whatever the concurrency.
	window := cap(s.Client.sem) * 2
	budget := make(chan struct{}, min(cap(s.Client.sem)*16, maxAhead))
	slots := make(chan struct{}, window)
	results := make([]chan result, len(parents))
	head := make([]chan struct{}, len(parents))
	for i := range results {
		results[i] = make(chan result, 2)
		head[i] = make(chan struct{})
	}
	go func() {
		for i, p := range parents {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			pm, _ := p.(map[string]any)
			go func() {
				defer close(results[i])
				e := env
				e.parent = pm
				var buf []result // tokened pages not yet in the channel, in order
				flush := func() {
					for len(buf) > 0 {
						select {
						case results[i] <- buf[0]:
							buf = buf[1:]
						default:
							return
						}
					}
				}
				// handOver passes everything on in order once this parent
				// is the head, blocking as the consumer pleases.
				handOver := func(rs ...result) bool {
					for _, b := range append(buf, rs...) {
						select {
						case results[i] <- b:
						case <-ctx.Done():
							return false
						}
					}
					buf = nil
					return true
				}
				send := func(r result) bool {
					flush()
					select {
					case <-head[i]:
						return handOver(r)
					case budget <- struct{}{}:
						r.token = true
						buf = append(buf, r)
						flush()
						return true
					case <-ctx.Done():
						return false
					}
				}
				err := s.pages(ctx, k, e, pm, raw, func(p part) error {
					if !send(result{part: p}) {
						return ctx.Err()
					}
					return nil
				})
				if err != nil {
					send(result{err: fmt.Errorf("fetching %ss of %s %s: %w", k.Name, k.Parent, describe(pm), err)})
				}
				// Pages still held go out once this parent is the head.
				select {
				case <-head[i]:
					handOver()
				case <-ctx.Done():
				}
			}()
		}
	}()
	errs := []error{perr}
	for i := range parents {
		close(head[i])
		pm, _ := parents[i].(map[string]any)
		e := env
		e.parent = pm
		for {
			var r result
			var ok bool
			select {
			case r, ok = <-results[i]:
			case <-ctx.Done():
				return ctx.Err()
			}
			if !ok {
				break
			}
			if r.token {
				<-budget
			}
			if r.err != nil {
				errs = append(errs, r.err)
				continue
			}
			// The parents after a failed one are passed on too: what was
			// fetched is written, and the error keeps the sync from
			// deleting anything the kind feeds.
			if err := emit(r.part, e); err != nil {
				return err
			}
		}
		<-slots
	}
	if len(k.DependsOn) > 0 {
		s.listed(k.Name, perr == nil && ctx.Err() == nil)
	}
	return joinErrors(errs)
}

// pages fetches a kind's endpoint for one parent (or none, pm nil), page
// by page: raw, or decoded and shaped with the parent.
func (s *Source) pages(ctx context.Context, k *Kind, env tmplEnv, pm map[string]any, raw bool, fn func(part) error) error {
	if !raw {
		if k.Parent == "" {
			return s.listPages(ctx, k, env, func(items []any) error { return fn(part{decoded: items, isDecoded: true}) })
		}
		return s.parentPages(ctx, k, env, func(items []any) error {
			return fn(part{decoded: shape(k, pm, items), isDecoded: true})
		})
	}
	path, q, err := s.request(k, env)
	if err != nil {
		return err
	}
	err = s.Client.List(endpointCtx(ctx, k.Path), path, q, k.Scope, func(items [][]byte, where string) error {
		ws := make([]string, len(items))
		for i := range items {
			ws[i] = where + " item " + strconv.Itoa(i+1)
		}
		return fn(part{Batch: Batch{Items: items, Where: ws}})
	})
	if k.Parent != "" {
		return notFoundEmpty(k, err)
	}
	return err
}

// encode is the JSON of items the source decoded and changed, for
// Stream: encoded as a dump writes them.
func encode(k *Kind, items []any) (Batch, error) {
	b := Batch{Items: make([][]byte, len(items)), Where: make([]string, len(items))}
	for i, it := range items {
		m, _ := it.(map[string]any)
		data, err := gojq.Marshal(it)
		if err != nil {
			return Batch{}, fmt.Errorf("encoding %s %s: %w", k.Name, describe(m), err)
		}
		b.Items[i], b.Where[i] = data, k.Name+" "+describe(m)
	}
	return b, nil
}

// listDecoded is Client.List for the requests whose items the source
// reads or changes: each page's items decoded.
func (s *Source) listDecoded(ctx context.Context, path string, q url.Values, scope string, fn func(page []any) error) error {
	return s.Client.List(ctx, path, q, scope, func(raw [][]byte, where string) error {
		page, err := decodePage(raw, where)
		if err != nil {
			return err
		}
		return fn(page)
	})
}

// decodePage decodes a page's items.
func decodePage(raw [][]byte, where string) ([]any, error) {
	page := make([]any, len(raw))
	for i, r := range raw {
		v, err := jsonx.Decode(r)
		if err != nil {
			return nil, fmt.Errorf("%s item %d: %w", where, i+1, err)
		}
		page[i] = v
	}
	return page, nil
}

// listedAttaches tells the memo whether a root kind's items, whose
// attaches it keeps, were listed whole.
func (s *Source) listedAttaches(k *Kind, sel map[string]any, whole bool) {
	if k.Parent != "" {
		return
	}
	for _, name := range MemoNames(k.Name, sel) {
		s.listed(name, whole)
	}
}

// parentPages fetches a fan-out kind's endpoint for one parent, page by
// page; MergeAll kinds need all of a parent's values at once, and a 404
// means no values where the kind says so.
func (s *Source) parentPages(ctx context.Context, k *Kind, env tmplEnv, fn func(page []any) error) error {
	if k.Shape == MergeAll || len(k.DependsOn) > 0 {
		// A kept result is a parent's whole result, so a kind with a memo
		// is fetched whole per parent too.
		items, err := s.fetchOne(ctx, k, env)
		if err != nil {
			return err
		}
		return fn(items)
	}
	return notFoundEmpty(k, s.listPages(ctx, k, env, fn))
}

// notFoundEmpty is err, or nil for a 404 where the kind says a 404 means
// no values (for one parent).
func notFoundEmpty(k *Kind, err error) error {
	var he *HTTPError
	if k.NotFoundEmpty && errors.As(err, &he) && he.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// listPages fetches a kind's endpoint (no parent), page by page.
func (s *Source) listPages(ctx context.Context, k *Kind, env tmplEnv, fn func(page []any) error) error {
	path, q, err := s.request(k, env)
	if err != nil {
		return err
	}
	return s.listDecoded(endpointCtx(ctx, k.Path), path, q, k.Scope, fn)
}

// maxAhead caps the pages fetched ahead of the consumer (100-issue pages
// of about 180 KB): at concurrency 16, 256 pages held cost more in fresh
// memory than they gained, and the client's CPU per page doubled.
const maxAhead = 128
