package mapping

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/notify"
	"github.com/gitalog/gitalog/engine/secretenv"
	"github.com/gitalog/gitalog/engine/sentry"
	"gopkg.in/yaml.v3"
)

// Config is a loaded, compiled gitalog.yaml (or a Port port-app-config.yaml).
type Config struct {
	File string
	// Digest is the SHA-256 of the file's bytes, and of the name of the
	// source it is bound to, if any: what a cache of mapping results is
	// keyed on, and $source is part of what a mapping gives.
	Digest [32]byte
	Sentry SentrySettings
	// Sources are the sources: as written, nil when the file has none.
	Sources []Source
	// Source is the name of the source the config is bound to
	// (ForSource), "" for none: its programs see it as $source (null
	// when unbound), and Resources and Extract hold what runs for it.
	Source string
	// data are the file's bytes, which ForSource compiles again.
	data []byte
	// Port's top-level keys. gitalog honours entityDeletionThreshold; the
	// other two are accepted so a Port user's file runs unchanged, with a
	// warning when true, since their Port behaviour is not done here.
	DeleteDependentEntities      *bool
	CreateMissingRelatedEntities *bool
	EntityDeletionThreshold      *float64
	// MappingEnv are the environment variables jq's env and $ENV show
	// besides DefaultEnv (config: mappingEnv).
	MappingEnv []string
	// env is what env and $ENV show, read once when the file is: gojq
	// compiles env into each program as a constant.
	env envVars
	// Limits bound each jq evaluation (config: jqTimeout, jqMaxSteps,
	// jqMaxMemory).
	Limits    Limits
	Resources []*Resource
	// Extract is OpsLevel's extract definition (extractors:), nil when
	// the file has none.
	Extract *extract.Definition
	// Notify is the notify: section (the sinks that hear of each commit's
	// changes), nil when the file has none.
	Notify *notify.Config
	// Warnings are non-fatal findings such as unknown keys, with file:line.
	Warnings []string
}

// Source is one entry of `sources:`: a Sentry organization synced beside
// the others. URL and Org are as written (URL "" for the default); its
// token is never here (sentry.ResolveSourceSettings).
type Source struct {
	Name, URL, Org string
	Line           int
}

// SentrySettings is the optional `sentry:` section. The token never lives
// here: a config file is committed, a token must not be.
type SentrySettings struct {
	URL         string
	Org         string
	Concurrency int
	// Bounds against a misbehaving server; zero means the client's default.
	MaxPages         int           // pages of one list
	MaxResponseBytes int64         // one response's body, decompressed
	RequestTimeout   time.Duration // one request, its body included
	// FullRefresh is how often a sync asks for every fan-out child again
	// instead of reusing unchanged parents' results (0: the default, a
	// day).
	FullRefresh time.Duration
}

// Resource is one entry of `resources:`.
type Resource struct {
	// Index is the 0-based position in resources (then transforms): a
	// config bound to a source keeps each resource's, with gaps where
	// others' were.
	Index int
	Line  int
	Kind  string
	// Source is the one source the resource runs for (source:), "" for
	// every source.
	Source     string
	sourceNode *yaml.Node
	// Query is selector.query, a jq boolean filter.
	Query *Program
	// Params are the selector's other keys (tag, includeMembers, search,
	// statsPeriod, ...): they tell the source what to fetch.
	Params map[string]any
	// ItemsToParse, when set, maps each element of the array it yields,
	// merged into the item under ItemsToParseName (Port's default "item").
	ItemsToParse     *Program
	ItemsToParseName string
	// KeepParsedArray is Port's itemsToParseTopLevelTransform: false.
	KeepParsedArray bool
	Identifier      *Program
	Title           *Program
	Blueprint       *Program
	Icon            *Program
	Team            *Program
	Properties      []NamedProgram
	Relations       []Relation
	// OpsLevel is set for a transform of OpsLevel's transform definition;
	// Transform is then its 1-based number among the transforms.
	OpsLevel  *OpsLevel
	Transform int

	combined *combined
}

// NamedProgram is a property mapping.
type NamedProgram struct {
	Name string
	*Program
}

// Relation is a relation mapping: a jq expression, or Port's search form.
type Relation struct {
	Name   string
	Expr   *Program    // set for the plain form
	Search *SearchSpec // set for the search form
}

// Label names a resource in messages.
func (r *Resource) Label() string {
	if r.OpsLevel != nil {
		return fmt.Sprintf("transform #%d (external_kind %q)", r.Transform, r.Kind)
	}
	return fmt.Sprintf("resource #%d (kind %q)", r.Index+1, r.Kind)
}

