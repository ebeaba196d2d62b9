package mapping

import (
	"encoding/json"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
)

func team() *catalog.Entity {
	return &catalog.Entity{Identifier: "platform", Title: "Platform Team", Blueprint: "sentryTeam", Team: "ops",
		Properties: map[string]any{
			"projects":    []any{"backend-api", "payments"},
			"slug":        "platform",
			"memberCount": json.Number("4"),
			"score":       2.5,
			"big":         big.NewInt(10),
			"empty":       "",
			"emptyList":   []any{},
			"nothing":     nil,
			"created":     "2024-03-01T00:00:00Z",
			"obj":         map[string]any{"a": 1},
		}}
}

func TestRuleOperators(t *testing.T) {
	e := team()
	for _, tc := range []struct {
		prop, op string
		value    any
		want     bool
	}{
		{"slug", "=", "platform", true},
		{"slug", "=", "Platform", false},
		{"memberCount", "=", 4, true},
		{"memberCount", "=", 4.0, true},
		{"memberCount", "=", "4", false},
		{"score", "=", json.Number("2.50"), true},
		{"big", "=", 10, true},
		{"obj", "=", map[string]any{"a": 1.0}, true},
		{"projects", "=", []any{"backend-api", "payments"}, true},
		{"nothing", "=", nil, true},
		{"missing", "=", nil, true},
		{"slug", "!=", "platform", false},
		{"slug", "!=", "mobile", true},
		{"memberCount", "!=", 5, true},
		{"memberCount", ">", 3, true},
		{"memberCount", ">", 4, false},
		{"memberCount", ">=", 4, true},
		{"memberCount", "<", 4, false},
		{"memberCount", "<=", 4, true},
		{"memberCount", "<", "5", false}, // number vs string: no order
		{"slug", ">", "mobile", true},
		{"slug", "<", "mobile", false},
		{"created", ">=", "2024-01-01", true},
		{"nothing", ">", 0, false},
		{"memberCount", "between", map[string]any{"from": 1, "to": 4}, true},
		{"memberCount", "between", map[string]any{"from": 5, "to": 9}, false},
		{"memberCount", "between", "1-4", false},
		{"memberCount", "notBetween", map[string]any{"from": 5, "to": 9}, true},
		{"created", "between", map[string]any{"from": "2024-01-01T00:00:00Z", "to": "2024-12-31T00:00:00Z"}, true},
		{"projects", "contains", "payments", true},
		{"projects", "contains", "pay", false},
		{"slug", "contains", "atfo", true},
		{"slug", "contains", 1, false},
		{"memberCount", "contains", 4, false},
		{"projects", "doesNotContains", "mobile", true},
		{"projects", "doesNotContains", "payments", false},
		{"projects", "containsAny", []any{"x", "payments"}, true},
		{"projects", "containsAny", []any{"x", "y"}, false},
		{"projects", "containsAny", "payments", false},
		{"slug", "containsAny", []any{"zz", "plat"}, true},
		{"slug", "beginsWith", "plat", true},
		{"slug", "beginsWith", "form", false},
		{"memberCount", "beginsWith", "4", false},
		{"slug", "doesNotBeginsWith", "form", true},
		{"slug", "doesNotBeginsWith", "plat", false},
		{"slug", "endsWith", "form", true},
		{"slug", "endsWith", "plat", false},
		{"slug", "doesNotEndsWith", "plat", true},
		{"slug", "doesNotEndsWith", "form", false},
		{"slug", "in", []any{"mobile", "platform"}, true},
		{"slug", "in", []any{"mobile"}, false},
		{"memberCount", "in", []any{1, 4}, true},
		{"slug", "in", "platform", false},
		{"slug", "notIn", []any{"mobile"}, true},
		{"slug", "notIn", []any{"platform"}, false},
		{"empty", "isEmpty", nil, true},
		{"emptyList", "isEmpty", nil, true},
		{"nothing", "isEmpty", nil, true},
		{"missing", "isEmpty", nil, true},
		{"slug", "isEmpty", nil, false},
		{"memberCount", "isEmpty", nil, false},
		{"slug", "isNotEmpty", nil, true},
		{"emptyList", "isNotEmpty", nil, false},
		{"obj", "isNotEmpty", nil, true},
		{"$identifier", "=", "platform", true},
		{"$title", "=", "Platform Team", true},
		{"$title", "contains", "Team", true},
		{"$blueprint", "=", "sentryTeam", true},
		{"$team", "=", "ops", true},
		{"slug", "noSuchOperator", "platform", false},
	} {
		q := &Query{Combinator: "and", Rules: []Rule{{Property: tc.prop, Operator: tc.op, Value: tc.value}}}
		if got := q.Match(e); got != tc.want {
			t.Errorf("%s %s %v = %v, want %v", tc.prop, tc.op, tc.value, got, tc.want)
		}
	}
	// Every operator Port documents is known to the config compiler.
	ops := []string{"=", "!=", ">", ">=", "<", "<=", "contains", "doesNotContains", "containsAny", "beginsWith",
		"doesNotBeginsWith", "endsWith", "doesNotEndsWith", "in", "notIn", "isEmpty", "isNotEmpty", "between", "notBetween"}
	for _, op := range ops {
		if !knownOperator[op] {
			t.Errorf("operator %q unknown", op)
		}
	}
	if len(knownOperator) != len(ops) {
		t.Errorf("%d known operators, tested %d", len(knownOperator), len(ops))
	}
}

