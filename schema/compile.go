package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Set is a compiled set of blueprints. It is read-only after Compile and so
// safe for concurrent use.
type Set struct {
	bps      map[string]*compiled
	ids      []string
	warnings []string
}

type compiled struct {
	bp *Blueprint
	// props and rels are sorted so that problems come out in the same
	// order every run without sorting per entity.
	props     []compiledProp
	byName    map[string]*compiledProp
	rels      []compiledRel
	relByName map[string]*compiledRel
	// doc is the compiled document, decoded, so that messages can quote the
	// enum or format a value failed without keeping strings for every case.
	doc any
}

type compiledRel struct {
	Relation
	name    string
	pointer string
}

type compiledProp struct {
	name     string
	schema   *jsonschema.Schema
	accept   accepter // nil when only the validator can tell
	pointer  string   // "/properties/<name>", escaped, built once
	required bool
}

// portOnlyKeys are keys Port allows in a property schema that are not JSON
// Schema, or are JSON Schema annotations whose Port values need not satisfy
// the meta-schema. Dropping them keeps a Port UI detail from failing Compile.
var portOnlyKeys = []string{
	"title", "description", "icon", "enumColors", "spec", "specAuthentication",
	"visible", "default", "examples", "readOnly", "writeOnly", "deprecated",
}

// portFormats are Port's formats beyond JSON Schema's (ipv4, ipv6, email
// and date-time come with the validator). Those that only tell
// Port's UI how to show a string accept any value, as Port does.
var portFormats = map[string]func(any) bool{
	"url":      isPortURL,
	"yaml":     acceptAny,
	"markdown": acceptAny,
	"user":     acceptAny,
	"team":     acceptAny,
	"timer":    acceptAny,
	"proto":    acceptAny,
}

func acceptAny(any) bool { return true }

