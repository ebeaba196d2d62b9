package sync

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
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
//
// A resource that received items and gave no entity from any of them (a
// selector false for all, itemsToParse empty for all) is the one doubt a
// user can overrule: an empty filter result may be what the data says (no
// member is active any more), so --delete-threshold 1 (or
// entityDeletionThreshold: 1) confirms it, as it confirms a loss over the
// threshold. Without that, a typo in a filter of one of two resources
// feeding a blueprint would delete what it gave, under the threshold of
// the whole blueprint. It keeps entities only while there are some to
// keep: a resource that is empty for good costs nothing once its entities
// are gone.

// Doubt is why a sync did not delete the entities of some blueprints.
type Doubt struct {
	Resource string // the resource's label
	Kind     string
	// Fetch is set when the kind failed to fetch (the error is in
	// FetchErrors); otherwise Items items of the resource failed to map,
	// most often for Reason, or, when Collided is set, Items items gave
	// Collided entities (more than one item each), Reason naming some,
	// or, when Empty is set, the resource gave no entity from its Items
	// items, Reason saying why; deletions that only it keeps are done
	// with a deletion threshold of 1.
	Fetch    bool
	Empty    bool
	Items    int
	Collided int
	Reason   string
	// Blueprints are those whose entities it keeps; nil means every
	// blueprint, when the sync cannot tell which the items would have
	// given (a dynamic or unknown blueprint).
	Blueprints []string
}