func TestCombinators(t *testing.T) {
	e := team()
	yes := Rule{Property: "slug", Operator: "=", Value: "platform"}
	no := Rule{Property: "slug", Operator: "=", Value: "mobile"}
	for _, tc := range []struct {
		q    *Query
		want bool
	}{
		{&Query{"and", []Rule{yes, yes}}, true},
		{&Query{"and", []Rule{yes, no}}, false},
		{&Query{"or", []Rule{no, yes}}, true},
		{&Query{"or", []Rule{no, no}}, false},
		{&Query{"and", nil}, true},
		{&Query{"or", nil}, false},
		{&Query{"and", []Rule{yes, {Nested: &Query{"or", []Rule{no, yes}}}}}, true},
		{&Query{"and", []Rule{yes, {Nested: &Query{"or", []Rule{no, no}}}}}, false},
		{&Query{"or", []Rule{no, {Nested: &Query{"and", []Rule{yes, {Nested: &Query{"or", []Rule{yes}}}}}}}}, true},
	} {
		if got := tc.q.Match(e); got != tc.want {
			b, _ := json.Marshal(tc.q.ToJSON())
			t.Errorf("%s = %v, want %v", b, got, tc.want)
		}
	}
}

const searchConfig = `resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: .slug
          title: .name
          blueprint: '"sentryProject"'
          relations:
            team:
              combinator: '"and"'
              rules:
                - property: '"projects"'
                  operator: '"contains"'
                  value: .slug
            owner:
              combinator: '"or"'
              rules:
                - property: '"$identifier"'
                  operator: '"="'
                  value: .owner
                - combinator: '"and"'
                  rules:
                    - property: '"$title"'
                      operator: '"beginsWith"'
                      value: .ownerPrefix
                    - property: '"isEmpty"'
                      operator: '"isNotEmpty"'
            teams:
              combinator: '"and"'
              rules:
                - property: '"projects"'
                  operator: '"contains"'
                  value: .slug
            unknownRel:
              combinator: '"and"'
              rules:
                - property: '"x"'
                  operator: '"isEmpty"'
`

