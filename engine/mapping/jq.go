package mapping

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// Program is one compiled jq expression with where it came from, so that
// every error can name the resource, its kind, the field and the position.
type Program struct {
	Source string
	Field  string // e.g. "port.entity.mappings.properties.status"
	code   *gojq.Code
	fast   *fastProg // set for plain paths and literals
}

// secretEnv matches environment variables that must never reach a mapping:
// a jq `env.SENTRY_AUTH_TOKEN` would otherwise write the token into a file.
var secretEnv = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|AUTH|DSN|(^|_)KEY(_|$))`)

func safeEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !secretEnv.MatchString(name) {
			out = append(out, kv)
		}
	}
	return out
}

// compileJQ parses and compiles src. Errors carry a 1-based column.
func compileJQ(src, field string) (*Program, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			col := utf8.RuneCountInString(src[:min(pe.Offset, len(src))])
			if pe.Token != "" {
				col -= utf8.RuneCountInString(pe.Token)
			}
			return nil, fmt.Errorf("jq syntax error at column %d: %v (in %q)", max(col, 0)+1, err, src)
		}
		return nil, fmt.Errorf("jq syntax error: %v (in %q)", err, src)
	}
	code, err := gojq.Compile(q, gojq.WithEnvironLoader(safeEnviron))
	if err != nil {
		return nil, fmt.Errorf("jq: %v (in %q)", err, src)
	}
	return &Program{Source: src, Field: field, code: code, fast: compileFast(src)}, nil
}

// First runs the program and returns its first output, as Port's mapper
// does; no output is nil.
func (p *Program) First(v any) (any, error) {
	if p.fast != nil {
		if out, ok := p.fast.eval(v); ok {
			return out, nil
		}
	}
	iter := p.code.Run(v)
	out, ok := iter.Next()
	if !ok {
		return nil, nil
	}
	if err, isErr := out.(error); isErr {
		var he *gojq.HaltError
		if errors.As(err, &he) && he.Value() == nil {
			return nil, nil
		}
		return nil, err
	}
	return out, nil
}

// All runs the program and returns every output.
func (p *Program) All(v any) ([]any, error) {
	var outs []any
	iter := p.code.Run(v)
	for {
		out, ok := iter.Next()
		if !ok {
			return outs, nil
		}
		if err, isErr := out.(error); isErr {
			return outs, err
		}
		outs = append(outs, out)
	}
}
