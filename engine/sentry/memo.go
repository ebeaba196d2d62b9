package sentry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/itchyny/gojq"

	"github.com/gitalog/gitalog/engine/jsonx"
)

// Memo keeps, between syncs, what a fan-out (or an attach) got for each
// parent, so that a parent whose DependsOn fields are unchanged needs no
// request. A result is the JSON array of the children as Sentry listed
// them (compacted), or null for a 404 that means "no values". It must be
// safe for concurrent use.
type Memo interface {
	// Recall returns the stored result of request (a path and query),
	// if it was stored under the fingerprint fp.
	Recall(name, request, fp string) (result []byte, ok bool)
	// Remember stores result for request under fp; a nil result (too big
	// to keep) removes what was stored.
	Remember(name, request, fp string, result []byte)
	// Keep says request's parent is still listed but its fetch failed:
	// what was stored for it stays as it was, under its old fingerprint.
	Keep(name, request string)
	// Listed says whether a run of name went through every parent of a
	// complete parent list: only then are the entries of parents it did
	// not see gone.
	Listed(name string, whole bool)
}

// MemoNames are the names under which a kind's fetch, streamed under
// params, keeps results in a Memo: its own and its attaches'.
func MemoNames(kind string, params map[string]any) []string {
	k := Kinds[kind]
	if k == nil {
		return nil
	}
	var out []string
	if len(k.DependsOn) > 0 && k.Parent != "" {
		out = append(out, k.Name)
	}
	for _, a := range k.Attach {
		if b, _ := params[a.When].(bool); len(a.DependsOn) > 0 && !a.Once && (a.When == "" || b) {
			out = append(out, attachMemoName(k, a))
		}
	}
	return out
}

func attachMemoName(k *Kind, a Attach) string {
	return k.Name + "." + strings.TrimLeft(a.Key, "_")
}

// memoCall is one parent's use of the memo: the request and fingerprint
// it is stored under, and its result as the pages come in.
type memoCall struct {
	memo                Memo
	name, request, fp   string
	endpoint            string
	buf                 bytes.Buffer
	limit               int
	over                bool
	skipped             *atomic.Int64
	notFound, requested bool
}

// memoFor returns the memo call of a request for parent, or nil when the
// result is not kept: no memo, nothing declared, or a declared field the
// parent lacks (a parent that cannot be vouched for is always fetched).
func (s *Source) memoFor(name string, deps []string, parent map[string]any, endpoint, path string, q url.Values) *memoCall {
	if s.Memo == nil || len(deps) == 0 || parent == nil {
		return nil
	}
	request := path
	if len(q) > 0 {
		request += "?" + q.Encode()
	}
	h := sha256.New()
	h.Write([]byte(request))
	h.Write([]byte{0})
	fp, ok := Fingerprint(h, parent, deps)
	if !ok {
		return nil
	}
	return &memoCall{memo: s.Memo, name: name, request: request, fp: fp,
		endpoint: endpoint, limit: int(s.Client.maxBody), skipped: s.skipCounter(endpoint)}
}

// recall returns the stored children, decoded as a fetch decodes them
// (nil for a stored 404), when the memo has them under this fingerprint.
// A stored result that does not decode is a miss: the parent is fetched.
func (m *memoCall) recall() ([]any, bool) {
	if m == nil {
		return nil, false
	}
	b, ok := m.memo.Recall(m.name, m.request, m.fp)
	if !ok || len(b) > m.limit {
		return nil, false
	}
	if string(b) == "null" {
		m.skipped.Add(1)
		return nil, true
	}
	items, ok := DecodeMemo(b)
	if !ok {
		return nil, false
	}
	m.skipped.Add(1)
	return items, true
}

// Fingerprint finishes h, which holds the request's identity, with the
// parent's deps fields, and returns it as a Memo fingerprint; false when
// a field is missing or null (a parent that cannot be vouched for is
// always fetched).
func Fingerprint(h hash.Hash, parent map[string]any, deps []string) (string, bool) {
	for _, d := range deps {
		v, ok := parent[d]
		if !ok || v == nil {
			return "", false
		}
		b, err := gojq.Marshal(v)
		if err != nil {
			return "", false
		}
		h.Write([]byte(d))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), true
}

// DecodeMemo decodes a stored result, a JSON array of items, each as a
// fetch decodes it; false when it is not one (a miss).
func DecodeMemo(b []byte) ([]any, bool) {
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil || raws == nil {
		return nil, false
	}
	items := make([]any, len(raws))
	for i, r := range raws {
		v, err := jsonx.Decode(r)
		if err != nil {
			return nil, false
		}
		items[i] = v
	}
	return items, true
}

// add appends a page's raw children to the result being stored.
func (m *memoCall) add(raw [][]byte) {
	if m == nil || m.over {
		return
	}
	for _, r := range raw {
		if m.buf.Len() == 0 {
			m.buf.WriteByte('[')
		} else {
			m.buf.WriteByte(',')
		}
		if err := json.Compact(&m.buf, r); err != nil || m.buf.Len() > m.limit {
			m.over = true
			m.buf = bytes.Buffer{}
			return
		}
	}
}

// done stores the result of a fetch that ended with err (nil: complete;
// notFound: a 404 that means no values). A failed fetch stores nothing
// and keeps what was stored: its old fingerprint can never pass for the
// new one.
func (m *memoCall) done(err error, notFound bool) {
	if m == nil {
		return
	}
	switch {
	case err != nil:
		m.memo.Keep(m.name, m.request)
	case notFound:
		m.memo.Remember(m.name, m.request, m.fp, []byte("null"))
	case m.over:
		m.memo.Remember(m.name, m.request, m.fp, nil)
	case m.buf.Len() == 0:
		m.memo.Remember(m.name, m.request, m.fp, []byte("[]"))
	default:
		m.buf.WriteByte(']')
		m.memo.Remember(m.name, m.request, m.fp, slices.Clone(m.buf.Bytes()))
	}
}

// listed tells the memo whether the run of name went through a complete
// list of parents.
func (s *Source) listed(name string, whole bool) {
	if s.Memo != nil {
		s.Memo.Listed(name, whole)
	}
}

// skipCounter is the counter of the requests of endpoint the memo made
// unnecessary.
func (s *Source) skipCounter(endpoint string) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.skipped == nil {
		s.skipped = map[string]*atomic.Int64{}
	}
	n := s.skipped[endpoint]
	if n == nil {
		n = new(atomic.Int64)
		s.skipped[endpoint] = n
	}
	return n
}

// Endpoints are the client's per-endpoint counts with the requests the
// memo made unnecessary, sorted by endpoint.
func (s *Source) Endpoints() []EndpointStat {
	out := s.Client.Endpoints()
	s.mu.Lock()
	defer s.mu.Unlock()
	for ep, n := range s.skipped {
		i := slices.IndexFunc(out, func(e EndpointStat) bool { return e.Endpoint == ep })
		if i < 0 {
			out = append(out, EndpointStat{Endpoint: ep})
			i = len(out) - 1
		}
		out[i].Skipped = n.Load()
	}
	slices.SortFunc(out, func(a, b EndpointStat) int { return strings.Compare(a.Endpoint, b.Endpoint) })
	return out
}

// endpointCtx labels the requests of a kind's (or an attach's) path.
func endpointCtx(ctx context.Context, tmpl string) context.Context {
	return WithEndpoint(ctx, Endpoint(tmpl))
}
