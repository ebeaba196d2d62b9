package mapping

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
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
	guard  *guard
	// vars are the values of the variables the program was compiled
	// with: $source, for a program that names it, else none, so that a
	// program that does not pays nothing for it.
	vars []any
	// stopped is set once an evaluation went past a bound: the program is
	// not run again in this process, or a mapping that never ends would
	// cost the time limit for every item of a sync.
	stopped atomic.Pointer[LimitError]
}

// StoppedError is a program not run because an earlier evaluation of it
// went past a bound.
type StoppedError struct{ Limit *LimitError }

func (e *StoppedError) Error() string {
	return "not run: an earlier evaluation of this expression was stopped: " + e.Limit.Error()
}

func (e *StoppedError) Unwrap() error { return e.Limit }

// DefaultEnv are the environment variables a mapping's env and $ENV show
// without being listed in mappingEnv: where Sentry is, never a secret.
var DefaultEnv = []string{"SENTRY_URL", "SENTRY_ORG"}

// envVar is an environment variable a mapping may read.
type envVar struct {
	name, value string
	line        int // where mappingEnv lists it; 0 for DefaultEnv
}

type envVars []envVar

// readEnv reads the allowed names only. A deny-list of secret-looking
// names let through GH_PAT, DOCKER_PASS, DATABASE_URL and the like, and a
// mapping that shows one writes it into a committed file. A URL's
// credentials are dropped, as gitalog's own output drops them: a mapping
// that shows SENTRY_URL must not commit its password.
func readEnv(allowed []string, lines map[string]int) envVars {
	var out envVars
	for _, name := range allowed {
		if slices.ContainsFunc(out, func(e envVar) bool { return e.name == name }) {
			continue
		}
		if v, ok := os.LookupEnv(name); ok {
			out = append(out, envVar{name: name, value: withoutUserinfo(v), line: lines[name]})
		}
	}
	return out
}

// environ is the loader gojq reads env and $ENV from.
func (vs envVars) environ() []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.name + "=" + v.value
	}
	return out
}

func withoutUserinfo(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil && u.Host != "" {
		u.User = nil
		return u.String()
	}
	return v
}

// minSecret is the shortest secret looked for in the environment a
// mapping reads: a shorter one would match by chance.
const minSecret = 6

// RefuseSecret returns an error naming the variable, not the value, when
// one a mapping may read holds secret; what names the secret (e.g. "the
// Sentry auth token (from .sentryclirc)"). A token copied under another
// name would otherwise be written into the catalog.
func (c *Config) RefuseSecret(what, secret string) error {
	secret = strings.TrimSpace(secret)
	if len(secret) < minSecret {
		return nil
	}
	for _, v := range c.env {
		if strings.Contains(v.value, secret) {
			where := "mappingEnv: "
			if v.line == 0 {
				where = "a mapping's env: "
			}
			return &configError{file: c.File, line: v.line, msg: fmt.Sprintf("%s%s holds %s; a mapping must not read it (it would be written into the catalog)", where, v.name, what)}
		}
	}
	return nil
}

// SourceVar is the jq variable that holds the name of the source a
// config is bound to (sources:), null when it is bound to none.
const SourceVar = "$source"

// compileJQ parses and compiles src with $source null. Errors carry a
// 1-based column. env is what env and $ENV show; g bounds the
// evaluations (nil: the defaults).
func compileJQ(src, field string, env func() []string, g *guard) (*Program, error) {
	return compileJQSource(src, field, env, g, nil)
}

// compileJQSource is compileJQ with $source bound to source (a string, or
// nil for null). The value is the program's for its life: a config bound
// to another source is compiled again (Config.ForSource).
func compileJQSource(src, field string, env func() []string, g *guard, source any) (*Program, error) {
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
	if env == nil {
		env = readEnv(DefaultEnv, nil).environ
	}
	if g == nil {
		g = defaultGuard
	}
	opts := []gojq.CompilerOption{gojq.WithEnvironLoader(env)}
	var vars []any
	if usesSource(src) {
		opts = append(opts, gojq.WithVariables([]string{SourceVar}))
		vars = []any{source}
	}
	code, err := gojq.Compile(q, opts...)
	if err != nil {
		return nil, fmt.Errorf("jq: %v (in %q)", err, src)
	}
	return &Program{Source: src, Field: field, code: code, fast: compileFast(src, source), guard: g, vars: vars}, nil
}

// usesSource reports whether src may name $source: its text holds it
// (jq allows no space after $). A mention in a string or a comment, or a
// binding of its own, only costs the variable that is then not needed.
func usesSource(src string) bool { return strings.Contains(src, SourceVar) }

// First runs the program and returns its first output, as Port's mapper
// does; no output is nil.
func (p *Program) First(v any) (any, error) {
	sc := &scope{g: p.guard}
	defer sc.release()
	return p.first(sc, v)
}

func (p *Program) first(sc *scope, v any) (any, error) {
	if p.fast != nil {
		if out, ok := p.fast.eval(v); ok {
			return out, nil
		}
	}
	iter, end, err := p.run(sc, v)
	if err != nil {
		return nil, err
	}
	defer end()
	out, ok := iter.Next()
	if !ok {
		return nil, nil
	}
	if err, isErr := out.(error); isErr {
		var he *gojq.HaltError
		if errors.As(err, &he) && he.Value() == nil {
			return nil, nil
		}
		p.stopIf(err)
		return nil, err
	}
	return out, nil
}

// run starts the program on v under sc's evaluator, unless a bound
// stopped it before; end closes the evaluation for the watchdog.
func (p *Program) run(sc *scope, v any) (iter gojq.Iter, end func(), err error) {
	if le := p.stopped.Load(); le != nil {
		return nil, nil, &StoppedError{le}
	}
	ev := sc.evaluator()
	ev.begin()
	return p.code.RunWithContext(ev, v, p.vars...), ev.end, nil
}

// stopped reports whether err is, or comes from, an evaluation stopped by
// a bound.
func stopped(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

// stopIf records a bound's error, so later evaluations fail at once.
func (p *Program) stopIf(err error) {
	var le *LimitError
	if errors.As(err, &le) {
		p.stopped.CompareAndSwap(nil, le)
	}
}

// All runs the program and returns every output.
func (p *Program) All(v any) ([]any, error) {
	sc := &scope{g: p.guard}
	defer sc.release()
	iter, end, err := p.run(sc, v)
	if err != nil {
		return nil, err
	}
	defer end()
	var outs []any
	for {
		out, ok := iter.Next()
		if !ok {
			return outs, nil
		}
		if err, isErr := out.(error); isErr {
			p.stopIf(err)
			return outs, err
		}
		outs = append(outs, out)
	}
}
