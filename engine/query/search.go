package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/mapping"
)

// Search is a parsed Port search body:
//
//	{"combinator": "and"|"or", "rules": [RULE | SEARCH, ...]}
//	RULE: {"property": P, "operator": OP, "value": V}
//	      {"operator": "relatedTo", "blueprint": B, "value": ID | [ID...], "direction": "upstream"|"downstream"}
//
// P is $identifier, $title, $blueprint, $team, a property, or a relation
// (its identifier, or list of them); OP is one of the operators the
// mapping's search relations implement (mapping.MatchValue).
type Search struct {
	at    string // where in the body, for messages: "rules[1].rules[0]"
	comb  string
	rules []*Search
	// A rule:
	prop, op  string
	value     any
	blueprint string
	ids       []string
	direction string
}

var ruleKeys = map[string]bool{"property": true, "operator": true, "value": true, "blueprint": true, "direction": true}

// ParseSearch reads a search body. Errors name the rule ("rules[2]") and
// what is wrong with it.
func ParseSearch(data []byte) (*Search, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("search body: not JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("search body: more than one JSON value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("search body: want an object {\"combinator\": ..., \"rules\": [...]}, got %s", show(v))
	}
	return parseNode(m, "search body")
}

func parseNode(m map[string]any, at string) (*Search, error) {
	if _, nested := m["combinator"]; nested {
		return parseGroup(m, at)
	}
	s := &Search{at: at}
	for k := range m {
		if !ruleKeys[k] {
			return nil, fmt.Errorf("%s: unknown key %q (a rule has property, operator, value; relatedTo has blueprint, value, direction; a nested search has combinator, rules)", at, k)
		}
	}
	op, _ := m["operator"].(string)
	if op == "" {
		return nil, fmt.Errorf("%s: operator is missing or not a string", at)
	}
	s.op = op
	if op == "relatedTo" {
		bp, _ := m["blueprint"].(string)
		if bp == "" {
			return nil, fmt.Errorf("%s: relatedTo needs a blueprint (the blueprint of the entities in value)", at)
		}
		s.blueprint = bp
		switch v := m["value"].(type) {
		case string:
			s.ids = []string{v}
		case []any:
			for i, x := range v {
				id, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("%s: value[%d]: want an identifier, got %s", at, i, show(x))
				}
				s.ids = append(s.ids, id)
			}
		default:
			return nil, fmt.Errorf("%s: relatedTo's value must be an identifier or a list of them, got %s", at, show(m["value"]))
		}
		if d, there := m["direction"]; there {
			s.direction, _ = d.(string)
			if s.direction != "upstream" && s.direction != "downstream" {
				return nil, fmt.Errorf("%s: direction must be \"upstream\" or \"downstream\", got %s", at, show(d))
			}
		}
		return s, nil
	}
	if !mapping.KnownOperator(op) {
		return nil, fmt.Errorf("%s: unknown operator %q (known: %s, relatedTo)", at, op, strings.Join(knownOperators(), ", "))
	}
	for _, k := range []string{"blueprint", "direction"} {
		if _, there := m[k]; there {
			return nil, fmt.Errorf("%s: %s is for relatedTo only", at, k)
		}
	}
	prop, _ := m["property"].(string)
	if prop == "" {
		return nil, fmt.Errorf("%s: property is missing or not a string", at)
	}
	s.prop = prop
	v, there := m["value"]
	if !there && op != "isEmpty" && op != "isNotEmpty" {
		return nil, fmt.Errorf("%s: operator %q needs a value", at, op)
	}
	s.value = v
	return s, nil
}

func parseGroup(m map[string]any, at string) (*Search, error) {
	s := &Search{at: at}
	for k := range m {
		if k != "combinator" && k != "rules" {
			return nil, fmt.Errorf("%s: unknown key %q (a search has combinator and rules)", at, k)
		}
	}
	comb, _ := m["combinator"].(string)
	if comb != "and" && comb != "or" {
		return nil, fmt.Errorf("%s: combinator must be \"and\" or \"or\", got %s", at, show(m["combinator"]))
	}
	s.comb = comb
	rules, ok := m["rules"].([]any)
	if !ok {
		return nil, fmt.Errorf("%s: rules must be a list, got %s", at, show(m["rules"]))
	}
	prefix := at + "."
	if at == "search body" {
		prefix = ""
	}
	for i, r := range rules {
		where := fmt.Sprintf("%srules[%d]", prefix, i)
		rm, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: want a rule object, got %s", where, show(r))
		}
		sub, err := parseNode(rm, where)
		if err != nil {
			return nil, err
		}
		s.rules = append(s.rules, sub)
	}
	return s, nil
}

