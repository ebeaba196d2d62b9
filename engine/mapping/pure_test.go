package mapping

import (
	"path/filepath"
	"testing"
)

func TestResourcePure(t *testing.T) {
	const head = `resources:
  - kind: issue
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .title
          blueprint: '"sentryIssue"'
          properties:
            p: `
	tests := []struct {
		expr string
		pure bool
	}{
		{`.status`, true},
		{`.firstSeen | fromdateiso8601 | todate`, true},
		{`.x | gmtime | mktime | strftime("%Y")`, true},
		{`"now is " + .status`, true}, // a word in a string, not a call
		{`.now`, true},                // a key, not a call
		{`now`, false},
		{`now | todate`, false},
		{`env.HOME`, false},
		{`$ENV.PATH`, false},
		{`.a | if . then (now) else 1 end`, false},
		{`[.tags[] | {k: .key, t: (now | floor)}]`, false},
		{`.x | localtime`, false},
		{`.x | strflocaltime("%H")`, false},
		{`.x | strptime("%Z")`, false},
		{`def now: 1; now`, false}, // shadowing: counted impure, on the safe side
		{`reduce .xs[] as $x (0; . + ($x | now))`, false},
		{`"\(now)"`, false},
	}
	for _, tt := range tests {
		cfg := mustParse(t, head+"'"+tt.expr+"'\n")
		if got := cfg.Resources[0].Pure(); got != tt.pure {
			t.Errorf("%s: Pure() = %v, want %v", tt.expr, got, tt.pure)
		}
	}
	// The selector and itemsToParse count too.
	cfg := mustParse(t, `resources:
  - kind: issue
    selector:
      query: '.lastSeen > (now - 3600 | todate)'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"sentryIssue"'
`)
	if cfg.Resources[0].Pure() {
		t.Error("a selector calling now counts as pure")
	}
	cfg = mustParse(t, `resources:
  - kind: issue
    selector:
      query: 'true'
    port:
      itemsToParse: '[.tags[] | select(env.X == .key)]'
      entity:
        mappings:
          identifier: .item.key
          blueprint: '"t"'
`)
	if cfg.Resources[0].Pure() {
		t.Error("an itemsToParse reading env counts as pure")
	}
	// Port's default mapping, searches included, depends on the item only.
	port, err := Load(filepath.Join("testdata", "port-app-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range port.Resources {
		if !r.Pure() {
			t.Errorf("%s of Port's default mapping counts as impure", r.Label())
		}
	}
}
