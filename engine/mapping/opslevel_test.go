package mapping

import (
	"strings"
	"testing"
)

const olExtractor = `extractors:
- external_kind: project
  external_id: .id
  http_polling: {url: "https://api.example.com/x"}
`

// OpsLevel's parts of a config: what loads, and every mistake said at its
// file:line:column with the transform or extractor and the key.
func TestParseOpsLevelErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"jq", olExtractor + "---\ntransforms:\n- external_kind: project\n  opslevel_kind: p\n  opslevel_identifier: .id\n  properties:\n    a: .x | tset(1)\n",
			`gitalog.yaml:11:8: transform #1 (external_kind "project"): properties.a: jq`},
		{"unknown key", olExtractor + "transforms:\n- external_kind: project\n  opslevel_kind: p\n  opslevel_identifer: .id\n",
			`gitalog.yaml:8:3: transform #1 (external_kind "project"): unknown key "opslevel_identifer"; did you mean opslevel_identifier?`},
		{"mode", olExtractor + "transforms:\n- external_kind: project\n  opslevel_kind: p\n  opslevel_identifier: .id\n  on_component_not_found: maybe\n",
			`gitalog.yaml:9:27: transform #1 (external_kind "project"): on_component_not_found must be create, skip or suggest, got "maybe"`},
		{"no extractor", olExtractor + "transforms:\n- external_kind: projct\n  opslevel_kind: p\n  opslevel_identifier: .id\n",
			`gitalog.yaml:6:3: transform #1 (external_kind "projct"): no extractor has external_kind "projct" (did you mean project?)`},
		// A Port resource of Sentry's kind "project" would read the
		// extractor's items instead of Sentry's.
		{"sentry kind", "resources:\n- kind: project\n  port: {entity: {mappings: {identifier: .slug, blueprint: '\"p\"'}}}\n" + olExtractor,
			`gitalog.yaml:5:3: extractor "project" (#1): external_kind "project" is also the Sentry kind resource #1 (kind "project") (line 2) maps; rename the extractor`},
		{"oauth", olExtractor + "oauth: {grant_type: client_credentials}\n", `gitalog.yaml:5:1: oauth: OpsLevel's client-credentials login is not supported yet`},
	} {
		_, err := Parse("gitalog.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v\nwant %s", c.name, err, c.want)
		}
	}
}

// Seed 000's two documents load into resources beside a Port section.
func TestParseOpsLevelBesidePort(t *testing.T) {
	src := "resources:\n- kind: team\n  port: {entity: {mappings: {identifier: .slug, blueprint: '\"t\"'}}}\n---\n" + olExtractor +
		"---\ntransforms:\n- external_kind: project\n  opslevel_kind: p\n  opslevel_identifier: .id\n  on_component_not_found: suggest\n  properties: {name: .name}\n  aliases: [.slug]\n"
	cfg, err := Parse("gitalog.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Resources) != 2 || cfg.Resources[0].OpsLevel != nil || cfg.Resources[1].OpsLevel == nil || cfg.Extract == nil {
		t.Fatalf("resources %v, extract %v", cfg.Resources, cfg.Extract)
	}
	es, issues := cfg.Resources[1].Map(map[string]any{"id": 7.0, "name": "N", "slug": "s"})
	if len(issues) > 0 || len(es) != 1 {
		t.Fatalf("map: %v %v", es, issues)
	}
	e := es[0]
	if e.Identifier != "7" || e.Title != "N" || e.Blueprint != "p" || len(e.Aliases) != 1 || e.Aliases[0] != "s" || cfg.Resources[1].OpsLevel.OnNotFound != Suggest {
		t.Errorf("entity %+v", e)
	}
}
