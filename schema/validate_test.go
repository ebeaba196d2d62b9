package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
)

func problemStrings(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		s := p.String()
		if p.Warning {
			s = "warning: " + s
		}
		out = append(out, s)
	}
	return out
}

func checkProblems(t *testing.T, got []Problem, want []string) {
	t.Helper()
	if gs := problemStrings(got); !slices.Equal(gs, want) {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(gs, "\n  "), strings.Join(want, "\n  "))
	}
}

// Entities as seed 001 shows them in Port ("Mapping Result") and as Port's
// default mapping makes them from the sample payloads.
func seedProject() *catalog.Entity {
	return &catalog.Entity{
		Identifier: "python-fastapi", Title: "python-fastapi", Blueprint: "project",
		Properties: map[string]any{
			"dateCreated": "2023-03-31T06:18:37.290732Z",
			"platform":    "python-fastapi",
			"status":      "active",
			"link":        "https://test-org.sentry.io/projects/python-fastapi",
		},
		Relations: map[string]any{},
	}
}

func seedIssue() *catalog.Entity {
	return &catalog.Entity{
		Identifier: "4605173695", Title: "ZeroDivisionError: division by zero", Blueprint: "issue",
		Properties: map[string]any{
			"link":        "https://test-org.sentry.io/issues/4605173695/",
			"status":      "unresolved",
			"isUnhandled": true,
		},
		Relations: map[string]any{"project": "python-fastapi"},
	}
}

func sentryIssue() *catalog.Entity {
	return &catalog.Entity{
		Identifier: "123", Title: "ZeroDivisionError: division by zero", Blueprint: "sentryIssue",
		Properties: map[string]any{
			"link":        "https://test-org.sentry.io/issues/123/",
			"status":      "unresolved",
			"isUnhandled": false,
		},
		Relations: map[string]any{
			"projectEnvironment": []any{"python-fastapi-production", "python-fastapi-staging"},
			"assignedTo":         "jane@example.com",
		},
	}
}

func sentryTeam() *catalog.Entity {
	return &catalog.Entity{
		Identifier: "backend", Title: "Backend", Blueprint: "sentryTeam",
		Properties: map[string]any{
			"dateCreated": "2023-03-31T06:17:33Z",
			"memberCount": 3,
			"roles":       nil,
			"projects":    []any{"python-fastapi", "web"},
		},
		Relations: map[string]any{"members": []any{"jane@example.com"}},
	}
}