// Load reads and compiles a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data)
}

// configError is a config problem at a line of a file.
type configError struct {
	file string
	line int
	msg  string
	col  int // 0: the line alone
}

func (e *configError) Error() string {
	if e.line > 0 && e.col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.file, e.line, e.col, e.msg)
	}
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.file, e.msg)
}

type parser struct {
	file     string
	warnings []string
	env      func() []string
	guard    *guard
	// envLines are the lines mappingEnv lists each name at.
	envLines map[string]int
	// sourceNames are the names of the sources, nil when the file has
	// no sources:; source is $source's value: the bound source's name,
	// nil (null) for none.
	sourceNames []string
	source      any
	// sentryAt are sentry:'s url and org keys, which sources: replaces.
	sentryAt []*yaml.Node
}

// compileJQ compiles a program of the config, with its environment,
// bounds and $source.
func (p *parser) compileJQ(src, field string) (*Program, error) {
	return compileJQSource(src, field, p.env, p.guard, p.source)
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &configError{file: p.file, line: line, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) warnf(n *yaml.Node, format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf("%s:%d: %s", p.file, n.Line, fmt.Sprintf(format, args...)))
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse compiles a config from its YAML text; name is used in messages.
// A config with sources: is bound to none of them: $source is null in it,
// and Resources and Extract hold every entry; ForSource binds it.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data, nil)
}

// ForSource compiles the config again, bound to the named source: its
// programs see $source as the name, Resources and Extract keep the
// entries that run for it (those without source: and those naming it;
// a transform or resource of an extractor that runs for other sources
// only is left out too), templates see source and read its secrets
// NAME_<SOURCE> first, and Digest is the source's own. An unknown name
// is an error naming the sources.
func (c *Config) ForSource(name string) (*Config, error) {
	var names []string
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			if c.data == nil {
				return nil, &configError{file: c.File, msg: "the config was not parsed from a file, so it cannot be bound to a source"}
			}
			return parse(c.File, c.data, &c.Sources[i])
		}
		names = append(names, c.Sources[i].Name)
	}
	if len(names) == 0 {
		return nil, &configError{file: c.File, msg: fmt.Sprintf("there is no source %q: the file has no sources: list", name)}
	}
	hint := ""
	if s, ok := nearMiss(name, names); ok {
		hint = "; did you mean " + s + "?"
	}
	return nil, &configError{file: c.File, msg: fmt.Sprintf("no source is named %q (the sources are %s%s)", name, strings.Join(names, ", "), hint)}
}

// SourceNames are the names of sources:, in the file's order (nil
// without it).
func (c *Config) SourceNames() []string {
	var names []string
	for _, s := range c.Sources {
		names = append(names, s.Name)
	}
	return names
}

// LookupSource is the entry of sources: that --source names: false for
// no name; an error when the config has no sources: or no source of that
// name (listing those it has).
func (c *Config) LookupSource(name string) (Source, bool, error) {
	if name == "" {
		return Source{}, false, nil
	}
	if len(c.Sources) == 0 {
		return Source{}, false, fmt.Errorf("--source %s: %s has no sources: section", name, c.File)
	}
	for _, s := range c.Sources {
		if s.Name == name {
			return s, true, nil
		}
	}
	return Source{}, false, fmt.Errorf("--source %s: %s has no such source (its sources: %s)", name, c.File, strings.Join(c.SourceNames(), ", "))
}

// BoundSource is the entry of sources: the config is bound to; false
// when it is bound to none.
func (c *Config) BoundSource() (Source, bool) {
	for _, s := range c.Sources {
		if c.Source != "" && s.Name == c.Source {
			return s, true
		}
	}
	return Source{}, false
}

// SourceDigest is the digest of a config's bytes bound to source ("":
// unbound, the bytes' SHA-256 alone).
func SourceDigest(data []byte, source string) [32]byte {
	if source == "" {
		return sha256.Sum256(data)
	}
	h := sha256.New()
	h.Write(data)
	h.Write([]byte("\x00gitalog:source=" + source))
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// yamlFaultLine is the line at which data stops being YAML: the line
// after the longest run of lines that parses. yaml.v3 names instead, for
// many errors, the line where the enclosing block starts (0-based), which
// for an indentation slip deep in resources: is line 1. 0 when data is
// too long to look (each prefix is parsed, so the work grows with the
// square of the size: 1,000 lines take about a second) or no prefix
// parses.
func yamlFaultLine(data []byte) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 1000 {
		return 0
	}
	valid := func(b []byte) bool {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				return errors.Is(err, io.EOF)
			}
		}
	}
	last, end := 0, 0
	for k, l := range lines {
		end += len(l)
		if valid(data[:end]) {
			last = k + 1
		}
	}
	if last == 0 || last >= len(lines) {
		// No prefix parses (a flow-style file, one mapping from its
		// first line), or all of it does: yaml.v3's line says more.
		return 0
	}
	return last + 1
}

