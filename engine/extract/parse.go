package extract

import (
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/secretenv"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gitalog/gitalog/engine/template"
)

// Program is a compiled jq expression: every output for the input v.
// engine/mapping's Program satisfies it.
type Program interface {
	All(v any) ([]any, error)
}

// Compiler compiles the jq expression in the scalar node n. field names it
// for messages (`extractor "sentry_issue" (#2): iterator`); the error
// already says file:line:col and field.
type Compiler func(n *yaml.Node, field string) (Program, error)

// Definition is a compiled extract definition.
type Definition struct {
	Extractors []*Extractor
	// Secrets hold every secret the templates name, resolved.
	Secrets  template.Secrets
	Warnings []string
	// SecretVars are every variable a secret the templates name may be
	// read from, for any source of the file (NAME, NAME_<SOURCE>, and their
	// _FILE siblings): none may be readable by a mapping, whichever source
	// the mapping runs for.
	SecretVars []string
	// MissingSecrets names, with where each is used, the secrets the
	// environment does not set; NewSource refuses to poll with it.
	MissingSecrets error
	// Source is the source the definition is bound to (ParseFor), nil for
	// none: templates see it as source, and its secrets are read for it.
	Source *SourceInfo
	// Elsewhere are the external_kinds of the extractors left out of a
	// bound definition, as they run for other sources only.
	Elsewhere []string
}

// SourceInfo is a source of gitalog.yaml's sources: as templates see it:
// {{ source.name }}, {{ source.url }}, {{ source.org }}.
type SourceInfo struct {
	Name, URL, Org string
}

// Sources is what ParseFor knows of gitalog.yaml's sources:.
type Sources struct {
	// Names are the sources' names; nil when the file has no sources:,
	// and then an extractor's source: is an error.
	Names []string
	// Bound is the source to parse for, nil for none: the definition then
	// keeps only the extractors that run for it, and each secret is read
	// from NAME_<SOURCE> before NAME (template.ResolveSourceSecrets).
	Bound *SourceInfo
}

// SourceVar is the name templates see the bound source under.
const SourceVar = "source"

// Extractor is the extractor of kind, nil if there is none.
func (d *Definition) Extractor(kind string) *Extractor {
	for _, e := range d.Extractors {
		if e.Kind == kind {
			return e
		}
	}
	return nil
}

// Extractor is one compiled extractor.
type Extractor struct {
	Kind         string // external_kind
	Index        int    // 0-based, across the lists given to Parse
	File         string
	Line, Column int

	Iterator   Program // nil: the whole body is one item
	ExternalID Program
	Exclude    Program // nil: nothing is excluded

	// Push is an extractor without http_polling: OpsLevel receives its
	// items by push; gitalog has none to poll.
	Push             bool
	ExpiresAfterDays int

	// Source is the one source the extractor runs for (source:), "" for
	// every source.
	Source string

	ForEach string // the parent's external_kind, "" for none
	// DependsOn (gitalog's extension to OpsLevel's format) are the
	// parent's fields a for_each chain's result depends on: a parent
	// whose fields and request are unchanged since the last sync reuses
	// the stored result without a request.
	DependsOn []string
	Method    string // GET or POST
	URL       *template.Template
	Headers   []Header
	Body      *template.Template // nil: no body
	Cursor    *Cursor            // nil: one page per chain
	MaxPages  int                // 0: Options.MaxPages

	// origins are the scheme://host[:port] the url template writes; a
	// request may go nowhere else.
	origins     []string
	iteratorSrc string
	secrets     []string // the names its templates give the secret filter
}

// RunsFor reports whether the extractor runs for the named source.
func (e *Extractor) RunsFor(source string) bool { return e.Source == "" || e.Source == source }

// Header is a request header whose value is a template.
type Header struct {
	Name  string
	Value *template.Template
}

// Cursor is next_cursor: From is "header" or "payload".
type Cursor struct {
	From  string
	Value Program
}