func TestValidate(t *testing.T) {
	s := testSet(t)
	tests := []struct {
		name string
		e    *catalog.Entity
		edit func(e *catalog.Entity)
		want []string
	}{
		{name: "seed project", e: seedProject()},
		{name: "seed issue", e: seedIssue()},
		{name: "sentry issue", e: sentryIssue()},
		{name: "sentry team", e: sentryTeam()},
		{name: "sentry user", e: &catalog.Entity{Identifier: "jane@example.com", Blueprint: "sentryUser", Properties: map[string]any{
			"username": "jane", "isActive": true, "dateJoined": "2023-03-31T06:17:33.619189+02:00", "lastLogin": nil, "orgRole": "owner",
		}}},
		{name: "nil maps", e: &catalog.Entity{Identifier: "x", Blueprint: "sentryUser"}},
		{name: "numbers of every kind", e: sentryTeam(), edit: func(e *catalog.Entity) {
			for _, n := range []any{0, 3.5, new(big.Int).Lsh(big.NewInt(1), 100), json.Number("12"), json.Number("1e400")} {
				e.Properties["memberCount"] = n
				if ps := s.Validate(e); len(ps) != 0 {
					t.Errorf("%T %v: %v", n, n, ps)
				}
			}
		}},
		{name: "NaN is null", e: sentryTeam(), edit: func(e *catalog.Entity) { e.Properties["memberCount"] = math.NaN() }},
		{name: "infinity is a number", e: sentryTeam(), edit: func(e *catalog.Entity) { e.Properties["memberCount"] = math.Inf(-1) }},
		{name: "null properties and relations are unset", e: sentryIssue(), edit: func(e *catalog.Entity) {
			e.Properties = map[string]any{"link": nil, "status": nil, "undefined": nil}
			e.Relations = map[string]any{"projectEnvironment": nil, "assignedTo": nil, "undefined": nil}
		}},

		{name: "bad enum", e: sentryIssue(), edit: func(e *catalog.Entity) { e.Properties["status"] = "bogus" },
			want: []string{`sentryIssue "123": /properties/status: "bogus" is not one of "resolved", "unresolved", "ignored", "reprocessing"`}},
		{name: "enum wrong type", e: seedProject(), edit: func(e *catalog.Entity) { e.Properties["status"] = 1 },
			want: []string{`project "python-fastapi": /properties/status: expected string, got number 1`}},
		{name: "bad date-time", e: seedProject(), edit: func(e *catalog.Entity) { e.Properties["dateCreated"] = "2023-03-31 06:18:37" },
			want: []string{`project "python-fastapi": /properties/dateCreated: "2023-03-31 06:18:37" is not a valid date-time (RFC 3339, such as 2023-03-31T06:18:37Z)`}},
		{name: "date-time without zone", e: seedProject(), edit: func(e *catalog.Entity) { e.Properties["dateCreated"] = "2023-03-31T06:18:37" },
			want: []string{`project "python-fastapi": /properties/dateCreated: "2023-03-31T06:18:37" is not a valid date-time (RFC 3339, such as 2023-03-31T06:18:37Z)`}},
		{name: "relative url", e: seedIssue(), edit: func(e *catalog.Entity) { e.Properties["link"] = "/issues/4605173695/" },
			want: []string{`issue "4605173695": /properties/link: "/issues/4605173695/" is not a valid url (an absolute URL with a scheme and a host)`}},
		{name: "url without host", e: seedIssue(), edit: func(e *catalog.Entity) { e.Properties["link"] = "mailto:jane@example.com" },
			want: []string{`issue "4605173695": /properties/link: "mailto:jane@example.com" is not a valid url (an absolute URL with a scheme and a host)`}},
		{name: "wrong type", e: seedIssue(), edit: func(e *catalog.Entity) { e.Properties["isUnhandled"] = "true" },
			want: []string{`issue "4605173695": /properties/isUnhandled: expected boolean, got string "true"`}},
		{name: "wrong item type", e: sentryTeam(), edit: func(e *catalog.Entity) { e.Properties["projects"] = []any{"a", "b", big.NewInt(7), nil} },
			want: []string{
				`sentryTeam "backend": /properties/projects/2: expected string, got number 7`,
				`sentryTeam "backend": /properties/projects/3: expected string, got null`,
			}},
		{name: "array expected", e: sentryTeam(), edit: func(e *catalog.Entity) { e.Properties["projects"] = "web" },
			want: []string{`sentryTeam "backend": /properties/projects: expected array, got string "web"`}},
		{name: "unknown property", e: seedIssue(), edit: func(e *catalog.Entity) { e.Properties["level"] = "error" },
			want: []string{`issue "4605173695": /properties/level: property "level" is not defined in blueprint issue (it has isUnhandled, link, status)`}},
		{name: "defined properties first, then undefined ones", e: seedIssue(), edit: func(e *catalog.Entity) {
			e.Properties["a/b"] = 1
			e.Properties["status"] = 2
		}, want: []string{
			`issue "4605173695": /properties/status: expected string, got number 2`,
			`issue "4605173695": /properties/a~1b: property "a/b" is not defined in blueprint issue (it has isUnhandled, link, status)`,
		}},
		{name: "bad title", e: seedIssue(), edit: func(e *catalog.Entity) { e.Title = []any{"x"} },
			want: []string{`issue "4605173695": /title: expected a string or null, got array ["x"]`}},
		{name: "null title", e: seedIssue(), edit: func(e *catalog.Entity) { e.Title = nil }},
		{name: "empty identifier", e: seedIssue(), edit: func(e *catalog.Entity) { e.Identifier = "" },
			want: []string{`issue "": /identifier: the identifier is empty`}},
		{name: "unknown blueprint", e: seedIssue(), edit: func(e *catalog.Entity) { e.Blueprint = "sentryIsue" },
			want: []string{`sentryIsue "4605173695": /blueprint: unknown blueprint "sentryIsue"`}},
		{name: "many relation not a list", e: sentryIssue(), edit: func(e *catalog.Entity) { e.Relations["projectEnvironment"] = "python-fastapi-production" },
			want: []string{`sentryIssue "123": /relations/projectEnvironment: relation has many: true, so expected an array of identifiers or null, got string "python-fastapi-production"`}},
		{name: "many relation with a non-string", e: sentryIssue(), edit: func(e *catalog.Entity) { e.Relations["projectEnvironment"] = []any{"a", 5, ""} },
			want: []string{
				`sentryIssue "123": /relations/projectEnvironment/1: expected an identifier (a string), got number 5`,
				`sentryIssue "123": /relations/projectEnvironment/2: the related identifier is empty`,
			}},
		{name: "single relation a list", e: sentryIssue(), edit: func(e *catalog.Entity) { e.Relations["assignedTo"] = []any{"jane@example.com"} },
			want: []string{`sentryIssue "123": /relations/assignedTo: expected an identifier (a string) or null, got array ["jane@example.com"]`}},
		{name: "unknown relation", e: seedIssue(), edit: func(e *catalog.Entity) { e.Relations["team"] = "backend" },
			want: []string{`issue "4605173695": /relations/team: relation "team" is not defined in blueprint issue (it has project)`}},
		{name: "relation on a blueprint without any", e: seedProject(), edit: func(e *catalog.Entity) { e.Relations["team"] = []any{} },
			want: []string{`project "python-fastapi": /relations/team: relation "team" is not defined in blueprint project, which has no relations`}},
		// Nesting: a property the blueprint defines as an array or object,
		// and the icon and team that no blueprint constrains, are refused
		// past the limit; other values are refused by their shape anyway.
		{name: "nested to the limit", e: sentryTeam(), edit: func(e *catalog.Entity) {
			e.Properties["projects"] = deep(catalog.MaxValueDepth)
			e.Icon = deep(catalog.MaxValueDepth)
		}, want: []string{`sentryTeam "backend": /properties/projects/0: expected string, got array ` + strings.Repeat("[", 63) + `"x"` + strings.Repeat("]", 14) + "…"}},
		{name: "nested too deep", e: sentryTeam(), edit: func(e *catalog.Entity) {
			e.Properties["projects"] = deep(catalog.MaxValueDepth + 1)
			e.Properties["memberCount"] = "not a number"
			e.Icon = deep(catalog.MaxValueDepth + 1)
			e.Team = deep(9995)
		}, want: []string{
			`sentryTeam "backend": /icon: nested deeper than 64 levels of arrays and objects`,
			`sentryTeam "backend": /team: nested deeper than 64 levels of arrays and objects`,
			`sentryTeam "backend": /properties/memberCount: expected number, got string "not a number"`,
			`sentryTeam "backend": /properties/projects: nested deeper than 64 levels of arrays and objects`,
		}},
		{name: "aliases", e: seedProject(), edit: func(e *catalog.Entity) { e.Aliases = []string{"fastapi", "python-fastapi"} }},
		{name: "empty and repeated aliases", e: seedProject(), edit: func(e *catalog.Entity) { e.Aliases = []string{"fastapi", "", "api", "fastapi"} },
			want: []string{
				`project "python-fastapi": /aliases/1: the alias is empty`,
				`project "python-fastapi": /aliases/3: the alias "fastapi" is also /aliases/0`,
			}},
		{name: "unsupported Go value", e: seedProject(), edit: func(e *catalog.Entity) { e.Properties["platform"] = struct{}{} },
			want: []string{`project "python-fastapi": /properties/platform: unsupported value: invalid jsonType: struct {}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.edit != nil {
				tt.edit(tt.e)
			}
			checkProblems(t, s.Validate(tt.e), tt.want)
		})
	}
}

func TestValidateRequiredAndFormats(t *testing.T) {
	src := `{"identifier": "svc", "schema": {"properties": {
		"owner":  {"type": "string", "format": "user"},
		"readme": {"type": "string", "format": "markdown"},
		"config": {"type": "object", "format": "yaml"},
		"mail":   {"type": "string", "format": "email"},
		"ip":     {"type": "string", "format": "ipv4"},
		"ip6":    {"type": "string", "format": "ipv6"},
		"odd":    {"type": "string", "format": "no-such-format"},
		"code":   {"type": "string", "pattern": "^[A-Z]+$", "minLength": 2},
		"labels": {"type": "object", "properties": {"tier": {"type": "number", "minimum": 1}}},
		"tags":   {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}
	}, "required": ["owner", "readme"]},
	"relations": {"team": {"target": "team", "required": true, "many": false}}}`
	bps, err := Parse("svc.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(bps)
	if err != nil {
		t.Fatal(err)
	}
	good := &catalog.Entity{Identifier: "api", Blueprint: "svc", Properties: map[string]any{
		"owner": "anything goes", "readme": "# API", "config": map[string]any{"a": []any{1, 2}},
		"mail": "jane@example.com", "ip": "10.0.0.1", "ip6": "::1", "odd": "whatever", "code": "AB",
		"labels": map[string]any{"tier": 2}, "tags": []any{"a", "b"},
	}}
	checkProblems(t, s.Validate(good), nil)

	bad := &catalog.Entity{Identifier: "api", Blueprint: "svc", Properties: map[string]any{
		"readme": nil, "mail": "jane", "ip": "10.0.0.256", "ip6": "10.0.0.1", "code": "a",
		"labels": map[string]any{"tier": 0, "x/y": true}, "tags": []any{"a", "c"},
	}}
	checkProblems(t, s.Validate(bad), []string{
		`svc "api": /properties/code: length must be >= 2, but got 1`,
		`svc "api": /properties/code: does not match pattern '^[A-Z]+$'`,
		`svc "api": /properties/ip: "10.0.0.256" is not a valid ipv4 address`,
		`svc "api": /properties/ip6: "10.0.0.1" is not a valid ipv6 address`,
		`svc "api": /properties/labels/tier: must be >= 1 but found 0`,
		`svc "api": /properties/mail: "jane" is not a valid email address`,
		`svc "api": /properties/owner: required property is missing`,
		`svc "api": /properties/readme: required property is null`,
		`svc "api": /properties/tags/1: "c" is not one of "a", "b"`,
	})
}

// exists reports that the entities in the list exist.
func exists(keys ...string) func(blueprint, identifier string) bool {
	return func(blueprint, identifier string) bool {
		return slices.Contains(keys, blueprint+"/"+identifier)
	}
}

func TestCheckRelations(t *testing.T) {
	s := testSet(t)
	src := `{"identifier": "svc", "relations": {
		"team":  {"target": "sentryTeam", "required": true, "many": false},
		"users": {"target": "sentryUser", "required": true, "many": true},
		"issue": {"target": "sentryIssue", "required": false, "many": false}}}`
	bps, err := Parse("svc.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	withSvc, err := Compile(append(bps, mustLoad(t, "testdata/port-sentry")...))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		s      *Set
		e      *catalog.Entity
		exists func(string, string) bool
		want   []string
	}{
		{name: "all there", s: s, e: sentryIssue(),
			exists: exists("sentryProject/python-fastapi-production", "sentryProject/python-fastapi-staging", "sentryUser/jane@example.com")},
		{name: "optional targets missing are warnings", s: s, e: sentryIssue(), exists: exists("sentryProject/python-fastapi-staging"),
			want: []string{
				`warning: sentryIssue "123": /relations/assignedTo: no sentryUser entity "jane@example.com" in the catalog`,
				`warning: sentryIssue "123": /relations/projectEnvironment/0: no sentryProject entity "python-fastapi-production" in the catalog`,
			}},
		{name: "seed issue", s: s, e: seedIssue(), exists: exists("project/python-fastapi")},
		{name: "seed issue, project missing", s: s, e: seedIssue(), exists: exists(),
			want: []string{`warning: issue "4605173695": /relations/project: no project entity "python-fastapi" in the catalog`}},
		{name: "unset optional relations", s: s, e: &catalog.Entity{Identifier: "1", Blueprint: "sentryIssue", Relations: map[string]any{"assignedTo": nil}}, exists: exists()},
		{name: "required targets missing are errors", s: withSvc, exists: exists("sentryUser/a"),
			e: &catalog.Entity{Identifier: "api", Blueprint: "svc", Relations: map[string]any{"team": "backend", "users": []any{"a", "b"}, "issue": "9"}},
			want: []string{
				`warning: svc "api": /relations/issue: no sentryIssue entity "9" in the catalog`,
				`svc "api": /relations/team: no sentryTeam entity "backend" in the catalog`,
				`svc "api": /relations/users/1: no sentryUser entity "b" in the catalog`,
			}},
		{name: "required relations unset", s: withSvc, exists: exists(),
			e:    &catalog.Entity{Identifier: "api", Blueprint: "svc", Relations: map[string]any{"team": nil, "users": []any{}}},
			want: []string{`svc "api": /relations/team: required relation is not set`, `svc "api": /relations/users: required relation is not set`}},
		{name: "malformed is Validate's business", s: withSvc, exists: exists(),
			e: &catalog.Entity{Identifier: "api", Blueprint: "svc", Relations: map[string]any{"team": 5, "users": "a"}}},
		{name: "unknown blueprint", s: s, e: &catalog.Entity{Identifier: "x", Blueprint: "nope"}, exists: exists()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, tt.s.CheckRelations(tt.e, tt.exists), tt.want)
		})
	}
}

func mustLoad(t testing.TB, dir string) []*Blueprint {
	t.Helper()
	bps, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return bps
}

// Entities decoded from catalog files carry json.Number; they must validate
// as the gojq values they were written from.
func TestValidateDecodedEntity(t *testing.T) {
	s := testSet(t)
	for _, e := range []*catalog.Entity{seedProject(), seedIssue(), sentryIssue(), sentryTeam()} {
		d, err := catalog.Decode(e.Encode())
		if err != nil {
			t.Fatal(err)
		}
		checkProblems(t, s.Validate(d), nil)
	}
}

func TestValidateConcurrently(t *testing.T) {
	s := testSet(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				e := sentryIssue()
				if i%2 == 0 {
					e.Properties["status"] = fmt.Sprintf("bogus%d", g)
				}
				ps := s.Validate(e)
				if want := 1 - i%2; len(ps) != want {
					t.Errorf("goroutine %d, entity %d: %v", g, i, ps)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkValidate(b *testing.B) {
	s := testSet(b)
	entities := []*catalog.Entity{seedProject(), seedIssue(), sentryIssue(), sentryTeam()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if ps := s.Validate(entities[i%len(entities)]); ps != nil {
			b.Fatal(ps)
		}
	}
}

func BenchmarkValidateParallel(b *testing.B) {
	s := testSet(b)
	entities := []*catalog.Entity{seedProject(), seedIssue(), sentryIssue(), sentryTeam()}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if ps := s.Validate(entities[i%len(entities)]); ps != nil {
				b.Error(ps)
				return
			}
			i++
		}
	})
}

// deep returns n arrays, one inside the other.
func deep(n int) any {
	var v any = "x"
	for range n {
		v = []any{v}
	}
	return v
}