func parse(name string, data []byte, bound *Source) (*Config, error) {
	// OpsLevel shows its extract and transform definitions as two YAML
	// documents; a file may hold several, each a mapping of top-level keys.
	var roots []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// yaml.v3 errors read "yaml: line N: ..."; say file:N like the rest.
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				n, _ := strconv.Atoi(m[1])
				msg := "invalid YAML: " + m[2]
				if at := yamlFaultLine(data); at > 0 {
					n = at
				}
				return nil, &configError{file: name, line: n, msg: msg}
			}
			// Some errors name no line (an unknown anchor): find it.
			if at := yamlFaultLine(data); at > 0 {
				return nil, &configError{file: name, line: at, msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		root := &doc
		if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
			root = root.Content[0]
		}
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue // an empty document (a leading or trailing ---)
		}
		roots = append(roots, root)
	}
	if len(roots) == 0 {
		return nil, &configError{file: name, msg: "the file is empty; it needs a resources: list (Port) or extractors: and transforms: (OpsLevel)"}
	}
	p := &parser{file: name}
	for _, root := range roots {
		if root.Kind != yaml.MappingNode {
			return nil, p.errf(root, "the top level must be a mapping with a resources: list (Port) or extractors: and transforms: (OpsLevel)")
		}
	}
	cfg := &Config{File: name, Digest: SourceDigest(data, ""), Limits: DefaultLimits, data: data}
	if bound != nil {
		cfg.Source = bound.Name
		cfg.Digest = SourceDigest(data, bound.Name)
		p.source = bound.Name
	}
	var resources, notifyNode *yaml.Node
	var extractors, transforms []*yaml.Node
	seen := map[string]*yaml.Node{}
	for k, v := range allPairs(roots) {
		if prev := seen[k.Value]; prev != nil && k.Value != "extractors" && k.Value != "transforms" {
			return nil, p.errf(k, "%s is given twice (also at line %d)", k.Value, prev.Line)
		}
		seen[k.Value] = k
		switch k.Value {
		case "extractors":
			if v.Kind != yaml.SequenceNode {
				return nil, p.errAt(v, "extractors must be a list (OpsLevel's extract definition)")
			}
			extractors = append(extractors, v)
			continue
		case "transforms":
			if v.Kind != yaml.SequenceNode {
				return nil, p.errAt(v, "transforms must be a list (OpsLevel's transform definition)")
			}
			transforms = append(transforms, v)
			continue
		case "oauth":
			return nil, p.errAt(k, "oauth: OpsLevel's client-credentials login is not supported yet; pass the token with a secret header ({{ 'name' | secret }})")
		}
		switch k.Value {
		case "resources":
			resources = v
		case "sources":
			srcs, err := p.sources(v)
			if err != nil {
				return nil, err
			}
			cfg.Sources = srcs
		case "notify":
			notifyNode = v
		case "mappingEnv":
			names, err := p.mappingEnv(v)
			if err != nil {
				return nil, err
			}
			cfg.MappingEnv = names
		case "jqTimeout":
			d, err := time.ParseDuration(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || d <= 0 {
				return nil, p.errf(v, "jqTimeout must be a duration such as 10s or 500ms, got %q", v.Value)
			}
			cfg.Limits.Timeout = d
		case "jqMaxMemory":
			n, ok := parseSize(v.Value)
			if v.Kind != yaml.ScalarNode || !ok {
				return nil, p.errf(v, "jqMaxMemory must be a size such as 536870912, 512MiB or 1GiB, got %q", v.Value)
			}
			cfg.Limits.MaxMemory = n
		case "jqMaxSteps":
			n, err := strconv.ParseInt(v.Value, 10, 64)
			if v.Kind != yaml.ScalarNode || err != nil || n < 1 {
				return nil, p.errf(v, "jqMaxSteps must be a whole number above 0, got %q", v.Value)
			}
			cfg.Limits.MaxSteps = n
		case "sentry":
			if err := p.sentry(v, &cfg.Sentry); err != nil {
				return nil, err
			}
		case "deleteDependentEntities":
			b, err := p.boolean(v, k.Value)
			if err != nil {
				return nil, err
			}
			cfg.DeleteDependentEntities = &b
			if b {
				// Port deletes the entities whose required relation names
				// a deleted entity; a sync here deletes only what Sentry no
				// longer returns.
				p.warnf(k, "deleteDependentEntities: true is not supported (ignored): deleting an entity never deletes the entities that relate to it; a relation to a deleted entity is reported")
			}
		case "createMissingRelatedEntities":
			b, err := p.boolean(v, k.Value)
			if err != nil {
				return nil, err
			}
			cfg.CreateMissingRelatedEntities = &b
			if b {
				// Port creates a barebones entity for a missing target; here
				// every entity file comes from a Sentry item.
				p.warnf(k, "createMissingRelatedEntities: true is not supported (ignored): no placeholder entity is created; a relation to an entity that is not in the catalog is kept and reported")
			}
		case "entityDeletionThreshold":
			f, err := strconv.ParseFloat(v.Value, 64)
			if v.Kind != yaml.ScalarNode || err != nil || f < 0 || f > 1 {
				return nil, p.errf(v, "entityDeletionThreshold must be a number from 0 to 1, got %q", v.Value)
			}
			cfg.EntityDeletionThreshold = &f
		case "enableMergeEntity", "enableDeleteEntity", "portPrefix":
			// Port keys with no meaning for a git catalog; accepted silently.
		default:
			if err := p.unknownKey(k, "", fmt.Sprintf("%q", k.Value), topKeys); err != nil {
				return nil, err
			}
		}
	}
	if resources == nil && transforms == nil {
		if extractors != nil {
			return nil, p.errf(roots[0], "missing transforms: (OpsLevel's transform definition, mapping the extracted items onto blueprints)")
		}
		return nil, p.errf(roots[0], "missing resources: (a list of kinds to map; or OpsLevel's extractors: and transforms:)")
	}
	if resources != nil && resources.Kind != yaml.SequenceNode {
		return nil, p.errf(resources, "resources must be a list")
	}
	if cfg.Sources != nil {
		// Each source says where it is; a shared one would be read by
		// none, or by all.
		for _, k := range p.sentryAt {
			return nil, p.errAt(k, "sentry.%s does not apply with sources: (each source has its url and org); move it to the sources", k.Value)
		}
		p.sourceNames = cfg.SourceNames()
	}
	// env and $ENV are read when a program is compiled: the allowed
	// names must be known, and their values checked, before the first
	// resource is.
	cfg.env = readEnv(append(slices.Clone(DefaultEnv), cfg.MappingEnv...), p.envLines)
	for _, name := range secretNamesSet() {
		// A _FILE variable holds a path; the engine checks the token
		// read from it.
		if strings.HasSuffix(name, "_FILE") {
			continue
		}
		if err := cfg.RefuseSecret("the value of "+name, os.Getenv(name)); err != nil {
			return nil, err
		}
	}
	p.env = cfg.env.environ
	p.guard = newGuard(cfg.Limits)
	if resources != nil {
		for i, rn := range resources.Content {
			r, err := p.resource(i, rn)
			if err != nil {
				return nil, err
			}
			cfg.Resources = append(cfg.Resources, r)
		}
	}
	if err := p.opslevel(cfg, extractors, transforms, bound); err != nil {
		return nil, err
	}
	for _, r := range cfg.Resources {
		if r.OpsLevel == nil {
			if err := p.checkSourceKind(cfg, r); err != nil {
				return nil, err
			}
		}
	}
	if notifyNode != nil {
		n, warnings, err := notify.Parse(p.file, notifyNode, p.jqCompiler(), os.Getenv)
		if err != nil {
			return nil, err
		}
		cfg.Notify = n
		p.warnings = append(p.warnings, warnings...)
	}
	if bound != nil {
		// What runs for another source only is not this config's.
		cfg.Resources = slices.DeleteFunc(cfg.Resources, func(r *Resource) bool {
			return r.Source != "" && r.Source != bound.Name || cfg.Extract != nil && slices.Contains(cfg.Extract.Elsewhere, r.Kind)
		})
	}
	cfg.Warnings = p.warnings
	return cfg, nil
}

