package mapping

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// QueryProgram is a jq program a user runs over the catalog (gitalog
// query), bounded as a mapping's expressions are: a query that never ends
// or grows without bound stops with a LimitError, not with the machine.
type QueryProgram struct {
	p *Program
}

// CompileQuery compiles src with the named variables (such as
// "$catalog") and extra functions, bounded by limits. Errors name the
// column, as a mapping's do. env and $ENV see nothing: a query's output
// is not the place for the environment.
func CompileQuery(src string, vars []string, limits Limits, opts ...gojq.CompilerOption) (*QueryProgram, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			col := utf8.RuneCountInString(src[:min(pe.Offset, len(src))])
			if pe.Token != "" {
				col -= utf8.RuneCountInString(pe.Token)
			}
			return nil, fmt.Errorf("jq syntax error at column %d: %v", max(col, 0)+1, err)
		}
		return nil, fmt.Errorf("jq syntax error: %v", err)
	}
	opts = append(opts, gojq.WithVariables(vars), gojq.WithEnvironLoader(func() []string { return nil }))
	code, err := gojq.Compile(q, opts...)
	if err != nil {
		return nil, fmt.Errorf("jq: %v", err)
	}
	return &QueryProgram{p: &Program{Source: src, Field: "query", code: code, guard: newGuard(limits)}}, nil
}

// Each runs the program on v with the variables' values, in the order
// CompileQuery named them, and calls fn with each output. It stops at the
// first error, the program's or fn's.
func (q *QueryProgram) Each(v any, values []any, fn func(any) error) error {
	sc := &scope{g: q.p.guard}
	defer sc.release()
	ev := sc.evaluator()
	ev.begin()
	defer ev.end()
	iter := q.p.code.RunWithContext(ev, v, values...)
	for {
		out, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, isErr := out.(error); isErr {
			var he *gojq.HaltError
			if errors.As(err, &he) && he.Value() == nil {
				return nil
			}
			if stopped(err) {
				return err
			}
			return fmt.Errorf("jq: %w", err)
		}
		if err := fn(out); err != nil {
			return err
		}
	}
}
