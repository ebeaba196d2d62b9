package mapping

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
)

// Issue is a problem met while mapping one item. Port's mapper turns a jq
// runtime error into a null value and goes on; gitalog does the same but
// reports it, so a typo in a mapping is seen rather than silently nulled.
type Issue struct {
	Resource *Resource
	Field    string
	Msg      string
	// Skipped is set when the item produced no entity because of it.
	Skipped bool
	// Blueprint is, for a skipped item, the blueprint it would have had
	// when that much was known: a sync then doubts that blueprint's
	// entities alone, rather than every blueprint's.
	Blueprint string
	// Stopped is set when a jq evaluation went past a bound (jqMaxSteps,
	// jqTimeout, jqMaxMemory): the mapping itself is broken, not the item.
	Stopped bool
}

func (i Issue) String() string {
	return fmt.Sprintf("%s: %s: %s", i.Resource.Label(), i.Field, i.Msg)
}

// Map turns one raw item into the resource's entities: none when the
// selector rejects it, several with itemsToParse.
func (r *Resource) Map(item any) ([]*catalog.Entity, []Issue) {
	es, issues, _ := r.MapItem(item)
	return es, issues
}

// None says why an item gave no entity when no issue says it. One item
// cannot tell a typo from data; a sync judges whether it held for every
// item of a resource (a path or a filter that matches nothing).
type None uint8

const (
	// Some: the item gave entities, or an issue says why it did not.
	Some None = iota
	// NullList: itemsToParse gave null, which Port takes as no elements.
	NullList
	// EmptyList: itemsToParse gave an empty array.
	EmptyList
	// Rejected: selector.query was false for the item, or for each of
	// the elements itemsToParse gave.
	Rejected
)

// MapItem is Map, and also reports why the item gave no entity.
func (r *Resource) MapItem(item any) (es []*catalog.Entity, issues []Issue, none None) {
	return r.mapItem(item, true)
}

// MapUnselected maps an item as if selector.query were true for it (and
// for each element itemsToParse gives): the entities it would give, for
// a webhook's item the selection rejects, whose entities are then gone.
func (r *Resource) MapUnselected(item any) ([]*catalog.Entity, []Issue) {
	es, issues, _ := r.mapItem(item, false)
	return es, issues
}

func (r *Resource) mapItem(item any, selection bool) (es []*catalog.Entity, issues []Issue, none None) {
	sc := &scope{g: r.Query.guard}
	defer sc.release()
	selected := r.selected
	if !selection {
		selected = func(*scope, any, any) (bool, *Issue) { return true, nil }
	}
	if r.ItemsToParse == nil {
		ok, iss := selected(sc, item, nil)
		if iss != nil {
			return nil, []Issue{*iss}, Some
		}
		if !ok {
			return nil, nil, Rejected
		}
		e, iss2 := r.entity(sc, item)
		if e == nil {
			return nil, iss2, Some
		}
		return []*catalog.Entity{e}, iss2, Some
	}
	list, err := r.ItemsToParse.first(sc, item)
	if err != nil {
		return nil, []Issue{{Resource: r, Field: r.ItemsToParse.Field, Msg: err.Error(), Skipped: true, Stopped: stopped(err)}}, Some
	}
	if list == nil {
		return nil, nil, NullList
	}
	elems, ok := list.([]any)
	if !ok {
		return nil, []Issue{{Resource: r, Field: r.ItemsToParse.Field, Msg: "must yield an array, got " + show(list), Skipped: true}}, Some
	}
	if len(elems) == 0 {
		return nil, nil, EmptyList
	}
	base, _ := item.(map[string]any)
	if base != nil && !r.KeepParsedArray {
		base = withoutPath(base, r.ItemsToParse.Source)
	}
	var out []*catalog.Entity
	for _, el := range elems {
		merged := make(map[string]any, len(base)+1)
		for k, v := range base {
			merged[k] = v
		}
		merged[r.ItemsToParseName] = el
		ok, iss := selected(sc, merged, el)
		if iss != nil {
			issues = append(issues, *iss)
			continue
		}
		if !ok {
			continue
		}
		e, iss2 := r.entity(sc, merged)
		issues = append(issues, iss2...)
		if e != nil {
			out = append(out, e)
		}
	}
	if len(out) == 0 && len(issues) == 0 {
		return nil, nil, Rejected
	}
	return out, issues, Some
}