// secretNamesSet are the variables of secretenv.IsSecret that the
// environment sets: Names, and every SENTRY_AUTH_TOKEN_<X>.
func secretNamesSet() []string {
	names := secretenv.Names()
	for _, kv := range os.Environ() {
		if name, _, ok := strings.Cut(kv, "="); ok && secretenv.IsSecret(name) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// sources reads sources:, a list of {name, url, org}.
func (p *parser) sources(n *yaml.Node) ([]Source, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, p.errAt(n, "sources must be a list of {name, url, org}, one for each Sentry organization")
	}
	var out []Source
	lines := map[string]int{}
	for i, sn := range n.Content {
		where := fmt.Sprintf("sources[%d]", i)
		if sn.Kind != yaml.MappingNode {
			return nil, p.errAt(sn, "%s must be a mapping with name, url and org", where)
		}
		s := Source{Line: sn.Line}
		var nameNode, urlNode *yaml.Node
		seen := map[string]*yaml.Node{}
		for k, v := range pairs(sn) {
			// A second name: would rename the source without a word,
			// leaving the entities of the first to no one.
			if first := seen[k.Value]; first != nil {
				return nil, p.errAt(k, "%s: %s is given twice (also at line %d)", where, k.Value, first.Line)
			}
			seen[k.Value] = k
			var dst *string
			switch k.Value {
			case "name":
				dst, nameNode = &s.Name, v
			case "url":
				dst, urlNode = &s.URL, v
			case "org":
				dst = &s.Org
			case "token", "authToken", "auth_token":
				return nil, p.errAt(k, "%s.%s: the token must not be in a config file (it would be committed); set SENTRY_AUTH_TOKEN_<NAME> (or SENTRY_AUTH_TOKEN) instead", where, k.Value)
			default:
				if err := p.unknownKey(k, where+": ", k.Value, sourceKeys); err != nil {
					return nil, err
				}
				continue
			}
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				return nil, p.errAt(v, "%s.%s must be a string, got %s", where, k.Value, yamlType(v))
			}
			*dst = strings.TrimSpace(v.Value)
		}
		switch {
		case nameNode == nil || s.Name == "":
			return nil, p.errAt(sn, "%s: missing name (lower-case letters, digits, - and _, e.g. eu)", where)
		case CheckSourceName(s.Name) != nil:
			return nil, p.errAt(nameNode, "%s: %v", where, CheckSourceName(s.Name))
		case lines[s.Name] > 0:
			return nil, p.errAt(nameNode, "%s: the name %q is also the name of the source at line %d; each source needs its own", where, s.Name, lines[s.Name])
		case lines[varName(s.Name)] > 0:
			// eu-west and eu_west would read one SENTRY_AUTH_TOKEN_EU_WEST.
			return nil, p.errAt(nameNode, "%s: the name %q and the source's at line %d differ only in - and _, so they would share the variable %s", where, s.Name, lines[varName(s.Name)], secretenv.SourceVar(secretenv.SentryToken, s.Name))
		case s.Org == "":
			return nil, p.errAt(sn, "source %q: missing org (the slug of its Sentry organization)", s.Name)
		}
		for _, o := range out {
			if err := IdentifierClash(o.Name, s.Name); err != nil {
				return nil, p.errAt(nameNode, "%s: %v (the other is at line %d)", where, err, o.Line)
			}
		}
		if urlNode != nil && s.URL != "" {
			if _, err := sentry.ParseBaseURL(s.URL); err != nil {
				return nil, p.errAt(urlNode, "source %q: url: %v", s.Name, err)
			}
		}
		lines[s.Name], lines[varName(s.Name)] = sn.Line, sn.Line
		out = append(out, s)
	}
	return out, nil
}

