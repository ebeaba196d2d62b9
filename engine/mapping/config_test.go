package mapping

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, yaml string) *Config {
	t.Helper()
	cfg, err := Parse("c.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, yaml)
	}
	return cfg
}

func TestLoadPortDefaultConfig(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "port-app-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Only the two Port keys gitalog does not do (TestPortKeysNotSupportedWarn).
	for _, w := range cfg.Warnings {
		if !strings.Contains(w, "is not supported (ignored)") {
			t.Errorf("warning on Port's own file: %v", w)
		}
	}
	var kinds []string
	for _, r := range cfg.Resources {
		kinds = append(kinds, r.Kind)
	}
	if strings.Join(kinds, ",") != "user,team,project-tag,issue-tag" {
		t.Errorf("kinds %v", kinds)
	}
	if cfg.CreateMissingRelatedEntities == nil || !*cfg.CreateMissingRelatedEntities || cfg.DeleteDependentEntities == nil || !*cfg.DeleteDependentEntities {
		t.Errorf("top-level flags not read")
	}
	team, ptag, itag := cfg.Resources[1], cfg.Resources[2], cfg.Resources[3]
	if team.Params["includeMembers"] != true || ptag.Params["tag"] != "environment" || itag.Params["tag"] != "environment" {
		t.Errorf("selector params: %v %v %v", team.Params, ptag.Params, itag.Params)
	}
	if _, ok := team.Params["query"]; ok {
		t.Errorf("query is a param")
	}
	if len(ptag.Relations) != 1 || ptag.Relations[0].Search == nil || len(ptag.Relations[0].Search.Rules) != 1 {
		t.Errorf("project-tag team relation is not a search: %+v", ptag.Relations)
	}
	if ptag.Line != 37 || cfg.Resources[0].Line != 4 {
		t.Errorf("resource lines %d, %d", cfg.Resources[0].Line, ptag.Line)
	}
	// Properties are sorted by name.
	var names []string
	for _, p := range cfg.Resources[0].Properties {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "dateJoined,inviteStatus,isActive,lastLogin,orgRole,username" {
		t.Errorf("property order %v", names)
	}
	if _, err := Load(filepath.Join("testdata", "port-and-seed-config.yaml")); err != nil {
		t.Errorf("port-and-seed-config.yaml: %v", err)
	}
	if _, err := Load(filepath.Join("testdata", "nope.yaml")); err == nil || !strings.Contains(err.Error(), "reading config") {
		t.Errorf("missing file: %v", err)
	}
}

const okResource = `
  - kind: issue
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"issue"'
`

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       string // regexp
	}{
		{"empty file", "", `^c\.yaml: the file is empty`},
		{"bad yaml", "resources:\n  - kind: x\n    port: [\n", `^c\.yaml:\d+: invalid YAML: `},
		{"bad yaml tab", "resources:\n\t- kind: x\n", `^c\.yaml:2: invalid YAML: found character that cannot start any token`},
		{"bad yaml mapping", "a: b\n  c: d\n", `^c\.yaml:2: invalid YAML: mapping values are not allowed`},
		// yaml.v3 names where the enclosing block starts (line 1 here).
		{"bad yaml indentation deep in a block", "resources:\n  - kind: project\n    selector:\n      query: \"true\"\n    port:\n      entity:\n        mappings:\n          identifier: .slug\n    - kind: issue\n      selector:\n        query: \"true\"\n", `^c\.yaml:9: invalid YAML: did not find expected key`},
		{"bad yaml in the second document", "extractors: []\n---\ntransforms:\n- external_kind: a\n  opslevel_kind: b\n   opslevel_identifier: .id\n", `^c\.yaml:6: invalid YAML: `},
		{"unknown anchor", "resources:\n  - kind: project\n    selector:\n      query: *nope\n", `^c\.yaml:4: invalid YAML: unknown anchor 'nope' referenced`},
		{"unclosed flow sequence", "resources: [\n  a,\n  b\n", `^c\.yaml:3: invalid YAML: did not find expected ',' or ']'$`},
		// Flow style from the first line: no prefix parses, so yaml.v3's line.
		{"flow-style mapping missing a comma", "{\n  \"resources\": [\n    {\n      \"kind\": \"project\",\n      \"port\": {\n        \"entity\": {\n          \"mappings\": {\n            \"identifier\": \".slug\"\n            \"blueprint\": \"x\"\n          }\n        }\n      }\n    }\n  ]\n}\n", `^c\.yaml:\d+: invalid YAML: did not find expected ',' or '}'$`},
		{"top level list", "- a\n- b\n", `^c\.yaml:1: the top level must be a mapping`},
		{"missing resources", "deleteDependentEntities: true\n", `^c\.yaml:1: missing resources:`},
		{"resources not a list", "resources:\n  kind: x\n", `^c\.yaml:2: resources must be a list`},
		{"resource not a mapping", "resources:\n  - issue\n", `^c\.yaml:2: resource #1 must be a mapping`},
		{"resource without kind", "resources:" + okResource + "  - selector:\n      query: 'true'\n    port: {}\n", `^c\.yaml:10: resource #2: missing kind`},
		{"missing port", "resources:\n  - kind: issue\n", `^c\.yaml:2: resource #1 \(kind "issue"\): missing port.entity.mappings`},
		{"missing mappings", "resources:\n  - kind: issue\n    port:\n      entity: {}\n", `^c\.yaml:4: resource #1 \(kind "issue"\): missing port.entity.mappings`},
		{"missing identifier", "resources:\n  - kind: issue\n    port:\n      entity:\n        mappings:\n          blueprint: '\"i\"'\n", `^c\.yaml:6: .*missing port.entity.mappings.identifier`},
		{"missing blueprint", "resources:\n  - kind: issue\n    port:\n      entity:\n        mappings:\n          identifier: .id\n", `^c\.yaml:6: .*missing port.entity.mappings.blueprint`},
		{"non-string jq", strings.Replace("resources:"+okResource, "identifier: .id", "identifier: [.id]", 1), `^c\.yaml:8: resource #1 \(kind "issue"\): port.entity.mappings.identifier must be a jq expression \(a string\)`},
		{"non-string property", strings.Replace("resources:"+okResource, "identifier: .id", "identifier: .id\n          properties:\n            status: {a: b}", 1), `^c\.yaml:10: .*port.entity.mappings.properties.status must be a jq expression`},
		{"empty jq", strings.Replace("resources:"+okResource, "identifier: .id", "identifier: ''", 1), `^c\.yaml:8: .*identifier: the jq expression is empty`},
		{"properties not a mapping", strings.Replace("resources:"+okResource, "identifier: .id", "identifier: .id\n          properties: [a]", 1), `^c\.yaml:9: .*properties must be a mapping`},
		{"selector not a mapping", strings.Replace("resources:"+okResource, "      query: \"true\"", "", 1), `^c\.yaml:3: .*selector must be a mapping`},
		{"token in sentry", "sentry:\n  org: acme\n  token: sntrys_abc\nresources:" + okResource, `^c\.yaml:3: sentry.token: the token must not be in a config file`},
		{"authToken in sentry", "sentry:\n  authToken: x\nresources:" + okResource, `^c\.yaml:2: sentry.authToken: the token must not`},
		{"bad concurrency", "sentry:\n  concurrency: 0\nresources:" + okResource, `^c\.yaml:2: sentry.concurrency must be a whole number from 1 to 64, got "0"`},
		{"bad maxPages", "sentry:\n  maxPages: 0\nresources:" + okResource, `^c\.yaml:2: sentry.maxPages must be a whole number of at least 1, got "0"`},
		{"bad maxResponseBytes", "sentry:\n  maxResponseBytes: 2MB\nresources:" + okResource, `^c\.yaml:2: sentry.maxResponseBytes must be a size such as 268435456, 256MiB or 1GiB, got "2MB"`},
		{"huge maxResponseBytes", "sentry:\n  maxResponseBytes: 99999999999GiB\nresources:" + okResource, `^c\.yaml:2: sentry.maxResponseBytes must be a size`},
		{"bad requestTimeout", "sentry:\n  requestTimeout: 60\nresources:" + okResource, `^c\.yaml:2: sentry.requestTimeout must be a positive duration such as 60s or 2m, got "60"`},
		{"bad threshold", "entityDeletionThreshold: 2\nresources:" + okResource, `^c\.yaml:1: entityDeletionThreshold must be a number from 0 to 1`},
		{"bad bool", "deleteDependentEntities: maybe\nresources:" + okResource, `^c\.yaml:1: deleteDependentEntities must be true or false`},
		{"bad itemsToParseTopLevelTransform", strings.Replace("resources:"+okResource, "    port:\n", "    port:\n      itemsToParseTopLevelTransform: sometimes\n", 1), `^c\.yaml:6: port.itemsToParseTopLevelTransform must be true or false`},
		{"jq syntax error", strings.Replace("resources:"+okResource, "blueprint: '\"issue\"'", "blueprint: '\"issue\"'\n          title: .a | | .b", 1),
			`^c\.yaml:10: resource #1 \(kind "issue"\): port.entity.mappings.title: jq syntax error at column 6: unexpected token "\|" \(in "\.a \| \| \.b"\)`},
		{"jq syntax error in query", strings.Replace("resources:"+okResource, `query: "true"`, `query: .status == `, 1),
			`^c\.yaml:4: resource #1 \(kind "issue"\): selector.query: jq syntax error at column 11: unexpected EOF`},
		{"jq syntax error in search rule", strings.Replace("resources:"+okResource, "blueprint: '\"issue\"'", "blueprint: '\"issue\"'\n          relations:\n            p:\n              combinator: '\"and\"'\n              rules:\n                - property: '\"slug\"'\n                  operator: '\"=\"'\n                  value: .project.slug)", 1),
			`^c\.yaml:16: .*relations.p.rules\[0\].value: jq syntax error at column 14: unexpected token "\)"`},
		{"jq compile error", strings.Replace("resources:"+okResource, "identifier: .id", "identifier: nosuchfunc(1)", 1), `^c\.yaml:8: .*identifier: jq: function not defined: nosuchfunc/1`},
		{"search without combinator", strings.Replace("resources:"+okResource, "blueprint: '\"issue\"'", "blueprint: '\"issue\"'\n          relations:\n            p:\n              rules: []", 1), `^c\.yaml:12: .*relations.p: a search relation needs combinator`},
		{"search with empty rules", strings.Replace("resources:"+okResource, "blueprint: '\"issue\"'", "blueprint: '\"issue\"'\n          relations:\n            p:\n              combinator: '\"and\"'\n              rules: []", 1), `^c\.yaml:12: .*relations.p.rules must be a non-empty list`},
		{"rule without operator", strings.Replace("resources:"+okResource, "blueprint: '\"issue\"'", "blueprint: '\"issue\"'\n          relations:\n            p:\n              combinator: '\"and\"'\n              rules:\n                - property: '\"x\"'", 1), `^c\.yaml:14: .*relations.p.rules\[0\] needs property and operator`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Errorf("error\n  %s\ndoes not match\n  %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "sntrys_abc") {
				t.Errorf("error repeats the token: %v", err)
			}
		})
	}
}

