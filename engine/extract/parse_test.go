package extract_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/extract/extracttest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var allSecrets = env(map[string]string{
	"SENTRY_API_TOKEN": "sntrys_gitalog_fake_token", "JIRA_BASIC_AUTH_HEADER": "Basic amlyYTp0b2tlbg==",
	"PD_TOKEN": "pd-fake-token", "HONEYCOMB_API_KEY": "hc-fake-key", "OPSLEVEL_API_TOKEN": "ol-fake-token",
})

func parse(t *testing.T, src string, getenv func(string) string) (*extract.Definition, error) {
	t.Helper()
	lists, err := extracttest.ExtractorLists([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return extract.Parse("gitalog.yaml", extracttest.Compiler("gitalog.yaml"), getenv, lists...)
}

// Every example of OpsLevel's guides parses unchanged.
func TestParseExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/opslevel/*.yaml")
	if err != nil || len(files) != 6 {
		t.Fatalf("examples: %v %v", files, err)
	}
	want := map[string][]string{
		"sentry.yaml":                 {"sentry_project", "sentry_issue"},
		"jira-payload-cursor.yaml":    {"jira_ticket"},
		"pagerduty-skip.yaml":         {"pagerduty_service"},
		"honeycomb-for-each.yaml":     {"honeycomb_slos", "honeycomb_slo_details"},
		"graphql-post-body.yaml":      {"opslevel_dependency_discovery"},
		"kyverno-two-transforms.yaml": {"kyverno_issues"},
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := parse(t, string(data), allSecrets)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var kinds []string
		for _, e := range d.Extractors {
			kinds = append(kinds, e.Kind)
		}
		if !slices.Equal(kinds, want[filepath.Base(f)]) {
			t.Errorf("%s: kinds %q", f, kinds)
		}
	}
}

func TestParseModel(t *testing.T) {
	d, err := parse(t, `
extractors:
- external_kind: p
  external_id: .id
  http_polling:
    url: https://api.example.com/p
    rate_limit: {per_second: 3}
- external_kind: c
  iterator: .items
  external_id: .id
  exclude: .done
  max_pages: 7
  http_polling:
    method: post
    for_each: p
    url: https://api.example.com/p/{{ p.id }}/c
    headers:
    - name: Authorization
      value: Bearer {{ 'pd_token' | secret }}
    body: '{"after":"{{ cursor }}"}'
    next_cursor: {from: payload, value: .next}
- external_kind: pushed
  external_id: .id
  expires_after_days: 20
`, allSecrets)
	if err != nil {
		t.Fatal(err)
	}
	p, c, pushed := d.Extractors[0], d.Extractors[1], d.Extractors[2]
	if d.Extractor("c") != c || d.Extractor("none") != nil {
		t.Error("Extractor(kind)")
	}
	if p.Method != "GET" || p.Iterator != nil || p.Cursor != nil || p.Push || p.Line != 3 {
		t.Errorf("p: %+v", p)
	}
	if c.Method != "POST" || c.ForEach != "p" || c.MaxPages != 7 || c.Body == nil || c.Cursor.From != "payload" || len(c.Headers) != 1 {
		t.Errorf("c: %+v", c)
	}
	if !pushed.Push || pushed.ExpiresAfterDays != 20 {
		t.Errorf("pushed: %+v", pushed)
	}
	if got := d.Secrets.Values(); !slices.Equal(got, []string{"pd-fake-token"}) {
		t.Errorf("secrets %q", got)
	}
	if len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "gitalog.yaml:7:5: extractor \"p\" (#1): http_polling.rate_limit is ignored") {
		t.Errorf("warnings %q", d.Warnings)
	}
}

func TestParseErrors(t *testing.T) {
	const head = "extractors:\n- external_kind: a\n  external_id: .id\n"
	cases := []struct{ name, src, want string }{
		{"missing kind", "extractors:\n- external_id: .id\n  http_polling: {url: http://x}\n", `gitalog.yaml:2:3: extractor #1: missing external_kind`},
		{"missing id", "extractors:\n- external_kind: a\n  http_polling: {url: http://x}\n", `gitalog.yaml:2:3: extractor "a" (#1): missing external_id`},
		{"duplicate kind", head + "  http_polling: {url: http://x}\n- external_kind: a\n  external_id: .id\n  http_polling: {url: http://x}\n",
			`gitalog.yaml:5:3: extractor "a" (#2): external_kind: "a" is also the external_kind of extractor "a" (#1) at line 2`},
		{"unknown key", head + "  iterater: .\n  http_polling: {url: http://x}\n", `gitalog.yaml:4:3: extractor "a" (#1): unknown key(s) "iterater" in an extractor`},
		{"unknown polling key", head + "  http_polling:\n    url: http://x\n    header: []\n", `gitalog.yaml:6:5: extractor "a" (#1): unknown key(s) "header" in http_polling`},
		{"unknown cursor key", head + "  http_polling:\n    url: http://x\n    next_cursor: {from: payload, vaule: .x}\n", `unknown key(s) "vaule" in http_polling.next_cursor`},
		{"bad method", head + "  http_polling: {url: http://x, method: PUT}\n", `gitalog.yaml:4:41: extractor "a" (#1): http_polling.method: must be GET or POST, not "PUT"`},
		{"bad from", head + "  http_polling:\n    url: http://x\n    next_cursor: {from: body, value: .x}\n", `http_polling.next_cursor.from: must be header or payload, not "body"`},
		{"no url", head + "  http_polling: {method: GET}\n", `gitalog.yaml:4:17: extractor "a" (#1): http_polling: missing url`},
		{"expires with polling", head + "  expires_after_days: 3\n  http_polling: {url: http://x}\n", `gitalog.yaml:4:23: extractor "a" (#1): expires_after_days: is for push extractors only`},
		{"for_each unknown", head + "  http_polling: {url: http://x, for_each: b}\n", `gitalog.yaml:2:3: extractor "a" (#1): http_polling.for_each: no extractor has external_kind "b"`},
		{"for_each itself", head + "  http_polling: {url: http://x, for_each: a}\n", `http_polling.for_each: names the extractor itself`},
		{"for_each cycle", head + "  http_polling: {url: http://x, for_each: b}\n- external_kind: b\n  external_id: .id\n  http_polling: {url: http://x, for_each: a}\n",
			`http_polling.for_each: a cycle (a -> b -> a)`},
		{"for_each push", head + "  http_polling: {url: http://x, for_each: b}\n- external_kind: b\n  external_id: .id\n",
			`extractor "b" (#2) has no http_polling`},
		{"max_pages", head + "  max_pages: 0\n  http_polling: {url: http://x}\n", `gitalog.yaml:4:14: extractor "a" (#1): max_pages: must be a positive whole number`},
		{"jq", head + "  exclude: .name | tset(\"x\")\n  http_polling: {url: http://x}\n", `gitalog.yaml:4:12: extractor "a" (#1): exclude: jq:`},
		{"liquid unknown filter", head + "  http_polling:\n    url: https://x/{{ cursor | urlencode }}\n", `gitalog.yaml:5:20: extractor "a" (#1): http_polling.url: unknown filter "urlencode"`},
		{"liquid in quoted header", head + "  http_polling:\n    url: https://x/\n    headers:\n    - name: A\n      value: \"x {% iff %}\"\n", `gitalog.yaml:8:17: extractor "a" (#1): http_polling.headers[0].value: undefined tag "iff"`},
		{"liquid block scalar", head + "  http_polling:\n    url: https://x/\n    body: |\n      {\n        \"a\": {{ cursor | nope }}\n      }\n", `gitalog.yaml:8:14: extractor "a" (#1): http_polling.body: unknown filter "nope"`},
		{"missing secret", head + "  http_polling:\n    url: https://x/\n    headers:\n    - {name: Authorization, value: \"Bearer {{ 'sentry_api_token' | secret }}\"}\n",
			`gitalog.yaml:7:36: extractor "a" (#1): http_polling.headers[0].value: secret not set: SENTRY_API_TOKEN`},
		{"header name", head + "  http_polling:\n    url: https://x/\n    headers:\n    - {name: 'A B', value: x}\n", `"A B" is not an HTTP header name`},
		{"depends_on without for_each", head + "  http_polling:\n    url: http://x\n    depends_on: [count]\n", `gitalog.yaml:6:17: extractor "a" (#1): http_polling.depends_on: is only for an extractor with for_each`},
		{"depends_on not a list", head + "  http_polling:\n    url: http://x\n    for_each: b\n    depends_on: count\n", `gitalog.yaml:7:17: extractor "a" (#1): http_polling.depends_on: must be a list of the parent's field names`},
		{"depends_on twice", head + "  http_polling:\n    url: http://x\n    for_each: b\n    depends_on: [count, count]\n", `gitalog.yaml:7:25: extractor "a" (#1): http_polling.depends_on: "count" is given twice`},
		{"not a list", "extractors: {a: 1}\n", `gitalog.yaml:1:13: extractors: must be a list of extractors`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := parse(t, c.src, env(nil))
			if err == nil && d != nil {
				// A missing secret is found at load, refused when polling.
				err = d.MissingSecrets
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

// A secret read from the file its _FILE variable names.
func TestParseSecretFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("sntrys_from_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := parse(t, "extractors:\n- external_kind: a\n  external_id: .id\n  http_polling:\n    url: https://x/\n    headers:\n    - {name: A, value: \"{{ 'sentry_api_token' | secret }}\"}\n",
		env(map[string]string{"SENTRY_API_TOKEN_FILE": file}))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Secrets.Values(); !slices.Equal(got, []string{"sntrys_from_file"}) {
		t.Fatalf("%q", got)
	}
	if got := d.Secrets.Vars(); !slices.Equal(got, []string{"SENTRY_API_TOKEN", "SENTRY_API_TOKEN_FILE"}) {
		t.Fatalf("%q", got)
	}
}