// IdentifierClash says why sources named a and b cannot both be: one is
// the other and a -, so $source + "-" + .slug, the identifiers init
// writes, would give eu's west-api and eu-west's api one name.
func IdentifierClash(a, b string) error {
	short, long := a, b
	if len(short) > len(long) {
		short, long = long, short
	}
	rest, ok := strings.CutPrefix(long, short+"-")
	if !ok {
		return nil
	}
	return fmt.Errorf("%q and %q are one name and a - apart, so identifiers made as $source + \"-\" + .slug collide (%s's %s-api and %s's api are both %s-api); rename one", b, a, short, rest, long, long)
}

// CheckSourceName checks a source's name as sources: does: it names the
// source's token variable, its state folder and its commits.
func CheckSourceName(name string) error {
	switch {
	case !sourceName.MatchString(name):
		return fmt.Errorf("name %q must be 1 to 63 lower-case letters, digits, - and _, starting with a letter or digit (it names the source's token variable, its state folder and its commits)", name)
	case name == "file" || strings.HasSuffix(name, "_file") || strings.HasSuffix(name, "-file"):
		// SENTRY_AUTH_TOKEN_FILE is the shared token's file, and
		// SENTRY_AUTH_TOKEN_X_FILE source x's.
		return fmt.Errorf("name %q cannot end in file: its token variable %s would be another's _FILE variable", name, secretenv.SourceVar(secretenv.SentryToken, name))
	}
	return nil
}