// TestSentryBounds: the limits against a misbehaving server are read, with
// units.
func TestSentryBounds(t *testing.T) {
	cfg := mustParse(t, "sentry:\n  maxPages: 50\n  maxResponseBytes: 16MiB\n  requestTimeout: 90s\nresources:"+okResource)
	want := SentrySettings{MaxPages: 50, MaxResponseBytes: 16 << 20, RequestTimeout: 90 * time.Second}
	if cfg.Sentry != want || len(cfg.Warnings) != 0 {
		t.Errorf("got %+v %v, want %+v", cfg.Sentry, cfg.Warnings, want)
	}
	for in, n := range map[string]int64{"1": 1, "2048": 2048, "3KiB": 3 << 10, "256 MiB": 256 << 20, "1GiB": 1 << 30} {
		if got, ok := parseSize(in); !ok || got != n {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, ok, n)
		}
	}
}

func TestConfigWarnings(t *testing.T) {
	cfg := mustParse(t, `enableMergeEntity: true
portPrefix: x
extra: 1
sentry:
  url: https://sentry.example
  org: acme
  concurrency: 8
  region: us
resources:
  - kind: issue
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"issue"'
          colour: .c
          relations:
            p:
              combinator: '"and"'
              rules:
                - property: '"x"'
                  operator: '"="'
                  value: '1'
                  weight: 2
        extra: 1
      itemsToParseFrom: x
`)
	want := []string{
		`c.yaml:3: unknown key "extra" (ignored)`,
		`c.yaml:8: unknown key sentry.region (ignored)`,
		`c.yaml:28: resource #1 (kind "issue"): unknown key port.itemsToParseFrom (ignored)`,
		`c.yaml:27: resource #1 (kind "issue"): unknown key port.entity.extra (ignored)`,
		`c.yaml:18: resource #1 (kind "issue"): unknown key port.entity.mappings.colour (ignored)`,
		`c.yaml:26: resource #1 (kind "issue"): unknown key port.entity.mappings.relations.p.rules[0].weight (ignored)`,
	}
	got := map[string]bool{}
	for _, w := range cfg.Warnings {
		got[w] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing warning %q", w)
		}
	}
	if len(cfg.Warnings) != len(want) {
		t.Errorf("warnings:\n%s", strings.Join(cfg.Warnings, "\n"))
	}
	if cfg.Sentry != (SentrySettings{URL: "https://sentry.example", Org: "acme", Concurrency: 8}) {
		t.Errorf("sentry %+v", cfg.Sentry)
	}
	if cfg.File != "c.yaml" || cfg.Resources[0].Line != 10 {
		t.Errorf("file %q line %d", cfg.File, cfg.Resources[0].Line)
	}
}

