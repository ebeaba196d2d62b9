package mapping

import (
	"strings"
	"testing"
)

const notifyBase = `resources:
  - kind: project
    selector: {query: "true"}
    port:
      entity:
        mappings: {identifier: .slug, title: .name, blueprint: '"project"'}
`

// notify: is a known key, its sinks compiled at load; its jq is the
// mappings' jq (bounded, with the config's environment).
func TestNotifyKey(t *testing.T) {
	cfg, err := Parse("gitalog.yaml", []byte(notifyBase+`notify:
  - tcp: 127.0.0.1:9999
  - webhook: https://example.com/hook
    when: .properties.level == "fatal"
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Notify == nil || len(cfg.Notify.Sinks) != 2 || cfg.Notify.Sinks[1].When == nil {
		t.Fatalf("got %+v", cfg.Notify)
	}
	for _, w := range cfg.Warnings {
		if strings.Contains(w, "notify") {
			t.Fatalf("warning: %s", w)
		}
	}
	out, err := cfg.Notify.Sinks[1].When.All(map[string]any{"properties": map[string]any{"level": "fatal"}})
	if err != nil || len(out) != 1 || out[0] != true {
		t.Fatalf("when: %v %v", out, err)
	}
	for _, tt := range []struct{ src, want string }{
		{"notify:\n  - webhook: https://example.com/hook\n    when: .a |", "gitalog.yaml:9:11: notify #1: when: jq syntax error at column 5"},
		{"notify:\n  - tcp: nowhere", `gitalog.yaml:8:10: notify #1: tcp: must be host:port`},
		{"notfy:\n  - tcp: a:1", `did you mean notify?`},
	} {
		_, err := Parse("gitalog.yaml", []byte(notifyBase+tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q:\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
}
