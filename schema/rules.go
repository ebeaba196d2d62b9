package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/jsonx"
)

// Rule is one of a relation's rules: it matches a source entity (of the
// blueprint holding the relation) and a target entity (of the relation's
// target) when their properties compare as Operator says.
type Rule struct {
	Operator       string `json:"operator"`
	SourceProperty string `json:"sourceProperty"`
	TargetProperty string `json:"targetProperty"`
	// at is where each key's value is in the blueprint file (operator,
	// sourceProperty, targetProperty), for Compile's messages.
	at [3]string
}

// The rule operators, as OpsLevel names them.
const (
	OpEquals        = "EQUALS"
	OpArrayContains = "ARRAY_CONTAINS"
)

// The built-in properties a rule may name besides the blueprint's own.
const (
	PropIdentifier = "$identifier"
	PropTitle      = "$title"
	PropAliases    = "$aliases"
)

var builtinProps = []string{PropAliases, PropIdentifier, PropTitle}

// RuleRelation is a relation whose values the sync derives from rules.
type RuleRelation struct {
	Blueprint, Name, Target string
	Many                    bool
	Rules                   []Rule
}

// RuleRelations lists the relations that carry rules, by blueprint and
// name.
func (s *Set) RuleRelations() []RuleRelation {
	var out []RuleRelation
	for _, id := range s.ids {
		for _, r := range s.bps[id].rels {
			if len(r.Rules) > 0 {
				out = append(out, RuleRelation{Blueprint: id, Name: r.name, Target: r.Target, Many: r.Many, Rules: slices.Clone(r.Rules)})
			}
		}
	}
	return out
}

// Match reports whether the rule holds between src and tgt. A missing or
// null value, and an empty list, match nothing: a service without aliases
// is related to no issue. EQUALS holds when the values are equal or, where
// either is a list, when an element of one equals the other value or one
// of its elements; ARRAY_CONTAINS when the source value is a list that
// contains the target value (or, for a list, one of its elements). Values
// compare as JSON values, by their canonical encoding: numbers by value
// (1, 1.0 and 1e0 are equal), strings exactly, objects whatever their key
// order.
func (r Rule) Match(src, tgt *catalog.Entity) bool {
	var sk, tk []string
	switch r.Operator {
	case OpEquals:
		sk = matchKeys(ruleValue(src, r.SourceProperty), true)
	case OpArrayContains:
		sk = matchKeys(ruleValue(src, r.SourceProperty), false)
	}
	if len(sk) == 0 {
		return false
	}
	tk = matchKeys(ruleValue(tgt, r.TargetProperty), true)
	return slices.ContainsFunc(sk, func(k string) bool { return slices.Contains(tk, k) })
}

// matchKeys are the canonical encodings a value matches by: its
// elements, when it is a list, and itself when whole is set. The two
// operators are then one test: do the sides' keys meet.
func matchKeys(v any, whole bool) []string {
	if v == nil {
		return nil
	}
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case []string:
		list = anyList(x)
	default:
		if !whole {
			return nil
		}
		return []string{key(v)}
	}
	if len(list) == 0 {
		return nil
	}
	keys := make([]string, 0, len(list)+1)
	if whole {
		keys = append(keys, key(list))
	}
	for _, e := range list {
		keys = append(keys, key(e))
	}
	return keys
}

func key(v any) string {
	var b bytes.Buffer
	catalog.EncodeCompact(&b, v)
	return b.String()
}

func ruleValue(e *catalog.Entity, prop string) any {
	switch prop {
	case PropIdentifier:
		return e.Identifier
	case PropTitle:
		return e.Title
	case PropAliases:
		if len(e.Aliases) == 0 {
			return nil
		}
		return e.Aliases
	}
	return e.Properties[prop]
}

func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// Matcher finds the targets a rule relation relates a source entity to,
// by hash lookups on the first rule rather than by trying every target:
// a sync relates thousands of services to 100k issues.
type Matcher struct {
	rel     RuleRelation
	targets []*catalog.Entity
	byKey   map[string][]int // first rule's target keys -> targets
}

// NewMatcher indexes targets (entities of r.Target) for Targets.
func (r RuleRelation) NewMatcher(targets []*catalog.Entity) *Matcher {
	m := &Matcher{rel: r, targets: targets, byKey: map[string][]int{}}
	if len(r.Rules) == 0 {
		return m
	}
	for i, t := range targets {
		for _, k := range matchKeys(ruleValue(t, r.Rules[0].TargetProperty), true) {
			if l := m.byKey[k]; len(l) == 0 || l[len(l)-1] != i {
				m.byKey[k] = append(l, i)
			}
		}
	}
	return m
}