func (r *Resource) selected(sc *scope, item, elem any) (bool, *Issue) {
	try := func(v any) (bool, *Issue) {
		out, err := r.Query.first(sc, v)
		if err != nil {
			return false, &Issue{Resource: r, Field: r.Query.Field, Msg: err.Error(), Skipped: true, Stopped: stopped(err)}
		}
		b, ok := out.(bool)
		if !ok {
			return false, &Issue{Resource: r, Field: r.Query.Field, Msg: "must yield true or false, got " + show(out), Skipped: true}
		}
		return b, nil
	}
	if elem != nil {
		if ok, _ := try(elem); ok {
			return true, nil
		}
	}
	return try(item)
}

func (r *Resource) entity(sc *scope, item any) (*catalog.Entity, []Issue) {
	var issues []Issue
	var vals []any
	if r.combined != nil {
		vals, _ = r.combined.evalAll(sc, item)
	}
	eval := func(p *Program) any {
		if p == nil {
			return nil
		}
		if vals != nil {
			v := vals[r.combined.index[p]]
			if msg, isErr := caught(v); isErr {
				issues = append(issues, Issue{Resource: r, Field: p.Field, Msg: msg + " (value set to null)"})
				return nil
			}
			return v
		}
		v, err := p.first(sc, item)
		if err != nil {
			issues = append(issues, Issue{Resource: r, Field: p.Field, Msg: err.Error() + " (value set to null)", Stopped: stopped(err)})
			return nil
		}
		return v
	}
	id := eval(r.Identifier)
	bp := eval(r.Blueprint)
	if r.OpsLevel != nil {
		// OpsLevel's identifiers are often an API's numeric ids.
		id = numberAsString(id)
	}
	ids, ok1 := id.(string)
	bps, ok2 := bp.(string)
	if !ok1 || ids == "" {
		// Port drops entities without an identifier; say so, with what came out.
		is := Issue{Resource: r, Field: r.Identifier.Field, Msg: "identifier must be a non-empty string, got " + show(id) + "; item skipped", Skipped: true}
		if ok2 {
			is.Blueprint = bps
		}
		issues = append(issues, is)
		return nil, issues
	}
	if !ok2 || bps == "" {
		issues = append(issues, Issue{Resource: r, Field: r.Blueprint.Field, Msg: "blueprint must be a non-empty string, got " + show(bp) + "; item skipped", Skipped: true})
		return nil, issues
	}
	e := &catalog.Entity{
		Identifier: ids,
		Blueprint:  bps,
		Title:      eval(r.Title),
		Icon:       eval(r.Icon),
		Team:       eval(r.Team),
		Properties: make(map[string]any, len(r.Properties)),
		Relations:  make(map[string]any, len(r.Relations)),
	}
	for _, p := range r.Properties {
		e.Properties[p.Name] = eval(p.Program)
	}
	for _, rel := range r.Relations {
		if rel.Search != nil {
			q, err := rel.Search.eval(sc, item)
			if err != nil {
				issues = append(issues, Issue{Resource: r, Field: "relations." + rel.Name, Msg: err.Error() + " (relation set to null)", Stopped: stopped(err)})
				e.Relations[rel.Name] = nil
				continue
			}
			e.Relations[rel.Name] = q
			continue
		}
		e.Relations[rel.Name] = eval(rel.Expr)
	}
	if r.OpsLevel != nil {
		aliases, tags, more := r.opslevelFields(eval)
		issues = append(issues, more...)
		e.Aliases = aliases
		if tags != nil {
			e.Properties[TagsProperty] = tags
		}
	}
	return e, issues
}

// numberAsString turns a JSON number into its text; anything else is
// returned as it is.
func numberAsString(v any) any {
	switch n := v.(type) {
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64)
	case int:
		return strconv.Itoa(n)
	case json.Number:
		return n.String()
	case *big.Int:
		return n.String()
	}
	return v
}

