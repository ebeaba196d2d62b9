package backstage

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gitalog/gitalog/engine/atomicfile"
	"github.com/gitalog/gitalog/engine/catalog"
	"gopkg.in/yaml.v3"
)

// APIVersion is the descriptor format written.
const APIVersion = "backstage.io/v1alpha1"

// Entity is one Backstage descriptor.
type Entity struct {
	APIVersion string         `yaml:"apiVersion" json:"apiVersion"`
	Kind       string         `yaml:"kind" json:"kind"`
	Metadata   Metadata       `yaml:"metadata" json:"metadata"`
	Spec       map[string]any `yaml:"spec" json:"spec"`
}

// Metadata is an Entity's metadata.
type Metadata struct {
	Name        string            `yaml:"name" json:"name"`
	Namespace   string            `yaml:"namespace" json:"namespace"`
	Title       string            `yaml:"title,omitempty" json:"title,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
	Links       []Link            `yaml:"links,omitempty" json:"links,omitempty"`
}

// Link is one of metadata.links.
type Link struct {
	URL   string `yaml:"url" json:"url"`
	Title string `yaml:"title,omitempty" json:"title,omitempty"`
}

// Catalog is what the export reads: the entities, and the blueprint a
// relation targets.
type Catalog interface {
	Target(blueprint, relation string) (string, bool)
	// Relations are the names of a blueprint's relations, sorted.
	Relations(blueprint string) []string
	HasBlueprint(blueprint string) bool
	HasProperty(blueprint, property string) bool
}

// relationsTo are the relations of blueprint bp to look through for an
// entity of kind: rel when bp has it (or a user's mapping names it); else,
// for the default mapping, each of bp's relations to a blueprint of kind (Port's Sentry
// blueprints name them team and projectEnvironment where gitalog's say
// teams and project).
func (x *exporter) relationsTo(bp, rel, kind string) []string {
	if rel == "" {
		return nil
	}
	if _, ok := x.cat.Target(bp, rel); ok || x.cfg.file != "" {
		return []string{rel} // a user's mapping says what it means (check)
	}
	var out []string
	for _, r := range x.cat.Relations(bp) {
		if t, _ := x.cat.Target(bp, r); x.kind[t] == kind {
			out = append(out, r)
		}
	}
	return out
}

// Ref is a Backstage entity reference, kind:namespace/name.
func Ref(kind, ns, name string) string { return strings.ToLower(kind) + ":" + ns + "/" + name }

type exporter struct {
	cfg   *Config
	cat   Catalog
	byKey map[catalog.Key]*catalog.Entity
	names map[catalog.Key]string // an entity's metadata.name
	kind  map[string]string      // blueprint -> Backstage kind
}

// Build maps the entities to descriptors, sorted by kind and name, and
// checks each against Backstage's rules (Check).
func Build(cfg *Config, cat Catalog, ents []*catalog.Entity) ([]Entity, error) {
	if err := cfg.check(cat); err != nil {
		return nil, err
	}
	x := &exporter{cfg: cfg, cat: cat, byKey: map[catalog.Key]*catalog.Entity{}, names: map[catalog.Key]string{}, kind: map[string]string{}}
	for _, c := range cfg.Components {
		x.kind[c.Blueprint] = "Component"
	}
	for _, g := range cfg.Groups {
		x.kind[g.Blueprint] = "Group"
	}
	for _, u := range cfg.Users {
		x.kind[u.Blueprint] = "User"
	}
	// Names, and clashes: Backstage compares names without case.
	taken := map[string]catalog.Key{}
	for _, e := range ents {
		x.byKey[e.Key()] = e
		kind, ok := x.kind[e.Blueprint]
		if !ok {
			continue
		}
		n := Name(e.Identifier)
		// A user's email: its local part, as Backstage's own user
		// ingestion names users, while no other user has it.
		if local, _, isEmail := strings.Cut(e.Identifier, "@"); isEmail && kind == "User" && Name(local) == local {
			if _, dup := taken[strings.ToLower(kind+"/"+local)]; !dup {
				n = local
			}
		}
		k := strings.ToLower(kind + "/" + n)
		if o, dup := taken[k]; dup {
			return nil, fmt.Errorf("%s and %s would both be %s %q in Backstage (names compare without case); rename one, or map their blueprints apart", o, e.Key(), kind, n)
		}
		taken[k] = e.Key()
		x.names[e.Key()] = n
	}

	var out []Entity
	memberOf := map[catalog.Key][]string{}
	for _, g := range cfg.Groups {
		for _, e := range x.of(ents, g.Blueprint) {
			d := x.base("Group", e)
			var members []string
			if g.Members != "" {
				ut, _ := cat.Target(e.Blueprint, g.Members)
				for _, id := range ids(e.Relations[g.Members]) {
					uk := catalog.Key{Blueprint: ut, Identifier: id}
					if n, ok := x.names[uk]; ok && x.kind[ut] == "User" {
						members = append(members, Ref("User", cfg.Namespace, n))
						memberOf[uk] = append(memberOf[uk], Ref("Group", cfg.Namespace, d.Metadata.Name))
					}
				}
			}
			d.Spec = map[string]any{"type": g.Type, "children": []string{}, "profile": map[string]any{"displayName": title(e)}}
			if len(members) > 0 {
				d.Spec["members"] = sortedSet(members)
			}
			out = append(out, d)
		}
	}
	for _, u := range cfg.Users {
		for _, e := range x.of(ents, u.Blueprint) {
			d := x.base("User", e)
			profile := map[string]any{"displayName": title(e)}
			if strings.Contains(e.Identifier, "@") {
				profile["email"] = e.Identifier
			} else if em, ok := e.Properties["email"].(string); ok {
				profile["email"] = em
			}
			d.Spec = map[string]any{"memberOf": sortedSet(memberOf[e.Key()]), "profile": profile}
			out = append(out, d)
		}
	}

	counts := map[catalog.Key]map[string]int{}
	for _, is := range cfg.Issues {
		rels := x.relationsTo(is.Blueprint, is.Component, "Component")
		if len(rels) == 0 {
			continue
		}
		rel := rels[0]
		ct, _ := cat.Target(is.Blueprint, rel)
		for _, e := range x.of(ents, is.Blueprint) {
			for _, id := range ids(e.Relations[rel]) {
				ck := catalog.Key{Blueprint: ct, Identifier: id}
				if _, ok := x.names[ck]; !ok || x.kind[ct] != "Component" {
					continue
				}
				st := "unknown"
				if s, ok := e.Properties[is.Status].(string); ok && s != "" {
					st = s
				}
				if counts[ck] == nil {
					counts[ck] = map[string]int{}
				}
				counts[ck][st]++
				counts[ck][""]++
			}
		}
	}
	unowned := false
	for _, c := range cfg.Components {
		for _, e := range x.of(ents, c.Blueprint) {
			d := x.base("Component", e)
			owner := x.owner(c, e, ents)
			if owner == "" {
				owner, unowned = Ref("Group", cfg.Namespace, cfg.DefaultOwner), true
			}
			d.Spec = map[string]any{"type": c.Type, "lifecycle": c.Lifecycle, "owner": owner}
			var deps []string
			for _, rel := range c.DependsOn {
				t, _ := cat.Target(e.Blueprint, rel)
				for _, id := range ids(e.Relations[rel]) {
					if n, ok := x.names[catalog.Key{Blueprint: t, Identifier: id}]; ok && x.kind[t] == "Component" {
						deps = append(deps, Ref("Component", cfg.Namespace, n))
					}
				}
			}
			if len(deps) > 0 {
				d.Spec["dependsOn"] = sortedSet(deps)
			}
			for st, n := range counts[e.Key()] {
				key := "gitalog.dev/issues"
				if st != "" {
					key += "-" + strings.ToLower(Name(st))
				}
				d.Metadata.Annotations[key] = fmt.Sprint(n)
			}
			out = append(out, d)
		}
	}
	if unowned {
		out = append(out, Entity{APIVersion: APIVersion, Kind: "Group",
			Metadata: Metadata{Name: cfg.DefaultOwner, Namespace: cfg.Namespace, Title: "Unowned",
				Annotations: map[string]string{"gitalog.dev/note": "owner of the components no group claims"}},
			Spec: map[string]any{"type": "team", "children": []string{}}})
	}
	slices.SortFunc(out, func(a, b Entity) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Metadata.Name, b.Metadata.Name)
	})
	var errs []string
	for _, d := range out {
		for _, err := range Check(d) {
			errs = append(errs, fmt.Sprintf("%s: %v", Ref(d.Kind, d.Metadata.Namespace, d.Metadata.Name), err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("the export breaks Backstage's rules:\n  %s", strings.Join(errs, "\n  "))
	}
	return out, nil
}

func (x *exporter) of(ents []*catalog.Entity, bp string) []*catalog.Entity {
	var out []*catalog.Entity
	for _, e := range ents {
		if e.Blueprint == bp {
			out = append(out, e)
		}
	}
	return out
}

func (x *exporter) base(kind string, e *catalog.Entity) Entity {
	d := Entity{APIVersion: APIVersion, Kind: kind, Metadata: Metadata{
		Name: x.names[e.Key()], Namespace: x.cfg.Namespace, Title: title(e),
		// The entity's own key: a name may have lost characters.
		Annotations: map[string]string{"gitalog.dev/blueprint": e.Blueprint, "gitalog.dev/identifier": e.Identifier},
	}}
	if l, ok := e.Properties["link"].(string); ok {
		if u, err := url.Parse(l); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			d.Metadata.Links = []Link{{URL: u.String(), Title: "Sentry"}}
		}
	}
	return d
}

// owner is the component's group: by its owner relation, else the first
// group (by identifier) whose property lists it.
func (x *exporter) owner(c Components, e *catalog.Entity, ents []*catalog.Entity) string {
	for _, rel := range x.relationsTo(e.Blueprint, c.Owner.Relation, "Group") {
		t, _ := x.cat.Target(e.Blueprint, rel)
		for _, id := range ids(e.Relations[rel]) {
			if n, ok := x.names[catalog.Key{Blueprint: t, Identifier: id}]; ok && x.kind[t] == "Group" {
				return Ref("Group", x.cfg.Namespace, n)
			}
		}
	}
	lb := c.Owner.ListedBy
	if lb.Blueprint == "" || x.kind[lb.Blueprint] != "Group" {
		return ""
	}
	for _, g := range x.of(ents, lb.Blueprint) {
		if slices.Contains(ids(g.Properties[lb.Property]), e.Identifier) {
			return Ref("Group", x.cfg.Namespace, x.names[g.Key()])
		}
	}
	return ""
}

func title(e *catalog.Entity) string {
	if s, ok := e.Title.(string); ok && s != "" {
		return s
	}
	return e.Identifier
}

func ids(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	}
	return nil
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// Files are the files Write writes, by kind, and the Location.
var Files = map[string]string{"Component": "components.yaml", "Group": "groups.yaml", "User": "users.yaml"}

// LocationFile is the Location naming the other files.
const LocationFile = "catalog-info.yaml"

// Encode writes descriptors as one multi-document YAML stream.
func Encode(ds []Entity) ([]byte, error) {
	var b bytes.Buffer
	for _, d := range ds {
		b.WriteString("---\n")
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
		enc.Close()
	}
	return b.Bytes(), nil
}

// Write writes the descriptors into dir: one multi-document file per
// kind and catalog-info.yaml, a Location naming them, the file to
// register in Backstage. Every file is written whole or not at all.
func Write(dir, ns string, ds []Entity) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var targets, written []string
	for _, kind := range []string{"Component", "Group", "User"} {
		var of []Entity
		for _, d := range ds {
			if d.Kind == kind {
				of = append(of, d)
			}
		}
		data, err := Encode(of)
		if err != nil {
			return nil, err
		}
		name := Files[kind]
		if err := atomicfile.Write(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, err
		}
		targets = append(targets, "./"+name)
		written = append(written, name)
	}
	loc := Entity{APIVersion: APIVersion, Kind: "Location",
		Metadata: Metadata{Name: "gitalog", Namespace: ns, Title: "gitalog catalog",
			Annotations: map[string]string{"gitalog.dev/generated-by": "gitalog export backstage"}},
		Spec: map[string]any{"targets": targets}}
	if errs := Check(loc); len(errs) > 0 {
		return nil, errs[0]
	}
	data, err := Encode([]Entity{loc})
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(dir, LocationFile), data, 0o644); err != nil {
		return nil, err
	}
	return append(written, LocationFile), nil
}
