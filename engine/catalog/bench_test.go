package catalog

import "testing"

func benchEntity() *Entity {
	return &Entity{
		Identifier: "5100000001",
		Title:      "ConnectionError: permission denied for relation shipment",
		Blueprint:  "issue",
		Properties: map[string]any{
			"link":        "https://gen-org.sentry.io/issues/5100000001/",
			"status":      "unresolved",
			"isUnhandled": true,
		},
		Relations: map[string]any{"project": "north-gateway"},
	}
}

// BenchmarkEncode is the canonical file content of a benchmark issue.
func BenchmarkEncode(b *testing.B) {
	e := benchEntity()
	b.ReportAllocs()
	for b.Loop() {
		e.Encode()
	}
}

// BenchmarkPath is an entity's file path.
func BenchmarkPath(b *testing.B) {
	k := benchEntity().Key()
	b.ReportAllocs()
	for b.Loop() {
		Path(k)
	}
}