// Label names the extractor in messages: extractor "sentry_issue" (#2).
func (e *Extractor) Label() string {
	return fmt.Sprintf("extractor %q (#%d)", e.Kind, e.Index+1)
}

var (
	extractorKeys = []string{"external_kind", "source", "iterator", "external_id", "exclude", "http_polling", "expires_after_days", "max_pages"}
	pollingKeys   = []string{"method", "url", "headers", "body", "for_each", "depends_on", "next_cursor", "rate_limit"}
	cursorKeys    = []string{"from", "value"}
	headerKeys    = []string{"name", "value"}
)

type parser struct {
	file     string
	sources  Sources
	compile  Compiler
	warnings []string
	// secretAt is where each secret name is first used, for messages.
	secretAt map[string]string
	secrets  []string
}

func (p *parser) pos(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", p.file, n.Line, n.Column)
}

func (p *parser) errf(n *yaml.Node, e *Extractor, key, format string, args ...any) error {
	where := p.pos(n) + ": "
	if e != nil {
		where += e.Label() + ": "
	}
	if key != "" {
		where += key + ": "
	}
	return errors.New(where + fmt.Sprintf(format, args...))
}

// Parse compiles the extractors of one file; each list is the value of an
// extractors: key (a YAML sequence), from one or several documents of it.
// Every jq expression and template is compiled, and every secret resolved
// through getenv, here.
func Parse(file string, compile Compiler, getenv func(string) string, lists ...*yaml.Node) (*Definition, error) {
	return ParseFor(file, compile, getenv, Sources{}, lists...)
}

