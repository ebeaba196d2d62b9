package scaffold

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/blueprints"
	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/mapping"
	"gopkg.in/yaml.v3"
)

// Every edit of the default mapping applies (SourcesConfig fails when the
// default moved on), the file stays YAML with the sources in order, and
// nothing but identifiers, relation targets, the Sentry comment and the
// sources: section differs from the default.
func TestSourcesConfig(t *testing.T) {
	b, err := SourcesConfig([]string{"eu", "onprem", "us-west_2"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Sources []struct{ Name, URL, Org string }
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(doc.Sources); got != "[{eu https://sentry.io eu} {onprem https://sentry.io onprem} {us-west_2 https://sentry.io us-west_2}]" {
		t.Errorf("sources %s", got)
	}
	text := string(b)
	if n := strings.Count(text, `$source + "-" + `); n != 9 {
		t.Errorf("%d prefixes, want 9 (4 identifiers, 5 relation targets)", n)
	}
	// The default's lines are all there but the edited ones.
	edited := map[string]bool{}
	for _, e := range perSource {
		for _, l := range strings.SplitAfter(e.old, "\n") {
			edited[l] = true
		}
	}
	for _, l := range strings.SplitAfter(string(blueprints.Config()), "\n") {
		if !edited[l] && !strings.Contains(text, l) {
			t.Errorf("the default's line %q is missing", l)
		}
	}
}

func TestCheckSources(t *testing.T) {
	for _, tc := range []struct {
		list, err string
	}{
		{"eu", ""},
		{"eu, onprem", ""},
		{"0,a_b-c," + strings.Repeat("z", 63), ""},
		{"", `source name ""`},
		{"eu,", `source name ""`},
		{"EU", `source name "EU"`},
		{"_eu", `source name "_eu"`},
		{"e.u", `source name "e.u"`},
		{"eu/x", `source name "eu/x"`},
		{"eu'x", `source name "eu'x"`},
		{strings.Repeat("z", 64), "must be 1 to 63"},
		{"eu,eu", `source "eu" is named twice`},
		{"eu_file", `source name "eu_file" cannot end in file: its token variable SENTRY_AUTH_TOKEN_EU_FILE`},
		{"eu-file", `cannot end in file`},
		{"file", `cannot end in file`},
		{"profile,files,file0", ""},
		{"a-b,a_b", `sources "a-b" and "a_b" would both read their token from SENTRY_AUTH_TOKEN_A_B`},
		{"eu,eu-west", `sources "eu-west" and "eu" are one name and a - apart, so identifiers made as $source + "-" + .slug collide (eu's west-api and eu-west's api are both eu-west-api)`},
		{"eu-west,onprem,eu", `sources "eu" and "eu-west" are one name and a - apart`},
		{"eu,euw,eu_west", ""},
	} {
		_, err := ParseSources(tc.list)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseSources(%q) = %v, want %q", tc.list, err, tc.err)
		}
	}
}

// The config init --sources writes loads, and a source's identifiers and
// relation targets start with its name. It needs the mapping's sources
// (issue 19): until mapping.Config has them, $source does not compile,
// and the test says so instead of failing.
func TestSourcesConfigMaps(t *testing.T) {
	b, err := SourcesConfig([]string{"eu", "onprem"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reflect.TypeOf(mapping.Config{}).FieldByName("Sources"); !ok {
		t.Skip("mapping.Config has no Sources yet: $source does not compile")
	}
	cfg, err := mapping.Parse("gitalog.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings; len(w) > 0 {
		t.Errorf("warnings: %v", w)
	}
	m := reflect.ValueOf(cfg).MethodByName("ForSource")
	if !m.IsValid() {
		t.Fatal("mapping.Config has Sources but no ForSource")
	}
	out := m.Call([]reflect.Value{reflect.ValueOf("eu")})
	if err, _ := out[1].Interface().(error); err != nil {
		t.Fatal(err)
	}
	eu := out[0].Interface().(*mapping.Config)
	items := map[string]any{
		"user":    map[string]any{"email": "jane@example.com", "user": map[string]any{"name": "Jane"}},
		"team":    map[string]any{"slug": "core", "name": "Core", "projects": []any{}, "__members": []any{map[string]any{"user": map[string]any{"email": "jane@example.com"}}, map[string]any{"user": map[string]any{}}}},
		"project": map[string]any{"slug": "backend", "name": "Backend", "teams": []any{map[string]any{"slug": "core"}}, "organization": map[string]any{"links": map[string]any{"organizationUrl": "https://acme-eu.sentry.io"}}},
		"issue":   map[string]any{"id": "42", "title": "boom", "project": map[string]any{"slug": "backend"}, "assignedTo": map[string]any{"type": "team", "name": "core"}},
	}
	want := map[string]string{
		"user":    "eu-jane@example.com",
		"team":    "eu-core members=[eu-jane@example.com]",
		"project": "eu-backend teams=[eu-core]",
		"issue":   "eu-42 assignedTeam=eu-core project=eu-backend",
	}
	for _, r := range eu.Resources {
		es, issues := r.Map(items[r.Kind])
		if len(issues) > 0 || len(es) != 1 {
			t.Errorf("%s: %d entities, issues %v", r.Kind, len(es), issues)
			continue
		}
		if got := describe(es[0]); got != want[r.Kind] {
			t.Errorf("%s: %s, want %s", r.Kind, got, want[r.Kind])
		}
	}
}

// describe is an entity's identifier and its relations that are set,
// by name.
func describe(e *catalog.Entity) string {
	s := e.Identifier
	for _, k := range []string{"assignedTeam", "assignedTo", "members", "project", "teams"} {
		if v := e.Relations[k]; v != nil {
			s += fmt.Sprintf(" %s=%v", k, v)
		}
	}
	return s
}
