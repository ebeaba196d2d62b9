package catalog

import (
	"fmt"
	"slices"
	"strings"
)

// FieldsDir records, per blueprint, the fields the sync manages in files
// it did not write: an OpsLevel transform with on_component_not_found:
// skip sets properties of hand-written entities, and rules set relations
// on them. One file per blueprint folder, .gitalog/fields/<dir>, with a
// line "<stem>\t<section>.<name>" per field, sorted. Like the managed
// lists it is committed with the catalog, so that validate and the next
// sync of a fresh clone know which fields of a hand-written file are the
// sync's to change and to remove.
const FieldsDir = ".gitalog/fields"

// FieldsPath is the record of the blueprint folder dir.
func FieldsPath(dir string) string { return FieldsDir + "/" + dir }

// FieldSet is one folder's record: sorted "<stem>\t<field>" lines, each
// once, a field being "properties.<name>" or "relations.<name>". A tab
// sorts before every byte a file name or field may hold, so a stem's
// fields are adjacent.
type FieldSet []string

// Field is the record's name of a field: section "properties" or
// "relations", and the key in it.
func Field(section, name string) string { return section + "." + name }

// SplitField reverses Field.
func SplitField(field string) (section, name string) {
	section, name, _ = strings.Cut(field, ".")
	return section, name
}

// Has reports whether field of the file stem is managed.
func (s FieldSet) Has(stem, field string) bool {
	_, ok := slices.BinarySearch(s, stem+"\t"+field)
	return ok
}

// Of returns the managed fields of the file stem, sorted.
func (s FieldSet) Of(stem string) []string {
	prefix := stem + "\t"
	i, _ := slices.BinarySearch(s, prefix)
	var out []string
	for ; i < len(s) && strings.HasPrefix(s[i], prefix); i++ {
		out = append(out, s[i][len(prefix):])
	}
	return out
}

// Stems returns the files that have managed fields, sorted.
func (s FieldSet) Stems() []string {
	var out []string
	for _, l := range s {
		stem, _, _ := strings.Cut(l, "\t")
		if len(out) == 0 || out[len(out)-1] != stem {
			out = append(out, stem)
		}
	}
	return out
}

// EncodeFieldSet is the record's file content; empty for an empty set, whose
// file the sync removes rather than writes.
func EncodeFieldSet(s FieldSet) []byte { return joinLines(s) }

// FieldSetBuilder collects a folder's managed fields in any order.
type FieldSetBuilder struct{ lines []string }

// Add records field of the file stem. Names that would break the record's
// lines (a tab or a line break) are refused; the sync's names come from
// blueprints, whose property and relation identifiers have neither.
func (b *FieldSetBuilder) Add(stem, field string) error {
	if strings.ContainsAny(stem, "\t\r\n") || strings.ContainsAny(field, "\t\r\n") || stem == "" {
		return fmt.Errorf("cannot record managed field %q of %q: a name holds a tab or line break", field, stem)
	}
	b.lines = append(b.lines, stem+"\t"+field)
	return nil
}

// AddSet records every field of s (the old record) for which keep is true.
func (b *FieldSetBuilder) AddSet(s FieldSet, keep func(stem, field string) bool) {
	for _, l := range s {
		stem, field, _ := strings.Cut(l, "\t")
		if keep == nil || keep(stem, field) {
			b.lines = append(b.lines, l)
		}
	}
}

// Set returns the record, sorted and each line once.
func (b *FieldSetBuilder) Set() FieldSet {
	s := slices.Clone(b.lines)
	slices.Sort(s)
	return slices.Compact(s)
}

// parseFields reads a record; lines without a tab (a hand's mistake) are
// dropped, as they name no field.
func parseFields(data []byte) FieldSet {
	text := string(data)
	set := make(FieldSet, 0, strings.Count(text, "\n")+1)
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		stem, field, ok := strings.Cut(line, "\t")
		stem, field = strings.TrimSpace(stem), strings.TrimSpace(field)
		if ok && stem != "" && field != "" {
			set = append(set, stem+"\t"+field)
		}
	}
	if !slices.IsSorted(set) {
		slices.Sort(set)
	}
	return slices.Compact(set)
}
