package backstage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config says which blueprints become which Backstage kinds. The default
// (DefaultConfig) fits gitalog's default blueprints; a YAML file of the
// same shape replaces it (gitalog export backstage --mapping FILE).
type Config struct {
	// Namespace is every entity's metadata.namespace.
	Namespace string `yaml:"namespace"`
	// DefaultOwner is the Group owning a Component no group claims.
	DefaultOwner string       `yaml:"defaultOwner"`
	Components   []Components `yaml:"components"`
	Groups       []Groups     `yaml:"groups"`
	Users        []Users      `yaml:"users"`
	Issues       []Issues     `yaml:"issues"`

	// file is the mapping file a user gave ("" for the default): what it
	// names must exist, where the default's names are looked for.
	file string
}

// check refuses a user's mapping that names a blueprint the catalog does
// not have, or a relation its blueprint does not have: a typo would
// otherwise drop every User, or every Group's members, without a word.
func (c *Config) check(cat Catalog) error {
	if c.file == "" {
		return nil
	}
	var errs []error
	bp := func(at, name string) bool {
		if !cat.HasBlueprint(name) {
			errs = append(errs, fmt.Errorf("%s: %s: no blueprint %q in the catalog", c.file, at, name))
			return false
		}
		return true
	}
	rel := func(at, bp, name string) {
		if name == "" {
			return
		}
		if _, ok := cat.Target(bp, name); !ok {
			has := "no relations"
			if rs := cat.Relations(bp); len(rs) > 0 {
				has = "relations " + strings.Join(rs, ", ")
			}
			errs = append(errs, fmt.Errorf("%s: %s: blueprint %s has no relation %q (it has %s)", c.file, at, bp, name, has))
		}
	}
	prop := func(at, bp, name string) {
		if name != "" && !cat.HasProperty(bp, name) {
			errs = append(errs, fmt.Errorf("%s: %s: blueprint %s has no property %q", c.file, at, bp, name))
		}
	}
	for i, x := range c.Components {
		at := fmt.Sprintf("components[%d]", i)
		if bp(at+".blueprint", x.Blueprint) {
			rel(at+".owner.relation", x.Blueprint, x.Owner.Relation)
			for j, d := range x.DependsOn {
				rel(fmt.Sprintf("%s.dependsOn[%d]", at, j), x.Blueprint, d)
			}
		}
		if lb := x.Owner.ListedBy; lb.Blueprint != "" && bp(at+".owner.listedBy.blueprint", lb.Blueprint) {
			prop(at+".owner.listedBy.property", lb.Blueprint, lb.Property)
		}
	}
	for i, x := range c.Groups {
		at := fmt.Sprintf("groups[%d]", i)
		if bp(at+".blueprint", x.Blueprint) {
			rel(at+".members", x.Blueprint, x.Members)
		}
	}
	for i, x := range c.Users {
		bp(fmt.Sprintf("users[%d].blueprint", i), x.Blueprint)
	}
	for i, x := range c.Issues {
		at := fmt.Sprintf("issues[%d]", i)
		if bp(at+".blueprint", x.Blueprint) {
			rel(at+".component", x.Blueprint, x.Component)
			prop(at+".status", x.Blueprint, x.Status)
		}
	}
	return errors.Join(errs...)
}

// Components maps a blueprint's entities to Components.
type Components struct {
	Blueprint string `yaml:"blueprint"`
	Type      string `yaml:"type"`
	Lifecycle string `yaml:"lifecycle"`
	// Owner finds the owning group: a relation of the component naming
	// it, or a group whose property lists the component's identifier.
	Owner struct {
		Relation string `yaml:"relation"`
		ListedBy struct {
			Blueprint string `yaml:"blueprint"`
			Property  string `yaml:"property"`
		} `yaml:"listedBy"`
	} `yaml:"owner"`
	// DependsOn are relations naming other components (spec.dependsOn).
	DependsOn []string `yaml:"dependsOn"`
}

