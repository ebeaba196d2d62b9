package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
)

// The README's blueprints: a service relates to the Sentry issues of its
// project, matched by the issue's project slug against the service's
// aliases.
const ruleBlueprints = `[
  {
    "identifier": "service",
    "title": "Service",
    "schema": {"properties": {"tier": {"type": "string"}, "slugs": {"type": "array"}, "sentry_project": {"type": "string"}}},
    "relations": {
      "sentry_issues": {"target": "sentry_issue", "many": true, "rules": [
        {"operator": "EQUALS", "sourceProperty": "$aliases", "targetProperty": "project_slug"}
      ]}
    }
  },
  {
    "identifier": "sentry_issue",
    "schema": {"properties": {"project_slug": {"type": "array"}, "level": {"type": "string"}}}
  }
]`

func ruleSet(t *testing.T, src string) (*Set, error) {
	t.Helper()
	bps, err := Parse("bp.json", []byte(src))
	if err != nil {
		return nil, err
	}
	return Compile(bps)
}

func TestRuleRelations(t *testing.T) {
	s, err := ruleSet(t, ruleBlueprints)
	if err != nil {
		t.Fatal(err)
	}
	got := s.RuleRelations()
	want := []RuleRelation{{Blueprint: "service", Name: "sentry_issues", Target: "sentry_issue", Many: true,
		Rules: []Rule{{Operator: "EQUALS", SourceProperty: "$aliases", TargetProperty: "project_slug"}}}}
	for i := range got {
		for j := range got[i].Rules {
			got[i].Rules[j].at = [3]string{} // positions are for messages
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RuleRelations() = %+v, want %+v", got, want)
	}
	// A relation without rules is not listed.
	s, err = ruleSet(t, `[{"identifier": "a", "relations": {"b": {"target": "b"}}}, {"identifier": "b"}]`)
	if err != nil || len(s.RuleRelations()) != 0 {
		t.Errorf("RuleRelations() = %v, %v", s.RuleRelations(), err)
	}
}

func TestRuleErrors(t *testing.T) {
	rel := func(rules string) string {
		return "[\n{\"identifier\": \"service\", \"schema\": {\"properties\": {\"tier\": {\"type\": \"string\"}}},\n" +
			" \"relations\": {\"issues\": {\"target\": \"issue\", \"many\": true, \"rules\": [\n" + rules + "\n]}}},\n" +
			"{\"identifier\": \"issue\", \"schema\": {\"properties\": {\"slug\": {\"type\": \"string\"}}}}\n]"
	}
	for _, c := range []struct{ name, rules, want string }{
		{"unknown operator", `  {"operator": "CONTAINS", "sourceProperty": "$aliases", "targetProperty": "slug"}`,
			`bp.json:4:16: blueprint "service": relation "issues": rule 0: operator "CONTAINS" is not EQUALS or ARRAY_CONTAINS`},
		{"lower-case operator", `  {"operator": "equals", "sourceProperty": "$aliases", "targetProperty": "slug"}`,
			`bp.json:4:16: blueprint "service": relation "issues": rule 0: operator "equals" is not EQUALS or ARRAY_CONTAINS`},
		{"unknown source property", `  {"operator": "EQUALS", "sourceProperty": "$aliases", "targetProperty": "slug"},` + "\n" + `  {"operator": "EQUALS", "sourceProperty": "teir", "targetProperty": "slug"}`,
			`bp.json:5:44: blueprint "service": relation "issues": rule 1: sourceProperty "teir" is not a property of blueprint service (it has $aliases, $identifier, $title, tier)`},
		{"missing source property", `  {"operator": "EQUALS", "targetProperty": "slug"}`,
			`bp.json:4:3: blueprint "service": relation "issues": rule 0: sourceProperty is missing`},
		{"unknown target property", `  {"operator": "ARRAY_CONTAINS", "sourceProperty": "$aliases", "targetProperty": "project_slug"}`,
			`bp.json:4:82: blueprint "service": relation "issues": rule 0: targetProperty "project_slug" is not a property of blueprint issue (it has $aliases, $identifier, $title, slug)`},
		{"missing target property", `  {"operator": "EQUALS", "sourceProperty": "tier"}`,
			`bp.json:4:3: blueprint "service": relation "issues": rule 0: targetProperty is missing`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ruleSet(t, rel(c.rules))
			if err == nil || err.Error() != c.want {
				t.Errorf("error = %v\nwant    %s", err, c.want)
			}
		})
	}
	for _, ok := range []string{
		`  {"operator": "EQUALS", "sourceProperty": "$identifier", "targetProperty": "$title"}`,
		`  {"operator": "ARRAY_CONTAINS", "sourceProperty": "tier", "targetProperty": "$aliases"}`,
	} {
		if _, err := ruleSet(t, rel(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	// One blueprint object, not an array: positions still found.
	_, err := ruleSet(t, `{"identifier": "a", "relations": {"b": {"target": "a", "rules": [{"operator": "X", "sourceProperty": "$title", "targetProperty": "$title"}]}}}`)
	if err == nil || !strings.HasPrefix(err.Error(), "bp.json:1:79: ") {
		t.Errorf("error = %v", err)
	}
}

func TestRuleMatch(t *testing.T) {
	svc := func(aliases []string, props map[string]any) *catalog.Entity {
		return &catalog.Entity{Blueprint: "service", Identifier: "payments", Title: "Payments", Aliases: aliases, Properties: props}
	}
	iss := func(props map[string]any) *catalog.Entity {
		return &catalog.Entity{Blueprint: "sentry_issue", Identifier: "42", Title: "ZeroDivisionError", Properties: props}
	}
	eq := func(s, t string) Rule { return Rule{Operator: OpEquals, SourceProperty: s, TargetProperty: t} }
	contains := func(s, t string) Rule { return Rule{Operator: OpArrayContains, SourceProperty: s, TargetProperty: t} }
	big7, _ := new(big.Int).SetString("7", 10)
	for _, c := range []struct {
		name     string
		rule     Rule
		src, tgt *catalog.Entity
		want     bool
	}{
		// The README's rule: the issue's project slug (a list, as the
		// Sentry guide maps it) matches one of the service's aliases.
		{"README: slug list in aliases", eq("$aliases", "project_slug"), svc([]string{"pay", "payments-api"}, nil), iss(map[string]any{"project_slug": []any{"payments-api"}}), true},
		{"README: slug string in aliases", eq("$aliases", "project_slug"), svc([]string{"pay", "payments-api"}, nil), iss(map[string]any{"project_slug": "payments-api"}), true},
		{"README: no alias is the slug", eq("$aliases", "project_slug"), svc([]string{"pay"}, nil), iss(map[string]any{"project_slug": []any{"payments-api"}}), false},
		{"README: no aliases", eq("$aliases", "project_slug"), svc(nil, nil), iss(map[string]any{"project_slug": []any{"payments"}}), false},
		{"README: no slug", eq("$aliases", "project_slug"), svc([]string{"pay"}, nil), iss(nil), false},
		{"EQUALS scalars", eq("$identifier", "project"), svc(nil, nil), iss(map[string]any{"project": "payments"}), true},
		{"EQUALS is exact on strings", eq("$identifier", "project"), svc(nil, nil), iss(map[string]any{"project": "Payments"}), false},
		{"EQUALS title", eq("$title", "name"), svc(nil, nil), iss(map[string]any{"name": "Payments"}), true},
		{"EQUALS scalar in target list", eq("$identifier", "projects"), svc(nil, nil), iss(map[string]any{"projects": []any{"a", "payments"}}), true},
		{"EQUALS lists share an element", eq("tags", "tags"), svc(nil, map[string]any{"tags": []any{"a", "b"}}), iss(map[string]any{"tags": []any{"c", "b"}}), true},
		{"EQUALS lists disjoint", eq("tags", "tags"), svc(nil, map[string]any{"tags": []any{"a"}}), iss(map[string]any{"tags": []any{"c"}}), false},
		{"EQUALS empty lists", eq("tags", "tags"), svc(nil, map[string]any{"tags": []any{}}), iss(map[string]any{"tags": []any{}}), false},
		{"EQUALS nulls", eq("x", "x"), svc(nil, map[string]any{"x": nil}), iss(map[string]any{"x": nil}), false},
		{"EQUALS numbers by value", eq("n", "n"), svc(nil, map[string]any{"n": 7}), iss(map[string]any{"n": json.Number("7.0")}), true},
		{"EQUALS big and float", eq("n", "n"), svc(nil, map[string]any{"n": big7}), iss(map[string]any{"n": 7.0}), true},
		{"EQUALS number is not its string", eq("n", "n"), svc(nil, map[string]any{"n": 7}), iss(map[string]any{"n": "7"}), false},
		{"EQUALS objects", eq("o", "o"), svc(nil, map[string]any{"o": map[string]any{"a": 1, "b": []any{true}}}), iss(map[string]any{"o": map[string]any{"b": []any{true}, "a": 1.0}}), true},
		{"EQUALS booleans", eq("b", "b"), svc(nil, map[string]any{"b": false}), iss(map[string]any{"b": false}), true},
		{"ARRAY_CONTAINS", contains("$aliases", "slug"), svc([]string{"pay", "payments-api"}, nil), iss(map[string]any{"slug": "pay"}), true},
		{"ARRAY_CONTAINS target list element", contains("$aliases", "slug"), svc([]string{"pay"}, nil), iss(map[string]any{"slug": []any{"x", "pay"}}), true},
		{"ARRAY_CONTAINS missing", contains("$aliases", "slug"), svc([]string{"pay"}, nil), iss(map[string]any{"slug": "payments"}), false},
		{"ARRAY_CONTAINS source not a list", contains("$identifier", "slug"), svc(nil, nil), iss(map[string]any{"slug": "payments"}), false},
		{"ARRAY_CONTAINS is one way", contains("$identifier", "slugs"), svc(nil, nil), iss(map[string]any{"slugs": []any{"payments"}}), false},
		{"ARRAY_CONTAINS numbers", contains("ns", "n"), svc(nil, map[string]any{"ns": []any{1, 2}}), iss(map[string]any{"n": json.Number("2")}), true},
		{"unknown operator", Rule{Operator: "LIKE", SourceProperty: "$identifier", TargetProperty: "$identifier"}, svc(nil, nil), svc(nil, nil), false},
	} {
		if got := c.rule.Match(c.src, c.tgt); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
}

// The matcher finds exactly what trying every rule on every target finds.
func TestMatcherAgreesWithMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 2))
	values := []any{nil, "a", "b", "pay", 1, 1.0, json.Number("2"), true, []any{}, []any{"a"}, []any{"a", "b"}, []any{1, "pay"},
		[]any{[]any{"a"}}, map[string]any{"k": 1}, []any{map[string]any{"k": 1.0}}}
	pick := func() any { return values[r.IntN(len(values))] }
	entity := func(bp string, i int) *catalog.Entity {
		e := &catalog.Entity{Blueprint: bp, Identifier: fmt.Sprint(i), Title: pick(), Properties: map[string]any{"p": pick(), "q": pick()}}
		for range r.IntN(3) {
			if s, ok := pick().(string); ok {
				e.Aliases = append(e.Aliases, s)
			}
		}
		return e
	}
	props := []string{"p", "q", PropAliases, PropTitle, PropIdentifier}
	for round := range 200 {
		rel := RuleRelation{Blueprint: "service", Name: "r", Target: "issue", Many: true}
		for range 1 + r.IntN(2) {
			rel.Rules = append(rel.Rules, Rule{Operator: []string{OpEquals, OpArrayContains}[r.IntN(2)],
				SourceProperty: props[r.IntN(len(props))], TargetProperty: props[r.IntN(len(props))]})
		}
		var targets []*catalog.Entity
		for i := range 30 {
			targets = append(targets, entity("issue", i))
		}
		m := rel.NewMatcher(targets)
		for i := range 10 {
			src := entity("service", 100+i)
			var want []string
			for _, tg := range targets {
				all := true
				for _, rule := range rel.Rules {
					all = all && rule.Match(src, tg)
				}
				if all {
					want = append(want, tg.Identifier)
				}
			}
			slices.Sort(want)
			if got := m.Targets(src); !slices.Equal(got, want) {
				t.Fatalf("round %d: %+v: Targets(%+v) = %q, want %q", round, rel.Rules, src, got, want)
			}
		}
	}
}

// The README's relation: each service gets the issues of its projects.
func TestMatcherREADME(t *testing.T) {
	s, err := ruleSet(t, ruleBlueprints)
	if err != nil {
		t.Fatal(err)
	}
	rel := s.RuleRelations()[0]
	issue := func(id, slug string) *catalog.Entity {
		return &catalog.Entity{Blueprint: "sentry_issue", Identifier: id, Properties: map[string]any{"project_slug": []any{slug}}}
	}
	m := rel.NewMatcher([]*catalog.Entity{issue("3", "payments-api"), issue("1", "pay"), issue("2", "search"), issue("4", "payments-api")})
	if got := m.Targets(&catalog.Entity{Blueprint: "service", Identifier: "payments", Aliases: []string{"pay", "payments-api"}}); !slices.Equal(got, []string{"1", "3", "4"}) {
		t.Errorf("payments: %q", got)
	}
	if got := m.Targets(&catalog.Entity{Blueprint: "service", Identifier: "search"}); got != nil {
		t.Errorf("a service without aliases: %q", got)
	}
}

// BenchmarkMatcher100k relates 1,000 services (three aliases each) to
// 100k issues of 2,000 projects, as the sync does after a big sync.
func BenchmarkMatcher100k(b *testing.B) {
	rel := RuleRelation{Blueprint: "service", Name: "sentry_issues", Target: "sentry_issue", Many: true,
		Rules: []Rule{{Operator: OpEquals, SourceProperty: PropAliases, TargetProperty: "project_slug"}}}
	issues := make([]*catalog.Entity, 100000)
	for i := range issues {
		issues[i] = &catalog.Entity{Blueprint: "sentry_issue", Identifier: fmt.Sprint(5100000000 + i),
			Properties: map[string]any{"project_slug": []any{fmt.Sprintf("project-%d", i%2000)}}}
	}
	services := make([]*catalog.Entity, 1000)
	for i := range services {
		services[i] = &catalog.Entity{Blueprint: "service", Identifier: fmt.Sprintf("svc-%d", i),
			Aliases: []string{fmt.Sprintf("project-%d", 2*i), fmt.Sprintf("project-%d", 2*i+1), fmt.Sprintf("legacy-%d", i)}}
	}
	b.ReportAllocs()
	for b.Loop() {
		m := rel.NewMatcher(issues)
		n := 0
		for _, s := range services {
			n += len(m.Targets(s))
		}
		if n != 100000 {
			b.Fatalf("%d related", n)
		}
	}
}