func TestSearchRelations(t *testing.T) {
	r := mustParse(t, searchConfig).Resources[0]
	es, iss := r.Map(map[string]any{"slug": "payments", "name": "Payments", "owner": "lena", "ownerPrefix": "Plat"})
	if len(es) != 1 || len(iss) != 0 {
		t.Fatalf("%v %v", es, iss)
	}
	p := es[0]
	q, ok := p.Relations["owner"].(*Query)
	if !ok {
		t.Fatalf("owner is %T", p.Relations["owner"])
	}
	wantJSON := map[string]any{"combinator": "or", "rules": []any{
		map[string]any{"property": "$identifier", "operator": "=", "value": "lena"},
		map[string]any{"combinator": "and", "rules": []any{
			map[string]any{"property": "$title", "operator": "beginsWith", "value": "Plat"},
			map[string]any{"property": "isEmpty", "operator": "isNotEmpty"},
		}},
	}}
	if !reflect.DeepEqual(q.ToJSON(), wantJSON) {
		t.Errorf("ToJSON = %v", q.ToJSON())
	}

	teams := []*catalog.Entity{
		{Identifier: "platform", Title: "Platform", Blueprint: "sentryTeam", Properties: map[string]any{"projects": []any{"backend-api", "payments"}, "isEmpty": "x"}},
		{Identifier: "payments", Title: "Payments", Blueprint: "sentryTeam", Properties: map[string]any{"projects": []any{"payments"}}},
		{Identifier: "mobile", Title: "Mobile", Blueprint: "sentryTeam", Properties: map[string]any{"projects": []any{"ios-app"}}},
		{Identifier: "lena", Title: "Lena", Blueprint: "sentryUser"}, // other blueprint: never matched
	}
	info := func(bp, rel string) (string, bool, bool, bool) {
		switch rel {
		case "team":
			return "sentryTeam", false, true, true
		case "owner":
			return "sentryTeam", false, false, true
		case "teams":
			return "sentryTeam", true, false, true
		}
		return "", false, false, false
	}
	all := append([]*catalog.Entity{p}, teams...)
	unresolved := Resolve(all, nil, info)

	// many: every match, sorted.
	if got := p.Relations["teams"]; !reflect.DeepEqual(got, []any{"payments", "platform"}) {
		t.Errorf("teams = %v", got)
	}
	// single with 2 matches: null and reported.
	if p.Relations["team"] != nil {
		t.Errorf("team = %v", p.Relations["team"])
	}
	// single with exactly one match ($title beginsWith "Plat" and isEmpty set).
	if p.Relations["owner"] != "platform" {
		t.Errorf("owner = %v", p.Relations["owner"])
	}
	// unknown relation: left as Port's JSON for validation to report.
	if _, ok := p.Relations["unknownRel"].(map[string]any); !ok {
		t.Errorf("unknownRel = %T", p.Relations["unknownRel"])
	}
	if len(unresolved) != 1 || unresolved[0].Relation != "team" || unresolved[0].Matches != 2 || !unresolved[0].Required ||
		!strings.Contains(unresolved[0].String(), "matched 2 sentryTeam entities") {
		t.Errorf("unresolved %+v", unresolved)
	}

	// 0 matches for single and many.
	es, _ = r.Map(map[string]any{"slug": "nothing", "name": "N", "owner": "nobody", "ownerPrefix": "Zzz"})
	unresolved = Resolve(append([]*catalog.Entity{es[0]}, teams...), nil, info)
	if es[0].Relations["team"] != nil || es[0].Relations["owner"] != nil || !reflect.DeepEqual(es[0].Relations["teams"], []any{}) {
		t.Errorf("no matches: %v", es[0].Relations)
	}
	if len(unresolved) != 2 {
		t.Errorf("unresolved %v", unresolved)
	}
	for _, u := range unresolved {
		if u.Matches != 0 || !strings.Contains(u.String(), "matched no sentryTeam entity") {
			t.Errorf("%+v: %s", u, u)
		}
	}
	// $identifier with exactly one match.
	es, _ = r.Map(map[string]any{"slug": "ios-app", "name": "iOS", "owner": "mobile", "ownerPrefix": "Zzz"})
	Resolve(append([]*catalog.Entity{es[0]}, teams...), nil, info)
	if es[0].Relations["owner"] != "mobile" || es[0].Relations["team"] != "mobile" {
		t.Errorf("one match: %v", es[0].Relations)
	}
	// Kept entities are matched as mapped ones are, and left as they are:
	// a search of their own (never in a decoded file) is not theirs to
	// resolve.
	es, _ = r.Map(map[string]any{"slug": "ios-app", "name": "iOS", "owner": "mobile", "ownerPrefix": "Zzz"})
	mine := &Query{Combinator: "and"}
	kept := &catalog.Entity{Identifier: "mobile", Blueprint: "sentryTeam", Properties: map[string]any{"projects": []any{"ios-app"}},
		Relations: map[string]any{"team": mine}}
	unresolved = Resolve(es, []*catalog.Entity{kept}, info)
	if es[0].Relations["team"] != "mobile" || !reflect.DeepEqual(es[0].Relations["teams"], []any{"mobile"}) || len(unresolved) != 0 {
		t.Errorf("against a kept entity: %v, unresolved %v", es[0].Relations, unresolved)
	}
	if kept.Relations["team"] != mine {
		t.Errorf("the kept entity was resolved: %v", kept.Relations)
	}
}

