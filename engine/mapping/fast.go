package mapping

import (
	"github.com/itchyny/gojq"
)

// Most mapping fields are a path (.id, .project.slug) or a literal
// ('"issue"', true): running gojq for those costs far more than the lookup.
// Such programs are evaluated directly; whenever the direct evaluation
// meets anything but objects and nulls on its way (where jq would raise an
// error), the caller runs gojq instead, so results and error messages are
// always exactly gojq's.

type fastProg struct {
	path    []string // look these keys up in turn
	literal any      // or return this
	isLit   bool
}

// compileFast recognises a plain path or a literal; nil otherwise.
// source is $source's value: a constant for the program's life, so
// `$source` alone is a literal too.
func compileFast(src string, source any) *fastProg {
	q, err := gojq.Parse(src)
	if err != nil || q.Term == nil || len(q.FuncDefs) > 0 || q.Meta != nil || len(q.Imports) > 0 {
		return nil
	}
	t := q.Term
	switch t.Type {
	case gojq.TermTypeTrue:
		return &fastProg{literal: true, isLit: true}
	case gojq.TermTypeFalse:
		return &fastProg{literal: false, isLit: true}
	case gojq.TermTypeNull:
		return &fastProg{isLit: true}
	case gojq.TermTypeString:
		if t.Str == nil || len(t.Str.Queries) > 0 || len(t.SuffixList) > 0 {
			return nil
		}
		return &fastProg{literal: t.Str.Str, isLit: true}
	case gojq.TermTypeFunc:
		if t.Func == nil || t.Func.Name != SourceVar || len(t.Func.Args) > 0 || len(t.SuffixList) > 0 {
			return nil
		}
		return &fastProg{literal: source, isLit: true}
	case gojq.TermTypeIndex:
		if t.Index == nil || t.Index.Name == "" {
			return nil
		}
		f := &fastProg{path: []string{t.Index.Name}}
		for _, s := range t.SuffixList {
			if s.Index == nil || s.Index.Name == "" || s.Iter || s.Optional {
				return nil
			}
			f.path = append(f.path, s.Index.Name)
		}
		return f
	}
	return nil
}

// eval returns the program's value; ok is false when gojq must decide.
func (f *fastProg) eval(v any) (any, bool) {
	if f.isLit {
		return f.literal, true
	}
	for _, k := range f.path {
		switch m := v.(type) {
		case map[string]any:
			v = m[k]
		case nil:
			// .a on null is null.
		default:
			return nil, false
		}
	}
	return v, true
}
