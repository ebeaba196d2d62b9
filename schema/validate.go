package schema

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Problem is one way in which an entity does not fit its blueprint.
type Problem struct {
	Blueprint  string
	Identifier string
	// Pointer is a JSON pointer into the entity's file, such as
	// /properties/status or /relations/members/2.
	Pointer string
	Reason  string
	// Warning marks what Port would accept, such as a relation to an entity
	// that does not exist when the relation is not required.
	Warning bool
}

// String leaves Warning out, so that callers can prefix it in their own
// style without doubling it.
func (p Problem) String() string {
	return fmt.Sprintf("%s %s: %s: %s", p.Blueprint, strconv.Quote(p.Identifier), p.Pointer, p.Reason)
}

type problems struct {
	bp, id string
	list   []Problem
}

func (ps *problems) add(ptr, reason string, warning bool) {
	ps.list = append(ps.list, Problem{
		Blueprint:  ps.bp,
		Identifier: ps.id,
		Pointer:    ptr,
		Reason:     reason,
		Warning:    warning,
	})
}

// Validate checks an entity against its blueprint as Port would on ingest:
// identifier, title, properties, and the shape of relations. Whether the
// related entities exist is CheckRelations' job. It returns nil for a valid
// entity.
func (s *Set) Validate(e *catalog.Entity) []Problem {
	ps := problems{bp: e.Blueprint, id: e.Identifier}
	if e.Identifier == "" {
		ps.add("/identifier", "the identifier is empty", false)
	}
	switch e.Title.(type) {
	case nil, string:
	default:
		ps.add("/title", "expected a string or null, got "+describe(e.Title), false)
	}
	// Icon and team are written as they come; a title, a relation or a
	// property the blueprint does not define that nests is refused anyway.
	if catalog.TooDeep(e.Icon) {
		ps.add("/icon", tooDeep, false)
	}
	if catalog.TooDeep(e.Team) {
		ps.add("/team", tooDeep, false)
	}
	checkAliases(&ps, e.Aliases)
	c := s.bps[e.Blueprint]
	if c == nil {
		if e.Blueprint == "" {
			ps.add("/blueprint", "the blueprint is empty", false)
		} else {
			ps.add("/blueprint", fmt.Sprintf("unknown blueprint %q", e.Blueprint), false)
		}
		return ps.list
	}
	c.checkProperties(&ps, e.Properties)
	c.checkRelationShapes(&ps, e.Relations)
	return ps.list
}

// checkAliases: an alias is a name to find the entity by, so it must be
// one (not empty) and say something the others do not.
func checkAliases(ps *problems, aliases []string) {
	for i, a := range aliases {
		ptr := "/aliases/" + strconv.Itoa(i)
		if a == "" {
			ps.add(ptr, "the alias is empty", false)
			continue
		}
		for j, b := range aliases[:i] {
			if a == b {
				ps.add(ptr, fmt.Sprintf("the alias %s is also /aliases/%d", strconv.Quote(a), j), false)
				break
			}
		}
	}
}

// tooDeep is the reason for a value nested deeper than
// catalog.MaxValueDepth: its file would be as large as its indentation.
var tooDeep = fmt.Sprintf("nested deeper than %d levels of arrays and objects", catalog.MaxValueDepth)

func (c *compiled) checkProperties(ps *problems, props map[string]any) {
	known := 0
	for i := range c.props {
		p := &c.props[i]
		v, ok := props[p.name]
		if ok {
			known++
			if catalog.TooDeep(v) {
				// Before any check that walks every level of it.
				ps.add(p.pointer, tooDeep, false)
				continue
			}
			v = normalize(v)
		}
		if v == nil {
			if p.required {
				if ok {
					ps.add(p.pointer, "required property is null", false)
				} else {
					ps.add(p.pointer, "required property is missing", false)
				}
			}
			continue
		}
		if p.accept != nil && p.accept(v) {
			continue
		}
		if err := p.schema.Validate(v); err != nil {
			c.report(ps, p.pointer, v, err)
		}
	}
	// Only when the counts differ is there a key that needs looking at,
	// which keeps the common case to one pass over the blueprint.
	if known == len(props) {
		return
	}
	for _, name := range sortedKeys(props) {
		if _, ok := c.byName[name]; ok || props[name] == nil {
			continue
		}
		ps.add("/properties/"+escapePointer(name),
			fmt.Sprintf("property %q is not defined in blueprint %s%s", name, c.bp.Identifier, listHint("properties", c.propNames())), false)
	}
}