func TestSearchEvalErrors(t *testing.T) {
	for _, tc := range []struct{ edit, want string }{
		{`combinator: '"and"'`, `combinator must be "and" or "or", got "xor"`},
		{`operator: '"contains"'`, `unknown operator "like"`},
		{`property: '"projects"'`, `property must be a string, got 1`},
		{`value: .slug`, `cannot iterate over`},
	} {
		repl := map[string]string{
			`combinator: '"and"'`:    `combinator: '"xor"'`,
			`operator: '"contains"'`: `operator: '"like"'`,
			`property: '"projects"'`: `property: '1'`,
			`value: .slug`:           `value: .slug[]`,
		}[tc.edit]
		cfg := mustParse(t, strings.Replace(searchConfig, tc.edit, repl, 1))
		es, iss := cfg.Resources[0].Map(map[string]any{"slug": "p", "name": "P"})
		if len(es) != 1 {
			t.Fatalf("%s: entity dropped", tc.edit)
		}
		found := false
		for _, i := range iss {
			if i.Field == "relations.team" && strings.Contains(i.Msg, tc.want) && strings.Contains(i.Msg, "(relation set to null)") && !i.Skipped {
				found = true
			}
		}
		if !found || es[0].Relations["team"] != nil {
			t.Errorf("%s: issues %v, team %v; want %q", tc.edit, iss, es[0].Relations["team"], tc.want)
		}
	}
}

// NaN comes out of jq (nan, 0/0 is an error but "nan" is a builtin); a
// mapping producing it must not crash the resolver.
func TestRuleNaN(t *testing.T) {
	nan := mustParse(t, "resources:\n  - kind: x\n    port:\n      entity:\n        mappings:\n          identifier: '\"a\"'\n          blueprint: '\"b\"'\n          properties:\n            n: nan\n").Resources[0]
	es, _ := nan.Map(nil)
	e := es[0]
	for _, tc := range []struct {
		prop, op string
		value    any
		want     bool
	}{
		{"n", "=", 1, false},
		{"n", "=", nil, false},
		{"n", "!=", 1, true},
		{"n", ">", 1, false},
		{"n", "in", []any{1, nil}, false},
		{"n", "between", map[string]any{"from": 0, "to": 1}, false},
	} {
		for _, swap := range []bool{false, true} {
			q := &Query{Combinator: "and", Rules: []Rule{{Property: tc.prop, Operator: tc.op, Value: tc.value}}}
			other := e
			if swap {
				// NaN on the rule side instead.
				other = &catalog.Entity{Properties: map[string]any{"n": tc.value}}
				if _, ok := tc.value.(map[string]any); ok {
					continue
				}
				if _, ok := tc.value.([]any); ok {
					continue
				}
				q.Rules[0].Value = e.Properties["n"]
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s %s %v (swap %v) panics: %v", tc.prop, tc.op, tc.value, swap, r)
					}
				}()
				if got := q.Match(other); got != tc.want {
					t.Errorf("%s %s %v (swap %v) = %v, want %v", tc.prop, tc.op, tc.value, swap, got, tc.want)
				}
			}()
		}
	}
}