// A key one typo away from a known key of its level is an error naming
// the file, the line and the key meant: ignored, it would leave a mapping
// without a part (itemsToParse) and delete what that part gave.
func TestConfigNearMissKeys(t *testing.T) {
	const res = `resources:
  - kind: team
    selector:
      query: 'true'
    port:
      itemsToParse: .__members
      entity:
        mappings:
          identifier: .slug
          blueprint: '"member"'
          relations:
            p:
              combinator: '"and"'
              rules:
                - property: '"x"'
                  operator: '"="'
                  value: '1'
`
	for _, c := range []struct{ old, new, want string }{
		{"itemsToParse:", "itemToParse:", `c.yaml:6: resource #1 (kind "team"): unknown key port.itemToParse; did you mean itemsToParse?`},
		{"itemsToParse:", "ItemsToParse:", `c.yaml:6: resource #1 (kind "team"): unknown key port.ItemsToParse; did you mean itemsToParse?`},
		{"identifier:", "identifer:", `c.yaml:9: resource #1 (kind "team"): unknown key port.entity.mappings.identifer; did you mean identifier?`},
		{"identifier: .slug\n", "identifier: .slug\n          tilte: .name\n", `c.yaml:10: resource #1 (kind "team"): unknown key port.entity.mappings.tilte; did you mean title?`},
		{"mappings:", "mapings:", `c.yaml:8: resource #1 (kind "team"): unknown key port.entity.mapings; did you mean mappings?`},
		{"entity:", "entitiy:", `c.yaml:7: resource #1 (kind "team"): unknown key port.entitiy; did you mean entity?`},
		{"selector:", "selectr:", `c.yaml:3: resource #1: unknown key "selectr"; did you mean selector?`},
		{"query:", "qeury:", `c.yaml:4: resource #1 (kind "team"): unknown key selector.qeury; did you mean query?`},
		{"combinator:", "combinatr:", `c.yaml:13: resource #1 (kind "team"): unknown key port.entity.mappings.relations.p.combinatr in a search relation; did you mean combinator?`},
		{"operator:", "opperator:", `c.yaml:16: resource #1 (kind "team"): unknown key port.entity.mappings.relations.p.rules[0].opperator; did you mean operator?`},
		{"resources:", "resources:\n", ""}, // the control: no error
		{"resources:", "sentry: {orgg: x}\nresources:", `c.yaml:1: unknown key sentry.orgg; did you mean org?`},
		{"resources:", "entityDeletionTreshold: 0.5\nresources:", `c.yaml:1: unknown key "entityDeletionTreshold"; did you mean entityDeletionThreshold?`},
	} {
		src := strings.Replace(res, c.old, strings.ReplaceAll(c.new, `\n`, "\n"), 1)
		_, err := Parse("c.yaml", []byte(src))
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.new, err)
			}
			continue
		}
		if err == nil || err.Error() != c.want {
			t.Errorf("%s -> %s: got %v, want %s", c.old, c.new, err, c.want)
		}
	}
	// Keys no typo away from a known one stay warnings.
	for _, k := range []string{"teams: x", "kindness: x", "itemsToParseFrom: x"} {
		cfg, err := Parse("c.yaml", []byte(strings.Replace(res, "    port:\n", "    port:\n      "+k+"\n", 1)))
		if err != nil || len(cfg.Warnings) != 1 {
			t.Errorf("%s: %v, warnings %v", k, err, cfg)
		}
	}
}

