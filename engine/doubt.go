package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry"
	"github.com/gitalog/gitalog/schema"
)

// A sync deletes an entity only when it is sure the entity is gone
// upstream: every item that could have given it was fetched and mapped.
// Whatever breaks that (a kind that failed to fetch, an item whose
// identity failed to map) is a doubt, and no entity of a blueprint a
// doubt touches is deleted in that sync. One mechanism for every cause,
// so that a new cause cannot forget a blueprint.

// Doubt is why a sync did not delete the entities of some blueprints.
type Doubt struct {
	Resource string // the resource's label
	Kind     string
	// Fetch is set when the kind failed to fetch (the error is in
	// FetchErrors); otherwise Items items of the resource failed to map,
	// most often for Reason.
	Fetch  bool
	Items  int
	Reason string
	// Blueprints are those whose entities it keeps; nil means every
	// blueprint, when the sync cannot tell which the items would have
	// given (a dynamic or unknown blueprint).
	Blueprints []string
}

func (d Doubt) String() string {
	if d.Fetch {
		return fmt.Sprintf("%s was not fetched completely", d.Resource)
	}
	return fmt.Sprintf("%s failed to map %s: %s", d.Resource, plural(d.Items, "item", "items"), d.Reason)
}

// touches reports whether the doubt keeps blueprint bp's entities.
func (d Doubt) touches(bp string) bool {
	return d.Blueprints == nil || slices.Contains(d.Blueprints, bp)
}

// doubtItem is one item that failed to map, as a worker finds it.
type doubtItem struct {
	res        *mapping.Resource
	field, msg string
	bp         string // the item's blueprint, when known
}

// doubts gathers a sync's doubts as the results come in.
type doubts struct {
	bps *schema.Set
	acc map[[2]int]*doubtAcc // (resource index, 1 for fetch) -> its doubt
}

type doubtAcc struct {
	res   *mapping.Resource
	fetch bool
	items int
	msgs  map[string]*reason
	bps   map[string]bool
	all   bool
}

// reason is one kind of failure: a message without the value the item
// gave ("identifier must be a non-empty string"), and the values seen,
// so that 10,000 numeric identifiers make one reason, not 10,000.
type reason struct {
	n      int
	values map[string]bool
}

func newDoubts(bps *schema.Set) *doubts {
	return &doubts{bps: bps, acc: map[[2]int]*doubtAcc{}}
}

func (ds *doubts) get(r *mapping.Resource, fetch bool) *doubtAcc {
	k := [2]int{r.Index, 0}
	if fetch {
		k[1] = 1
	}
	a := ds.acc[k]
	if a == nil {
		a = &doubtAcc{res: r, fetch: fetch, msgs: map[string]*reason{}, bps: map[string]bool{}}
		ds.acc[k] = a
	}
	return a
}

// touch records the blueprint an item of r would have given: bp when the
// item told, else the resource's constant blueprint, else every one. A
// blueprint that does not exist (a typo, "sentryUsers") says nothing of
// which existing blueprint the items belong to: every one.
func (ds *doubts) touch(a *doubtAcc, bp string) {
	if bp == "" {
		bp, _ = a.res.ConstBlueprint()
	}
	if _, ok := ds.bps.Blueprint(bp); !ok {
		a.all = true
		return
	}
	a.bps[bp] = true
}

func (ds *doubts) item(d doubtItem) {
	a := ds.get(d.res, false)
	a.items++
	msg, value, _ := strings.Cut(strings.TrimSuffix(d.msg, "; item skipped"), ", got ")
	why := a.msgs[d.field+": "+msg]
	if why == nil {
		why = &reason{values: map[string]bool{}}
		a.msgs[d.field+": "+msg] = why
	}
	why.n++
	if len(why.values) < 1000 { // enough to say "and 999 other values"
		why.values[value] = true
	}
	ds.touch(a, d.bp)
}

func (ds *doubts) fetchFailed(r *mapping.Resource) {
	ds.touch(ds.get(r, true), "")
}

// list is the doubts, by resource, a failed fetch first.
func (ds *doubts) list() []Doubt {
	accs := make([]*doubtAcc, 0, len(ds.acc))
	for _, a := range ds.acc {
		accs = append(accs, a)
	}
	sort.Slice(accs, func(i, j int) bool {
		if accs[i].res.Index != accs[j].res.Index {
			return accs[i].res.Index < accs[j].res.Index
		}
		return accs[i].fetch
	})
	out := make([]Doubt, 0, len(accs))
	for _, a := range accs {
		d := Doubt{Resource: a.res.Label(), Kind: a.res.Kind, Fetch: a.fetch, Items: a.items}
		if !a.all {
			d.Blueprints = make([]string, 0, len(a.bps))
			for bp := range a.bps {
				d.Blueprints = append(d.Blueprints, bp)
			}
			sort.Strings(d.Blueprints)
		}
		// The most common reason, and its smallest value: the same
		// words every run.
		best := ""
		for m, why := range a.msgs {
			if best == "" || why.n > a.msgs[best].n || why.n == a.msgs[best].n && m < best {
				best = m
			}
		}
		d.Reason = best
		if why := a.msgs[best]; why != nil {
			values := make([]string, 0, len(why.values))
			for v := range why.values {
				values = append(values, v)
			}
			sort.Strings(values)
			if len(values) > 0 && values[0] != "" {
				d.Reason += ", got " + values[0]
				if len(values) > 1 {
					d.Reason += fmt.Sprintf(" and %d other values", len(values)-1)
				}
			}
		}
		if len(a.msgs) > 1 {
			d.Reason += fmt.Sprintf(" (and %d other reasons)", len(a.msgs)-1)
		}
		out = append(out, d)
	}
	return out
}

// fetchFailures records the doubts of the groups whose stream failed, and
// of the groups that fan out over a failed kind (issue-tag over issue)
// even when their own stream said nothing: never less safe than doubting
// every blueprint.
func (ds *doubts) fetchFailures(groups [][]*mapping.Resource, failed map[string]bool) {
	for _, rs := range groups {
		kind := rs[0].Kind
		hit := failed[kind]
		for k := sentry.Kinds[kind]; k != nil && k.Parent != "" && !hit; k = sentry.Kinds[k.Parent] {
			hit = failed[k.Parent]
		}
		if hit {
			for _, r := range rs {
				ds.fetchFailed(r)
			}
		}
	}
}

// doubtSet is what the plan needs of the doubts: the blueprint folders
// whose entities it must not delete.
type doubtSet struct {
	all  bool
	dirs map[string]bool
}

func newDoubtSet(ds []Doubt) *doubtSet {
	s := &doubtSet{dirs: map[string]bool{}}
	for _, d := range ds {
		if d.Blueprints == nil {
			s.all = true
		}
		for _, bp := range d.Blueprints {
			s.dirs[catalog.EncodeDir(bp)] = true
		}
	}
	return s
}

func (s *doubtSet) has(dir string) bool {
	return s != nil && (s.all || s.dirs[dir])
}

// duplicates lists the entities more than one item gave, by key.
func duplicates(dups map[catalog.Key]int) []Duplicate {
	out := make([]Duplicate, 0, len(dups))
	for k, n := range dups {
		out = append(out, Duplicate{Blueprint: k.Blueprint, Identifier: k.Identifier, Items: n + 1})
	}
	slices.SortFunc(out, func(a, b Duplicate) int {
		if c := strings.Compare(a.Blueprint, b.Blueprint); c != 0 {
			return c
		}
		return strings.Compare(a.Identifier, b.Identifier)
	})
	return out
}
