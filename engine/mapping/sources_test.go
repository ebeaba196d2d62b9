package mapping

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

const twoSources = `sources:
  - name: eu
    url: https://de.sentry.io
    org: acme-eu
  - name: onprem
    url: https://sentry.internal.example
    org: platform
`

const projectResource = `resources:
  - kind: project
    port: {entity: {mappings: {identifier: .slug, blueprint: '"project"'}}}
`

// Every mistake in sources: and source: is an error naming file:line.
func TestSourcesErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"not a list", projectResource + "sources: {name: eu}\n", `c.yaml:4:10: sources must be a list of {name, url, org}`},
		{"empty list", projectResource + "sources: []\n", `c.yaml:4:10: sources must be a list`},
		{"entry not a mapping", projectResource + "sources:\n  - eu\n", `c.yaml:5:5: sources[0] must be a mapping with name, url and org`},
		{"missing name", projectResource + "sources:\n  - org: acme\n", `c.yaml:5:5: sources[0]: missing name`},
		{"upper-case name", projectResource + "sources:\n  - name: EU\n    org: acme\n", `c.yaml:5:11: sources[0]: name "EU" must be 1 to 63 lower-case letters, digits, - and _`},
		{"name with a dot", projectResource + "sources:\n  - {name: eu.west, org: acme}\n", `c.yaml:5:12: sources[0]: name "eu.west" must be`},
		{"name starting with a dash", projectResource + "sources:\n  - {name: -eu, org: acme}\n", `name "-eu" must be`},
		{"name too long", projectResource + "sources:\n  - {name: " + strings.Repeat("a", 64) + ", org: acme}\n", `must be 1 to 63`},
		{"a name ending in file", projectResource + "sources:\n  - {name: eu-file, org: acme}\n", `c.yaml:5:12: sources[0]: name "eu-file" cannot end in file: its token variable SENTRY_AUTH_TOKEN_EU_FILE would be another's _FILE variable`},
		{"the name file", projectResource + "sources:\n  - {name: file, org: acme}\n", `name "file" cannot end in file`},
		{"names one variable", projectResource + "sources:\n  - {name: eu_west, org: a}\n  - {name: eu-west, org: b}\n", `c.yaml:6:12: sources[1]: the name "eu-west" and the source's at line 5 differ only in - and _, so they would share the variable SENTRY_AUTH_TOKEN_EU_WEST`},
		{"one name and a - apart", projectResource + "sources:\n  - {name: eu, org: a}\n  - {name: eu-west, org: b}\n", `c.yaml:6:12: sources[1]: "eu-west" and "eu" are one name and a - apart, so identifiers made as $source + "-" + .slug collide (eu's west-api and eu-west's api are both eu-west-api); rename one (the other is at line 5)`},
		{"one name and a - apart, the longer first", projectResource + "sources:\n  - {name: us-east-1, org: a}\n  - {name: us, org: b}\n", `c.yaml:6:12: sources[1]: "us" and "us-east-1" are one name and a - apart, so identifiers made as $source + "-" + .slug collide (us's east-1-api and us-east-1's api are both us-east-1-api)`},
		{"a key given twice", projectResource + "sources:\n  - {name: eu, org: a, name: us}\n", `c.yaml:5:24: sources[0]: name is given twice (also at line 5)`},
		{"duplicate name", projectResource + twoSources + "  - name: eu\n    org: other\n", `c.yaml:11:11: sources[2]: the name "eu" is also the name of the source at line 5; each source needs its own`},
		{"missing org", projectResource + "sources:\n  - name: eu\n    url: https://de.sentry.io\n", `c.yaml:5:5: source "eu": missing org`},
		{"org not a string", projectResource + "sources:\n  - {name: eu, org: [a]}\n", `c.yaml:5:21: sources[0].org must be a string, got a list`},
		{"bad url", projectResource + "sources:\n  - {name: eu, org: a, url: de.sentry.io}\n", `c.yaml:5:29: source "eu": url: sentry URL "de.sentry.io" must be an http(s) URL`},
		{"a token", projectResource + "sources:\n  - {name: eu, org: a, token: sntrys_x}\n", `c.yaml:5:24: sources[0].token: the token must not be in a config file`},
		{"near-miss key", projectResource + "sources:\n  - {name: eu, ogr: a}\n", `c.yaml:5: sources[0]: unknown key ogr; did you mean org?`},
		{"near-miss top key", projectResource + "source:\n  - {name: eu, org: a}\n", `c.yaml:4: unknown key "source"; did you mean sources?`},
		{"sentry.url beside sources", projectResource + twoSources + "sentry: {url: https://sentry.io}\n", `c.yaml:11:10: sentry.url does not apply with sources: (each source has its url and org)`},
		{"sentry.org beside sources", projectResource + twoSources + "sentry:\n  concurrency: 4\n  org: acme\n", `c.yaml:13:3: sentry.org does not apply with sources:`},
		{"resource of an unknown source", twoSources + "resources:\n  - kind: project\n    source: ue\n    port: {entity: {mappings: {identifier: .slug, blueprint: '\"p\"'}}}\n",
			`c.yaml:10:13: resource #1 (kind "project"): source: no source is named "ue" (the sources are eu, onprem; did you mean eu?)`},
		{"resource source without sources", "resources:\n  - kind: project\n    source: eu\n    port: {entity: {mappings: {identifier: .slug, blueprint: '\"p\"'}}}\n",
			`c.yaml:3:13: resource #1 (kind "project"): source: "eu" names a source, but the file has no sources: list`},
		{"resource source not a name", twoSources + "resources:\n  - kind: project\n    source: [eu]\n    port: {entity: {mappings: {identifier: .slug, blueprint: '\"p\"'}}}\n",
			`c.yaml:10:13: resource #1 (kind "project"): source must be the name of one of the file's sources`},
		{"resource near-miss key", twoSources + "resources:\n  - kind: project\n    sorce: eu\n    port: {entity: {mappings: {identifier: .slug, blueprint: '\"p\"'}}}\n",
			`c.yaml:10: resource #1: unknown key "sorce"; did you mean source?`},
		{"extractor of an unknown source", twoSources + olExtractor + "  source: us\ntransforms:\n- {external_kind: project, opslevel_kind: p, opslevel_identifier: .id}\n",
			`c.yaml:12:11: extractor "project" (#1): source: no source is named "us" (the sources are eu, onprem)`},
		{"extractor source without sources", olExtractor + "  source: eu\ntransforms:\n- {external_kind: project, opslevel_kind: p, opslevel_identifier: .id}\n",
			`c.yaml:5:11: extractor "project" (#1): source: "eu" names a source, but the file has no sources: list`},
		{"transform of an unknown source", twoSources + olExtractor + "transforms:\n- {external_kind: project, source: nope, opslevel_kind: p, opslevel_identifier: .id}\n",
			`c.yaml:13:36: transform #1 (external_kind "project"): source: no source is named "nope"`},
		{"transform of another source than its extractor", twoSources + olExtractor + "  source: eu\ntransforms:\n- external_kind: project\n  source: onprem\n  opslevel_kind: p\n  opslevel_identifier: .id\n",
			`c.yaml:15:11: transform #1 (external_kind "project"): source: onprem, but its items come from extractor "project" (#1), which runs for source eu only`},
		{"for_each child where its parent does not run", twoSources + olExtractor + "  source: eu\n- external_kind: detail\n  external_id: .id\n  http_polling: {url: \"https://api.example.com/{{ project.id }}\", for_each: project}\ntransforms:\n- {external_kind: detail, opslevel_kind: p, opslevel_identifier: .id}\n",
			`c.yaml:13:3: extractor "detail" (#2): http_polling.for_each: extractor "project" (#1) runs for source eu only, and this one for every source`},
		{"$source in a bad program still names the column", twoSources + "resources:\n  - kind: project\n    port: {entity: {mappings: {identifier: '$source +', blueprint: '\"p\"'}}}\n",
			`c.yaml:10: resource #1 (kind "project"): port.entity.mappings.identifier: jq syntax error at column 10`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestSourcesAsWritten(t *testing.T) {
	cfg := mustParse(t, projectResource+twoSources+"  - {name: self_hosted-2, org: x, region: y}\n")
	want := []Source{{"eu", "https://de.sentry.io", "acme-eu", 5}, {"onprem", "https://sentry.internal.example", "platform", 8}, {"self_hosted-2", "", "x", 11}}
	if !slices.Equal(cfg.Sources, want) || cfg.Source != "" {
		t.Errorf("sources %+v, source %q", cfg.Sources, cfg.Source)
	}
	// An unknown key that is no near miss warns, as elsewhere.
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "c.yaml:11: sources[2]: unknown key region (ignored)") {
		t.Errorf("warnings %q", cfg.Warnings)
	}
	if cfg := mustParse(t, projectResource); cfg.Sources != nil {
		t.Errorf("no sources: %+v", cfg.Sources)
	}
}