// A selector's known keys are query and the options of its kind (its
// parent's included), as the kind describes them: "includeMemers" ignored
// fetches no members and empties every team's members relation.
func TestConfigSelectorOptions(t *testing.T) {
	const res = `resources:
  - kind: KIND
    selector:
      query: 'true'
      OPT
    port:
      entity:
        mappings:
          identifier: .slug
          blueprint: '"b"'
`
	for _, c := range []struct{ kind, opt, err, warn string }{
		{"team", "includeMembers: true", "", ""},
		{"team", "includeMemers: true", `c.yaml:5: resource #1 (kind "team"): unknown key selector.includeMemers; did you mean includeMembers?`, ""},
		{"team", `includeMembers: "true"`, `c.yaml:5: resource #1 (kind "team"): selector.includeMembers must be a boolean, got the string "true"`, ""},
		{"team", "includeMembers: [true]", `c.yaml:5: resource #1 (kind "team"): selector.includeMembers must be a boolean, got a list`, ""},
		{"project-tag", "tag: release", "", ""},
		{"project-tag", "tg: release", `c.yaml:5: resource #1 (kind "project-tag"): unknown key selector.tg; did you mean tag?`, ""},
		{"project-tag", "Tag: release", `c.yaml:5: resource #1 (kind "project-tag"): unknown key selector.Tag; did you mean tag?`, ""},
		{"project-tag", "tagg: release", `c.yaml:5: resource #1 (kind "project-tag"): unknown key selector.tagg; did you mean tag?`, ""},
		{"project-tag", "tag: 12", `c.yaml:5: resource #1 (kind "project-tag"): selector.tag must be a string, got 12`, ""},
		{"issue", "search: is:resolved", "", ""},
		{"issue", "serch: is:resolved", `c.yaml:5: resource #1 (kind "issue"): unknown key selector.serch; did you mean search?`, ""},
		{"issue", "statsPeriod: 14d", "", ""},
		{"issue", "search: {a: 1}", `c.yaml:5: resource #1 (kind "issue"): selector.search must be a string, got a mapping`, ""},
		// issue-tag's issues are chosen by the issue kind's search.
		{"issue-tag", "search: is:resolved", "", ""},
		{"issue-tag", "tga: release", `c.yaml:5: resource #1 (kind "issue-tag"): unknown key selector.tga; did you mean tag?`, ""},
		{"team", "tag: release", "", `c.yaml:5: resource #1 (kind "team"): unknown key selector.tag (ignored)`},
		{"user", "includeMembers: true", "", `c.yaml:5: resource #1 (kind "user"): unknown key selector.includeMembers (ignored)`},
		// Under an unknown kind (an error elsewhere, naming the kinds) the
		// options cannot be checked.
		{"teams", "includeMemers: true", "", ""},
	} {
		src := strings.NewReplacer("KIND", c.kind, "OPT", c.opt).Replace(res)
		cfg, err := Parse("c.yaml", []byte(src))
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s %s: got %v, want %s", c.kind, c.opt, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.kind, c.opt, err)
			continue
		}
		if got := strings.Join(cfg.Warnings, "\n"); got != c.warn {
			t.Errorf("%s %s: warnings %q, want %q", c.kind, c.opt, got, c.warn)
		}
	}
}

