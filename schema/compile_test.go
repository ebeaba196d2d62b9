package schema

import (
	"slices"
	"strings"
	"testing"
)

// testSet compiles Port's Sentry blueprints together with seed 001's
// project and issue blueprints, the set port-and-seed-config.yaml needs.
func testSet(t testing.TB) *Set {
	t.Helper()
	var all []*Blueprint
	for _, dir := range []string{"testdata/port-sentry", "testdata/seed001"} {
		bps, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, bps...)
	}
	s, err := Compile(all)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCompileSet(t *testing.T) {
	s := testSet(t)
	want := []string{"issue", "project", "sentryIssue", "sentryProject", "sentryTeam", "sentryUser"}
	if got := s.IDs(); !slices.Equal(got, want) {
		t.Errorf("IDs() = %v, want %v", got, want)
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %q, want none", w)
	}
	bp, ok := s.Blueprint("issue")
	if !ok || bp.Relations["project"].Target != "project" || !strings.HasSuffix(bp.Source, "issue.json") {
		t.Errorf("Blueprint(issue) = %+v, %v", bp, ok)
	}
	if _, ok := s.Blueprint("nope"); ok {
		t.Error("Blueprint(nope) found")
	}
}

func TestCompileWarnsAboutOutsideTargets(t *testing.T) {
	bps, err := LoadDir("testdata/seed001")
	if err != nil {
		t.Fatal(err)
	}
	// Only the issue blueprint: its relation's target lives elsewhere.
	bps = slices.DeleteFunc(bps, func(bp *Blueprint) bool { return bp.Identifier == "project" })
	s, err := Compile(bps)
	if err != nil {
		t.Fatal(err)
	}
	w := s.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], `blueprint "issue": relation "project" targets blueprint "project", which is not among the blueprints`) ||
		!strings.Contains(w[0], "issue.json") {
		t.Errorf("Warnings() = %q", w)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		srcs []string // one file each, named 0.json, 1.json, ...
		errs []string // substrings, all of which must be in the error
	}{
		{
			name: "duplicate",
			srcs: []string{`{"identifier": "a"}`, `[{"identifier": "b"}, {"identifier": "a"}]`},
			errs: []string{`blueprint "a" is defined twice: in 0.json and in 1.json`},
		},
		{
			name: "misspelt type",
			srcs: []string{`{"identifier": "a", "schema": {"properties": {"status": {"title": "Status", "type": "strnig"}}}}`},
			errs: []string{`0.json: blueprint "a": property "status": not a valid JSON Schema: type: "strnig" is not one of "array", "boolean"`},
		},
		{
			name: "enum not a list",
			srcs: []string{`{"identifier": "a", "schema": {"properties": {"status": {"type": "string", "enum": "x"}}}}`},
			errs: []string{`0.json: blueprint "a": property "status": not a valid JSON Schema: enum: "x": expected array, got string`},
		},
		{
			name: "bad items",
			srcs: []string{`{"identifier": "a", "schema": {"properties": {"tags": {"type": "array", "items": {"type": 5}}}}}`},
			errs: []string{`property "tags": not a valid JSON Schema: items/type: 5 is not one of`},
		},
		{
			name: "bad regex",
			srcs: []string{`{"identifier": "a", "schema": {"properties": {"ok": {"type": "string"}, "code": {"type": "string", "pattern": "("}}}}`},
			errs: []string{`0.json: blueprint "a": property "code": not a valid JSON Schema: pattern:`},
		},
		{
			name: "external ref",
			srcs: []string{`{"identifier": "a", "schema": {"properties": {"x": {"$ref": "https://example.com/s.json"}}}}`},
			errs: []string{`property "x": not a valid JSON Schema: https://example.com/s.json: external references are not supported`},
		},
		{
			name: "schema not an object",
			srcs: []string{`{"identifier": "a", "schema": {"properties": {"x": "string"}}}`},
			errs: []string{`0.json: blueprint "a": property "x": schema must be an object, not string`},
		},
		{
			name: "required not a property",
			srcs: []string{`{"identifier": "a", "schema": {"properties": {"x": {"type": "string"}}, "required": ["y"]}}`},
			errs: []string{`0.json: blueprint "a": required property "y" is not among its properties`},
		},
		{
			name: "relation without target",
			srcs: []string{`{"identifier": "a", "relations": {"owner": {"title": "Owner", "many": false}}}`},
			errs: []string{`0.json: blueprint "a": relation "owner" has no target`},
		},
		{
			name: "all reported",
			srcs: []string{
				`{"identifier": "a", "schema": {"properties": {"x": {"type": "strnig"}}}}`,
				`{"identifier": "b", "relations": {"r": {"target": ""}}}`,
			},
			errs: []string{`blueprint "a": property "x"`, `blueprint "b": relation "r" has no target`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var all []*Blueprint
			for i, src := range tt.srcs {
				bps, err := Parse(string(rune('0'+i))+".json", []byte(src))
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, bps...)
			}
			s, err := Compile(all)
			if err == nil {
				t.Fatalf("Compile succeeded with %v", s.IDs())
			}
			for _, want := range tt.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error = %v\nwant it to contain %q", err, want)
				}
			}
		})
	}
}

// Port-only keys and Port's own formats must not get in the way.
func TestCompilePortOnlyKeys(t *testing.T) {
	src := `{"identifier": "svc", "title": "Service", "icon": "Service", "schema": {"properties": {
		"readme":  {"type": "string", "format": "markdown", "title": "README", "icon": "Book", "description": "d"},
		"owner":   {"type": "string", "format": "user", "title": 7},
		"team":    {"type": "string", "format": "team"},
		"spec":    {"type": "string", "format": "url", "spec": "open-api", "specAuthentication": {"clientId": "x"}},
		"config":  {"type": "object", "format": "yaml"},
		"cd":      {"type": "string", "format": "timer"},
		"p":       {"type": "string", "format": "proto"},
		"odd":     {"type": "string", "format": "no-such-format"},
		"ip":      {"type": "string", "format": "ipv4"},
		"mail":    {"type": "string", "format": "email"},
		"tags":    {"type": "array", "items": {"type": "string", "enum": ["a", "b"], "enumColors": {"a": "red"}, "title": []}}
	}, "required": ["owner"]}, "calculationProperties": {"c": {"calculation": ".x"}}}`
	bps, err := Parse("svc.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(bps); err != nil {
		t.Fatal(err)
	}
}