// ParseFor is Parse for a file with sources: (see Sources). Every
// extractor is checked, those of other sources too; a bound definition
// then keeps, and resolves the secrets of, the extractors that run for
// its source.
func ParseFor(file string, compile Compiler, getenv func(string) string, sources Sources, lists ...*yaml.Node) (*Definition, error) {
	p := &parser{file: file, sources: sources, compile: compile, secretAt: map[string]string{}}
	d := &Definition{}
	byKind := map[string]*Extractor{}
	for _, list := range lists {
		if list == nil {
			continue
		}
		if list.Kind != yaml.SequenceNode {
			return nil, p.errf(list, nil, "extractors", "must be a list of extractors")
		}
		for _, n := range list.Content {
			e, err := p.extractor(len(d.Extractors), n)
			if err != nil {
				return nil, err
			}
			if prev := byKind[e.Kind]; prev != nil {
				return nil, p.errf(n, e, "external_kind", "%q is also the external_kind of %s at line %d; each extractor needs its own", e.Kind, prev.Label(), prev.Line)
			}
			byKind[e.Kind] = e
			d.Extractors = append(d.Extractors, e)
		}
	}
	for _, e := range d.Extractors {
		if e.ForEach == "" {
			continue
		}
		parent := byKind[e.ForEach]
		switch {
		case parent == nil:
			return nil, fmt.Errorf("%s:%d:%d: %s: http_polling.for_each: no extractor has external_kind %q", file, e.Line, e.Column, e.Label(), e.ForEach)
		case parent.Push:
			return nil, fmt.Errorf("%s:%d:%d: %s: http_polling.for_each: %s has no http_polling; its items are pushed, not polled, so there is nothing to fan out over", file, e.Line, e.Column, e.Label(), parent.Label())
		}
		// A cycle would fetch forever, or never start.
		chain := []string{e.Kind}
		for p := parent; p != nil; p = byKind[p.ForEach] {
			if slices.Contains(chain, p.Kind) {
				return nil, fmt.Errorf("%s:%d:%d: %s: http_polling.for_each: a cycle (%s -> %s)", file, e.Line, e.Column, e.Label(), strings.Join(chain, " -> "), p.Kind)
			}
			chain = append(chain, p.Kind)
			if p.ForEach == "" {
				break
			}
		}
		// A child runs for a source only with its parent's items.
		if parent.Source != "" && parent.Source != e.Source {
			runs := "every source"
			if e.Source != "" {
				runs = "source " + e.Source
			}
			return nil, fmt.Errorf("%s:%d:%d: %s: http_polling.for_each: %s runs for source %s only, and this one for %s, where it would have no parent items; give it source: %s", file, e.Line, e.Column, e.Label(), parent.Label(), parent.Source, runs, parent.Source)
		}
		if e.ForEach == SourceVar && sources.Names != nil {
			// The parent is seen under its name, beside source.
			return nil, fmt.Errorf("%s:%d:%d: %s: http_polling.for_each: a parent named %s would hide the source from the templates; rename its external_kind", file, e.Line, e.Column, e.Label(), SourceVar)
		}
	}
	for _, name := range p.secrets {
		vars := []string{template.EnvVar(name)}
		for _, src := range sources.Names {
			vars = append(vars, template.SourceEnvVar(name, src))
		}
		for _, v := range vars {
			d.SecretVars = append(d.SecretVars, v, v+"_FILE")
		}
	}
	secrets := p.secrets
	if b := sources.Bound; b != nil {
		d.Source = b
		var kept []*Extractor
		used := map[string]bool{}
		for _, e := range d.Extractors {
			if !e.RunsFor(b.Name) {
				d.Elsewhere = append(d.Elsewhere, e.Kind)
				continue
			}
			kept = append(kept, e)
			for _, n := range e.secrets {
				used[n] = true
			}
		}
		d.Extractors = kept
		// An extractor of another source must not fail this one for a
		// secret only it reads.
		secrets = slices.DeleteFunc(slices.Clone(secrets), func(n string) bool { return !used[n] })
	}
	bound := ""
	if sources.Bound != nil {
		bound = sources.Bound.Name
	}
	// A missing secret fails the polling (NewSource), not the load: a
	// config is also read to map a dump or replay one, offline.
	var errs []error
	var present []string
	for _, name := range secrets {
		if _, err := template.ResolveSourceSecrets([]string{name}, bound, getenv); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.secretAt[name], err))
			continue
		}
		present = append(present, name)
	}
	d.MissingSecrets = errors.Join(errs...)
	s, err := template.ResolveSourceSecrets(present, bound, getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	d.Secrets = s
	d.Warnings = p.warnings
	return d, nil
}

