package mapping

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/sentry"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// readJSON decodes a file as the Sentry client does (numbers as json.Number).
func readJSON(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// plain turns any JSON-able value into encoding/json's generic form.
func plain(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSeed001Entities(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "seed001", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i, kind := range []string{"project", "issue"} {
		t.Run(kind, func(t *testing.T) {
			r := cfg.Resources[i]
			if r.Kind != kind {
				t.Fatalf("resource %d is %s", i, r.Kind)
			}
			item := readJSON(t, filepath.Join("testdata", "seed001", kind+".payload.json"))
			es, issues := r.Map(item)
			if len(issues) != 0 {
				t.Errorf("issues: %v", issues)
			}
			if len(es) != 1 {
				t.Fatalf("%d entities", len(es))
			}
			want := readJSON(t, filepath.Join("testdata", "seed001", kind+".entity.json")).(map[string]any)
			// Port's bookkeeping fields, and icon/team that the seed's
			// mapping does not set, are not part of the mapping result.
			for _, k := range []string{"createdAt", "createdBy", "updatedAt", "updatedBy", "icon", "team"} {
				delete(want, k)
			}
			got := plain(t, es[0].ToMap())
			if !reflect.DeepEqual(got, plain(t, want)) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("entity\n%s\nwant\n%s", g, w)
			}
		})
	}
}

// TestPortDefaultMappingGolden runs Port's default mapping over the fake's
// demo organization and compares every entity file with a golden file.
func TestPortDefaultMappingGolden(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "port-app-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	srv := sentrytest.NewHandler(sentrytest.Demo(), sentrytest.WithPageSize(5))
	c, err := sentry.NewClient(srv.URL, sentrytest.Token, sentry.ClientOptions{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	src := &sentry.Source{Client: c, Org: "acme-corp"}
	var all []*catalog.Entity
	var issueLines []string
	for _, r := range cfg.Resources {
		items, err := src.Fetch(context.Background(), r.Kind, r.Params)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			es, iss := r.Map(it)
			all = append(all, es...)
			for _, i := range iss {
				issueLines = append(issueLines, i.String())
			}
		}
	}
	unresolved := Resolve(all, nil, func(bp, rel string) (string, bool, bool, bool) {
		if bp == "sentryProject" && rel == "team" {
			return "sentryTeam", false, false, true
		}
		return "", false, false, false
	})
	sort.Slice(all, func(i, j int) bool { return catalog.Path(all[i].Key()) < catalog.Path(all[j].Key()) })
	var b bytes.Buffer
	for _, e := range all {
		b.WriteString("== " + catalog.Path(e.Key()) + "\n")
		b.Write(e.Encode())
	}
	sort.Strings(issueLines)
	b.WriteString("== issues\n" + strings.Join(issueLines, "\n") + "\n== unresolved\n")
	for _, u := range unresolved {
		b.WriteString(u.Entity.Key().String() + ": " + u.String() + "\n")
	}
	golden := filepath.Join("testdata", "port-default-demo.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("output differs from %s; run go test -update and review the diff", golden)
	}
	// Spot checks that do not depend on the golden file.
	counts := map[string]int{}
	for _, e := range all {
		counts[e.Blueprint]++
	}
	if counts["sentryUser"] != 10 || counts["sentryTeam"] != 4 || counts["sentryProject"] == 0 || counts["sentryIssue"] == 0 {
		t.Errorf("entity counts %v", counts)
	}
	for _, e := range all {
		if e.Blueprint == "sentryProject" {
			if _, ok := e.Relations["team"].(*Query); ok {
				t.Errorf("%s: search relation left unresolved", e.Identifier)
			}
		}
	}
}

func resource(t *testing.T, body string) *Resource {
	t.Helper()
	return mustParse(t, "resources:\n"+body).Resources[0]
}

func TestSelectorQuery(t *testing.T) {
	r := resource(t, `  - kind: issue
    selector:
      query: .status == "unresolved"
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"issue"'
`)
	if es, iss := r.Map(map[string]any{"id": "1", "status": "unresolved"}); len(es) != 1 || len(iss) != 0 {
		t.Errorf("selected item: %v %v", es, iss)
	}
	if es, iss := r.Map(map[string]any{"id": "2", "status": "resolved"}); len(es) != 0 || len(iss) != 0 {
		t.Errorf("rejected item: %v %v", es, iss)
	}
	bad := resource(t, `  - kind: issue
    selector:
      query: .status
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"issue"'
`)
	es, iss := bad.Map(map[string]any{"id": "1", "status": "unresolved"})
	if len(es) != 0 || len(iss) != 1 || !iss[0].Skipped || iss[0].Field != "selector.query" || !strings.Contains(iss[0].Msg, `must yield true or false, got "unresolved"`) {
		t.Errorf("non-boolean selector: %v %+v", es, iss)
	}
	if !strings.HasPrefix(iss[0].String(), `resource #1 (kind "issue"): selector.query: `) {
		t.Errorf("issue string %q", iss[0].String())
	}
	// A runtime error in the selector skips the item with an issue.
	es, iss = bad.Map("not an object")
	if len(es) != 0 || len(iss) != 1 || !iss[0].Skipped {
		t.Errorf("selector error: %v %+v", es, iss)
	}
}

func TestItemsToParse(t *testing.T) {
	item := map[string]any{
		"id": "p1", "name": "proj",
		"data": map[string]any{"envs": []any{map[string]any{"name": "prod"}, map[string]any{"name": "dev"}, "skip-me"}},
	}
	for _, tc := range []struct {
		name, port string
		query      string
		ids        []string
		keepArray  bool
		issues     int
	}{
		{"default name item, array removed", "      itemsToParse: .data.envs\n", "true", []string{"p1-prod", "p1-dev"}, false, 2},
		{"custom name", "      itemsToParse: .data.envs\n      itemsToParseName: env\n", "true", []string{"p1-prod", "p1-dev"}, false, 2},
		{"keep array", "      itemsToParse: .data.envs\n      itemsToParseTopLevelTransform: false\n", "true", []string{"p1-prod", "p1-dev"}, true, 2},
		{"query on the element", "      itemsToParse: .data.envs\n", `.name == "dev"`, []string{"p1-dev"}, false, 0},
		{"query on the merged item", "      itemsToParse: .data.envs\n", `.item.name == "prod"`, []string{"p1-prod"}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "item"
			if strings.Contains(tc.port, "itemsToParseName") {
				name = "env"
			}
			r := resource(t, `  - kind: project
    selector:
      query: '`+tc.query+`'
    port:
`+tc.port+`      entity:
        mappings:
          identifier: .id + "-" + .`+name+`.name
          blueprint: '"env"'
          properties:
            siblings: .data.envs
            project: .name
`)
			es, iss := r.Map(item)
			var ids []string
			for _, e := range es {
				ids = append(ids, e.Identifier)
				hasArray := e.Properties["siblings"] != nil
				if hasArray != tc.keepArray {
					t.Errorf("%s: siblings = %v, keep array %v", e.Identifier, e.Properties["siblings"], tc.keepArray)
				}
				if e.Properties["project"] != "proj" {
					t.Errorf("parent fields lost: %v", e.Properties)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tc.ids, ",") {
				t.Errorf("ids %v, want %v", ids, tc.ids)
			}
			// "skip-me" has no name: its identifier fails (a runtime error
			// and a skip) but the other elements still map.
			if len(iss) != tc.issues {
				t.Errorf("issues %v", iss)
			}
		})
	}
	// The original item is not modified.
	if _, ok := item["data"].(map[string]any)["envs"]; !ok {
		t.Errorf("itemsToParse mutated the input item")
	}
	// Not an array / missing.
	r := resource(t, `  - kind: project
    port:
      itemsToParse: .data
      entity:
        mappings:
          identifier: .item
          blueprint: '"x"'
`)
	if es, iss := r.Map(item); len(es) != 0 || len(iss) != 1 || !strings.Contains(iss[0].Msg, "must yield an array") {
		t.Errorf("non-array: %v %v", es, iss)
	}
	if es, iss := r.Map(map[string]any{}); len(es) != 0 || len(iss) != 0 {
		t.Errorf("missing array: %v %v", es, iss)
	}
}

func TestRuntimeErrorsAndSkips(t *testing.T) {
	r := resource(t, `  - kind: issue
    port:
      entity:
        mappings:
          identifier: .id
          title: .title
          blueprint: '"issue"'
          icon: '"Sentry"'
          team: .team
          properties:
            email: .assignedTo.email
            count: .count | tonumber
            many: .list[]
            none: empty
          relations:
            project: .project.slug
            broken: .project.slug.x
`)
	es, iss := r.Map(map[string]any{"id": "1", "title": "T", "assignedTo": "None", "count": "17",
		"list": []any{"first", "second"}, "project": map[string]any{"slug": "p"}})
	if len(es) != 1 {
		t.Fatalf("entities %v, issues %v", es, iss)
	}
	e := es[0]
	if e.Properties["email"] != nil || e.Properties["count"] != 17 || e.Properties["many"] != "first" || e.Properties["none"] != nil {
		t.Errorf("properties %v", e.Properties)
	}
	if _, ok := e.Properties["none"]; !ok {
		t.Errorf("a property with no output must still be present as null")
	}
	if e.Relations["project"] != "p" || e.Relations["broken"] != nil || e.Icon != "Sentry" || e.Team != nil || e.Title != "T" {
		t.Errorf("entity %+v", e)
	}
	fields := map[string]bool{}
	for _, i := range iss {
		fields[i.Field] = true
		if i.Skipped || !strings.Contains(i.Msg, "(value set to null)") {
			t.Errorf("issue %+v", i)
		}
	}
	if len(iss) != 2 || !fields["port.entity.mappings.properties.email"] || !fields["port.entity.mappings.relations.broken"] {
		t.Errorf("issues %v", iss)
	}

	for _, item := range []any{
		map[string]any{"title": "no id"},
		map[string]any{"id": ""},
		map[string]any{"id": 5},
		map[string]any{"id": []any{"a"}},
		"a string item",
	} {
		es, iss := r.Map(item)
		if len(es) != 0 || len(iss) == 0 || !iss[len(iss)-1].Skipped || !strings.Contains(iss[len(iss)-1].Msg, "item skipped") {
			t.Errorf("item %v: %v %+v", item, es, iss)
		}
	}
	bp := resource(t, "  - kind: x\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: .bp\n")
	if es, iss := bp.Map(map[string]any{"id": "1"}); len(es) != 0 || len(iss) != 1 || !strings.Contains(iss[0].Msg, "blueprint must be a non-empty string") {
		t.Errorf("missing blueprint: %v %v", es, iss)
	}
}

func TestProgramAll(t *testing.T) {
	p, err := compileJQ(`.[] | select(. > 1)`, "f", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := p.All([]any{1, 2, 3})
	if err != nil || !reflect.DeepEqual(outs, []any{2, 3}) {
		t.Errorf("All = %v, %v", outs, err)
	}
	p, _ = compileJQ(`1, error("boom")`, "f", nil, nil)
	outs, err = p.All(nil)
	if err == nil || len(outs) != 1 {
		t.Errorf("All with error = %v, %v", outs, err)
	}
	p, _ = compileJQ(`halt`, "f", nil, nil)
	if v, err := p.First(1); v != nil || err != nil {
		t.Errorf("halt: %v %v", v, err)
	}
}

// A skipped item names the blueprint it would have had when that much is
// known, so that a sync keeps that blueprint's entities alone.
func TestSkippedItemBlueprint(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(`resources:
  - kind: issue
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: .bp
  - kind: issue
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"issue"'
  - kind: issue
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"is" + "sue"'
`))
	if err != nil {
		t.Fatal(err)
	}
	dyn, lit, expr := cfg.Resources[0], cfg.Resources[1], cfg.Resources[2]
	for _, c := range []struct {
		r    *Resource
		item map[string]any
		want string
	}{
		{dyn, map[string]any{"id": 7, "bp": "issue"}, "issue"},
		{dyn, map[string]any{"bp": "issue"}, "issue"},
		{dyn, map[string]any{"id": nil, "bp": 3}, ""},
		{dyn, map[string]any{"id": "1"}, ""}, // the blueprint itself failed
		{lit, map[string]any{"id": 7}, "issue"},
	} {
		es, iss := c.r.Map(c.item)
		if len(es) != 0 || len(iss) != 1 || !iss[0].Skipped || iss[0].Blueprint != c.want {
			t.Errorf("%v: %d entities, issues %+v; want one skip naming %q", c.item, len(es), iss, c.want)
		}
	}
	if bp, ok := lit.ConstBlueprint(); !ok || bp != "issue" {
		t.Errorf("ConstBlueprint of a literal = %q, %v", bp, ok)
	}
	for _, r := range []*Resource{dyn, expr} {
		if bp, ok := r.ConstBlueprint(); ok {
			t.Errorf("ConstBlueprint of %q = %q", r.Blueprint.Source, bp)
		}
	}
}
