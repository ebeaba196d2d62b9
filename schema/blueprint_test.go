package schema

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		ids  []string
		err  string // substring of the error; empty for success
	}{
		{name: "one object", src: `{"identifier": "a", "title": "A", "schema": {"properties": {}}}`, ids: []string{"a"}},
		{name: "array", src: `[{"identifier": "a"}, {"identifier": "b"}]`, ids: []string{"a", "b"}},
		{name: "empty array", src: `[]`, ids: []string{}},
		{name: "ignored keys", src: `{"identifier": "a", "mirrorProperties": {"x": 1}, "teamInheritance": {"path": "x"}, "aggregationProperties": {}}`, ids: []string{"a"}},
		{name: "syntax error", src: "[\n  {\"identifier\": \"a\",\n   \"title\" \"A\"}\n]", err: "f.json:3:12: invalid character '\"' after object key"},
		{name: "truncated", src: "{\"identifier\": \"a\"", err: "f.json:1:18: unexpected end of JSON input"},
		{name: "trailing garbage", src: "{}\n}", err: "f.json:2:1: invalid character '}' after top-level value"},
		{name: "wrong type", src: "[\n{\"identifier\": \"a\", \"title\": 5}]", err: `f.json:2:30: "title" must be a string, not number`},
		{name: "required not a list", src: `{"identifier": "a", "schema": {"required": "x"}}`, err: `f.json:1:46: "schema.required" must be an array, not string`},
		{name: "relation flag not a boolean", src: `{"identifier": "a", "relations": {"r": {"target": "b", "many": "yes"}}}`, err: `f.json:1:68: "relations.many" must be a boolean, not string`},
		{name: "element not an object", src: `[{"identifier": "a"}, 5]`, err: `f.json:1:23: value must be an object, not number`},
		{name: "not an object", src: "\n  \"a\"", err: "f.json:2:3: expected a blueprint object or an array of them"},
		{name: "missing identifier", src: `[{"identifier": "a"}, {"title": "B"}, {"identifier": ""}]`, err: "f.json: blueprint 1: missing identifier\nf.json: blueprint 2: missing identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bps, err := Parse("f.json", []byte(tt.src))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, bp := range bps {
				ids = append(ids, bp.Identifier)
				if bp.Source != "f.json" {
					t.Errorf("Source = %q", bp.Source)
				}
				if bp.Properties == nil || bp.Relations == nil {
					t.Errorf("%s: nil maps", bp.Identifier)
				}
			}
			if !slices.Equal(ids, tt.ids) {
				t.Errorf("ids = %v, want %v", ids, tt.ids)
			}
		})
	}
}

func TestParsePortBlueprints(t *testing.T) {
	bps, err := LoadDir("testdata/port-sentry")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, bp := range bps {
		ids = append(ids, bp.Identifier)
	}
	if want := []string{"sentryUser", "sentryTeam", "sentryProject", "sentryIssue"}; !slices.Equal(ids, want) {
		t.Fatalf("ids = %v, want %v", ids, want)
	}
	team := bps[1]
	if team.Title != "Sentry Team" || len(team.Properties) != 4 {
		t.Errorf("team = %+v", team)
	}
	if r := team.Relations["members"]; !reflect.DeepEqual(r, Relation{Title: "Members", Target: "sentryUser", Many: true}) {
		t.Errorf("members relation = %+v", r)
	}
	if want := filepath.Join("testdata", "port-sentry", "blueprints.json"); team.Source != want {
		t.Errorf("Source = %q, want %q", team.Source, want)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.json", `{"identifier": "fromB"}`)
	write("a.json", `[{"identifier": "fromA1"}, {"identifier": "fromA2"}]`)
	write("notes.txt", `not json`)
	if err := os.Mkdir(filepath.Join(dir, "sub.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	bps, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, bp := range bps {
		ids = append(ids, bp.Identifier)
	}
	if want := []string{"fromA1", "fromA2", "fromB"}; !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}

	write("c.json", "{\n  \"identifier\": }")
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "c.json")+":2:17:") {
		t.Errorf("error = %v, want one naming c.json:2:17", err)
	}

	missing := filepath.Join(dir, "nope")
	if _, err := LoadDir(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("error = %v, want one naming %s", err, missing)
	}
}