// nearMiss: case, one edit for a short key, two for a longer one, a swap
// of neighbours as one.
func TestNearMiss(t *testing.T) {
	for _, c := range []struct {
		key, want string
	}{
		{"Titel", "title"}, {"Identifier", "identifier"}, {"idnetifier", "identifier"},
		{"blueprnt", "blueprint"}, {"tema", "team"}, {"icons", "icon"},
		{"teams2", ""}, {"colour", ""}, {"description", ""}, {"identifier", ""},
	} {
		got, ok := nearMiss(c.key, mappingKeys)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("nearMiss(%q) = %q, %v; want %q", c.key, got, ok, c.want)
		}
	}
}

func TestConfigScalarQuery(t *testing.T) {
	// YAML true and the string 'true' both mean the jq program true.
	for _, q := range []string{"true", "'true'", `".id != null"`} {
		cfg := mustParse(t, strings.Replace("resources:"+okResource, `query: "true"`, "query: "+q, 1))
		if cfg.Resources[0].Query == nil || cfg.Resources[0].Query.Field != "selector.query" {
			t.Errorf("query %s not compiled", q)
		}
	}
	// No selector at all: everything is selected.
	cfg := mustParse(t, "resources:\n  - kind: user\n    port:\n      entity:\n        mappings:\n          identifier: .email\n          blueprint: '\"u\"'\n")
	if es, iss := cfg.Resources[0].Map(map[string]any{"email": "a@b"}); len(es) != 1 || len(iss) != 0 {
		t.Errorf("no selector: %v %v", es, iss)
	}
}

func TestLoadWritesNothing(t *testing.T) {
	// Load reads the file it is given and nothing else.
	dir := t.TempDir()
	p := filepath.Join(dir, "gitalog.yaml")
	if err := os.WriteFile(p, []byte("resources:"+okResource), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil || cfg.File != p {
		t.Fatalf("%v %v", cfg, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("Load created files: %v", entries)
	}
}

// TestPortKeysNotSupportedWarn: Port's createMissingRelatedEntities and
// deleteDependentEntities are accepted, but when true each is a warning
// naming the key and its line, never silently ignored.
func TestPortKeysNotSupportedWarn(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "port-app-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"createMissingRelatedEntities", "deleteDependentEntities"} {
		found := false
		for _, w := range cfg.Warnings {
			if strings.Contains(w, "port-app-config.yaml:") && strings.Contains(w, key+": true is not supported") {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning naming %s in %q", key, cfg.Warnings)
		}
	}
	cfg, err = Parse("g.yaml", []byte("createMissingRelatedEntities: false\ndeleteDependentEntities: false\nresources: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("false is what gitalog does; want no warning, got %q", cfg.Warnings)
	}
}