// pairs iterates a mapping node's key/value pairs, refusing keys not in
// allowed (a typo would otherwise be silently ignored) and repeated keys.
func (p *parser) pairs(n *yaml.Node, e *Extractor, prefix string, allowed []string, fn func(k, v *yaml.Node) error) error {
	var unknown []string
	var first *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(allowed, k.Value) {
			unknown = append(unknown, k.Value)
			if first == nil {
				first = k
			}
			continue
		}
		if seen[k.Value] {
			return p.errf(k, e, prefix+k.Value, "given twice")
		}
		seen[k.Value] = true
		if err := fn(k, v); err != nil {
			return err
		}
	}
	if len(unknown) > 0 {
		where := strings.TrimSuffix(prefix, ".")
		if where == "" {
			where = "an extractor"
		}
		return p.errf(first, e, "", "unknown key(s) %s in %s (known: %s)", quoteAll(unknown), where, strings.Join(allowed, ", "))
	}
	return nil
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func (p *parser) extractor(i int, n *yaml.Node) (*Extractor, error) {
	e := &Extractor{Index: i, File: p.file, Line: n.Line, Column: n.Column, Method: "GET"}
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, nil, "", "extractor #%d must be a mapping with external_kind, external_id and http_polling", i+1)
	}
	// The kind first, so every later message can name it.
	for j := 0; j+1 < len(n.Content); j += 2 {
		if k, v := n.Content[j], n.Content[j+1]; k.Value == "external_kind" {
			if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
				return nil, p.errf(v, nil, "", "extractor #%d: external_kind must be a name", i+1)
			}
			e.Kind = v.Value
		}
	}
	if e.Kind == "" {
		return nil, p.errf(n, nil, "", "extractor #%d: missing external_kind", i+1)
	}
	var polling, idNode *yaml.Node
	var expires *yaml.Node
	err := p.pairs(n, e, "", extractorKeys, func(k, v *yaml.Node) (err error) {
		switch k.Value {
		case "iterator":
			e.iteratorSrc = v.Value
			e.Iterator, err = p.jq(v, e, "iterator")
		case "external_id":
			idNode = v
			e.ExternalID, err = p.jq(v, e, "external_id")
		case "exclude":
			e.Exclude, err = p.jq(v, e, "exclude")
		case "http_polling":
			polling = v
		case "source":
			err = p.source(v, e)
		case "expires_after_days":
			expires = v
			e.ExpiresAfterDays, err = p.positive(v, e, "expires_after_days")
		case "max_pages":
			e.MaxPages, err = p.positive(v, e, "max_pages")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if idNode == nil {
		return nil, p.errf(n, e, "", "missing external_id (a jq expression giving each item's id in the source)")
	}
	if polling == nil {
		e.Push = true
		if e.MaxPages != 0 {
			p.warnings = append(p.warnings, p.pos(n)+": "+e.Label()+": max_pages is ignored: the extractor has no http_polling")
		}
		return e, nil
	}
	if expires != nil {
		return nil, p.errf(expires, e, "expires_after_days", "is for push extractors only; this one has http_polling, whose items are deleted when a sync no longer returns them")
	}
	return e, p.polling(polling, e)
}

// source reads the extractor's source:, one of the file's sources.
func (p *parser) source(v *yaml.Node, e *Extractor) error {
	if v.Kind != yaml.ScalarNode || v.Value == "" {
		return p.errf(v, e, "source", "must be the name of one of the file's sources")
	}
	names := p.sources.Names
	if names == nil {
		return p.errf(v, e, "source", "%q names a source, but the file has no sources: list", v.Value)
	}
	if !slices.Contains(names, v.Value) {
		return p.errf(v, e, "source", "no source is named %q (the sources are %s)", v.Value, strings.Join(names, ", "))
	}
	e.Source = v.Value
	return nil
}

func (p *parser) positive(v *yaml.Node, e *Extractor, key string) (int, error) {
	n, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil || n <= 0 {
		return 0, p.errf(v, e, key, "must be a positive whole number, not %q", v.Value)
	}
	return n, nil
}

func (p *parser) jq(v *yaml.Node, e *Extractor, key string) (Program, error) {
	if v.Kind != yaml.ScalarNode {
		return nil, p.errf(v, e, key, "must be a jq expression (a string)")
	}
	return p.compile(v, e.Label()+": "+key)
}

func (p *parser) scalar(v *yaml.Node, e *Extractor, key string) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", p.errf(v, e, key, "must be a string")
	}
	return v.Value, nil
}

