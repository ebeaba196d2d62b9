package review

import (
	"bytes"
	"sort"

	"github.com/gitalog/gitalog/engine/catalog"
)

// FieldChange is one field that differs between two versions of an
// entity, as commit messages, sync summaries and `gitalog diff` show it. Old or New is nil when the field is
// absent on that side; Path is like "properties.status" or "title".
type FieldChange struct {
	Path     string
	Old, New any
	// HadOld and HasNew tell an absent field from a null one.
	HadOld, HasNew bool
}

// FieldChanges lists the fields that differ between two versions of an
// entity, sorted by path. Values compare by their canonical encoding.
func FieldChanges(old, new *catalog.Entity) []FieldChange {
	a, b := old.ToMap(), new.ToMap()
	var out []FieldChange
	for _, top := range []string{"title", "blueprint", "icon", "team", "aliases"} {
		compareField(&out, top, a, b, top)
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
			compareField(&out, group+"."+k, am, bm, k)
		}
	}
	return out
}

func compareField(out *[]FieldChange, path string, a, b map[string]any, key string) {
	av, aok := a[key]
	bv, bok := b[key]
	if aok == bok && bytes.Equal(canonical(av), canonical(bv)) {
		return
	}
	*out = append(*out, FieldChange{Path: path, Old: av, New: bv, HadOld: aok, HasNew: bok})
}

// canonical is a value's canonical JSON, compact.
func canonical(v any) []byte {
	var buf bytes.Buffer
	catalog.EncodeCompact(&buf, v)
	return buf.Bytes()
}
