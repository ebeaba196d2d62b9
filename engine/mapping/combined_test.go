package mapping

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// TestCombinedMatchesSingle: the combined program gives exactly what
// running each field on its own gives, errors included.
func TestCombinedMatchesSingle(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(`resources:
  - kind: k
    port:
      entity:
        mappings:
          identifier: .id   # a trailing comment
          title: .title | ascii_downcase
          blueprint: '"bp"'
          properties:
            missing: .nope.deeper
            boom: .list[]           # errors on a string: cannot iterate
            many: .list[]?          # several outputs: the first counts
            none: empty
            num: .n * 2
            custom: 'error({"why": "custom"})'
          relations:
            owner: .owner.email
`))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Resources[0]
	if r.combined == nil {
		t.Fatal("the combined program did not compile")
	}
	items := []any{
		map[string]any{"id": "1", "title": "A B", "list": []any{"x", "y"}, "n": 2.5, "owner": map[string]any{"email": "a@b"}},
		map[string]any{"id": "2", "title": 3.0, "list": "str", "owner": "None"},
		map[string]any{"title": "no id"},
		"not an object",
	}
	render := func() string {
		var b bytes.Buffer
		for _, it := range items {
			es, iss := r.Map(it)
			for _, e := range es {
				b.Write(e.Encode())
			}
			for _, i := range iss {
				fmt.Fprintln(&b, i.String())
			}
		}
		return b.String()
	}
	got := render()
	c := r.combined
	r.combined = nil
	want := render()
	r.combined = c
	if got != want {
		t.Fatalf("combined:\n%s\nsingle:\n%s", got, want)
	}
}

func TestPortConfigsUseCombinedPrograms(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "port-and-seed-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range cfg.Resources {
		if r.combined == nil {
			t.Errorf("%s: no combined program", r.Label())
		}
	}
}
