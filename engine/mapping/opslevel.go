package mapping

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/secretenv"
	"github.com/gitalog/gitalog/engine/sentry"
)

// OpsLevel's transform definition (a custom integration's `transforms:`)
// compiles into the same Resource a Port resource does: external_kind is
// the kind whose items it takes, opslevel_kind the blueprint,
// opslevel_identifier the identifier, properties the properties. What
// Port has no word for is kept in OpsLevel.

// Modes of on_component_not_found.
const (
	Create  = "create"
	Skip    = "skip"
	Suggest = "suggest"
)

// OpsLevel is what an OpsLevel transform adds to a resource.
type OpsLevel struct {
	// OnNotFound is create, skip or suggest: what becomes of an entity
	// whose identifier matches no component of its blueprint (by
	// identifier or alias). A match is updated in every mode.
	OnNotFound string
	// Aliases are jq expressions, each giving a string or a list of them.
	Aliases []*Program
	// Tags are default_properties.tags: jq expressions, each giving a
	// {key, value} object or a list of them; they become the property
	// "tags".
	Tags []*Program
	// At is where each key is in the file ("opslevel_kind",
	// "properties.<name>", "default_properties.tags"), for the checks
	// against the blueprints, which are read after the config.
	At map[string]Pos
}

// Pos is a place in the config file.
type Pos struct{ Line, Col int }

// TagsProperty is the property default_properties.tags fills.
const TagsProperty = "tags"

var (
	transformKeys = []string{"external_kind", "source", "opslevel_kind", "opslevel_identifier", "on_component_not_found", "properties", "default_properties", "aliases"}
	defaultKeys   = []string{"name", "tags"}
	notFoundModes = []string{Create, Skip, Suggest}
)

// errAt is a config error at a node's line and column: OpsLevel's keys
// are nested deep enough in one-line flow mappings that the line alone
// does not say which.
func (p *parser) errAt(n *yaml.Node, format string, args ...any) error {
	if n == nil {
		return p.errf(nil, format, args...)
	}
	return &configError{file: p.file, line: n.Line, col: n.Column, msg: fmt.Sprintf(format, args...)}
}

// transform compiles one entry of transforms: as the resource at index i.
func (p *parser) transform(i, n int, node *yaml.Node) (*Resource, error) {
	r := &Resource{Index: i, Line: node.Line, Params: map[string]any{}, ItemsToParseName: "item", OpsLevel: &OpsLevel{OnNotFound: Create, At: map[string]Pos{}}, Transform: n}
	if node.Kind != yaml.MappingNode {
		return nil, p.errAt(node, "transform #%d must be a mapping with external_kind, opslevel_kind and opslevel_identifier", n)
	}
	for k, v := range pairs(node) {
		if k.Value == "external_kind" {
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return nil, p.errAt(v, "transform #%d: external_kind must be the name of an extractor's external_kind", n)
			}
			r.Kind = v.Value
		}
	}
	if r.Kind == "" {
		return nil, p.errAt(node, "transform #%d: missing external_kind (the extractor whose items it takes)", n)
	}
	var identifier, kind *yaml.Node
	for k, v := range pairs(node) {
		var err error
		switch k.Value {
		case "external_kind":
		case "source":
			r.Source, err = p.sourceRef(v, r.Label()+": ")
			r.sourceNode = v
		case "opslevel_kind":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return nil, p.errAt(v, "%s: opslevel_kind must be a blueprint identifier", r.Label())
			}
			kind = v
			r.OpsLevel.At["opslevel_kind"] = Pos{v.Line, v.Column}
		case "opslevel_identifier":
			identifier = v
			r.Identifier, err = p.expr(v, r, "opslevel_identifier")
		case "on_component_not_found":
			if v.Kind != yaml.ScalarNode || !slices.Contains(notFoundModes, v.Value) {
				return nil, p.errAt(v, "%s: on_component_not_found must be create, skip or suggest, got %q", r.Label(), v.Value)
			}
			r.OpsLevel.OnNotFound = v.Value
		case "properties":
			r.Properties, err = p.opslevelProperties(v, r)
		case "default_properties":
			err = p.defaultProperties(v, r)
		case "aliases":
			r.OpsLevel.Aliases, err = p.exprList(v, r, "aliases")
		default:
			if s, ok := nearMiss(k.Value, transformKeys); ok {
				return nil, p.errAt(k, "%s: unknown key %q; did you mean %s?", r.Label(), k.Value, s)
			}
			return nil, p.errAt(k, "%s: unknown key %q (known: %v)", r.Label(), k.Value, transformKeys)
		}
		if err != nil {
			return nil, err
		}
	}
	if kind == nil {
		return nil, p.errAt(node, "%s: missing opslevel_kind (the blueprint of the entities it makes)", r.Label())
	}
	if identifier == nil {
		return nil, p.errAt(node, "%s: missing opslevel_identifier (jq giving each entity's identifier)", r.Label())
	}
	if r.Title == nil {
		// A component always has a name: OpsLevel's guides set it as the
		// property "name" (the Sentry guide maps .title there) when they
		// do not give default_properties.name.
		for _, np := range r.Properties {
			if np.Name == "name" {
				r.Title = np.Program
			}
		}
	}
	var err error
	// The blueprint is a constant: a jq string literal, so that the rest
	// of the engine sees a Port-shaped resource.
	if r.Blueprint, err = p.compileJQ(strconv.Quote(kind.Value), "opslevel_kind"); err != nil {
		return nil, p.errAt(kind, "%s: opslevel_kind: %v", r.Label(), err)
	}
	r.Query, _ = p.compileJQ("true", "selector.query")
	r.compileCombined(p.env, p.guard, p.source)
	return r, nil
}

