package catalog

import (
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/jsonx"
)

// nested returns n levels of alternating arrays and objects around leaf.
func nested(n int, leaf any) any {
	v := leaf
	for i := range n {
		if i%2 == 0 {
			v = []any{1, v}
		} else {
			v = map[string]any{"a": "x", "b": v}
		}
	}
	return v
}

func TestTooDeep(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want bool
	}{
		{"scalar", "s", false},
		{"null", nil, false},
		{"empty array", []any{}, false},
		{"flat object", map[string]any{"a": 1, "b": []any{1, 2}}, false},
		{"at the limit", nested(MaxValueDepth, 1), false},
		{"at the limit, empty innermost", nested(MaxValueDepth-1, []any{}), false},
		{"one level too deep", nested(MaxValueDepth+1, 1), true},
		{"one level too deep, empty innermost", nested(MaxValueDepth, map[string]any{}), true},
		{"far too deep", nested(9995, nil), true},
		{"deep in the last element", []any{1, 2, map[string]any{"x": nested(MaxValueDepth, 1)}}, true},
	}
	for _, tc := range tests {
		if got := TooDeep(tc.v); got != tc.want {
			t.Errorf("%s: TooDeep = %v, want %v", tc.name, got, tc.want)
		}
	}
	// As decoded from JSON, too.
	v, err := jsonx.Decode([]byte(`{"p":` + strings.Repeat("[", MaxValueDepth) + strings.Repeat("]", MaxValueDepth) + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if TooDeep(v.(map[string]any)["p"]) || !TooDeep(v) {
		t.Errorf("decoded: %d levels in p must pass, %d in the object must not", MaxValueDepth, MaxValueDepth+1)
	}
}
