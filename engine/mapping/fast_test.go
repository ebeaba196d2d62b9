package mapping

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/itchyny/gojq"
)

// TestFastMatchesGojq: whenever the direct evaluation answers, it answers
// what gojq does.
func TestFastMatchesGojq(t *testing.T) {
	exprs := []string{`.a`, `.a.b`, `.a.b.c`, `."a"`, `"issue"`, `true`, `false`, `null`, `.id`}
	var items []any
	for _, s := range []string{`{}`, `null`, `"str"`, `1`, `[1,2]`, `{"a":null}`, `{"a":{"b":{"c":7}}}`, `{"a":{"b":"x"}}`, `{"a":[1]}`, `{"a":{"b":null}}`, `{"id":"42","a":true}`} {
		var v any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		items = append(items, v)
	}
	answered := 0
	for _, e := range exprs {
		f := compileFast(e, nil)
		if f == nil {
			if e == `."a"` {
				continue // a quoted key is left to gojq
			}
			t.Fatalf("%s: not recognised", e)
		}
		q, _ := gojq.Parse(e)
		code, _ := gojq.Compile(q)
		for _, it := range items {
			got, ok := f.eval(it)
			if !ok {
				continue
			}
			answered++
			want, _ := code.Run(it).Next()
			if err, isErr := want.(error); isErr {
				t.Fatalf("%s on %v: fast answered %v, gojq failed: %v", e, it, got, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s on %v: fast %#v, gojq %#v", e, it, got, want)
			}
		}
	}
	if answered < 40 {
		t.Fatalf("the fast path answered only %d times", answered)
	}
	for _, e := range []string{`.a[]`, `.a?`, `.a | .b`, `.[0]`, `1`, `"\(.a)"`, `.a.b?`} {
		if compileFast(e, nil) != nil {
			t.Errorf("%s must go to gojq", e)
		}
	}
}