// Every kind of program sees $source: the bound source's name, null
// unbound; the fast path and the combined program too.
func TestSourceVarInPrograms(t *testing.T) {
	src := twoSources + `resources:
  - kind: project
    selector:
      query: '$source == null or .region == $source'
    port:
      itemsToParse: '.teams | map(select(.src == ($source // "none")))'
      entity:
        mappings:
          identifier: '($source // "none") + "-" + .item.slug'
          title: '$source'
          blueprint: '"project"'
          properties:
            interp: '"from \($source)"'
            shorthand: '{$source}'
            path: .item.slug
          relations:
            src: '$source'
            team:
              combinator: '"and"'
              rules:
                - {property: '"source"', operator: '"="', value: '$source'}
`
	item := func(region string) any {
		var v any
		if err := json.Unmarshal([]byte(fmt.Sprintf(`{"region":%q,"teams":[{"src":"eu","slug":"a"},{"src":"onprem","slug":"b"},{"src":"none","slug":"c"}]}`, region)), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	base := mustParse(t, src)
	for _, tc := range []struct {
		source string
		region string
		want   string // identifier,title,interp,shorthand,path,src,rule value; "" = rejected
	}{
		{"", "eu", "none-c|<nil>|from null|map[source:<nil>]|c|<nil>|<nil>"},
		{"eu", "eu", "eu-a|eu|from eu|map[source:eu]|a|eu|eu"},
		{"eu", "onprem", ""},
		{"onprem", "onprem", "onprem-b|onprem|from onprem|map[source:onprem]|b|onprem|onprem"},
	} {
		t.Run(tc.source+"/"+tc.region, func(t *testing.T) {
			cfg := base
			if tc.source != "" {
				var err error
				if cfg, err = base.ForSource(tc.source); err != nil {
					t.Fatal(err)
				}
			}
			es, issues := cfg.Resources[0].Map(item(tc.region))
			if len(issues) > 0 {
				t.Fatalf("issues %v", issues)
			}
			if tc.want == "" {
				if len(es) != 0 {
					t.Fatalf("want the item rejected, got %v", es)
				}
				return
			}
			if len(es) != 1 {
				t.Fatalf("entities %v", es)
			}
			e := es[0]
			q, _ := e.Relations["team"].(*Query)
			var rule any = "<unresolved>"
			if q != nil {
				rule = q.Rules[0].Value
			}
			got := fmt.Sprintf("%v|%v|%v|%v|%v|%v|%v", e.Identifier, e.Title, e.Properties["interp"], e.Properties["shorthand"], e.Properties["path"], e.Relations["src"], rule)
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// `$source` alone is a literal of the fast path, bound or not; a program
// that does not name $source is compiled without the variable.
func TestSourceVarFastPath(t *testing.T) {
	src := twoSources + `resources:
  - kind: project
    port: {entity: {mappings: {identifier: .slug, title: '$source', blueprint: '"project"', properties: {s: $source, n: .name}}}}
`
	base := mustParse(t, src)
	eu, err := base.ForSource("eu")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  *Config
		want any
	}{{base, nil}, {eu, "eu"}} {
		r := tc.cfg.Resources[0]
		if r.Title.fast == nil || !r.Title.fast.isLit || r.Title.fast.literal != tc.want {
			t.Errorf("%q: title's fast path %+v", tc.cfg.Source, r.Title.fast)
		}
		if r.Identifier.vars != nil || r.Blueprint.vars != nil || r.Query.vars != nil {
			t.Errorf("%q: programs without $source carry variables", tc.cfg.Source)
		}
		if len(r.Title.vars) != 1 || r.Title.vars[0] != tc.want {
			t.Errorf("%q: title's vars %v", tc.cfg.Source, r.Title.vars)
		}
		if r.combined == nil || !r.combined.fast {
			t.Errorf("%q: the combined program lost its fast path", tc.cfg.Source)
		}
		es, issues := r.Map(map[string]any{"slug": "s", "name": "N"})
		if len(issues) > 0 || len(es) != 1 || es[0].Title != tc.want || es[0].Properties["s"] != tc.want || es[0].Properties["n"] != "N" {
			t.Errorf("%q: mapped %+v %v", tc.cfg.Source, es, issues)
		}
		// gojq, asked directly, agrees with the fast path.
		if v, err := r.Title.All(nil); err != nil || len(v) != 1 || v[0] != tc.want {
			t.Errorf("%q: gojq gives %v %v", tc.cfg.Source, v, err)
		}
		if !r.Pure() {
			t.Errorf("%q: $source made the resource impure", tc.cfg.Source)
		}
	}
	if keys, all := InputKeys(eu.Resources); all || !keys["slug"] || !keys["name"] || len(keys) != 2 {
		t.Errorf("input keys %v %v", keys, all)
	}
}

const olSources = twoSources + `extractors:
- external_kind: project
  iterator: '.items[] | select(.src == $source)'
  external_id: '$source + ":" + (.id | tostring)'
  exclude: '.skip == $source'
  http_polling:
    url: https://api.example.com/x
    next_cursor: {from: payload, value: 'if $source then .next else null end'}
transforms:
- external_kind: project
  opslevel_kind: p
  opslevel_identifier: '$source + "-" + (.id | tostring)'
  properties: {src: $source, name: '.name + "@" + $source'}
  aliases: ['$source']
  default_properties:
    tags: ['{key: "source", value: $source}']
notify:
  - webhook: https://example.com/hook
    when: '.source == $source'
`

// OpsLevel's jq (the extractors' and the transforms') and notify's see
// $source too.
func TestSourceVarOpsLevelAndNotify(t *testing.T) {
	base := mustParse(t, olSources)
	cfg, err := base.ForSource("onprem")
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Extract.Extractors[0]
	body := map[string]any{"items": []any{map[string]any{"src": "onprem", "id": 1.0}, map[string]any{"src": "eu", "id": 2.0}}, "next": "c2"}
	all := func(p interface{ All(any) ([]any, error) }, v any) string {
		out, err := p.All(v)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct{ what, got, want string }{
		{"iterator", all(e.Iterator, body), "[map[id:1 src:onprem]]"},
		{"external_id", all(e.ExternalID, map[string]any{"id": 1.0}), "[onprem:1]"},
		{"exclude", all(e.Exclude, map[string]any{"skip": "onprem"}), "[true]"},
		{"next_cursor", all(e.Cursor.Value, body), "[c2]"},
		{"notify when", all(cfg.Notify.Sinks[0].When, map[string]any{"source": "onprem"}), "[true]"},
		{"unbound iterator", all(base.Extract.Extractors[0].Iterator, body), "[]"},
		{"unbound next_cursor", all(base.Extract.Extractors[0].Cursor.Value, body), "[<nil>]"},
		{"unbound notify when", all(base.Notify.Sinks[0].When, map[string]any{"source": nil}), "[true]"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.what, tc.got, tc.want)
		}
	}
	es, issues := cfg.Resources[0].Map(map[string]any{"id": 7.0, "name": "N"})
	if len(issues) > 0 || len(es) != 1 {
		t.Fatalf("map: %v %v", es, issues)
	}
	got := fmt.Sprint(es[0].Identifier, " ", es[0].Properties["src"], " ", es[0].Properties["name"], " ", es[0].Aliases, " ", es[0].Properties["tags"])
	if want := "onprem-7 onprem N@onprem [onprem] [map[key:source value:onprem]]"; got != want {
		t.Errorf("transform: got %s, want %s", got, want)
	}
}

const sourcedConfig = twoSources + `resources:
  - kind: project
    port: {entity: {mappings: {identifier: .slug, blueprint: '"project"'}}}
  - kind: team
    source: eu
    port: {entity: {mappings: {identifier: .slug, blueprint: '"team"'}}}
  - kind: user
    source: onprem
    port: {entity: {mappings: {identifier: .id, blueprint: '"user"'}}}
extractors:
- external_kind: shared
  external_id: .id
  http_polling: {url: "https://api.example.com/shared"}
- external_kind: eu_things
  source: eu
  external_id: .id
  http_polling: {url: "https://eu.example.com/things"}
- external_kind: eu_details
  source: eu
  external_id: .id
  http_polling: {url: "https://eu.example.com/things/{{ eu_things.id }}", for_each: eu_things}
transforms:
- {external_kind: shared, opslevel_kind: s, opslevel_identifier: .id}
- {external_kind: eu_things, opslevel_kind: t, opslevel_identifier: .id}
- {external_kind: eu_details, source: eu, opslevel_kind: d, opslevel_identifier: .id}
- {external_kind: shared, source: onprem, opslevel_kind: o, opslevel_identifier: .id}
`

// ForSource keeps what runs for the source, each resource at its index,
// and gives each source its own digest.
func TestForSource(t *testing.T) {
	base := mustParse(t, sourcedConfig)
	labels := func(cfg *Config) string {
		var out []string
		for _, r := range cfg.Resources {
			out = append(out, fmt.Sprintf("%d:%s", r.Index, r.Kind))
		}
		var kinds []string
		for _, e := range cfg.Extract.Extractors {
			kinds = append(kinds, e.Kind)
		}
		return strings.Join(out, ",") + " / " + strings.Join(kinds, ",")
	}
	if _, ok := base.BoundSource(); ok {
		t.Error("an unbound config has a bound source")
	}
	if got, want := labels(base), "0:project,1:team,2:user,3:shared,4:eu_things,5:eu_details,6:shared / shared,eu_things,eu_details"; got != want {
		t.Errorf("unbound: got %s\nwant %s", got, want)
	}
	digests := map[[32]byte]string{base.Digest: ""}
	for _, tc := range []struct{ source, want string }{
		{"eu", "0:project,1:team,3:shared,4:eu_things,5:eu_details / shared,eu_things,eu_details"},
		{"onprem", "0:project,2:user,3:shared,6:shared / shared"},
	} {
		cfg, err := base.ForSource(tc.source)
		if err != nil {
			t.Fatal(err)
		}
		if got := labels(cfg); got != tc.want {
			t.Errorf("%s: got %s\nwant %s", tc.source, got, tc.want)
		}
		if cfg.Source != tc.source || !slices.Equal(cfg.Sources, base.Sources) || cfg.Extract.Source == nil || cfg.Extract.Source.Name != tc.source {
			t.Errorf("%s: source %q, sources %v, extract's %+v", tc.source, cfg.Source, cfg.Sources, cfg.Extract.Source)
		}
		if s, ok := cfg.BoundSource(); !ok || s.Name != tc.source || s.Org == "" {
			t.Errorf("%s: bound source %+v %v", tc.source, s, ok)
		}
		if prev, dup := digests[cfg.Digest]; dup {
			t.Errorf("%s: the digest of %q", tc.source, prev)
		}
		digests[cfg.Digest] = tc.source
		again, err := cfg.ForSource(tc.source)
		if err != nil || again.Digest != cfg.Digest {
			t.Errorf("%s: bound twice, the digest changed (%v)", tc.source, err)
		}
	}
	for _, tc := range []struct {
		cfg       *Config
		name, err string
	}{
		{base, "ue", `c.yaml: no source is named "ue" (the sources are eu, onprem; did you mean eu?)`},
		{base, "", `c.yaml: no source is named "" (the sources are eu, onprem)`},
		{mustParse(t, projectResource), "eu", `c.yaml: there is no source "eu": the file has no sources: list`},
	} {
		if _, err := tc.cfg.ForSource(tc.name); err == nil || err.Error() != tc.err {
			t.Errorf("ForSource(%q): got %v\nwant %s", tc.name, err, tc.err)
		}
	}
}

// The extractors' templates see where the source is as a sync will use
// it: SENTRY_URL_<NAME> and SENTRY_ORG_<NAME> before the config.
func TestForSourceTemplateSource(t *testing.T) {
	t.Setenv("SENTRY_URL_ONPREM", "https://moved.example")
	t.Setenv("SENTRY_ORG_EU", "")
	base := mustParse(t, twoSources+"  - {name: bare, org: b}\n"+olExtractor+"transforms:\n- {external_kind: project, opslevel_kind: p, opslevel_identifier: .id}\n")
	for _, tc := range []struct{ source, want string }{
		{"eu", "{eu https://de.sentry.io acme-eu}"},
		{"onprem", "{onprem https://moved.example platform}"},
		{"bare", "{bare https://sentry.io b}"},
	} {
		cfg, err := base.ForSource(tc.source)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(*cfg.Extract.Source); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.source, got, tc.want)
		}
	}
}

// A source's token is a secret: no mapping may read it, by mappingEnv or
// by a copy in a variable a mapping reads.
func TestSourceTokenIsSecret(t *testing.T) {
	_, err := Parse("c.yaml", []byte(projectResource+twoSources+"mappingEnv: [TEAM, SENTRY_AUTH_TOKEN_EU]\n"))
	if err == nil || !strings.Contains(err.Error(), "c.yaml:11: mappingEnv: SENTRY_AUTH_TOKEN_EU is where gitalog reads a secret from") {
		t.Errorf("mappingEnv: %v", err)
	}
	t.Setenv("SENTRY_AUTH_TOKEN_ONPREM", "sntrys_onprem_secret")
	t.Setenv("SENTRY_ORG", "sntrys_onprem_secret")
	_, err = Parse("c.yaml", []byte(projectResource+twoSources))
	if err == nil || !strings.Contains(err.Error(), "SENTRY_ORG holds the value of SENTRY_AUTH_TOKEN_ONPREM") || strings.Contains(err.Error(), "sntrys_onprem_secret") {
		t.Errorf("copied token: %v", err)
	}
}

// The README's example of sources: loads, and binds as it says.
func TestReadmeSourcesExample(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "\n### Sources\n")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no yaml block under ### Sources")
	}
	base := mustParse(t, block)
	for _, tc := range []struct{ source, want string }{{"eu", "eu-p project,t"}, {"onprem", "onprem-p project"}} {
		cfg, err := base.ForSource(tc.source)
		if err != nil {
			t.Fatal(err)
		}
		es, issues := cfg.Resources[0].Map(map[string]any{"slug": "p"})
		if len(issues) > 0 || len(es) != 1 {
			t.Fatalf("%v %v", es, issues)
		}
		got := es[0].Identifier + " " + cfg.Resources[0].Kind
		if len(cfg.Resources) > 1 {
			got += "," + cfg.Resources[1].Kind[:1]
		}
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.source, got, tc.want)
		}
	}
}