func (c *compiled) checkRelationShapes(ps *problems, rels map[string]any) {
	known := 0
	for i := range c.rels {
		r := &c.rels[i]
		v, ok := rels[r.name]
		if !ok {
			continue
		}
		known++
		if v == nil {
			continue
		}
		if !r.Many {
			switch id := v.(type) {
			case string:
				if id == "" {
					ps.add(r.pointer, "the related identifier is empty", false)
				}
			default:
				ps.add(r.pointer, "expected an identifier (a string) or null, got "+describe(v), false)
			}
			continue
		}
		switch ids := v.(type) {
		case []any:
			for j, x := range ids {
				switch id := x.(type) {
				case string:
					if id == "" {
						ps.add(r.pointer+"/"+strconv.Itoa(j), "the related identifier is empty", false)
					}
				default:
					ps.add(r.pointer+"/"+strconv.Itoa(j), "expected an identifier (a string), got "+describe(x), false)
				}
			}
		case []string:
			for j, id := range ids {
				if id == "" {
					ps.add(r.pointer+"/"+strconv.Itoa(j), "the related identifier is empty", false)
				}
			}
		default:
			ps.add(r.pointer, "relation has many: true, so expected an array of identifiers or null, got "+describe(v), false)
		}
	}
	if known == len(rels) {
		return
	}
	for _, name := range sortedKeys(rels) {
		if _, ok := c.relByName[name]; ok || rels[name] == nil {
			continue
		}
		ps.add("/relations/"+escapePointer(name),
			fmt.Sprintf("relation %q is not defined in blueprint %s%s", name, c.bp.Identifier, listHint("relations", c.relNamesSorted())), false)
	}
}

// CheckRelations checks that related entities exist, asking exists about
// each identifier an entity's relations name. A missing target is an error
// for a required relation and a warning otherwise, since Port accepts a
// dangling optional relation. A required relation that is unset is an
// error. Malformed relation values are left to Validate.
func (s *Set) CheckRelations(e *catalog.Entity, exists func(blueprint, identifier string) bool) []Problem {
	c := RelationChecker{s: s, exists: exists}
	return c.Check(e.Blueprint, e.Identifier, func(name string) any { return e.Relations[name] })
}

// RelationChecker runs CheckRelations over many entities, asking about
// each target once and sharing the text that says it is missing: 100k
// issues relate to a few hundred projects. One per goroutine.
type RelationChecker struct {
	s      *Set
	exists func(blueprint, identifier string) bool
	seen   map[[2]string]string // target -> "" when it exists, else why not
}

// NewRelationChecker returns a checker that asks exists about targets.
func (s *Set) NewRelationChecker(exists func(blueprint, identifier string) bool) *RelationChecker {
	return &RelationChecker{s: s, exists: exists, seen: map[[2]string]string{}}
}

