package sync

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/jsonx"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/review"
)

// Plan is what `gitalog plan` shows: per kind what was fetched and what
// one item of it maps to, then every entity the sync would create, update
// and delete (never capped, unlike the summary's lists), and the
// suggestions it would record.
type Plan struct {
	Kinds []PlanKind // in the order the config first names each kind
	// Create, Update and Delete are sorted by blueprint, then identifier.
	Create, Update, Delete []PlanChange
	// Suggest lists entities a transform suggests rather than writes.
	Suggest []PlanChange
}

// PlanKind is one kind of a plan: a Port kind ("issue") or whatever else
// a Fetcher streams (an extractor's external_kind).
type PlanKind struct {
	Kind  string
	Items int // as Result.Items counts them
	// Requests made while the kind was streamed; 0 when the Fetcher does
	// not count them (a replay makes none).
	Requests int64
	// Sample is the Fetcher's sample of the kind (see KindSampler), else
	// its first item: compact JSON, trimmed (see TrimJSON); nil when the
	// kind gave no item. Trimmed says whether anything was cut.
	Sample  json.RawMessage
	Trimmed bool
	// Entities are what the kind's first item maps to through the
	// resources that fetched it (compact JSON, long values trimmed);
	// Issues say why it gave none, or what went wrong on the way.
	Entities []json.RawMessage
	Issues   []string
}

// PlanChange is one entity of a plan's lists.
type PlanChange struct {
	Blueprint, Identifier, Title string
	// Fields: for an update, the fields that change (old and new); for a
	// create, every field the entity sets (no old); none for a delete.
	Fields []review.FieldChange
}

// KindRequests is implemented by a Fetcher that counts its requests per
// kind; a plan reports them.
type KindRequests interface {
	Requests(kind string) int64
}

// KindCounter is implemented by a Fetcher that fetches kinds no resource
// streams (an extractor's for_each parent) and counts their items.
type KindCounter interface {
	Items(kind string) int
}

// KindSampler is implemented by a Fetcher that keeps a sample payload per
// kind (a response, say, where items are cut out of it); a plan shows it
// instead of the kind's first item. nil means none.
type KindSampler interface {
	Sample(kind string) []byte
}

// Limits of a plan's sample and entities: a reviewer needs the shape of
// an item, not its 40 KB stack trace.
var (
	sampleTrim = TrimLimits{String: 120, Array: 3, Depth: 4}
	entityTrim = TrimLimits{String: 500, Array: 20, Depth: 8}
)

// TrimLimits bound TrimJSON.
type TrimLimits struct {
	String int // runes of a string kept whole
	Array  int // elements of an array kept
	Depth  int // levels of nesting kept
}

// TrimJSON cuts a JSON value down to limits and returns it as compact
// JSON with sorted keys. Everything cut says so in place: a long string
// ends in "… (N chars)", an array ends with an element "… N more", and an
// object or array below the depth limit becomes "{… N keys}" or "[… N
// items]" ("1 key", "1 item"). trimmed reports whether anything was cut.
func TrimJSON(raw []byte, l TrimLimits) (out json.RawMessage, trimmed bool, err error) {
	v, err := jsonx.Decode(raw)
	if err != nil {
		return nil, false, err
	}
	return trimValue(v, l)
}

func trimValue(v any, l TrimLimits) (json.RawMessage, bool, error) {
	t := &trimmer{l: l}
	v = t.trim(v, 0)
	var b bytes.Buffer
	catalog.EncodeCompact(&b, v)
	return b.Bytes(), t.cut, nil
}

type trimmer struct {
	l   TrimLimits
	cut bool
}

func (t *trimmer) trim(v any, depth int) any {
	switch v := v.(type) {
	case string:
		if n := utf8.RuneCountInString(v); n > t.l.String {
			t.cut = true
			return string([]rune(v)[:t.l.String]) + fmt.Sprintf("… (%d chars)", n)
		}
		return v
	case []any:
		if depth >= t.l.Depth && len(v) > 0 {
			t.cut = true
			return "[… " + plural(len(v), "item", "items") + "]"
		}
		n := min(len(v), t.l.Array)
		out := make([]any, 0, n+1)
		for _, x := range v[:n] {
			out = append(out, t.trim(x, depth+1))
		}
		if len(v) > n {
			t.cut = true
			out = append(out, fmt.Sprintf("… %d more", len(v)-n))
		}
		return out
	case map[string]any:
		if depth >= t.l.Depth && len(v) > 0 {
			t.cut = true
			return "{… " + plural(len(v), "key", "keys") + "}"
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = t.trim(x, depth+1)
		}
		return out
	}
	return v
}

// kindRun is what the stream of one kind left for a plan.
type kindRun struct {
	kind  string
	first []byte              // its first item's JSON
	rs    []*mapping.Resource // the resources that mapped the stream it came from
}

// kindRuns keeps, per kind in config order, the first item streamed.
type kindRuns struct {
	order  []string
	byKind map[string]*kindRun
}

func newKindRuns(cfg *mapping.Config) *kindRuns {
	k := &kindRuns{byKind: map[string]*kindRun{}}
	add := func(kind string) {
		if k.byKind[kind] == nil {
			k.byKind[kind] = &kindRun{kind: kind}
			k.order = append(k.order, kind)
		}
	}
	// Every extractor is shown, in the extract definition's order, also a
	// parent that only drives a fan-out (no transform takes its items), as
	// OpsLevel's Run Test shows it; then the Port kinds.
	if cfg.Extract != nil {
		for _, e := range cfg.Extract.Extractors {
			add(e.Kind)
		}
	}
	for _, r := range cfg.Resources {
		add(r.Kind)
	}
	return k
}

