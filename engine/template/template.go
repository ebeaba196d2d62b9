package template

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/filters"
	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
)

// Template is one compiled Liquid template. It is safe for concurrent use.
type Template struct {
	src     string
	secrets []string // names given to the secret filter, in order of use

	// compiled holds one parse per Secrets a template is rendered with:
	// the secret filter has no access to the bindings, so it closes over
	// the values. A definition renders with one Secrets for its life.
	mu       sync.Mutex
	compiled map[uint64]*liquid.Template
}

// Error is a template that does not compile, at its line (1-based, within
// the template) and column (1-based, 0 when unknown). The caller adds the
// file, the line of the template in it and the key.
type Error struct {
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("Liquid: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("Liquid: line %d: %s", e.Line, e.Msg)
}

// extraFilters are Shopify filters osteele/liquid lacks that a request
// needs: Basic authentication is base64 of "user:token".
var extraFilters = map[string]any{
	"base64_encode": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"base64_decode": func(s string) (string, error) {
		b, err := base64.StdEncoding.DecodeString(s)
		return string(b), err
	},
}

// filterNames records the names a FilterDictionary is given.
type filterNames map[string]bool

func (f filterNames) AddFilter(name string, _ any) { f[name] = true }

// known are the filters a template may use.
var known = func() filterNames {
	f := filterNames{"secret": true}
	filters.AddStandardFilters(f)
	for name := range extraFilters {
		f[name] = true
	}
	return f
}()

func newEngine(secret func(name string) (string, error)) *liquid.Engine {
	e := liquid.NewEngine()
	for name, fn := range extraFilters {
		e.RegisterFilter(name, fn)
	}
	e.RegisterFilter("secret", secret)
	return e
}

var (
	// A quoted string, so that "|" and filter-like words inside one are
	// not taken for filters.
	quoted = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	// A filter application: "| name".
	filterUse = regexp.MustCompile(`\|\s*([A-Za-z_][\w-]*)`)
	// A quoted name given to the secret filter: 'name' | secret.
	secretUse = regexp.MustCompile(`(?:'([^']*)'|"([^"]*)")\s*\|\s*secret\b`)
)

// Compile parses src. Unknown tags and filters, and a secret filter whose
// input is not a quoted name, are errors here.
func Compile(src string) (*Template, error) {
	lt, err := newEngine(func(string) (string, error) { return "", errors.New("no secrets") }).ParseTemplateLocation([]byte(src), "", 1)
	if err != nil {
		return nil, toError(src, err)
	}
	t := &Template{src: src, compiled: map[uint64]*liquid.Template{}}
	var walkErr error
	walk(lt.GetRoot(), func(tok parser.Token) {
		if walkErr != nil || tok.Type == parser.TextTokenType {
			return
		}
		walkErr = t.check(src, tok)
	})
	if walkErr != nil {
		return nil, walkErr
	}
	return t, nil
}

// check finds the filters a tag or object applies and the secrets it names.
func (t *Template) check(src string, tok parser.Token) error {
	code := tok.Args
	if tok.Type == parser.TagTokenType {
		code = tok.Name + " " + tok.Args
	}
	bare := quoted.ReplaceAllStringFunc(code, func(s string) string { return strings.Repeat("_", len(s)) })
	named := 0
	for _, m := range filterUse.FindAllStringSubmatch(bare, -1) {
		if !known[m[1]] {
			return tokenError(src, tok, fmt.Sprintf("unknown filter %q in %s", m[1], tok.Source))
		}
		if m[1] == "secret" {
			named++
		}
	}
	names := 0
	for _, m := range secretUse.FindAllStringSubmatchIndex(code, -1) {
		name := ""
		for g := 2; g < len(m); g += 2 {
			if m[g] >= 0 {
				name += code[m[g]:m[g+1]]
			}
		}
		// A literal that is another filter's argument (append: 'x' |
		// secret) is not what the secret filter is given.
		before := strings.TrimRight(code[:m[0]], " \t\r\n")
		if name == "" || strings.HasSuffix(before, ":") || strings.HasSuffix(before, ",") {
			continue
		}
		names++
		if !slices.Contains(t.secrets, name) {
			t.secrets = append(t.secrets, name)
		}
	}
	if named != names {
		return tokenError(src, tok, fmt.Sprintf("the secret filter takes a quoted name, as in {{ 'api_token' | secret }}: %s", tok.Source))
	}
	return nil
}

// walk calls fn with the token of every node of the tree, every branch.
func walk(n render.Node, fn func(parser.Token)) {
	switch n := n.(type) {
	case *render.SeqNode:
		for _, c := range n.Children {
			walk(c, fn)
		}
	case *render.BlockNode:
		fn(n.Token)
		for _, c := range n.Body {
			walk(c, fn)
		}
		for _, c := range n.Clauses {
			walk(c, fn)
		}
	case *render.TagNode:
		fn(n.Token)
	case *render.ObjectNode:
		fn(n.Token)
	case *render.TextNode:
		fn(n.Token)
	}
}

// toError turns a Liquid parse error into an Error with the column of the
// token it names, when its source can be found on that line.
func toError(src string, err error) error {
	var se liquid.SourceError
	if !errors.As(err, &se) {
		return &Error{Line: 1, Msg: err.Error()}
	}
	msg := se.Error()
	// "Liquid error (line 2): undefined tag "x" in {% x %}"
	if i := strings.Index(msg, "): "); strings.HasPrefix(msg, "Liquid error (line ") && i > 0 {
		msg = msg[i+3:]
	} else {
		msg = strings.TrimPrefix(msg, "Liquid error: ")
	}
	line := max(se.LineNumber(), 1)
	col := 0
	if i := strings.LastIndex(msg, " in "); i >= 0 {
		col = column(src, line, msg[i+4:])
	}
	return &Error{Line: line, Column: col, Msg: msg}
}

func tokenError(src string, tok parser.Token, msg string) error {
	line := max(tok.SourceLoc.LineNo, 1)
	return &Error{Line: line, Column: column(src, line, tok.Source), Msg: msg}
}

// column is where text starts on line of src (1-based), 0 if it is not
// there.
func column(src string, line int, text string) int {
	lines := strings.Split(src, "\n")
	if text == "" || line > len(lines) {
		return 0
	}
	if i := strings.Index(lines[line-1], text); i >= 0 {
		return len([]rune(lines[line-1][:i])) + 1
	}
	// A token over several lines: look for its first line.
	first, _, _ := strings.Cut(text, "\n")
	if i := strings.Index(lines[line-1], first); i >= 0 && first != "" {
		return len([]rune(lines[line-1][:i])) + 1
	}
	return 0
}

// Source is the template's text.
func (t *Template) Source() string { return t.src }

// SecretNames are the names the template gives the secret filter, in any
// branch, in order of first use.
func (t *Template) SecretNames() []string { return slices.Clone(t.secrets) }

// Render renders the template with vars. The secret filter reads secrets,
// which must hold every name in SecretNames.
func (t *Template) Render(vars map[string]any, secrets Secrets) (string, error) {
	lt, err := t.forSecrets(secrets)
	if err != nil {
		return "", err
	}
	out, serr := lt.RenderString(vars)
	if serr != nil {
		// A filter that fails quotes its input, which may be a secret.
		msg := serr.Error()
		for _, v := range secrets.Values() {
			msg = strings.ReplaceAll(msg, v, "[redacted]")
		}
		msg = strings.TrimPrefix(msg, "Liquid error: ")
		if i := strings.Index(msg, "): "); strings.HasPrefix(msg, "Liquid error (line ") && i > 0 {
			msg = "line " + msg[len("Liquid error (line "):i] + ": " + msg[i+3:]
		}
		return "", fmt.Errorf("Liquid: %s", msg)
	}
	return out, nil
}

func (t *Template) forSecrets(s Secrets) (*liquid.Template, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if lt := t.compiled[s.id]; lt != nil {
		return lt, nil
	}
	lt, err := newEngine(s.lookup).ParseTemplateLocation([]byte(t.src), "", 1)
	if err != nil {
		return nil, toError(t.src, err)
	}
	t.compiled[s.id] = lt
	return lt, nil
}