func (d Doubt) String() string {
	if d.Fetch {
		return fmt.Sprintf("%s was not fetched completely", d.Resource)
	}
	if d.Empty {
		return fmt.Sprintf("%s gave no entity from its %s (%s)", d.Resource, plural(d.Items, "item", "items"), d.Reason)
	}
	if d.Collided > 0 {
		return fmt.Sprintf("%s gave one entity for several items: %s gave %s, %s; its identifier is not unique, or the listing shifted while it was read",
			d.Resource, plural(d.Items, "item", "items"), plural(d.Collided, "entity", "entities"), d.Reason)
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
	acc map[doubtKey]*doubtAcc
}

// doubtKind is what a doubt of a resource is about, in the order a
// resource's doubts are listed.
type doubtKind int

const (
	fetchDoubt doubtKind = iota
	mapDoubt
	collisionDoubt
	emptyDoubt
)

type doubtKey struct {
	res  int // the resource's index
	kind doubtKind
}

type doubtAcc struct {
	res   *mapping.Resource
	kind  doubtKind
	items int
	msgs  map[string]*reason
	bps   map[string]bool
	all   bool
	// collided counts, for a collisionDoubt, the items that gave each
	// entity given by more than one.
	collided map[catalog.Key]int
	// empty is, for an emptyDoubt, why the resource gave no entity.
	empty string
}

// reason is one kind of failure: a message without the value the item
// gave ("identifier must be a non-empty string, got " and ""), and the
// values seen, so that 10,000 numeric identifiers make one reason, not
// 10,000.
type reason struct {
	n         int
	pre, post string
	values    valueSet
}

func newDoubts(bps *schema.Set) *doubts {
	return &doubts{bps: bps, acc: map[doubtKey]*doubtAcc{}}
}

func (ds *doubts) get(r *mapping.Resource, kind doubtKind) *doubtAcc {
	k := doubtKey{r.Index, kind}
	a := ds.acc[k]
	if a == nil {
		a = &doubtAcc{res: r, kind: kind, msgs: map[string]*reason{}, bps: map[string]bool{}}
		if kind == collisionDoubt {
			a.collided = map[catalog.Key]int{}
		}
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
	a := ds.get(d.res, mapDoubt)
	a.items++
	pre, value, post := splitValue(strings.TrimSuffix(d.msg, "; item skipped"))
	ds.reason(a, d.field+": "+pre, post, 1).values.add(value)
	ds.touch(a, d.bp)
}

// reason counts n more items of a reason.
func (ds *doubts) reason(a *doubtAcc, pre, post string, n int) *reason {
	why := a.msgs[pre+"\x00"+post]
	if why == nil {
		why = &reason{pre: pre, post: post, values: valueSet{}}
		a.msgs[pre+"\x00"+post] = why
	}
	why.n += n
	return why
}

// nullLists records that r's itemsToParse gave null for every one of its
// n items.
func (ds *doubts) nullLists(r *mapping.Resource, n int) {
	a := ds.get(r, mapDoubt)
	a.items += n
	ds.reason(a, r.ItemsToParse.Field+": null for every item, so none gave an entity (write .x // [] if that is expected)", "", n)
	ds.touch(a, "")
}

// collided records that n items of r gave the entity k.
func (ds *doubts) collided(r *mapping.Resource, k catalog.Key, n int) {
	a := ds.get(r, collisionDoubt)
	a.items += n
	a.collided[k] += n
	ds.touch(a, k.Blueprint)
}

// gaveNothing records that the resource of c received items and gave no
// entity from any.
func (ds *doubts) gaveNothing(c *resCount) {
	a := ds.get(c.res, emptyDoubt)
	a.items = c.items
	var why []string
	for _, n := range []struct {
		n    int
		what string
	}{
		{c.rejected, c.res.Query.Field + " was false"},
		{c.empty, fieldOf(c.res.ItemsToParse) + " gave an empty array"},
		{c.nulls, fieldOf(c.res.ItemsToParse) + " gave null"},
		{c.failed, "the mapping failed"},
	} {
		switch {
		case n.n == c.items:
			why = append(why, n.what+" for all of them")
		case n.n > 0:
			why = append(why, fmt.Sprintf("%s for %d of them", n.what, n.n))
		}
	}
	a.empty = strings.Join(why, ", ")
	ds.touch(a, "")
}

func fieldOf(p *mapping.Program) string {
	if p == nil {
		return ""
	}
	return p.Field
}

func (ds *doubts) fetchFailed(r *mapping.Resource) {
	ds.touch(ds.get(r, fetchDoubt), "")
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
		return accs[i].kind < accs[j].kind
	})
	out := make([]Doubt, 0, len(accs))
	for _, a := range accs {
		d := Doubt{Resource: a.res.Label(), Kind: a.res.Kind, Fetch: a.kind == fetchDoubt, Items: a.items}
		if !a.all {
			d.Blueprints = make([]string, 0, len(a.bps))
			for bp := range a.bps {
				d.Blueprints = append(d.Blueprints, bp)
			}
			sort.Strings(d.Blueprints)
		}
		switch a.kind {
		case collisionDoubt:
			d.Collided, d.Reason = len(a.collided), collisions(a.collided)
			out = append(out, d)
			continue
		case emptyDoubt:
			d.Empty, d.Reason = true, a.empty
			out = append(out, d)
			continue
		}
		// The most common reason, and its smallest value: the same
		// words every run.
		best := ""
		for m, why := range a.msgs {
			if best == "" || why.n > a.msgs[best].n || why.n == a.msgs[best].n && m < best {
				best = m
			}
		}
		if why := a.msgs[best]; why != nil {
			d.Reason = why.values.show(why.pre, why.post)
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

// collisions names the entity most items gave (the first by key among
// equals: the same words every run), and how many others there were.
func collisions(c map[catalog.Key]int) string {
	var top catalog.Key
	n := 0
	for k, m := range c {
		if m > n || m == n && (k.Blueprint < top.Blueprint || k.Blueprint == top.Blueprint && k.Identifier < top.Identifier) {
			top, n = k, m
		}
	}
	s := fmt.Sprintf("%s/%s (%d items)", catalog.Printable(top.Blueprint), catalog.Printable(top.Identifier), n)
	if len(c) > 1 {
		s += fmt.Sprintf(" and %d other entities", len(c)-1)
	}
	return s
}

// holds are what the plan needs of the doubts.
func holds(ds []Doubt) *catalog.Holds {
	h := catalog.NewHolds()
	for _, d := range ds {
		h.Hold(d.Blueprints, d.Empty)
	}
	return h
}

// sortDuplicates orders duplicates by key.
func sortDuplicates(ds []Duplicate) {
	slices.SortFunc(ds, func(a, b Duplicate) int {
		if c := strings.Compare(a.Blueprint, b.Blueprint); c != 0 {
			return c
		}
		return strings.Compare(a.Identifier, b.Identifier)
	})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