// mappingEnv may not list a variable any source's secret is read from,
// whichever source the config is bound to: a mapping of source eu could
// otherwise write onprem's secret into the catalog.
func TestMappingEnvRefusesEverySourcesSecret(t *testing.T) {
	ex := "extractors:\n- external_kind: p\n  external_id: .id\n  http_polling:\n    url: http://x\n    headers: [{name: Authorization, value: \"Bearer {{ 'api_token' | secret }}\"}]\ntransforms:\n- external_kind: p\n  opslevel_kind: service\n  opslevel_identifier: .id\n"
	for _, v := range []string{"API_TOKEN_ONPREM", "API_TOKEN_EU_FILE", "API_TOKEN"} {
		base, err := Parse("c.yaml", []byte(twoSources+ex+"mappingEnv: ["+v+"]\n"))
		if err == nil {
			for _, s := range []string{"eu", "onprem"} {
				if _, err = base.ForSource(s); err == nil {
					t.Errorf("mappingEnv [%s] bound to %s: accepted", v, s)
				}
			}
			continue
		}
		if !strings.Contains(err.Error(), "mappingEnv lists "+v) {
			t.Errorf("mappingEnv [%s]: %v", v, err)
		}
	}
}

// --source is looked up once, for sync and serve alike.
func TestLookupSource(t *testing.T) {
	with := mustParse(t, twoSources+projectResource)
	without := mustParse(t, projectResource)
	for _, tc := range []struct {
		cfg           *Config
		name, want    string
		found         bool
		wantErrSuffix string
	}{
		{cfg: with, name: "", found: false},
		{cfg: without, name: ""},
		{cfg: with, name: "onprem", found: true, want: "https://sentry.internal.example"},
		{cfg: with, name: "us", wantErrSuffix: "has no such source (its sources: eu, onprem)"},
		{cfg: without, name: "eu", wantErrSuffix: "has no sources: section"},
	} {
		s, ok, err := tc.cfg.LookupSource(tc.name)
		switch {
		case tc.wantErrSuffix != "":
			if err == nil || !strings.HasPrefix(err.Error(), "--source "+tc.name+": ") || !strings.HasSuffix(err.Error(), tc.wantErrSuffix) {
				t.Errorf("LookupSource(%q) = %v, want an error ending %q", tc.name, err, tc.wantErrSuffix)
			}
		case err != nil || ok != tc.found || s.URL != tc.want:
			t.Errorf("LookupSource(%q) = %+v, %v, %v; want url %q, found %v", tc.name, s, ok, err, tc.want, tc.found)
		}
	}
}