// Check is CheckRelations for the entity blueprint/identifier whose
// relation values rel returns (nil when unset).
func (rc *RelationChecker) Check(blueprint, identifier string, rel func(name string) any) []Problem {
	c := rc.s.bps[blueprint]
	if c == nil {
		return nil
	}
	ps := problems{bp: blueprint, id: identifier}
	for i := range c.rels {
		r := &c.rels[i]
		set := false
		switch ids := rel(r.name).(type) {
		case nil:
		case string:
			set = ids != ""
			if set && !r.Many {
				if why := rc.missing(r.Target, ids); why != "" {
					ps.add(r.pointer, why, !r.Required)
				}
			}
		case []any:
			for j, x := range ids {
				if id, ok := x.(string); ok && id != "" {
					set = true
					if !r.Many {
						continue
					}
					if why := rc.missing(r.Target, id); why != "" {
						ps.add(r.pointer+"/"+strconv.Itoa(j), why, !r.Required)
					}
				}
			}
		case []string:
			for j, id := range ids {
				if id != "" {
					set = true
					if !r.Many {
						continue
					}
					if why := rc.missing(r.Target, id); why != "" {
						ps.add(r.pointer+"/"+strconv.Itoa(j), why, !r.Required)
					}
				}
			}
		default:
			// Malformed values are Validate's to report; saying "not set"
			// as well would only mislead.
			set = true
		}
		if !set && r.Required {
			ps.add(r.pointer, "required relation is not set", false)
		}
	}
	return ps.list
}

// missing says why target/id is not there, or "" when it is.
func (rc *RelationChecker) missing(target, id string) string {
	k := [2]string{target, id}
	if why, ok := rc.seen[k]; ok {
		return why
	}
	why := ""
	if !rc.exists(target, id) {
		why = missing(target, id)
	}
	if rc.seen != nil {
		rc.seen[k] = why
	}
	return why
}

func missing(target, id string) string {
	return fmt.Sprintf("no %s entity %q in the catalog", target, id)
}

// report turns the validator's error tree into one problem per leaf: the
// inner nodes only say that a subschema failed, the leaves say why.
func (c *compiled) report(ps *problems, base string, v any, err error) {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		// The validator knows only JSON's Go types; anything else is a bug
		// in whatever built the entity, but should still be reported.
		ps.add(base, "unsupported value: "+strings.TrimPrefix(err.Error(), "jsonschema: "), false)
		return
	}
	for _, leaf := range leaves(ve, nil) {
		segs := splitPointer(leaf.InstanceLocation)
		ptr := base
		for _, s := range segs {
			ptr += "/" + escapePointer(s)
		}
		at, _ := lookup(v, segs)
		ps.add(ptr, c.reason(leaf, at), false)
	}
}

func (c *compiled) reason(leaf *jsonschema.ValidationError, v any) string {
	kw := leaf.KeywordLocation[strings.LastIndexByte(leaf.KeywordLocation, '/')+1:]
	var schemaAt any
	if _, frag, ok := strings.Cut(leaf.AbsoluteKeywordLocation, "#"); ok {
		schemaAt, _ = lookup(c.doc, splitPointer(frag))
	}
	switch kw {
	case "type":
		want, _, _ := strings.Cut(leaf.Message, ", but got")
		return want + ", got " + describe(v)
	case "enum":
		if list, ok := schemaAt.([]any); ok {
			return fmt.Sprintf("%s is not one of %s", display(v), displayList(list))
		}
	case "const":
		return fmt.Sprintf("%s is not %s", display(v), display(schemaAt))
	case "format":
		if f, ok := schemaAt.(string); ok {
			return fmt.Sprintf("%s is not a valid %s%s", display(v), f, formatHints[f])
		}
	}
	return leaf.Message
}

var formatHints = map[string]string{
	"date-time": " (RFC 3339, such as 2023-03-31T06:18:37Z)",
	"url":       " (an absolute URL with a scheme and a host)",
	"email":     " address",
	"ipv4":      " address",
	"ipv6":      " address",
}

func leaves(ve *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return append(out, ve)
	}
	for _, c := range ve.Causes {
		out = leaves(c, out)
	}
	return out
}

func listHint(kind string, names []string) string {
	if len(names) == 0 {
		return ", which has no " + kind
	}
	if len(names) > 12 {
		names = append(names[:12:12], "...")
	}
	return " (it has " + strings.Join(names, ", ") + ")"
}
