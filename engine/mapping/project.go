package mapping

import (
	"strings"

	"github.com/itchyny/gojq"
)

// Most mappings read a handful of an item's fields (.id, .title,
// .project.slug), while decoding a whole Sentry issue into Go values was
// the largest cost of a sync. InputKeys finds, by reading the jq programs,
// which top-level keys of an item they can ever look at, so the decoder
// can skip the rest. The analysis is conservative: anything it does not
// fully understand (a function given the whole item, `..`, `.[]`,
// keys, to_entries, def, assignment, ...) means "all keys".

// InputKeys returns the top-level keys of an item that the resources'
// programs can read; all is true when they may need the whole item.
func InputKeys(rs []*Resource) (keys map[string]bool, all bool) {
	a := &keyAnalysis{keys: map[string]bool{}}
	for _, r := range rs {
		if r.ItemsToParse != nil {
			return nil, true // elements are merged into the item
		}
		progs := append([]*Program{r.Query}, r.fieldPrograms()...)
		for _, rel := range r.Relations {
			if rel.Search != nil {
				progs = append(progs, rel.Search.programs()...)
			}
		}
		for _, p := range progs {
			q, err := gojq.Parse(p.Source)
			if err != nil || !a.query(q) {
				return nil, true
			}
		}
	}
	return a.keys, false
}

func (s *SearchSpec) programs() []*Program {
	out := []*Program{s.Combinator}
	for _, r := range s.Rules {
		if r.Nested != nil {
			out = append(out, r.Nested.programs()...)
			continue
		}
		for _, p := range []*Program{r.Property, r.Operator, r.Value} {
			if p != nil {
				out = append(out, p)
			}
		}
	}
	return out
}

type keyAnalysis struct{ keys map[string]bool }

// query analyses q evaluated with the item itself as input; false means
// it may need the whole item.
func (a *keyAnalysis) query(q *gojq.Query) bool {
	if q == nil {
		return true
	}
	if len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
		return false
	}
	if q.Term != nil {
		return a.term(q.Term)
	}
	switch q.Op {
	case gojq.OpPipe:
		if len(q.Patterns) > 0 {
			// E as $x | body: body still runs on the item.
			return simplePatterns(q.Patterns) && a.query(q.Left) && a.query(q.Right)
		}
		// The right side runs on the left side's outputs, never on the
		// item: variables carry values, not access to it.
		return a.query(q.Left)
	case gojq.OpComma, gojq.OpAdd, gojq.OpSub, gojq.OpMul, gojq.OpDiv, gojq.OpMod,
		gojq.OpEq, gojq.OpNe, gojq.OpGt, gojq.OpLt, gojq.OpGe, gojq.OpLe,
		gojq.OpAnd, gojq.OpOr, gojq.OpAlt:
		return a.query(q.Left) && a.query(q.Right)
	}
	return false // assignments and anything new output the item itself
}

// inputFree are functions that ignore their input; their arguments still
// run on the item.
var inputFree = map[string]bool{"empty": true, "error": true, "now": true, "env": true, "builtins": true, "input_filename": true, "not": false}

func (a *keyAnalysis) term(t *gojq.Term) bool {
	ok := true
	first := 0 // suffixes from here on index a sub-value
	switch t.Type {
	case gojq.TermTypeIdentity:
		if len(t.SuffixList) == 0 {
			return false
		}
		s := t.SuffixList[0]
		if s.Index == nil || !a.index(s.Index) {
			return false
		}
		first = 1
	case gojq.TermTypeIndex:
		if !a.index(t.Index) {
			return false
		}
	case gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse, gojq.TermTypeNumber, gojq.TermTypeBreak:
	case gojq.TermTypeString:
		ok = a.str(t.Str)
	case gojq.TermTypeFunc:
		name := t.Func.Name
		if !strings.HasPrefix(name, "$") && !(inputFree[name] && (name != "error" || len(t.Func.Args) == 1)) {
			return false
		}
		for _, arg := range t.Func.Args {
			ok = ok && a.query(arg)
		}
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			switch {
			case kv.KeyQuery != nil:
				ok = ok && a.query(kv.KeyQuery)
			case kv.KeyString != nil:
				ok = ok && a.str(kv.KeyString)
				if kv.Val == nil {
					if len(kv.KeyString.Queries) > 0 {
						return false
					}
					a.keys[kv.KeyString.Str] = true
				}
			case kv.Val == nil && !strings.HasPrefix(kv.Key, "$"):
				a.keys[kv.Key] = true // {a} is {a: .a}
			}
			if kv.Val != nil {
				ok = ok && a.query(kv.Val)
			}
		}
	case gojq.TermTypeArray:
		ok = a.query(t.Array.Query)
	case gojq.TermTypeUnary:
		ok = a.term(t.Unary.Term)
	case gojq.TermTypeFormat:
		if t.Str == nil {
			return false
		}
		ok = a.str(t.Str)
	case gojq.TermTypeIf:
		ok = a.query(t.If.Cond) && a.query(t.If.Then) && a.query(t.If.Else)
		for _, e := range t.If.Elif {
			ok = ok && a.query(e.Cond) && a.query(e.Then)
		}
	case gojq.TermTypeTry:
		ok = a.query(t.Try.Body) // the catch runs on the error
	case gojq.TermTypeReduce:
		// The update runs on the accumulator, not the item.
		ok = simplePatterns(t.Reduce.Patterns) && a.query(t.Reduce.Query) && a.query(t.Reduce.Start)
	case gojq.TermTypeForeach:
		ok = simplePatterns(t.Foreach.Patterns) && a.query(t.Foreach.Query) && a.query(t.Foreach.Start)
	case gojq.TermTypeLabel:
		ok = a.query(t.Label.Body)
	case gojq.TermTypeQuery:
		ok = a.query(t.Query)
	default:
		return false
	}
	// Index expressions in suffixes (.a[.b]) run on the item too.
	for _, s := range t.SuffixList[first:] {
		if s.Index != nil {
			ok = ok && a.query(s.Index.Start) && a.query(s.Index.End)
		}
	}
	return ok
}

// index records a constant key of .key / ."key" / .["key"].
func (a *keyAnalysis) index(ix *gojq.Index) bool {
	switch {
	case ix.IsSlice:
		return false
	case ix.Name != "":
		a.keys[ix.Name] = true
		return true
	case ix.Str != nil && len(ix.Str.Queries) == 0:
		a.keys[ix.Str.Str] = true
		return true
	case ix.Start != nil && ix.End == nil && ix.Start.Term != nil && ix.Start.Term.Type == gojq.TermTypeString &&
		len(ix.Start.Term.Str.Queries) == 0 && len(ix.Start.Term.SuffixList) == 0:
		a.keys[ix.Start.Term.Str.Str] = true
		return true
	}
	return false
}

func (a *keyAnalysis) str(s *gojq.String) bool {
	if s == nil {
		return true
	}
	ok := true
	for _, q := range s.Queries {
		ok = ok && a.query(q)
	}
	return ok
}

// simplePatterns: only `as $name`; destructuring patterns may hold
// expressions of their own.
func simplePatterns(ps []*gojq.Pattern) bool {
	for _, p := range ps {
		if p.Name == "" {
			return false
		}
	}
	return true
}
