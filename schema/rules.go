package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
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
// compare as JSON values: numbers by value, strings exactly.
func (r Rule) Match(src, tgt *catalog.Entity) bool {
	sv, tv := ruleValue(src, r.SourceProperty), ruleValue(tgt, r.TargetProperty)
	if empty(sv) || empty(tv) {
		return false
	}
	sl, sIsList := sv.([]any)
	tl, tIsList := tv.([]any)
	switch r.Operator {
	case OpEquals:
		if jsonEqual(sv, tv) {
			return true
		}
		switch {
		case sIsList && tIsList:
			return slices.ContainsFunc(sl, func(x any) bool { return containsJSON(tl, x) })
		case sIsList:
			return containsJSON(sl, tv)
		case tIsList:
			return containsJSON(tl, sv)
		}
	case OpArrayContains:
		if !sIsList {
			return false
		}
		if tIsList {
			return slices.ContainsFunc(tl, func(x any) bool { return containsJSON(sl, x) })
		}
		return containsJSON(sl, tv)
	}
	return false
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
		out := make([]any, len(e.Aliases))
		for i, a := range e.Aliases {
			out[i] = a
		}
		return out
	}
	return e.Properties[prop]
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	}
	return false
}

func containsJSON(list []any, v any) bool {
	return slices.ContainsFunc(list, func(x any) bool { return jsonEqual(x, v) })
}

// jsonEqual compares two values of gojq's or encoding/json's types as
// JSON values: 1, 1.0 and json.Number("1e0") are equal.
func jsonEqual(a, b any) bool {
	if ra, ok := ratOf(a); ok {
		rb, ok := ratOf(b)
		return ok && ra.Cmp(rb) == 0
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []string:
		return jsonEqual(anyList(x), b)
	case []any:
		if ys, ok := b.([]string); ok {
			b = anyList(ys)
		}
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, jsonEqual)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

func ratOf(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case int:
		return new(big.Rat).SetInt64(int64(x)), true
	case int64:
		return new(big.Rat).SetInt64(x), true
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(x) == nil { // NaN and infinities: no value to compare
			return nil, false
		}
		return r, true
	case *big.Int:
		return new(big.Rat).SetInt(x), true
	case json.Number:
		r, ok := new(big.Rat).SetString(x.String())
		return r, ok
	}
	return nil, false
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
	line, col := LineCol(data, off)
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
				} else if skipValue(dec) != nil {
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
				} else if skipValue(dec) != nil {
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

func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
