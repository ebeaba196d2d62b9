package mapping

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: loading any config text either fails with an error that
// names the file, or yields resources whose every program runs without
// panicking on a small item.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"/work/shared/port-sentry/port-app-config.yaml", "testdata/port-app-config.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("resources:\n  - kind: issue\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"issue\"'\n"))
	f.Add([]byte("resources: [{kind: x, selector: {query: true}, port: {itemsToParse: .a, entity: {mappings: {identifier: .id, blueprint: .b, relations: {r: {combinator: '\"and\"', rules: [{property: '\"p\"', operator: '\"=\"', value: .v}]}}}}}}]"))
	f.Add([]byte("sentry: {token: x}\nresources: []"))
	f.Add([]byte(":\n\t- ["))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		item := map[string]any{"id": "1", "b": "bp", "a": []any{1.0, "x"}, "v": "y"}
		for _, r := range cfg.Resources {
			r.Map(item)
		}
	})
}
