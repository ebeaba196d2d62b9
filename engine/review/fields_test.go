package review_test

import (
	"fmt"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/review"
)

// FieldChanges tells an absent field from a null one, compares values by
// their canonical JSON (key order does not count) and sorts by path.
func TestFieldChanges(t *testing.T) {
	decode := func(s string) *catalog.Entity {
		t.Helper()
		e, err := catalog.Decode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	old := decode(`{"identifier": "1", "blueprint": "b", "title": "t", "properties": {"gone": 1, "nulled": 2, "same": {"x": 1, "y": 2}, "z": "a"}, "relations": {"r": "p"}}`)
	new := decode(`{"identifier": "1", "blueprint": "b", "title": "t", "properties": {"nulled": null, "same": {"y": 2, "x": 1}, "z": "b", "added": true}, "relations": {"r": "p"}}`)
	var got []string
	for _, c := range review.FieldChanges(old, new) {
		got = append(got, fmt.Sprintf("%s %v/%v %v/%v", c.Path, c.Old, c.HadOld, c.New, c.HasNew))
	}
	want := []string{
		"properties.added <nil>/false true/true",
		"properties.gone 1/true <nil>/false",
		"properties.nulled 2/true <nil>/true",
		"properties.z a/true b/true",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// Aliases are a field like the title: a change to them shows.
func TestFieldChangesAliases(t *testing.T) {
	old := &catalog.Entity{Identifier: "payments", Blueprint: "service", Aliases: []string{"pay"}}
	new := &catalog.Entity{Identifier: "payments", Blueprint: "service", Aliases: []string{"pay", "payments-api"}}
	got := review.FieldChanges(old, new)
	if len(got) != 1 || got[0].Path != "aliases" || fmt.Sprint(got[0].New) != "[pay payments-api]" {
		t.Fatalf("FieldChanges = %+v", got)
	}
	if got := review.FieldChanges(old, old); len(got) != 0 {
		t.Fatalf("no change: %+v", got)
	}
}