// Groups maps a blueprint's entities to Groups.
type Groups struct {
	Blueprint string `yaml:"blueprint"`
	Type      string `yaml:"type"`
	// Members is the relation naming the group's users; each user's
	// spec.memberOf is the groups naming it.
	Members string `yaml:"members"`
}

// Users maps a blueprint's entities to Users.
type Users struct {
	Blueprint string `yaml:"blueprint"`
}

// Issues counts a blueprint's entities as annotations of the Component
// a relation names: gitalog.dev/issues-<status>: "<count>".
type Issues struct {
	Blueprint string `yaml:"blueprint"`
	Component string `yaml:"component"` // the relation naming the component
	Status    string `yaml:"status"`    // the property counted by value
}

// DefaultConfigYAML is the mapping used without --mapping; it is also
// what `gitalog export backstage --print-mapping` prints to start from.
const DefaultConfigYAML = `# gitalog export backstage: which blueprints become which Backstage kinds.
namespace: default
defaultOwner: unowned          # the Group of a Component no group claims
components:
  - blueprint: sentryProject
    type: service
    lifecycle: production
    owner:
      relation: teams          # a relation naming the owning group (the first that is one), if the blueprint has it
      listedBy:                # else a group whose property lists the component
        blueprint: sentryTeam
        property: projects
    dependsOn: []              # relations naming other components
groups:
  - blueprint: sentryTeam
    type: team
    members: members           # relation naming the users (their spec.memberOf)
users:
  - blueprint: sentryUser
issues:                        # annotations gitalog.dev/issues-<status> on the component
  - blueprint: sentryIssue
    component: project         # the relation naming the component; a blueprint without it: its relation to a component
    status: status
`

// DefaultConfig is DefaultConfigYAML parsed.
func DefaultConfig() *Config {
	c, err := ParseConfig([]byte(DefaultConfigYAML))
	if err != nil {
		panic(err)
	}
	return c
}

// LoadConfig reads a mapping file.
func LoadConfig(p string) (*Config, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	c.file = p
	return c, nil
}

// ParseConfig reads a mapping; unknown keys are errors.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return nil, err
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	if !ValidNamespace(c.Namespace) {
		return nil, fmt.Errorf("namespace %q is not a valid Backstage namespace (lower-case letters, digits and single dashes, at most 63)", c.Namespace)
	}
	if c.DefaultOwner == "" {
		c.DefaultOwner = "unowned"
	}
	if !ValidName(c.DefaultOwner) {
		return nil, fmt.Errorf("defaultOwner %q is not a valid Backstage name", c.DefaultOwner)
	}
	seen := map[string]string{}
	claim := func(bp, as string) error {
		if bp == "" {
			return fmt.Errorf("%s: blueprint is missing", as)
		}
		if o, ok := seen[bp]; ok {
			return fmt.Errorf("blueprint %q is mapped twice (%s and %s)", bp, o, as)
		}
		seen[bp] = as
		return nil
	}
	for i, x := range c.Components {
		if err := claim(x.Blueprint, fmt.Sprintf("components[%d]", i)); err != nil {
			return nil, err
		}
		if x.Type == "" {
			c.Components[i].Type = "service"
		}
		if x.Lifecycle == "" {
			c.Components[i].Lifecycle = "production"
		}
	}
	for i, x := range c.Groups {
		if err := claim(x.Blueprint, fmt.Sprintf("groups[%d]", i)); err != nil {
			return nil, err
		}
		if x.Type == "" {
			c.Groups[i].Type = "team"
		}
	}
	for i, x := range c.Users {
		if err := claim(x.Blueprint, fmt.Sprintf("users[%d]", i)); err != nil {
			return nil, err
		}
	}
	for i, x := range c.Issues {
		if err := claim(x.Blueprint, fmt.Sprintf("issues[%d]", i)); err != nil {
			return nil, err
		}
		if x.Component == "" {
			return nil, fmt.Errorf("issues[%d]: component (the relation naming the component) is missing", i)
		}
	}
	return c, nil
}
