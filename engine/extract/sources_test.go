package extract_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/extract/extracttest"
)

func parseFor(t *testing.T, src string, getenv func(string) string, sources extract.Sources) (*extract.Definition, error) {
	t.Helper()
	lists, err := extracttest.ExtractorLists([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return extract.ParseFor("gitalog.yaml", extracttest.Compiler("gitalog.yaml"), getenv, sources, lists...)
}

var twoSources = []string{"eu", "onprem"}

func TestParseSourceErrors(t *testing.T) {
	const p = "extractors:\n- external_kind: p\n  external_id: .id\n"
	for _, tc := range []struct {
		name  string
		src   string
		names []string
		want  string
	}{
		{"no sources: list", p + "  source: eu\n  http_polling: {url: http://x}\n", nil,
			`gitalog.yaml:4:11: extractor "p" (#1): source: "eu" names a source, but the file has no sources: list`},
		{"unknown source", p + "  source: us\n  http_polling: {url: http://x}\n", twoSources,
			`gitalog.yaml:4:11: extractor "p" (#1): source: no source is named "us" (the sources are eu, onprem)`},
		{"not a name", p + "  source: [eu]\n  http_polling: {url: http://x}\n", twoSources,
			`gitalog.yaml:4:11: extractor "p" (#1): source: must be the name of one of the file's sources`},
		{"child of every source, parent of one", p + "  source: eu\n  http_polling: {url: http://x}\n- external_kind: c\n  external_id: .id\n  http_polling: {url: http://x, for_each: p}\n", twoSources,
			`gitalog.yaml:6:3: extractor "c" (#2): http_polling.for_each: extractor "p" (#1) runs for source eu only, and this one for every source, where it would have no parent items; give it source: eu`},
		{"child of another source", p + "  source: eu\n  http_polling: {url: http://x}\n- external_kind: c\n  source: onprem\n  external_id: .id\n  http_polling: {url: http://x, for_each: p}\n", twoSources,
			`extractor "p" (#1) runs for source eu only, and this one for source onprem`},
		{"a parent named source", "extractors:\n- external_kind: source\n  external_id: .id\n  http_polling: {url: http://x}\n- external_kind: c\n  external_id: .id\n  http_polling: {url: http://x, for_each: source}\n", twoSources,
			`gitalog.yaml:5:3: extractor "c" (#2): http_polling.for_each: a parent named source would hide the source from the templates`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFor(t, tc.src, env(nil), extract.Sources{Names: tc.names})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
	// Without sources: a parent named source is as before.
	if _, err := parseFor(t, "extractors:\n- external_kind: source\n  external_id: .id\n  http_polling: {url: http://x}\n- external_kind: c\n  external_id: .id\n  http_polling: {url: http://x, for_each: source}\n", env(nil), extract.Sources{}); err != nil {
		t.Fatal(err)
	}
}

const sourcedDefinition = `extractors:
- external_kind: shared
  external_id: .id
  http_polling:
    url: https://api.example.com/shared
    headers: [{name: Authorization, value: "Bearer {{ 'api_token' | secret }}"}]
- external_kind: eu_only
  source: eu
  external_id: .id
  http_polling:
    url: https://eu.example.com/items
    headers: [{name: Authorization, value: "Bearer {{ 'eu_key' | secret }}"}]
- external_kind: eu_child
  source: eu
  external_id: .id
  http_polling: {url: "https://eu.example.com/items/{{ eu_only.id }}", for_each: eu_only}
- external_kind: onprem_only
  source: onprem
  external_id: .id
  http_polling: {url: https://onprem.example.com/items}
`

// A bound definition keeps the extractors that run for its source, and
// reads the secrets of those only, each from NAME_<SOURCE> first.
func TestParseForBound(t *testing.T) {
	getenv := env(map[string]string{"API_TOKEN": "shared-token", "API_TOKEN_ONPREM": "onprem-token", "EU_KEY_EU": "eu-key-value"})
	for _, tc := range []struct {
		source                 string
		kinds, elsewhere, vals []string
	}{
		{"eu", []string{"shared", "eu_only", "eu_child"}, []string{"onprem_only"}, []string{"eu-key-value", "shared-token"}},
		// eu_key is set for eu only: onprem does not read it, so it is
		// not missing there.
		{"onprem", []string{"shared", "onprem_only"}, []string{"eu_only", "eu_child"}, []string{"onprem-token"}},
	} {
		t.Run(tc.source, func(t *testing.T) {
			d, err := parseFor(t, sourcedDefinition, getenv, extract.Sources{Names: twoSources, Bound: &extract.SourceInfo{Name: tc.source}})
			if err != nil {
				t.Fatal(err)
			}
			if d.MissingSecrets != nil {
				t.Fatal(d.MissingSecrets)
			}
			var kinds []string
			for _, e := range d.Extractors {
				kinds = append(kinds, e.Kind)
			}
			if !slices.Equal(kinds, tc.kinds) || !slices.Equal(d.Elsewhere, tc.elsewhere) {
				t.Errorf("kinds %q elsewhere %q", kinds, d.Elsewhere)
			}
			if got := d.Secrets.Values(); !slices.Equal(got, tc.vals) {
				t.Errorf("secrets %q, want %q", got, tc.vals)
			}
			if d.Source == nil || d.Source.Name != tc.source {
				t.Errorf("source %+v", d.Source)
			}
		})
	}
	// Unbound, every extractor is kept and secrets are read unsuffixed.
	d, err := parseFor(t, sourcedDefinition, getenv, extract.Sources{Names: twoSources})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Extractors) != 4 || d.Source != nil || d.MissingSecrets == nil || !strings.Contains(d.MissingSecrets.Error(), "secret not set: EU_KEY") {
		t.Errorf("unbound: %d extractors, source %v, missing %v", len(d.Extractors), d.Source, d.MissingSecrets)
	}
}

// Templates see the bound source as source; its secrets are its own.
func TestSourceInTemplates(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Org"))
		fmt.Fprint(w, `[{"id":1}]`)
	}))
	t.Cleanup(srv.Close)
	src := "extractors:\n- external_kind: k\n  iterator: .\n  external_id: .id\n  http_polling:\n    url: " + srv.URL +
		"/{{ source.name }}/items?url={{ source.url | url_encode }}\n    headers:\n    - {name: Authorization, value: \"Bearer {{ 'api_token' | secret }}\"}\n    - {name: X-Org, value: \"{{ source.org }}\"}\n"
	getenv := env(map[string]string{"API_TOKEN": "shared-token-1", "API_TOKEN_EU_WEST": "eu-token-1"})
	for _, tc := range []struct {
		bound *extract.SourceInfo
		want  string
	}{
		{&extract.SourceInfo{Name: "eu-west", URL: "https://de.sentry.io", Org: "acme-eu"}, "/eu-west/items?url=https%3A%2F%2Fde.sentry.io Bearer eu-token-1 acme-eu"},
		{&extract.SourceInfo{Name: "onprem", URL: "https://sentry.internal", Org: "platform"}, "/onprem/items?url=https%3A%2F%2Fsentry.internal Bearer shared-token-1 platform"},
		// Unbound, source is nothing, as any unset variable.
		{nil, "//items?url= Bearer shared-token-1 "},
	} {
		got = nil
		d, err := parseFor(t, src, getenv, extract.Sources{Names: []string{"eu-west", "onprem"}, Bound: tc.bound})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := source(t, d, extract.Options{})
		if _, _, err := stream(s, "k"); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%+v: requests %q, want %q", tc.bound, got, tc.want)
		}
	}
}

// No template may read the token of gitalog's own Sentry connection: the
// connection pins it to Sentry's host, a template could send it anywhere.
func TestTemplatesCannotReadTheSentryToken(t *testing.T) {
	for _, name := range []string{"sentry_auth_token", "sentry_auth_token_eu", "SENTRY_AUTH_TOKEN_FILE", "ocean__integration__config__sentry_token"} {
		src := "extractors:\n- external_kind: p\n  external_id: .id\n  http_polling:\n    url: \"http://x/?t={{ '" + name + "' | secret }}\"\n"
		_, err := parseFor(t, src, env(nil), extract.Sources{Names: twoSources})
		if err == nil || !strings.Contains(err.Error(), "gitalog.yaml:5:") || !strings.Contains(err.Error(), "the token of gitalog's own Sentry connection") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := parseFor(t, "extractors:\n- external_kind: p\n  external_id: .id\n  http_polling:\n    url: \"http://x/?t={{ 'sentry_api_token' | secret }}\"\n", env(map[string]string{"SENTRY_API_TOKEN": "x"}), extract.Sources{}); err != nil {
		t.Errorf("sentry_api_token: %v", err)
	}
}
