// Package diff compares two versions of an entity field by field, for
// commit messages, summaries and `gitalog diff`.
package diff

import (
	"bytes"
	"sort"

	"github.com/gitalog/gitalog/engine/catalog"
)

// Change is one field that differs. Old or New is nil when the field is
// absent on that side; Path is like "properties.status" or "title".
type Change struct {
	Path     string
	Old, New any
	// HadOld and HasNew tell an absent field from a null one.
	HadOld, HasNew bool
}

// Entities lists the fields that differ between two versions of an
// entity, sorted by path. Values compare by their canonical encoding.
func Entities(old, new *catalog.Entity) []Change {
	a, b := old.ToMap(), new.ToMap()
	var out []Change
	for _, top := range []string{"title", "blueprint", "icon", "team"} {
		compare(&out, top, a, b, top)
	}
	for _, group := range []string{"properties", "relations"} {
		am, _ := a[group].(map[string]any)
		bm, _ := b[group].(map[string]any)
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			compare(&out, group+"."+k, am, bm, k)
		}
	}
	return out
}

func compare(out *[]Change, path string, a, b map[string]any, key string) {
	av, aok := a[key]
	bv, bok := b[key]
	if aok == bok && Equal(av, bv) {
		return
	}
	*out = append(*out, Change{Path: path, Old: av, New: bv, HadOld: aok, HasNew: bok})
}

// Equal compares two JSON values by their canonical encoding.
func Equal(a, b any) bool {
	return bytes.Equal(Encode(a), Encode(b))
}

// Encode is a value's canonical JSON, compact.
func Encode(v any) []byte {
	var buf bytes.Buffer
	catalog.EncodeCompact(&buf, v)
	return buf.Bytes()
}