// varName is how a source's name is written in a variable's name, with a
// mark that keeps it apart from the names themselves.
func varName(source string) string {
	return "\x00" + strings.ReplaceAll(source, "-", "_")
}

// sourceRef reads the source: of an entry: one of the sources' names.
func (p *parser) sourceRef(v *yaml.Node, prefix string) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Value == "" || v.Tag == "!!null" {
		return "", p.errAt(v, "%ssource must be the name of one of the file's sources", prefix)
	}
	if p.sourceNames == nil {
		return "", p.errAt(v, "%ssource: %q names a source, but the file has no sources: list", prefix, v.Value)
	}
	if !slices.Contains(p.sourceNames, v.Value) {
		hint := ""
		if s, ok := nearMiss(v.Value, p.sourceNames); ok {
			hint = "; did you mean " + s + "?"
		}
		return "", p.errAt(v, "%ssource: no source is named %q (the sources are %s%s)", prefix, v.Value, strings.Join(p.sourceNames, ", "), hint)
	}
	return v.Value, nil
}

// pairs iterates a mapping node's key/value pairs in order.
func pairs(n *yaml.Node) func(func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

// mappingEnv reads the list of environment variables a mapping may read.
// Listing a name is the user's decision, even for one that looks like a
// secret, except those gitalog reads its own secrets from: in a mapping
// they end up in the catalog's files and history.
func (p *parser) mappingEnv(n *yaml.Node) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, "mappingEnv must be a list of environment variable names")
	}
	var names []string
	p.envLines = map[string]int{}
	for _, e := range n.Content {
		if e.Kind != yaml.ScalarNode || !envName.MatchString(e.Value) {
			return nil, p.errf(e, "mappingEnv: %q is not an environment variable name", e.Value)
		}
		if secretenv.IsSecret(e.Value) {
			return nil, p.errf(e, "mappingEnv: %s is where gitalog reads a secret from; a mapping must not read it (it would be written into the catalog)", e.Value)
		}
		names = append(names, e.Value)
		p.envLines[e.Value] = e.Line
	}
	return names, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (p *parser) boolean(v *yaml.Node, key string) (bool, error) {
	var b bool
	if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
		return false, p.errf(v, "%s must be true or false, got %q", key, v.Value)
	}
	return b, nil
}

// parseSize reads a byte count: a whole number, optionally followed by
// KiB, MiB or GiB.
func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

func (p *parser) sentry(n *yaml.Node, s *SentrySettings) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "sentry must be a mapping with url and org")
	}
	for k, v := range pairs(n) {
		switch k.Value {
		case "url", "host":
			s.URL = v.Value
			p.sentryAt = append(p.sentryAt, k)
		case "org", "organization":
			s.Org = v.Value
			p.sentryAt = append(p.sentryAt, k)
		case "concurrency":
			c, err := strconv.Atoi(v.Value)
			if err != nil || c < 1 || c > 64 {
				return p.errf(v, "sentry.concurrency must be a whole number from 1 to 64, got %q", v.Value)
			}
			s.Concurrency = c
		case "maxPages":
			n, err := strconv.Atoi(v.Value)
			if err != nil || n < 1 {
				return p.errf(v, "sentry.maxPages must be a whole number of at least 1, got %q", v.Value)
			}
			s.MaxPages = n
		case "maxResponseBytes":
			n, ok := parseSize(v.Value)
			if !ok {
				return p.errf(v, "sentry.maxResponseBytes must be a size such as 268435456, 256MiB or 1GiB, got %q", v.Value)
			}
			s.MaxResponseBytes = n
		case "requestTimeout":
			d, err := time.ParseDuration(v.Value)
			if err != nil || d <= 0 {
				return p.errf(v, "sentry.requestTimeout must be a positive duration such as 60s or 2m, got %q", v.Value)
			}
			s.RequestTimeout = d
		case "fullRefresh":
			d, err := time.ParseDuration(v.Value)
			if err != nil || d < time.Minute {
				return p.errf(v, "sentry.fullRefresh must be a duration of at least 1m such as 24h or 168h, got %q", v.Value)
			}
			s.FullRefresh = d
		case "token", "authToken", "auth_token":
			return p.errf(k, "sentry.%s: the token must not be in a config file (it would be committed); set SENTRY_AUTH_TOKEN or SENTRY_AUTH_TOKEN_FILE instead", k.Value)
		default:
			if err := p.unknownKey(k, "", "sentry."+k.Value, sentryKeys); err != nil {
				return err
			}
		}
	}
	return nil
}

