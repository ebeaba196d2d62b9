package extract

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"

	"github.com/gitalog/gitalog/engine/sentry"
)

// MemoName is the name under which a for_each extractor with depends_on
// keeps its parents' results in the Source's Memo: a directory name
// under the committed fan-out state, so a kind that is not a safe one is
// named by its hash.
func MemoName(kind string) string {
	if safeName.MatchString(kind) {
		return "extract." + kind
	}
	h := sha256.Sum256([]byte(kind))
	return "extract.x-" + hex.EncodeToString(h[:8])
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$`)

// MemoNames are the names the definition's extractors keep results under.
func (d *Definition) MemoNames() []string {
	var out []string
	for _, e := range d.Extractors {
		if e.ForEach != "" && len(e.DependsOn) > 0 && !e.Push {
			out = append(out, MemoName(e.Kind))
		}
	}
	return out
}

// maxMemoBytes bounds one parent's stored result: the state is committed,
// and a parent whose children are bigger is simply fetched every sync.
const maxMemoBytes = 1 << 20

// memoCall is one parent's use of the memo.
type memoCall struct {
	s                 *Source
	name, request, fp string
	buf               bytes.Buffer
	over              bool
}

// memoFor is the memo call of e's chain for parent pv, nil when nothing
// is kept: no memo, no depends_on, or a declared field the parent lacks
// (a parent that cannot be vouched for is always fetched). The request
// is named by a hash of its method, URL and body as first rendered: the
// rendering may carry a secret, and the state is committed. Headers are
// not part of it.
func (s *Source) memoFor(e *Extractor, pv any) *memoCall {
	if s.Memo == nil || len(e.DependsOn) == 0 {
		return nil
	}
	parent, ok := pv.(map[string]any)
	if !ok {
		return nil
	}
	req, _, err := s.request(e, map[string]any{e.ForEach: pv, "cursor": nil})
	if err != nil {
		return nil // the chain reports it
	}
	rh := sha256.New()
	fmt.Fprintf(rh, "%s\x00%s\x00", req.Method, req.URL)
	rh.Write(req.Body)
	request := hex.EncodeToString(rh.Sum(nil))
	h := sha256.New()
	// The stored items are what the iterator gave: another iterator
	// makes them something else.
	fmt.Fprintf(h, "%s\x00%s\x00", request, e.iteratorSrc)
	fp, ok := sentry.Fingerprint(h, parent, e.DependsOn)
	if !ok {
		return nil
	}
	return &memoCall{s: s, name: MemoName(e.Kind), request: request, fp: fp}
}

// recall is the stored values of the parent's chain (as the iterator gave
// them, before external_id and exclude), when the memo has them under
// this fingerprint. One that does not decode is a miss.
func (m *memoCall) recall() ([]any, bool) {
	if m == nil {
		return nil, false
	}
	b, ok := m.s.Memo.Recall(m.name, m.request, m.fp)
	if !ok || len(b) > maxMemoBytes {
		return nil, false
	}
	return sentry.DecodeMemo(b)
}

// add appends a page's values to the result being stored.
func (m *memoCall) add(values []any) {
	if m == nil || m.over {
		return
	}
	for _, v := range values {
		b, err := marshal(v)
		if err != nil || m.buf.Len()+len(b)+2 > maxMemoBytes {
			m.over = true
			m.buf = bytes.Buffer{}
			return
		}
		if m.buf.Len() == 0 {
			m.buf.WriteByte('[')
		} else {
			m.buf.WriteByte(',')
		}
		m.buf.Write(b)
	}
}

// done stores the result of a chain that ended with err; a failed chain
// stores nothing and keeps what was stored.
func (m *memoCall) done(err error) {
	if m == nil {
		return
	}
	switch {
	case err != nil:
		m.s.Memo.Keep(m.name, m.request)
	case m.over:
		m.s.Memo.Remember(m.name, m.request, m.fp, nil)
	case m.buf.Len() == 0:
		m.s.Memo.Remember(m.name, m.request, m.fp, []byte("[]"))
	default:
		m.buf.WriteByte(']')
		m.s.Memo.Remember(m.name, m.request, m.fp, bytes.Clone(m.buf.Bytes()))
	}
}