func (p *parser) polling(n *yaml.Node, e *Extractor) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, e, "http_polling", "must be a mapping with url (and method, headers, body, for_each, next_cursor)")
	}
	var urlNode, dependsNode *yaml.Node
	err := p.pairs(n, e, "http_polling.", pollingKeys, func(k, v *yaml.Node) (err error) {
		key := "http_polling." + k.Value
		switch k.Value {
		case "method":
			var m string
			if m, err = p.scalar(v, e, key); err != nil {
				return err
			}
			e.Method = strings.ToUpper(strings.TrimSpace(m))
			if e.Method != "GET" && e.Method != "POST" {
				return p.errf(v, e, key, "must be GET or POST, not %q", m)
			}
		case "url":
			urlNode = v
			if e.URL, err = p.template(k, v, e, key); err != nil {
				return err
			}
			e.origins = literalOrigins(e.URL.Source())
		case "headers":
			return p.headers(v, e)
		case "body":
			e.Body, err = p.template(k, v, e, key)
		case "for_each":
			if e.ForEach, err = p.scalar(v, e, key); err == nil && strings.TrimSpace(e.ForEach) == "" {
				err = p.errf(v, e, key, "must name another extractor's external_kind")
			}
			if err == nil && e.ForEach == e.Kind {
				err = p.errf(v, e, key, "names the extractor itself")
			}
			if err == nil && e.ForEach == "cursor" {
				// The parent is seen under its name, beside cursor.
				err = p.errf(v, e, key, "a parent named cursor would hide the cursor from the templates; rename its external_kind")
			}
		case "depends_on":
			dependsNode = v
			e.DependsOn, err = p.fields(v, e, key)
		case "next_cursor":
			return p.cursor(v, e)
		case "rate_limit":
			p.warnings = append(p.warnings, fmt.Sprintf("%s: %s: %s is ignored: gitalog honours 429s, Retry-After and the rate-limit headers itself", p.pos(k), e.Label(), key))
		}
		return err
	})
	if err != nil {
		return err
	}
	if urlNode == nil {
		return p.errf(n, e, "http_polling", "missing url")
	}
	if dependsNode != nil && e.ForEach == "" {
		return p.errf(dependsNode, e, "http_polling.depends_on", "is only for an extractor with for_each: it names the parent's fields its requests depend on")
	}
	return nil
}

// fields is depends_on: a non-empty list of distinct field names.
func (p *parser) fields(v *yaml.Node, e *Extractor, key string) ([]string, error) {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		return nil, p.errf(v, e, key, "must be a list of the parent's field names, e.g. [lastSeen, count]")
	}
	var out []string
	for _, f := range v.Content {
		if f.Kind != yaml.ScalarNode || strings.TrimSpace(f.Value) == "" {
			return nil, p.errf(f, e, key, "must be a list of the parent's field names, e.g. [lastSeen, count]")
		}
		if slices.Contains(out, f.Value) {
			return nil, p.errf(f, e, key, "%q is given twice", f.Value)
		}
		out = append(out, f.Value)
	}
	return out, nil
}

func (p *parser) headers(n *yaml.Node, e *Extractor) error {
	if n.Kind != yaml.SequenceNode {
		return p.errf(n, e, "http_polling.headers", "must be a list of {name, value}")
	}
	for i, h := range n.Content {
		key := fmt.Sprintf("http_polling.headers[%d]", i)
		if h.Kind != yaml.MappingNode {
			return p.errf(h, e, key, "must be a mapping with name and value")
		}
		var hd Header
		var valueNode *yaml.Node
		err := p.pairs(h, e, key+".", headerKeys, func(k, v *yaml.Node) (err error) {
			switch k.Value {
			case "name":
				hd.Name, err = p.scalar(v, e, key+".name")
				if err == nil && !validHeaderName(hd.Name) {
					err = p.errf(v, e, key+".name", "%q is not an HTTP header name", hd.Name)
				}
			case "value":
				valueNode = v
				hd.Value, err = p.template(k, v, e, key+".value")
			}
			return err
		})
		if err != nil {
			return err
		}
		if hd.Name == "" || valueNode == nil {
			return p.errf(h, e, key, "needs a name and a value")
		}
		e.Headers = append(e.Headers, hd)
	}
	return nil
}

var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func validHeaderName(s string) bool { return headerName.MatchString(s) }

