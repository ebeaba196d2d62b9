package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"gopkg.in/yaml.v3"

	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/template"
)

// Events a sink may ask for.
const (
	Created   = "created"
	Changed   = "changed"
	Deleted   = "deleted"
	Regressed = "regressed"
	Resolved  = "resolved"
	Assigned  = "assigned"
)

// AllEvents are the event names, in the order messages list them.
var AllEvents = []string{Created, Changed, Deleted, Regressed, Resolved, Assigned}

// DefaultEvents are what a sink without events: hears. changed is left
// out: an issue's count changes at nearly every sync, and a message per
// count is noise, not news.
var DefaultEvents = []string{Created, Regressed, Resolved, Assigned}

// Kinds of sink.
const (
	TCP     = "tcp"
	Webhook = "webhook"
	Slack   = "slack"
)

// RefPrefix is where each sink's delivery state lives: the ref
// RefPrefix+<name> points at the last commit all of whose events the
// sink received.
const RefPrefix = "refs/gitalog/notified/"

// SourceRefPrefix is where the delivery state of a source's sinks lives
// (see Options.Source): refs/gitalog/sources/<source>/notified/<sink>.
func SourceRefPrefix(source string) string { return "refs/gitalog/sources/" + source + "/notified/" }

// Config is the compiled notify: section.
type Config struct {
	File  string
	Sinks []*Sink
}

// Sink is one entry of notify:.
type Sink struct {
	Name       string // the ref's last part
	Kind       string // tcp, webhook or slack
	Index      int    // 0-based, in notify:
	Line, Col  int
	Events     []string
	Blueprints []string // empty: every blueprint
	When       extract.Program
	Template   *template.Template

	// target is the address or URL, resolved (a secret for slack);
	// shown is what messages say instead.
	target string
	shown  string
	// missing says why target is unknown (an unset variable): the sink
	// then fails each delivery, which keeps its messages for a later run.
	missing error
}

// Label names the sink in messages: never its URL, which may be a secret.
func (s *Sink) Label() string { return fmt.Sprintf("notify sink %q (%s %s)", s.Name, s.Kind, s.shown) }

// Ref is the sink's delivery state ref.
func (s *Sink) Ref() plumbing.ReferenceName { return plumbing.ReferenceName(RefPrefix + s.Name) }

// wants says whether the sink hears event on blueprint.
func (s *Sink) wants(event, blueprint string) bool {
	return slices.Contains(s.Events, event) && (len(s.Blueprints) == 0 || slices.Contains(s.Blueprints, blueprint))
}

var sinkKeys = []string{"tcp", "webhook", "slack", "name", "events", "blueprints", "when", "template"}

var sinkName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

type parser struct {
	file     string
	compile  extract.Compiler
	getenv   func(string) string
	warnings []string
}

func (p *parser) errf(n *yaml.Node, i int, key, format string, args ...any) error {
	where := fmt.Sprintf("%s:%d:%d: notify #%d", p.file, n.Line, n.Column, i+1)
	if key != "" {
		where += ": " + key
	}
	return errors.New(where + ": " + fmt.Sprintf(format, args...))
}

// Parse compiles the value of a notify: key of file: a list of sinks.
// compile compiles when: filters, as the mappings' jq is compiled (guarded
// and bounded); getenv resolves {env: NAME} targets. Warnings are
// findings that do not stop the load.
func Parse(file string, n *yaml.Node, compile extract.Compiler, getenv func(string) string) (*Config, []string, error) {
	p := &parser{file: file, compile: compile, getenv: getenv}
	if n.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("%s:%d:%d: notify: must be a list of sinks (tcp:, webhook: or slack:)", file, n.Line, n.Column)
	}
	cfg := &Config{File: file}
	names := map[string]*Sink{}
	for i, sn := range n.Content {
		s, err := p.sink(i, sn)
		if err != nil {
			return nil, nil, err
		}
		if prev := names[s.Name]; prev != nil {
			return nil, nil, p.errf(sn, i, "name", "%q is also the name of notify #%d (line %d); give one of them another name: (it names the ref that records what was delivered)", s.Name, prev.Index+1, prev.Line)
		}
		names[s.Name] = s
		cfg.Sinks = append(cfg.Sinks, s)
	}
	return cfg, p.warnings, nil
}

