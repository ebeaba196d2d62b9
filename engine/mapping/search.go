package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/itchyny/gojq"
)

// SearchSpec is Port's search-rule relation as configured: every part is
// a jq expression evaluated against the item.
type SearchSpec struct {
	Combinator *Program
	Rules      []RuleSpec
}

// RuleSpec is one rule, or a nested search.
type RuleSpec struct {
	Property, Operator, Value *Program
	Nested                    *SearchSpec
}

// Query is a search evaluated for one item; it stands in an entity's
// relations until the whole catalog is mapped and it can be resolved.
type Query struct {
	Combinator string
	Rules      []Rule
}

// Rule is one evaluated rule.
type Rule struct {
	Property string
	Operator string
	Value    any
	Nested   *Query
}

func (s *SearchSpec) eval(sc *scope, item any) (*Query, error) {
	c, err := s.Combinator.first(sc, item)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Combinator.Field, err)
	}
	comb, _ := c.(string)
	if comb != "and" && comb != "or" {
		return nil, fmt.Errorf("%s: combinator must be \"and\" or \"or\", got %s", s.Combinator.Field, show(c))
	}
	q := &Query{Combinator: comb}
	for _, rs := range s.Rules {
		if rs.Nested != nil {
			sub, err := rs.Nested.eval(sc, item)
			if err != nil {
				return nil, err
			}
			q.Rules = append(q.Rules, Rule{Nested: sub})
			continue
		}
		var r Rule
		prop, err := rs.Property.first(sc, item)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rs.Property.Field, err)
		}
		op, err := rs.Operator.first(sc, item)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rs.Operator.Field, err)
		}
		var ok bool
		if r.Property, ok = prop.(string); !ok {
			return nil, fmt.Errorf("%s: property must be a string, got %s", rs.Property.Field, show(prop))
		}
		if r.Operator, ok = op.(string); !ok || !knownOperator[r.Operator] {
			return nil, fmt.Errorf("%s: unknown operator %s", rs.Operator.Field, show(op))
		}
		if rs.Value != nil {
			if r.Value, err = rs.Value.first(sc, item); err != nil {
				return nil, fmt.Errorf("%s: %w", rs.Value.Field, err)
			}
		}
		q.Rules = append(q.Rules, r)
	}
	return q, nil
}

var knownOperator = map[string]bool{
	"=": true, "!=": true, ">": true, ">=": true, "<": true, "<=": true,
	"contains": true, "doesNotContains": true, "containsAny": true,
	"beginsWith": true, "doesNotBeginsWith": true, "endsWith": true, "doesNotEndsWith": true,
	"in": true, "notIn": true, "isEmpty": true, "isNotEmpty": true,
	"between": true, "notBetween": true,
}

// ToJSON renders the query in Port's shape, for `gitalog map` output.
func (q *Query) ToJSON() map[string]any {
	rules := make([]any, 0, len(q.Rules))
	for _, r := range q.Rules {
		if r.Nested != nil {
			rules = append(rules, r.Nested.ToJSON())
			continue
		}
		m := map[string]any{"property": r.Property, "operator": r.Operator}
		if r.Value != nil {
			m["value"] = r.Value
		}
		rules = append(rules, m)
	}
	return map[string]any{"combinator": q.Combinator, "rules": rules}
}

// Match reports whether e satisfies the query.
func (q *Query) Match(e *catalog.Entity) bool {
	for _, r := range q.Rules {
		var ok bool
		if r.Nested != nil {
			ok = r.Nested.Match(e)
		} else {
			ok = r.match(e)
		}
		if q.Combinator == "or" && ok {
			return true
		}
		if q.Combinator == "and" && !ok {
			return false
		}
	}
	return q.Combinator == "and"
}

func (r Rule) match(e *catalog.Entity) bool {
	var v any
	switch r.Property {
	case "$identifier":
		v = e.Identifier
	case "$title":
		v = e.Title
	case "$blueprint":
		v = e.Blueprint
	case "$team":
		v = e.Team
	default:
		v = e.Properties[r.Property]
	}
	return MatchValue(r.Operator, v, r.Value)
}

