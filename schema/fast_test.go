package schema

import (
	"encoding/json"
	"math/big"
	"testing"
)

// The fast path may only accept what the validator accepts.
func TestFastPathAgreesWithValidator(t *testing.T) {
	src := `{"identifier": "all", "schema": {"properties": {
		"s":    {"type": "string"},
		"e":    {"type": "string", "enum": ["a", "b"]},
		"dt":   {"type": "string", "format": "date-time"},
		"url":  {"type": "string", "format": "url"},
		"mail": {"type": "string", "format": "email"},
		"yaml": {"type": "object", "format": "yaml"},
		"n":    {"type": "number"},
		"i":    {"type": "integer"},
		"b":    {"type": "boolean"},
		"o":    {"type": "object"},
		"a":    {"type": "array"},
		"as":   {"type": "array", "items": {"type": "string", "enum": ["x"]}},
		"ne":   {"type": "number", "enum": [1, 2]},
		"min":  {"type": "string", "minLength": 2}
	}}}`
	bps, err := Parse("all.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	all := mustLoad(t, "testdata/port-sentry")
	all = append(all, mustLoad(t, "testdata/seed001")...)
	s, err := Compile(append(all, bps...))
	if err != nil {
		t.Fatal(err)
	}
	values := []any{
		nil, true, false, 0, 1, -3, 2.5, json.Number("7"), json.Number("1.5"), big.NewInt(3),
		"", "a", "b", "x", "2023-03-31T06:18:37Z", "2023-03-31", "https://sentry.io/x", "sentry.io",
		"jane@example.com", []any{}, []any{"x"}, []any{"x", "y"}, []any{1}, map[string]any{}, map[string]any{"k": "v"},
	}
	fast := 0
	for _, id := range s.IDs() {
		for _, p := range s.bps[id].props {
			if p.accept == nil {
				continue
			}
			fast++
			for _, v := range values {
				if p.accept(v) {
					if err := p.schema.Validate(normalize(v)); err != nil {
						t.Errorf("%s.%s: fast path accepts %#v, validator says %v", id, p.name, v, err)
					}
				}
			}
		}
	}
	if fast == 0 {
		t.Error("no property took the fast path")
	}
	for _, name := range []string{"i", "ne", "min"} {
		if s.bps["all"].byName[name].accept != nil {
			t.Errorf("%s: fast path for a schema it does not fully understand", name)
		}
	}
}