func (p *parser) sink(i int, n *yaml.Node) (*Sink, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, i, "", "must be a mapping with one of tcp:, webhook: or slack:")
	}
	s := &Sink{Index: i, Line: n.Line, Col: n.Column, Events: DefaultEvents}
	var def string // what the derived name hashes: kind and target as written
	seen := map[string]bool{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		if !slices.Contains(sinkKeys, k.Value) {
			return nil, p.errf(k, i, k.Value, "unknown key (known: %s)", strings.Join(sinkKeys, ", "))
		}
		if seen[k.Value] {
			return nil, p.errf(k, i, k.Value, "given twice")
		}
		seen[k.Value] = true
		switch k.Value {
		case TCP, Webhook, Slack:
			if s.Kind != "" {
				return nil, p.errf(k, i, k.Value, "a sink is one of tcp:, webhook: or slack:; this one is also %s:", s.Kind)
			}
			s.Kind = k.Value
			var err error
			if def, err = p.target(i, s, k.Value, v); err != nil {
				return nil, err
			}
		case "name":
			if v.Kind != yaml.ScalarNode || !sinkName.MatchString(v.Value) || plumbing.ReferenceName(RefPrefix+v.Value).Validate() != nil {
				return nil, p.errf(v, i, "name", "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (it names the ref %s<name>), got %q", RefPrefix, v.Value)
			}
			s.Name = v.Value
		case "events":
			list, err := p.strings(i, "events", v)
			if err != nil {
				return nil, err
			}
			for _, e := range list {
				if !slices.Contains(AllEvents, e) {
					return nil, p.errf(v, i, "events", "unknown event %q (known: %s)", e, strings.Join(AllEvents, ", "))
				}
			}
			s.Events = list
		case "blueprints":
			list, err := p.strings(i, "blueprints", v)
			if err != nil {
				return nil, err
			}
			s.Blueprints = list
		case "when":
			if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
				return nil, p.errf(v, i, "when", "must be a jq expression (a string)")
			}
			prog, err := p.compile(v, fmt.Sprintf("notify #%d: when", i+1))
			if err != nil {
				return nil, err
			}
			s.When = prog
		case "template":
			if v.Kind != yaml.ScalarNode {
				return nil, p.errf(v, i, "template", "must be a Liquid template (a string)")
			}
			t, err := template.Compile(v.Value)
			if err != nil {
				return nil, p.errf(v, i, "template", "%v", err)
			}
			if len(t.SecretNames()) > 0 {
				return nil, p.errf(v, i, "template", "a message must not carry secrets; the secret filter is for requests")
			}
			s.Template = t
		}
	}
	if s.Kind == "" {
		return nil, p.errf(n, i, "", "needs one of tcp: host:port, webhook: URL or slack: URL")
	}
	if s.Name == "" {
		sum := sha256.Sum256([]byte(def))
		s.Name = s.Kind + "-" + hex.EncodeToString(sum[:])[:12]
	}
	return s, nil
}

func (p *parser) strings(i int, key string, v *yaml.Node) ([]string, error) {
	var list []string
	if v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
		list = []string{v.Value}
	} else if v.Kind != yaml.SequenceNode {
		return nil, p.errf(v, i, key, "must be a list of names")
	}
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode || e.Value == "" {
			return nil, p.errf(e, i, key, "must be a list of names")
		}
		list = append(list, e.Value)
	}
	if len(list) == 0 {
		return nil, p.errf(v, i, key, "is empty; leave the key out to hear every one")
	}
	return list, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// target reads the address or URL of a sink: written out, or {env: NAME}.
// It returns the text the derived name hashes (the variable's name, not
// its value, so that rotating a secret keeps the delivery state).
func (p *parser) target(i int, s *Sink, key string, v *yaml.Node) (string, error) {
	var raw, def string
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!str":
		raw, def = v.Value, key+" "+v.Value
		if key == Slack {
			p.warnings = append(p.warnings, fmt.Sprintf("%s:%d:%d: notify #%d: slack: a Slack webhook URL is a secret; rather than committing it, give it as {env: SLACK_WEBHOOK_URL}", p.file, v.Line, v.Column, i+1))
		}
	case v.Kind == yaml.MappingNode && len(v.Content) == 2 && v.Content[0].Value == "env":
		name := v.Content[1].Value
		if v.Content[1].Kind != yaml.ScalarNode || !envName.MatchString(name) {
			return "", p.errf(v.Content[1], i, key+".env", "must name an environment variable, got %q", name)
		}
		def = key + " env " + name
		raw = p.getenv(name)
		if raw == "" {
			s.shown = "from $" + name
			s.missing = fmt.Errorf("%s is not set", name)
			return def, nil
		}
		// A bad value is named by its variable, never quoted: it may be
		// a secret.
		shown, err := checkTarget(key, raw)
		if err != nil {
			return "", p.errf(v, i, key, "the value of %s is not valid: %v", name, err)
		}
		s.target, s.shown = raw, shown+" from $"+name
		return def, nil
	default:
		return "", p.errf(v, i, key, "must be an address or URL, or {env: NAME}")
	}
	shown, err := checkTarget(key, raw)
	if err != nil {
		return "", p.errf(v, i, key, "%v", err)
	}
	s.target, s.shown = raw, shown
	return def, nil
}

// checkTarget validates an address or URL and returns how messages show
// it: a tcp address as it is, a URL by its scheme and host only, since
// its path or query may hold a secret (Slack's does).
func checkTarget(kind, raw string) (string, error) {
	if kind == TCP {
		host, port, err := net.SplitHostPort(raw)
		if err != nil || host == "" || port == "" {
			return "", fmt.Errorf("must be host:port, got %q", raw)
		}
		return raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("must be an http or https URL")
	}
	return u.Scheme + "://" + u.Host + "/…", nil
}
