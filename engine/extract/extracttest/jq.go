package extracttest

import (
	"fmt"

	"github.com/itchyny/gojq"
	"gopkg.in/yaml.v3"

	"github.com/gitalog/gitalog/engine/extract"
)

// goJQ is a plain gojq program: gitalog's own (engine/mapping) adds
// bounds and an environment, which tests of the extractors do not need.
type goJQ struct{ code *gojq.Code }

func (g goJQ) All(v any) ([]any, error) {
	var out []any
	it := g.code.Run(v)
	for {
		x, ok := it.Next()
		if !ok {
			return out, nil
		}
		if err, ok := x.(error); ok {
			return out, err
		}
		out = append(out, x)
	}
}

// Compiler is an extract.Compiler over plain gojq, with errors that say
// file:line:col and the field, as gitalog's does.
func Compiler(file string) extract.Compiler {
	return func(n *yaml.Node, field string) (extract.Program, error) {
		q, err := gojq.Parse(n.Value)
		if err == nil {
			var code *gojq.Code
			if code, err = gojq.Compile(q); err == nil {
				return goJQ{code}, nil
			}
		}
		return nil, fmt.Errorf("%s:%d:%d: %s: jq: %v", file, n.Line, n.Column, field, err)
	}
}

// JQ compiles src, panicking on a mistake: for expected values in tests.
func JQ(src string) extract.Program {
	q, err := gojq.Parse(src)
	if err != nil {
		panic(err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		panic(err)
	}
	return goJQ{code}
}