var simplePath = regexp.MustCompile(`^\.[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// withoutPath returns a shallow copy of m without the array that
// itemsToParse names, as Port does (itemsToParseTopLevelTransform), so
// that each element's entity doesn't carry all its siblings.
func withoutPath(m map[string]any, path string) map[string]any {
	if !simplePath.MatchString(path) {
		return m
	}
	keys := strings.Split(path[1:], ".")
	var del func(m map[string]any, keys []string) map[string]any
	del = func(m map[string]any, keys []string) map[string]any {
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[k] = v
		}
		if len(keys) == 1 {
			delete(out, keys[0])
			return out
		}
		if sub, ok := m[keys[0]].(map[string]any); ok {
			out[keys[0]] = del(sub, keys[1:])
		}
		return out
	}
	return del(m, keys)
}

// ResolveInfo tells the resolver a relation's target blueprint and whether
// it holds many identifiers; ok is false for a relation the blueprint lacks.
type ResolveInfo func(blueprint, relation string) (target string, many, required, ok bool)

// Unresolved is a search relation that matched no entity, or several for
// a single relation; the relation is left null.
type Unresolved struct {
	Entity   *catalog.Entity
	Relation string
	Target   string
	Matches  int
	Required bool
}

func (u Unresolved) String() string {
	if u.Matches == 0 {
		return fmt.Sprintf("relation %q: the search matched no %s entity", u.Relation, u.Target)
	}
	return fmt.Sprintf("relation %q: the search matched %d %s entities; a single relation needs exactly one", u.Relation, u.Matches, u.Target)
}

// Resolve replaces every search query in the entities' relations with the
// identifiers of the entities it matches, among the given entities (the
// whole mapped catalog) and kept: entities that stay in the catalog
// without being mapped now (a sync that cannot vouch for their deletion
// keeps them), which searches match but which are not resolved
// themselves. Results are sorted, so files are stable.
func Resolve(entities, kept []*catalog.Entity, info ResolveInfo) []Unresolved {
	byBlueprint := map[string][]*catalog.Entity{}
	for _, e := range entities {
		byBlueprint[e.Blueprint] = append(byBlueprint[e.Blueprint], e)
	}
	for _, e := range kept {
		byBlueprint[e.Blueprint] = append(byBlueprint[e.Blueprint], e)
	}
	var out []Unresolved
	for _, e := range entities {
		for name, v := range e.Relations {
			q, ok := v.(*Query)
			if !ok {
				continue
			}
			target, many, required, known := info(e.Blueprint, name)
			if !known {
				// Left for validation to report as an unknown relation.
				e.Relations[name] = q.ToJSON()
				continue
			}
			var ids []string
			for _, c := range byBlueprint[target] {
				if q.Match(c) {
					ids = append(ids, c.Identifier)
				}
			}
			sortStrings(ids)
			if many {
				list := make([]any, len(ids))
				for i, id := range ids {
					list[i] = id
				}
				e.Relations[name] = list
				continue
			}
			if len(ids) == 1 {
				e.Relations[name] = ids[0]
				continue
			}
			e.Relations[name] = nil
			out = append(out, Unresolved{e, name, target, len(ids), required})
		}
	}
	// Relations are a map; sort so reports come out the same every run.
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Entity.Blueprint != b.Entity.Blueprint {
			return a.Entity.Blueprint < b.Entity.Blueprint
		}
		if a.Entity.Identifier != b.Entity.Identifier {
			return a.Entity.Identifier < b.Entity.Identifier
		}
		return a.Relation < b.Relation
	})
	return out
}

// ConstBlueprint returns the blueprint every entity of the resource gets
// when its blueprint expression is a string literal (as in '"issue"'):
// then a sync knows, without an item, which blueprint an item that failed
// to map would have written.
func (r *Resource) ConstBlueprint() (string, bool) {
	if r.Blueprint == nil || r.Blueprint.fast == nil || !r.Blueprint.fast.isLit {
		return "", false
	}
	s, ok := r.Blueprint.fast.literal.(string)
	return s, ok && s != ""
}