// page notes a page of a stream; only the first item of a kind is kept.
// A nil kindRuns (no plan) keeps nothing.
func (k *kindRuns) page(kind string, rs []*mapping.Resource, pg Page) {
	if k == nil {
		return
	}
	kr := k.byKind[kind]
	if kr == nil || kr.first != nil || len(pg.Items) == 0 {
		return
	}
	// Cloned: a page's memory is reused once the workers are done with it.
	kr.first, kr.rs = bytes.Clone(pg.Items[0]), rs
}

// kinds builds the plan's kinds once every stream has run.
func (k *kindRuns) kinds(src Fetcher, items map[string]int) []PlanKind {
	out := make([]PlanKind, 0, len(k.order))
	for _, kind := range k.order {
		kr := k.byKind[kind]
		pk := PlanKind{Kind: kind, Items: items[kind], Entities: []json.RawMessage{}, Issues: []string{}}
		if c, ok := src.(KindCounter); ok && kr.first == nil {
			// A kind the sync did not stream itself (a for_each parent).
			pk.Items = c.Items(kind)
		}
		if rq, ok := src.(KindRequests); ok {
			pk.Requests = rq.Requests(kind)
		}
		sample := kr.first
		if sp, ok := src.(KindSampler); ok {
			if s := sp.Sample(kind); s != nil {
				sample = s
			}
		}
		if sample != nil {
			var err error
			if pk.Sample, pk.Trimmed, err = TrimJSON(sample, sampleTrim); err != nil {
				pk.Issues = append(pk.Issues, fmt.Sprintf("the sample is not valid JSON: %v", err))
			}
		}
		if kr.first != nil {
			pk.Entities, pk.Issues = mapSample(kr.first, kr.rs, pk.Issues)
		}
		out = append(out, pk)
	}
	return out
}

// mapSample maps one item through rs as the sync maps it, and says why
// it gave no entity when it gave none.
func mapSample(raw []byte, rs []*mapping.Resource, issues []string) ([]json.RawMessage, []string) {
	es := []json.RawMessage{}
	item, err := jsonx.Decode(raw)
	if err != nil {
		return es, append(issues, fmt.Sprintf("invalid JSON: %v", err))
	}
	for _, r := range rs {
		got, iss, none := r.MapItem(item)
		for _, is := range iss {
			issues = append(issues, is.String())
		}
		switch none {
		case mapping.Rejected:
			issues = append(issues, r.Label()+": selector.query rejected the item")
		case mapping.NullList:
			issues = append(issues, r.Label()+": itemsToParse gave null (no elements)")
		case mapping.EmptyList:
			issues = append(issues, r.Label()+": itemsToParse gave an empty array")
		}
		for _, e := range got {
			m := e.ToMap()
			rels := map[string]any{}
			for name, v := range e.Relations {
				if q, ok := v.(*mapping.Query); ok {
					v = q.ToJSON() // resolved only against the whole catalog
				}
				rels[name] = v
			}
			m["relations"] = rels
			j, _, _ := trimValue(m, entityTrim)
			es = append(es, j)
		}
	}
	return es, issues
}

// changes fills the plan's change lists from the catalog plan p,
// comparing changed files with their versions in snap.
func (pl *Plan) changes(p *catalog.Plan, snap *gitstore.Snapshot) {
	pl.Create = make([]PlanChange, 0, len(p.Created))
	for _, e := range p.Created {
		c := PlanChange{Blueprint: e.Key.Blueprint, Identifier: e.Key.Identifier, Title: e.Title}
		if ne, err := catalog.Decode(e.Data); err == nil {
			empty := &catalog.Entity{Identifier: ne.Identifier, Blueprint: ne.Blueprint}
			for _, f := range review.FieldChanges(empty, ne) {
				f.Old, f.HadOld = nil, false
				c.Fields = append(c.Fields, f)
			}
		}
		pl.Create = append(pl.Create, c)
	}
	pl.Update = make([]PlanChange, 0, len(p.Changed))
	for _, e := range p.Changed {
		c := PlanChange{Blueprint: e.Key.Blueprint, Identifier: e.Key.Identifier, Title: e.Title}
		if old, err := snap.ReadFile(catalog.Path(e.Key)); err == nil {
			oe, err1 := catalog.Decode(old)
			ne, err2 := catalog.Decode(e.Data)
			if err1 == nil && err2 == nil {
				c.Fields = review.FieldChanges(oe, ne)
			}
		}
		pl.Update = append(pl.Update, c)
	}
	pl.Delete = make([]PlanChange, 0, len(p.Deleted))
	for _, e := range p.Deleted {
		pl.Delete = append(pl.Delete, PlanChange{Blueprint: e.Key.Blueprint, Identifier: e.Key.Identifier, Title: e.Title})
	}
	if pl.Suggest == nil {
		pl.Suggest = []PlanChange{}
	}
	for _, l := range [][]PlanChange{pl.Create, pl.Update, pl.Delete, pl.Suggest} {
		SortChanges(l)
	}
}

// SortChanges sorts a plan's list by blueprint, then identifier.
func SortChanges(l []PlanChange) {
	slices.SortFunc(l, func(a, b PlanChange) int {
		return cmp.Or(cmp.Compare(a.Blueprint, b.Blueprint), cmp.Compare(a.Identifier, b.Identifier))
	})
}