func knownOperators() []string {
	var out []string
	for _, op := range []string{"=", "!=", ">", ">=", "<", "<=", "contains", "doesNotContains", "containsAny",
		"beginsWith", "doesNotBeginsWith", "endsWith", "doesNotEndsWith", "in", "notIn", "isEmpty", "isNotEmpty",
		"between", "notBetween"} {
		if mapping.KnownOperator(op) {
			out = append(out, op)
		}
	}
	return out
}

// Search returns the entities s matches, in catalog order, as jq values.
// A rule naming a blueprint, relation or entity the catalog does not have
// matches nothing, as in Port; it is not an error.
func (c *Catalog) Search(s *Search) []any {
	ev := &searchEval{c: c, related: map[*Search]map[catalog.Key]bool{}}
	out := []any{}
	for i, e := range c.Entities {
		if ev.match(s, e) {
			out = append(out, c.objects[i])
		}
	}
	return out
}

type searchEval struct {
	c *Catalog
	// related caches, per relatedTo rule, the entities it matches.
	related map[*Search]map[catalog.Key]bool
}

func (ev *searchEval) match(s *Search, e *catalog.Entity) bool {
	if s.comb != "" {
		for _, r := range s.rules {
			ok := ev.match(r, e)
			if s.comb == "or" && ok {
				return true
			}
			if s.comb == "and" && !ok {
				return false
			}
		}
		return s.comb == "and"
	}
	if s.op == "relatedTo" {
		return ev.relatedSet(s)[e.Key()]
	}
	return mapping.MatchValue(s.op, ev.c.value(e, s.prop), s.value)
}

// value is what a rule's property names on e: a built-in, a property, or
// else a relation's identifier(s).
func (c *Catalog) value(e *catalog.Entity, prop string) any {
	switch prop {
	case "$identifier":
		return e.Identifier
	case "$title":
		return e.Title
	case "$blueprint":
		return e.Blueprint
	case "$team":
		return e.Team
	}
	if v, ok := e.Properties[prop]; ok {
		return v
	}
	return e.Relations[prop]
}

// relatedSet is the entities a relatedTo rule matches, one hop from the
// entities it names: those whose relations name one of them
// (downstream: they depend on it), and those its relations name
// (upstream: it depends on them); both without a direction.
func (ev *searchEval) relatedSet(s *Search) map[catalog.Key]bool {
	if set, ok := ev.related[s]; ok {
		return set
	}
	set := map[catalog.Key]bool{}
	named := map[string]bool{}
	for _, id := range s.ids {
		named[id] = true
	}
	if s.direction != "upstream" {
		for _, e := range ev.c.Entities {
			for rel, v := range e.Relations {
				if t, _ := ev.c.Target(e.Blueprint, rel); t == s.blueprint && slices.ContainsFunc(ids(v), func(id string) bool { return named[id] }) {
					set[e.Key()] = true
				}
			}
		}
	}
	if s.direction != "downstream" {
		for _, id := range s.ids {
			i, ok := sort.Find(len(ev.c.Entities), func(i int) int {
				x := ev.c.Entities[i]
				if d := strings.Compare(s.blueprint, x.Blueprint); d != 0 {
					return d
				}
				return strings.Compare(id, x.Identifier)
			})
			if !ok {
				continue
			}
			src := ev.c.Entities[i]
			for rel, v := range src.Relations {
				t, known := ev.c.Target(src.Blueprint, rel)
				if !known {
					continue
				}
				for _, tid := range ids(v) {
					set[catalog.Key{Blueprint: t, Identifier: tid}] = true
				}
			}
		}
	}
	ev.related[s] = set
	return set
}

func ids(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	}
	return nil
}