// scalarExpr returns the text of a scalar jq expression. Port writes
// `query: 'true'` but YAML users also write `query: true`; both mean the
// jq program "true".
func (p *parser) scalarExpr(n *yaml.Node, r *Resource, field string) (*Program, error) {
	if n.Kind != yaml.ScalarNode {
		return nil, p.errf(n, "%s: %s must be a jq expression (a string)", r.Label(), field)
	}
	if strings.TrimSpace(n.Value) == "" {
		return nil, p.errf(n, "%s: %s: the jq expression is empty", r.Label(), field)
	}
	prog, err := p.compileJQ(n.Value, field)
	if err != nil {
		return nil, p.errf(n, "%s: %s: %v", r.Label(), field, err)
	}
	return prog, nil
}

func (p *parser) resource(i int, n *yaml.Node) (*Resource, error) {
	r := &Resource{Index: i, Line: n.Line, Params: map[string]any{}, ItemsToParseName: "item"}
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "resource #%d must be a mapping with kind, selector and port", i+1)
	}
	var selector, port, source *yaml.Node
	for k, v := range pairs(n) {
		switch k.Value {
		case "kind":
			r.Kind = v.Value
		case "source":
			source = v
		case "selector":
			selector = v
		case "port":
			port = v
		default:
			if err := p.unknownKey(k, fmt.Sprintf("resource #%d: ", i+1), fmt.Sprintf("%q", k.Value), resourceKeys); err != nil {
				return nil, err
			}
		}
	}
	if r.Kind == "" {
		return nil, p.errf(n, "resource #%d: missing kind", i+1)
	}
	var err error
	if source != nil {
		if r.Source, err = p.sourceRef(source, r.Label()+": "); err != nil {
			return nil, err
		}
		r.sourceNode = source
	}
	if selector != nil {
		if selector.Kind != yaml.MappingNode {
			return nil, p.errf(selector, "%s: selector must be a mapping", r.Label())
		}
		for k, v := range pairs(selector) {
			if k.Value == "query" {
				if r.Query, err = p.scalarExpr(v, r, "selector.query"); err != nil {
					return nil, err
				}
				continue
			}
			val, err := p.selectorParam(r, k, v)
			if err != nil {
				return nil, err
			}
			r.Params[k.Value] = val
		}
	}
	if r.Query == nil {
		r.Query, _ = p.compileJQ("true", "selector.query")
	}
	if port == nil {
		return nil, p.errf(n, "%s: missing port.entity.mappings", r.Label())
	}
	var entity *yaml.Node
	for k, v := range pairs(port) {
		switch k.Value {
		case "entity":
			entity = v
		case "itemsToParse":
			if r.ItemsToParse, err = p.scalarExpr(v, r, "port.itemsToParse"); err != nil {
				return nil, err
			}
		case "itemsToParseTopLevelTransform":
			b, err := p.boolean(v, "port."+k.Value)
			if err != nil {
				return nil, err
			}
			r.KeepParsedArray = !b
		case "itemsToParseName":
			r.ItemsToParseName = v.Value
		default:
			if err := p.unknownKey(k, r.Label()+": ", "port."+k.Value, portKeys); err != nil {
				return nil, err
			}
		}
	}
	var mappings *yaml.Node
	if entity != nil {
		for k, v := range pairs(entity) {
			if k.Value == "mappings" {
				mappings = v
			} else if err := p.unknownKey(k, r.Label()+": ", "port.entity."+k.Value, entityKeys); err != nil {
				return nil, err
			}
		}
	}
	if mappings == nil || mappings.Kind != yaml.MappingNode {
		return nil, p.errf(port, "%s: missing port.entity.mappings (identifier, title, blueprint, properties, relations)", r.Label())
	}
	const mp = "port.entity.mappings."
	for k, v := range pairs(mappings) {
		field := mp + k.Value
		switch k.Value {
		case "identifier":
			r.Identifier, err = p.scalarExpr(v, r, field)
		case "title":
			r.Title, err = p.scalarExpr(v, r, field)
		case "blueprint":
			r.Blueprint, err = p.scalarExpr(v, r, field)
		case "icon":
			r.Icon, err = p.scalarExpr(v, r, field)
		case "team":
			r.Team, err = p.scalarExpr(v, r, field)
		case "properties":
			r.Properties, err = p.properties(v, r, field)
		case "relations":
			r.Relations, err = p.relations(v, r, field)
		default:
			err = p.unknownKey(k, r.Label()+": ", field, mappingKeys)
		}
		if err != nil {
			return nil, err
		}
	}
	if r.Identifier == nil {
		return nil, p.errf(mappings, "%s: missing %sidentifier", r.Label(), mp)
	}
	if r.Blueprint == nil {
		return nil, p.errf(mappings, "%s: missing %sblueprint (a jq expression, e.g. '\"issue\"')", r.Label(), mp)
	}
	r.compileCombined(p.env, p.guard, p.source)
	return r, nil
}