// KnownOperator reports whether op is one of the search operators Match
// implements.
func KnownOperator(op string) bool { return knownOperator[op] }

// MatchValue applies a search rule's operator to an entity's value v (a
// property, $identifier, ...) and the rule's value, as Port's search does;
// an unknown operator matches nothing.
func MatchValue(op string, v, value any) bool {
	r := Rule{Operator: op, Value: value}
	switch r.Operator {
	case "=":
		return equal(v, r.Value)
	case "!=":
		return !equal(v, r.Value)
	case ">", ">=", "<", "<=":
		c, ok := compare(v, r.Value)
		if !ok {
			return false
		}
		switch r.Operator {
		case ">":
			return c > 0
		case ">=":
			return c >= 0
		case "<":
			return c < 0
		}
		return c <= 0
	case "between", "notBetween":
		in := between(v, r.Value)
		return in == (r.Operator == "between")
	case "contains", "doesNotContains":
		return contains(v, r.Value) == (r.Operator == "contains")
	case "containsAny":
		vals, _ := r.Value.([]any)
		return slices.ContainsFunc(vals, func(x any) bool { return contains(v, x) })
	case "beginsWith", "doesNotBeginsWith":
		s, ok1 := v.(string)
		p, ok2 := r.Value.(string)
		return ok1 && ok2 && strings.HasPrefix(s, p) == (r.Operator == "beginsWith")
	case "endsWith", "doesNotEndsWith":
		s, ok1 := v.(string)
		p, ok2 := r.Value.(string)
		return ok1 && ok2 && strings.HasSuffix(s, p) == (r.Operator == "endsWith")
	case "in", "notIn":
		vals, _ := r.Value.([]any)
		found := slices.ContainsFunc(vals, func(x any) bool { return equal(v, x) })
		return found == (r.Operator == "in")
	case "isEmpty", "isNotEmpty":
		return empty(v) == (r.Operator == "isEmpty")
	}
	return false
}

func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

func contains(v, x any) bool {
	switch v := v.(type) {
	case []any:
		return slices.ContainsFunc(v, func(e any) bool { return equal(e, x) })
	case string:
		s, ok := x.(string)
		return ok && strings.Contains(v, s)
	}
	return false
}

func between(v, r any) bool {
	m, ok := r.(map[string]any)
	if !ok {
		return false
	}
	lo, ok1 := compare(v, m["from"])
	hi, ok2 := compare(v, m["to"])
	return ok1 && ok2 && lo >= 0 && hi <= 0
}

// equal compares JSON values as jq does: 1 and 1.0 are equal.
func equal(a, b any) bool {
	if isNaN(a) || isNaN(b) {
		return false // NaN equals nothing, as in jq
	}
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x.Cmp(y) == 0
	}
	ea, _ := gojq.Marshal(a)
	eb, _ := gojq.Marshal(b)
	return string(ea) == string(eb)
}

func compare(a, b any) (int, bool) {
	if x, ok := number(a); ok {
		y, ok := number(b)
		if !ok {
			return 0, false
		}
		return x.Cmp(y), true
	}
	sa, ok1 := a.(string)
	sb, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(sa, sb), true
}

func number(v any) (*big.Float, bool) {
	switch v := v.(type) {
	case int:
		return new(big.Float).SetInt64(int64(v)), true
	case float64:
		if math.IsNaN(v) {
			return nil, false // big.NewFloat panics on NaN
		}
		return big.NewFloat(v), true
	case *big.Int:
		return new(big.Float).SetInt(v), true
	case json.Number:
		f, _, err := big.ParseFloat(string(v), 10, 64, big.ToNearestEven)
		return f, err == nil
	}
	return nil, false
}

func isNaN(v any) bool {
	f, ok := v.(float64)
	return ok && math.IsNaN(f)
}

func show(v any) string {
	b, _ := gojq.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// quote is strconv.Quote, named for messages.
var quote = strconv.Quote

func sortStrings(s []string) { slices.Sort(s) }