// isPortURL is Port's "url": an absolute URL with a scheme and a host, which
// is stricter than JSON Schema's "uri" (that accepts "mailto:x").
func isPortURL(v any) bool {
	s, ok := v.(string)
	if !ok {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

// Compile checks the blueprints and compiles their property schemas. It
// reports every problem it finds, one per line, rather than only the first,
// so that a user fixes a blueprint file in one go.
func Compile(bps []*Blueprint) (*Set, error) {
	s := &Set{bps: make(map[string]*compiled, len(bps))}
	var errs []error
	for _, bp := range bps {
		if bp.Identifier == "" {
			errs = append(errs, fmt.Errorf("%s: blueprint with an empty identifier", source(bp)))
			continue
		}
		if prev, ok := s.bps[bp.Identifier]; ok {
			errs = append(errs, fmt.Errorf("blueprint %q is defined twice: in %s and in %s",
				bp.Identifier, source(prev.bp), source(bp)))
			continue
		}
		c, cerrs := compileBlueprint(bp)
		errs = append(errs, cerrs...)
		s.bps[bp.Identifier] = c
		s.ids = append(s.ids, bp.Identifier)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.Sort(s.ids)
	for _, id := range s.ids {
		c := s.bps[id]
		for _, r := range c.rels {
			target := s.bps[r.Target]
			if target == nil {
				s.warnings = append(s.warnings, fmt.Sprintf("%s: blueprint %q: relation %q targets blueprint %q, which is not among the blueprints",
					source(c.bp), id, r.name, r.Target))
			}
		}
		targets := map[string]bool{}
		for _, r := range c.rels {
			if t := s.bps[r.Target]; t != nil && len(r.Rules) > 0 && !targets[r.Target] {
				targets[r.Target] = true
				errs = append(errs, checkTargetRules(c, t)...)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func source(bp *Blueprint) string {
	if bp.Source == "" {
		return "(unnamed source)"
	}
	return bp.Source
}

func compileBlueprint(bp *Blueprint) (*compiled, []error) {
	var errs []error
	where := fmt.Sprintf("%s: blueprint %q", source(bp), bp.Identifier)
	c := &compiled{
		bp:        bp,
		byName:    make(map[string]*compiledProp, len(bp.Properties)),
		relByName: make(map[string]*compiledRel, len(bp.Relations)),
	}

	for name, rel := range bp.Relations {
		if rel.Target == "" {
			errs = append(errs, fmt.Errorf("%s: relation %q has no target", where, name))
		}
		c.rels = append(c.rels, compiledRel{Relation: rel, name: name, pointer: "/relations/" + escapePointer(name)})
	}
	slices.SortFunc(c.rels, func(a, b compiledRel) int { return strings.Compare(a.name, b.name) })
	for i := range c.rels {
		c.relByName[c.rels[i].name] = &c.rels[i]
	}

	names := make([]string, 0, len(bp.Properties))
	for name := range bp.Properties {
		names = append(names, name)
	}
	slices.Sort(names)

	// One document per blueprint, so each blueprint is compiled once and its
	// properties become subschemas that Validate can use one by one, without
	// copying an entity's properties to drop its nulls.
	props := make(map[string]any, len(names))
	for _, name := range names {
		ps, err := decodeProperty(bp.Properties[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: property %q: %v", where, name, err))
			continue
		}
		props[name] = ps
	}
	required := map[string]bool{}
	for _, r := range bp.Required {
		if _, ok := bp.Properties[r]; !ok {
			errs = append(errs, fmt.Errorf("%s: required property %q is not among its properties", where, r))
			continue
		}
		required[r] = true
	}
	if len(errs) > 0 {
		return c, errs
	}
	c.doc = map[string]any{"type": "object", "properties": props}

	docURL := "file:///blueprints/" + url.PathEscape(bp.Identifier) + ".json"
	root, err := compileDoc(docURL, c.doc)
	if err != nil {
		return c, []error{compileError(where, names, c.doc, err)}
	}
	for _, name := range names {
		c.props = append(c.props, compiledProp{
			name:     name,
			schema:   root.Properties[name],
			accept:   fastPath(props[name].(map[string]any)),
			pointer:  "/properties/" + escapePointer(name),
			required: required[name],
		})
	}
	for i := range c.props {
		c.byName[c.props[i].name] = &c.props[i]
	}
	return c, nil
}

// decodeProperty returns a property's schema without Port-only keys, with
// numbers kept exact.
func decodeProperty(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema must be an object, not %s", jsonTypeOf(v))
	}
	stripPortKeys(m)
	acceptBilling(m)
	return m, nil
}

// acceptBilling adds "billing" to an enum that spells it "biling": Port's
// shipped sentryUser blueprint does, for Sentry's billing role, so a real
// organization with a billing member would fail every sync on a file the
// user brought unchanged.
func acceptBilling(m map[string]any) {
	enum, ok := m["enum"].([]any)
	if !ok || !slices.Contains(enum, any("biling")) || slices.Contains(enum, any("billing")) {
		return
	}
	m["enum"] = append(slices.Clip(enum), "billing")
}

// stripPortKeys walks into items too, since Port puts enumColors and titles
// on the items of array properties as well.
func stripPortKeys(m map[string]any) {
	for _, k := range portOnlyKeys {
		delete(m, k)
	}
	if items, ok := m["items"].(map[string]any); ok {
		stripPortKeys(items)
	}
}

func compileDoc(docURL string, doc any) (*jsonschema.Schema, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	// Draft 7 is what Port's validator speaks; AssertFormat makes formats
	// checks rather than annotations whatever the draft.
	c.Draft = jsonschema.Draft7
	c.AssertFormat = true
	for name, f := range portFormats {
		c.Formats[name] = f
	}
	// Blueprints are data from a repository; a $ref must not make gitalog
	// read files or fetch URLs.
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("%s: external references are not supported", s)
	}
	if err := c.AddResource(docURL, bytes.NewReader(data)); err != nil {
		return nil, err
	}
	return c.Compile(docURL)
}

// compileError names the property at fault. The meta-schema's error says
// where in the document it failed; other errors (a bad regex, a bad $ref)
// are found by compiling the properties one by one.
func compileError(where string, names []string, doc any, err error) error {
	var se *jsonschema.SchemaError
	var ve *jsonschema.ValidationError
	if errors.As(err, &se) && errors.As(se.Err, &ve) {
		byProp := map[string][]string{}
		var order []string
		for _, leaf := range leaves(ve, nil) {
			segs := splitPointer(leaf.InstanceLocation)
			if len(segs) < 2 || segs[0] != "properties" {
				continue
			}
			name := segs[1]
			at := strings.Join(segs[2:], "/")
			v, _ := lookup(doc, segs)
			msg := metaReason(leaf, v)
			if at != "" {
				msg = at + ": " + msg
			}
			if _, ok := byProp[name]; !ok {
				order = append(order, name)
			}
			if !slices.Contains(byProp[name], msg) {
				byProp[name] = append(byProp[name], msg)
			}
		}
		if len(order) > 0 {
			var errs []error
			for _, name := range order {
				errs = append(errs, fmt.Errorf("%s: property %q: not a valid JSON Schema: %s",
					where, name, strings.Join(byProp[name], "; or ")))
			}
			return errors.Join(errs...)
		}
	}
	props := doc.(map[string]any)["properties"].(map[string]any)
	for _, name := range names {
		one := map[string]any{"type": "object", "properties": map[string]any{name: props[name]}}
		if _, perr := compileDoc("file:///property.json", one); perr != nil {
			return fmt.Errorf("%s: property %q: not a valid JSON Schema: %s", where, name, cleanSchemaError(perr))
		}
	}
	return fmt.Errorf("%s: %s", where, cleanSchemaError(err))
}

// metaReason words a meta-schema failure in terms of the keyword's value.
func metaReason(leaf *jsonschema.ValidationError, v any) string {
	if strings.HasSuffix(leaf.KeywordLocation, "/enum") {
		if _, rest, ok := strings.Cut(leaf.Message, "value must be one of "); ok {
			return fmt.Sprintf("%s is not one of %s", display(v), rest)
		}
	}
	if strings.HasSuffix(leaf.KeywordLocation, "/type") {
		return fmt.Sprintf("%s: %s", display(v), strings.Replace(leaf.Message, ", but got", ", got", 1))
	}
	return leaf.Message
}

func cleanSchemaError(err error) string {
	msg := err.Error()
	// The compiler's messages start with the document's made-up URL, which
	// means nothing to a user.
	if i := strings.Index(msg, "compilation failed: "); i >= 0 {
		msg = msg[i+len("compilation failed: "):]
	}
	return strings.TrimPrefix(msg, "jsonschema: ")
}

// Warnings lists what Port would accept but the user may not mean, such as a
// relation to a blueprint that is not in the set.
func (s *Set) Warnings() []string { return slices.Clone(s.warnings) }

// Blueprint returns the blueprint with the given identifier.
func (s *Set) Blueprint(id string) (*Blueprint, bool) {
	c, ok := s.bps[id]
	if !ok {
		return nil, false
	}
	return c.bp, true
}

// IDs returns the identifiers of the blueprints, sorted.
func (s *Set) IDs() []string { return slices.Clone(s.ids) }

// propNames and relNamesSorted are for messages only; both lists are
// sorted already.
func (c *compiled) propNames() []string {
	names := make([]string, len(c.props))
	for i, p := range c.props {
		names[i] = p.name
	}
	return names
}

func (c *compiled) relNamesSorted() []string {
	names := make([]string, len(c.rels))
	for i, r := range c.rels {
		names[i] = r.name
	}
	return names
}