func (p *parser) properties(n *yaml.Node, r *Resource, field string) ([]NamedProgram, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "%s: %s must be a mapping of name: jq expression", r.Label(), field)
	}
	var out []NamedProgram
	for k, v := range pairs(n) {
		prog, err := p.scalarExpr(v, r, field+"."+k.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, NamedProgram{k.Value, prog})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (p *parser) relations(n *yaml.Node, r *Resource, field string) ([]Relation, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "%s: %s must be a mapping of name: jq expression or search query", r.Label(), field)
	}
	var out []Relation
	for k, v := range pairs(n) {
		f := field + "." + k.Value
		rel := Relation{Name: k.Value}
		var err error
		if v.Kind == yaml.MappingNode {
			rel.Search, err = p.search(v, r, f)
		} else {
			rel.Expr, err = p.scalarExpr(v, r, f)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	return out, nil
}

// search compiles Port's search form: {combinator, rules: [{property,
// operator, value} | nested search]}, every leaf a jq expression.
func (p *parser) search(n *yaml.Node, r *Resource, field string) (*SearchSpec, error) {
	s := &SearchSpec{}
	var rules *yaml.Node
	for k, v := range pairs(n) {
		var err error
		switch k.Value {
		case "combinator":
			s.Combinator, err = p.scalarExpr(v, r, field+".combinator")
		case "rules":
			rules = v
		default:
			err = p.unknownKey(k, r.Label()+": ", field+"."+k.Value+" in a search relation", searchKeys)
		}
		if err != nil {
			return nil, err
		}
	}
	if s.Combinator == nil {
		return nil, p.errf(n, "%s: %s: a search relation needs combinator (and rules)", r.Label(), field)
	}
	if rules == nil || rules.Kind != yaml.SequenceNode || len(rules.Content) == 0 {
		return nil, p.errf(n, "%s: %s.rules must be a non-empty list", r.Label(), field)
	}
	for i, rn := range rules.Content {
		f := fmt.Sprintf("%s.rules[%d]", field, i)
		if rn.Kind != yaml.MappingNode {
			return nil, p.errf(rn, "%s: %s must be a mapping with property, operator, value", r.Label(), f)
		}
		isNested := false
		for k := range pairs(rn) {
			if k.Value == "combinator" {
				isNested = true
			}
		}
		if isNested {
			sub, err := p.search(rn, r, f)
			if err != nil {
				return nil, err
			}
			s.Rules = append(s.Rules, RuleSpec{Nested: sub})
			continue
		}
		var rule RuleSpec
		for k, v := range pairs(rn) {
			var err error
			switch k.Value {
			case "property":
				rule.Property, err = p.scalarExpr(v, r, f+".property")
			case "operator":
				rule.Operator, err = p.scalarExpr(v, r, f+".operator")
			case "value":
				rule.Value, err = p.scalarExpr(v, r, f+".value")
			default:
				err = p.unknownKey(k, r.Label()+": ", f+"."+k.Value, ruleKeys)
			}
			if err != nil {
				return nil, err
			}
		}
		if rule.Property == nil || rule.Operator == nil {
			return nil, p.errf(rn, "%s: %s needs property and operator", r.Label(), f)
		}
		s.Rules = append(s.Rules, rule)
	}
	return s, nil
}