// expr compiles a jq expression of a transform; its errors carry the
// node's line and column and the column inside the expression.
func (p *parser) expr(n *yaml.Node, r *Resource, field string) (*Program, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return nil, p.errAt(n, "%s: %s must be a jq expression (a string)", r.Label(), field)
	}
	if n.Value == "" {
		return nil, p.errAt(n, "%s: %s: the jq expression is empty", r.Label(), field)
	}
	prog, err := p.compileJQ(n.Value, field)
	if err != nil {
		return nil, p.errAt(n, "%s: %s: %v", r.Label(), field, err)
	}
	return prog, nil
}

// exprList compiles a jq expression, or a list of them.
func (p *parser) exprList(n *yaml.Node, r *Resource, field string) ([]*Program, error) {
	if n.Kind == yaml.ScalarNode {
		prog, err := p.expr(n, r, field)
		if err != nil {
			return nil, err
		}
		return []*Program{prog}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.errAt(n, "%s: %s must be a jq expression or a list of them", r.Label(), field)
	}
	var out []*Program
	for i, e := range n.Content {
		prog, err := p.expr(e, r, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			return nil, err
		}
		out = append(out, prog)
	}
	return out, nil
}

func (p *parser) opslevelProperties(n *yaml.Node, r *Resource) ([]NamedProgram, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errAt(n, "%s: properties must be a mapping of property: jq expression", r.Label())
	}
	var out []NamedProgram
	for k, v := range pairs(n) {
		r.OpsLevel.At["properties."+k.Value] = Pos{k.Line, k.Column}
		prog, err := p.expr(v, r, "properties."+k.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, NamedProgram{k.Value, prog})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (p *parser) defaultProperties(n *yaml.Node, r *Resource) error {
	if n.Kind != yaml.MappingNode {
		return p.errAt(n, "%s: default_properties must be a mapping (name, tags)", r.Label())
	}
	for k, v := range pairs(n) {
		var err error
		switch k.Value {
		case "name":
			r.Title, err = p.expr(v, r, "default_properties.name")
		case "tags":
			for _, np := range r.Properties {
				if np.Name == TagsProperty {
					return p.errAt(k, "%s: default_properties.tags and properties.tags both set the property %q", r.Label(), TagsProperty)
				}
			}
			r.OpsLevel.At["default_properties.tags"] = Pos{k.Line, k.Column}
			r.OpsLevel.Tags, err = p.exprList(v, r, "default_properties.tags")
		default:
			if s, ok := nearMiss(k.Value, defaultKeys); ok {
				return p.errAt(k, "%s: unknown key default_properties.%s; did you mean %s?", r.Label(), k.Value, s)
			}
			return p.errAt(k, "%s: unknown key default_properties.%s (known: name, tags)", r.Label(), k.Value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// opslevelEntity adds what an OpsLevel transform gives besides Port's
// fields: aliases and tags. Each value failing is an issue that nulls it,
// as a Port field's does.
func (r *Resource) opslevelFields(eval func(*Program) any) (aliases []string, tags []any, issues []Issue) {
	for _, p := range r.OpsLevel.Aliases {
		v := eval(p)
		switch v := v.(type) {
		case nil:
		case string:
			if v != "" {
				aliases = append(aliases, v)
			}
		case []any:
			for _, a := range v {
				s, ok := a.(string)
				if !ok {
					issues = append(issues, Issue{Resource: r, Field: p.Field, Msg: "an alias must be a string, got " + show(a) + " (left out)"})
					continue
				}
				if s != "" {
					aliases = append(aliases, s)
				}
			}
		default:
			issues = append(issues, Issue{Resource: r, Field: p.Field, Msg: "must give a string or a list of strings, got " + show(v) + " (left out)"})
		}
	}
	slices.Sort(aliases)
	aliases = slices.Compact(aliases)
	for _, p := range r.OpsLevel.Tags {
		v := eval(p)
		list, isList := v.([]any)
		if !isList {
			list = []any{v}
		}
		for _, t := range list {
			if t == nil {
				continue
			}
			m, ok := t.(map[string]any)
			k, kok := m["key"].(string)
			if !ok || !kok || k == "" || m["value"] == nil {
				issues = append(issues, Issue{Resource: r, Field: p.Field, Msg: "a tag must be {\"key\": string, \"value\": ...}, got " + show(t) + " (left out)"})
				continue
			}
			val := m["value"]
			if _, isStr := val.(string); !isStr {
				val = show(val)
			}
			tags = append(tags, map[string]any{"key": k, "value": val})
		}
	}
	return aliases, tags, issues
}

// allPairs iterates the top-level key/value pairs of every document.
func allPairs(roots []*yaml.Node) func(func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		for _, root := range roots {
			for k, v := range pairs(root) {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}

// checkSourceKind refuses a resource of one source whose items come from
// an extractor of another: it would never run.
func (p *parser) checkSourceKind(cfg *Config, r *Resource) error {
	if r.Source == "" || cfg.Extract == nil {
		return nil
	}
	e := cfg.Extract.Extractor(r.Kind)
	if e == nil || e.Source == "" || e.Source == r.Source {
		return nil
	}
	return p.errAt(r.sourceNode, "%s: source: %s, but its items come from %s, which runs for source %s only", r.Label(), r.Source, e.Label(), e.Source)
}

// jqCompiler compiles the jq of other packages' sections (extractors,
// notify) as the mappings' is: with the same environment and bounds.
func (p *parser) jqCompiler() extract.Compiler {
	return func(n *yaml.Node, field string) (extract.Program, error) {
		if n.Kind != yaml.ScalarNode || n.Value == "" {
			return nil, p.errAt(n, "%s: must be a jq expression (a string)", field)
		}
		prog, err := p.compileJQ(n.Value, field)
		if err != nil {
			return nil, p.errAt(n, "%s: %v", field, err)
		}
		return prog, nil
	}
}

// opslevel compiles OpsLevel's extract and transform definitions into
// cfg: the transforms become resources after Port's, in file order.
func (p *parser) opslevel(cfg *Config, extractors, transforms []*yaml.Node, bound *Source) error {
	kinds := map[string]bool{}
	if len(extractors) > 0 {
		srcs := extract.Sources{Names: p.sourceNames}
		if bound != nil {
			// Templates see where the source is as a sync will use it.
			srcs.Bound = &extract.SourceInfo{
				Name: bound.Name,
				URL:  cmp.Or(os.Getenv(secretenv.SourceVar("SENTRY_URL", bound.Name)), bound.URL, sentry.DefaultURL),
				Org:  cmp.Or(os.Getenv(secretenv.SourceVar("SENTRY_ORG", bound.Name)), bound.Org),
			}
		}
		d, err := extract.ParseFor(p.file, p.jqCompiler(), os.Getenv, srcs, extractors...)
		if err != nil {
			return err
		}
		for _, k := range d.Elsewhere {
			kinds[k] = true
		}
		// A secret a template reads must not be readable by jq too: it
		// would be written into the catalog.
		for _, v := range slices.Concat(d.Secrets.Vars(), d.SecretVars) {
			if slices.Contains(cfg.MappingEnv, v) {
				return p.errf(nil, "mappingEnv lists %s, which a secret filter reads; a mapping must not read it (it would be written into the catalog)", v)
			}
		}
		cfg.Extract = d
		p.warnings = append(p.warnings, d.Warnings...)
		for _, e := range d.Extractors {
			kinds[e.Kind] = true
			// A Port resource of a Sentry kind reads Sentry's items; an
			// extractor of the same name would quietly take its place,
			// and the entities of Sentry's items would be deleted.
			for _, r := range cfg.Resources {
				if r.OpsLevel == nil && r.Kind == e.Kind && sentry.Kinds[e.Kind] != nil {
					return &configError{file: p.file, line: e.Line, col: e.Column, msg: fmt.Sprintf("%s: external_kind %q is also the Sentry kind %s (line %d) maps; rename the extractor", e.Label(), e.Kind, r.Label(), r.Line)}
				}
			}
		}
	}
	n := 0
	for _, list := range transforms {
		for _, tn := range list.Content {
			n++
			r, err := p.transform(len(cfg.Resources), n, tn)
			if err != nil {
				return err
			}
			if !kinds[r.Kind] {
				var names []string
				for k := range kinds {
					names = append(names, k)
				}
				sort.Strings(names)
				hint := "no extractor is defined"
				if len(names) > 0 {
					hint = fmt.Sprintf("the extractors are %v", names)
					if s, ok := nearMiss(r.Kind, names); ok {
						hint = "did you mean " + s + "?"
					}
				}
				return p.errAt(tn, "%s: no extractor has external_kind %q (%s)", r.Label(), r.Kind, hint)
			}
			if err := p.checkSourceKind(cfg, r); err != nil {
				return err
			}
			cfg.Resources = append(cfg.Resources, r)
		}
	}
	return nil
}