func (p *parser) cursor(n *yaml.Node, e *Extractor) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, e, "http_polling.next_cursor", "must be a mapping with from (header or payload) and value (jq)")
	}
	c := &Cursor{}
	var valueNode *yaml.Node
	err := p.pairs(n, e, "http_polling.next_cursor.", cursorKeys, func(k, v *yaml.Node) (err error) {
		switch k.Value {
		case "from":
			c.From, err = p.scalar(v, e, "http_polling.next_cursor.from")
			if err == nil && c.From != "header" && c.From != "payload" {
				err = p.errf(v, e, "http_polling.next_cursor.from", "must be header or payload, not %q", c.From)
			}
		case "value":
			valueNode = v
			c.Value, err = p.jq(v, e, "http_polling.next_cursor.value")
		}
		return err
	})
	if err != nil {
		return err
	}
	if c.From == "" || valueNode == nil {
		return p.errf(n, e, "http_polling.next_cursor", "needs from (header or payload) and value (jq)")
	}
	e.Cursor = c
	return nil
}

// template compiles a Liquid template in v and records the secrets it
// names; an error is placed at the line and column of the template's
// mistake in the file.
func (p *parser) template(k, v *yaml.Node, e *Extractor, key string) (*template.Template, error) {
	if v.Kind != yaml.ScalarNode {
		return nil, p.errf(v, e, key, "must be a Liquid template (a string)")
	}
	t, err := template.Compile(v.Value)
	if err != nil {
		var te *template.Error
		if !errors.As(err, &te) {
			return nil, p.errf(v, e, key, "%v", err)
		}
		line, col := v.Line, v.Column
		switch v.Style {
		case yaml.LiteralStyle, yaml.FoldedStyle:
			// The text starts on the next line, indented past its key.
			line += te.Line
			col = k.Column + 2 + max(te.Column-1, 0)
		case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
			line += te.Line - 1
			if te.Line == 1 {
				col += 1 + max(te.Column-1, 0)
			} else {
				col = max(te.Column, 1)
			}
		default:
			line += te.Line - 1
			if te.Line == 1 {
				col += max(te.Column-1, 0)
			} else {
				col = max(te.Column, 1)
			}
		}
		return nil, fmt.Errorf("%s:%d:%d: %s: %s: %s", p.file, line, col, e.Label(), key, te.Msg)
	}
	for _, name := range t.SecretNames() {
		if ev := template.EnvVar(name); secretenv.IsSentryToken(ev) {
			// The Sentry connection pins this token to its host (see
			// SENTRY_URL); a template could send it anywhere, as the
			// URL of a pull request's extractor would.
			return nil, fmt.Errorf("%s: %s: %s: the secret %q reads %s, the token of gitalog's own Sentry connection, which goes only to the host its settings pin; give the extractor a secret of its own (for example 'sentry_api_token', read from SENTRY_API_TOKEN)", p.pos(v), e.Label(), key, name, ev)
		}
		if !slices.Contains(e.secrets, name) {
			e.secrets = append(e.secrets, name)
		}
		if _, ok := p.secretAt[name]; !ok {
			p.secretAt[name] = fmt.Sprintf("%s: %s: %s", p.pos(v), e.Label(), key)
			p.secrets = append(p.secrets, name)
		}
	}
	return t, nil
}

// literal origins are the scheme://host[:port] written in a template's
// text (not in its {{ }} or {% %}).
var originRE = regexp.MustCompile(`(?i)\bhttps?://[^/?#\s"'{}<>]+`)

func literalOrigins(src string) []string {
	var out []string
	for _, m := range originRE.FindAllString(stripTags(src), -1) {
		u, err := url.Parse(m)
		if err != nil || u.Host == "" {
			continue
		}
		if o := origin(u); !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// stripTags blanks {{ ... }} and {% ... %}, so an origin is only one the
// template writes as text.
func stripTags(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 || i+1 >= len(s) || (s[i+1] != '{' && s[i+1] != '%') {
			if i < 0 || i+1 >= len(s) {
				b.WriteString(s)
				return b.String()
			}
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		end := "}}"
		if s[i+1] == '%' {
			end = "%}"
		}
		b.WriteString(s[:i])
		b.WriteByte(' ')
		j := strings.Index(s[i+2:], end)
		if j < 0 {
			return b.String()
		}
		s = s[i+2+j+2:]
	}
}

// origin is scheme://host:port, lower-cased, with the default port.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
