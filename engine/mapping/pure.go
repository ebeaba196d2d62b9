package mapping

import (
	"reflect"

	"github.com/itchyny/gojq"
)

// impureFuncs are the jq builtins whose result depends on more than their
// input: the clock, the environment, the time zone, other inputs, or that
// act on the outside (debug output, halting).
var impureFuncs = map[string]bool{
	"now": true, "env": true, "$ENV": true,
	"localtime": true, "strflocaltime": true, "strptime": true, // %Z reads the local zone
	"input": true, "inputs": true, "input_filename": true, "input_line_number": true,
	"debug": true, "stderr": true, "halt": true, "halt_error": true,
}

// Pure reports whether the resource's entities depend on nothing but the
// item: every program of it (selector, itemsToParse, fields, relations,
// searches) is free of now, env, $ENV, local-time and input functions.
// Only then may a sync reuse what the same item bytes mapped to before.
// A program that cannot be parsed, or a user function shadowing one of
// those names, counts as impure: the answer errs on the safe side.
func (r *Resource) Pure() bool {
	progs := append([]*Program{r.Query, r.ItemsToParse}, r.fieldPrograms()...)
	for _, rel := range r.Relations {
		if rel.Search != nil {
			progs = append(progs, rel.Search.programs()...)
		}
	}
	for _, p := range progs {
		if p == nil {
			continue
		}
		q, err := gojq.Parse(p.Source)
		if err != nil || callsFunc(reflect.ValueOf(q), func(name string) bool { return impureFuncs[name] }) {
			return false
		}
	}
	return true
}

var funcType = reflect.TypeOf(gojq.Func{})

// callsFunc reports whether a function or variable (a name with $) that
// match accepts is named in a gojq syntax tree. It walks the tree
// generically, so that a node kind added in a later gojq is searched too
// rather than silently skipped.
func callsFunc(v reflect.Value, match func(name string) bool) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && callsFunc(v.Elem(), match)
	case reflect.Struct:
		if v.Type() == funcType && match(v.FieldByName("Name").String()) {
			return true
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && callsFunc(v.Field(i), match) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if callsFunc(v.Index(i), match) {
				return true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if callsFunc(it.Value(), match) {
				return true
			}
		}
	}
	return false
}