// Targets returns the identifiers of the targets for which every rule
// matches src, sorted, each once.
func (m *Matcher) Targets(src *catalog.Entity) []string {
	if len(m.rel.Rules) == 0 {
		return nil
	}
	first := m.rel.Rules[0]
	sk := matchKeys(ruleValue(src, first.SourceProperty), first.Operator == OpEquals)
	if first.Operator != OpEquals && first.Operator != OpArrayContains {
		return nil
	}
	var out []string
	seen := map[int]bool{}
	for _, k := range sk {
		for _, i := range m.byKey[k] {
			if seen[i] {
				continue
			}
			seen[i] = true
			t := m.targets[i]
			if !slices.ContainsFunc(m.rel.Rules[1:], func(r Rule) bool { return !r.Match(src, t) }) {
				out = append(out, t.Identifier)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// parseRules checks the rules of bp's relations against what the file
// alone can tell (the operator, the source side's properties), and notes
// where each rule's values are so that Compile can point at the target
// side's. at is the path of the blueprint in data (nil, or its index).
func parseRules(name string, data []byte, at []any, bp *Blueprint) []error {
	var errs []error
	for _, rel := range slices.Sorted(mapKeys(bp.Relations)) {
		r := bp.Relations[rel]
		for j := range r.Rules {
			rule := &r.Rules[j]
			base := append(slices.Clone(at), "relations", rel, "rules", j)
			whole := position(name, data, base)
			for k, key := range []string{"operator", "sourceProperty", "targetProperty"} {
				rule.at[k] = whole
				if p := position(name, data, append(slices.Clone(base), key)); p != "" {
					rule.at[k] = p
				}
			}
			where := fmt.Sprintf("blueprint %q: relation %q: rule %d", bp.Identifier, rel, j)
			if rule.Operator != OpEquals && rule.Operator != OpArrayContains {
				errs = append(errs, fmt.Errorf("%s: %s: operator %s is not %s or %s", rule.at[0], where, strconv.Quote(rule.Operator), OpEquals, OpArrayContains))
			}
			if err := checkRuleProp(bp, rule.SourceProperty, "sourceProperty"); err != "" {
				errs = append(errs, fmt.Errorf("%s: %s: %s", rule.at[1], where, err))
			}
			if rule.TargetProperty == "" {
				errs = append(errs, fmt.Errorf("%s: %s: targetProperty is missing", rule.at[2], where))
			}
		}
		bp.Relations[rel] = r
	}
	return errs
}

// checkTargetRules is the check of the rules' target side, once the target
// blueprint is known.
func checkTargetRules(c, target *compiled) []error {
	var errs []error
	for _, r := range c.rels {
		if r.Target != target.bp.Identifier {
			continue
		}
		for j, rule := range r.Rules {
			if rule.TargetProperty == "" {
				continue // reported when parsed
			}
			if err := checkRuleProp(target.bp, rule.TargetProperty, "targetProperty"); err != "" {
				at := rule.at[2]
				if at == "" {
					at = source(c.bp)
				}
				errs = append(errs, fmt.Errorf("%s: blueprint %q: relation %q: rule %d: %s", at, c.bp.Identifier, r.name, j, err))
			}
		}
	}
	return errs
}

func checkRuleProp(bp *Blueprint, prop, key string) string {
	if prop == "" {
		return key + " is missing"
	}
	if slices.Contains(builtinProps, prop) {
		return ""
	}
	if _, ok := bp.Properties[prop]; ok {
		return ""
	}
	names := slices.Sorted(mapKeys(bp.Properties))
	return fmt.Sprintf("%s %s is not a property of blueprint %s (it has %s)", key, strconv.Quote(prop), bp.Identifier,
		strings.Join(append(slices.Clone(builtinProps), names...), ", "))
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// position is name:line:col of the value at path (object keys and array
// indexes) in data, or "" when it is not there.
func position(name string, data []byte, path []any) string {
	off, ok := valueOffset(data, path)
	if !ok {
		return ""
	}
	line, col := jsonx.LineCol(data, off)
	return fmt.Sprintf("%s:%d:%d", name, line, col)
}

func valueOffset(data []byte, path []any) (int, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	next := func() int {
		off := int(dec.InputOffset())
		for off < len(data) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
			off++
		}
		return off
	}
	start := next()
	for _, seg := range path {
		tok, err := dec.Token()
		if err != nil {
			return 0, false
		}
		d, _ := tok.(json.Delim)
		found := false
		switch seg := seg.(type) {
		case string:
			if d != '{' {
				return 0, false
			}
			for !found && dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return 0, false
				}
				if k, _ := kt.(string); k == seg {
					start, found = next(), true
				} else if jsonx.SkipValue(dec) != nil {
					return 0, false
				}
			}
		case int:
			if d != '[' {
				return 0, false
			}
			for i := 0; !found && dec.More(); i++ {
				if i == seg {
					start, found = next(), true
				} else if jsonx.SkipValue(dec) != nil {
					return 0, false
				}
			}
		}
		if !found {
			return 0, false
		}
	}
	return start, true
}
