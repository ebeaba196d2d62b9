package sentry

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Shape says how a response becomes items.
type Shape int

const (
	// EachElement: every element of the list is an item.
	EachElement Shape = iota
	// MergeEach: one item per element: the parent plus {Key: element}
	// (Port's project-tag).
	MergeEach
	// MergeAll: one item per parent: the parent plus {Key: [elements]}
	// (Port's issue-tag).
	MergeAll
)

// Kind describes how to fetch one kind of item. Paths and query values are
// templates: {org}, {parent.FIELD}, {selector.KEY|default}; a query value
// written {selector.KEY?} is left out when the selector lacks KEY.
type Kind struct {
	Name   string
	Path   string
	Query  map[string]string
	Parent string // fan out over the items of this kind
	// Uses are the selector keys this kind's fetch depends on (its parent's
	// are added), so two resources that differ only elsewhere share a fetch.
	// They are also the selector options a config may give the kind: the
	// mapping checks keys and types against them.
	Uses          []Param
	Paged         bool
	Shape         Shape
	Key           string // for MergeEach and MergeAll
	NotFoundEmpty bool   // a 404 means "no values", as Sentry answers for an unknown tag
	Scope         string // token scope the endpoints need, named in 401/403 errors
	Attach        []Attach
	// DependsOn are the parent's fields a fan-out's result depends on: while
	// they are unchanged since the last sync, the result is reused from the
	// memo instead of fetched (see Memo). None: fetched every sync.
	DependsOn []string
}

// ParamType is the YAML type a selector option must have.
type ParamType int

const (
	String ParamType = iota
	Bool
)

func (t ParamType) String() string {
	if t == Bool {
		return "a boolean"
	}
	return "a string"
}

// Param is a selector option of a kind.
type Param struct {
	Name string
	Type ParamType
}

// Attach adds a key to every item from another request.
type Attach struct {
	Key   string
	Path  string
	Paged bool
	Once  bool   // the same response for every item (fetched once)
	When  string // only when this selector key is true
	Scope string
	// DependsOn are the item's fields the attached value depends on, as
	// Kind.DependsOn for a fan-out.
	DependsOn []string
}

// Kinds are Port's six Sentry kinds.
var Kinds = map[string]*Kind{
	"project": {
		Name: "project", Path: "/organizations/{org}/projects/", Paged: true, Scope: "project:read",
		// The org-scoped list has no organization object; Port's items (from
		// the legacy /projects/) do, and mappings use its links.
		Attach: []Attach{{Key: "organization", Path: orgPath, Once: true, Scope: "org:read"}},
	},
	"issue": {
		Name: "issue", Parent: "project", Path: "/organizations/{org}/issues/", Paged: true, Scope: "event:read",
		Query: map[string]string{
			"project":     "{parent.id}",
			"query":       "{selector.search|is:unresolved}",
			"statsPeriod": "{selector.statsPeriod?}",
			"limit":       "100",
		},
		Uses: []Param{{"search", String}, {"statsPeriod", String}},
	},
	"team": {
		Name: "team", Path: "/organizations/{org}/teams/", Paged: true, Scope: "team:read",
		// A team's members change with its memberCount (a member swapped
		// for another between two syncs waits for the full refresh).
		Attach: []Attach{{Key: "__members", Path: "/teams/{org}/{item.slug}/members/", Paged: true, When: "includeMembers", Scope: "member:read",
			DependsOn: []string{"memberCount"}}},
		Uses: []Param{{"includeMembers", Bool}},
	},
	"user": {
		Name: "user", Path: "/organizations/{org}/members/", Paged: true, Scope: "member:read",
	},
	// A project's tag values change with any of its issues, and there is
	// no field of the project that says so: they are fetched every sync,
	// one request per project.
	"project-tag": {
		Name: "project-tag", Parent: "project", Path: "/projects/{org}/{parent.slug}/tags/{selector.tag|environment}/values/",
		Paged: true, Shape: MergeEach, Key: "__tags", NotFoundEmpty: true, Scope: "project:read", Uses: []Param{{"tag", String}},
	},
	"issue-tag": {
		Name: "issue-tag", Parent: "issue", Path: "/organizations/{org}/issues/{parent.id}/tags/{selector.tag|environment}/values/",
		Paged: true, Shape: MergeAll, Key: "__tags", NotFoundEmpty: true, Scope: "event:read", Uses: []Param{{"tag", String}},
		// An issue's tag values change only with new events, which move
		// its lastSeen and count.
		DependsOn: []string{"lastSeen", "count"},
	},
}

// KindNames lists the known kinds, sorted.
func KindNames() []string {
	names := make([]string, 0, len(Kinds))
	for n := range Kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// uses returns the selector keys a kind depends on, its ancestors' included.
func uses(k *Kind) []string {
	var out []string
	for _, p := range k.Params() {
		out = append(out, p.Name)
	}
	for ; k != nil; k = Kinds[k.Parent] {
		for _, a := range k.Attach {
			if a.When != "" {
				out = append(out, a.When)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Params returns the selector options the kind takes, its ancestors'
// included (an issue-tag's issues are chosen by search), in order from the
// kind up.
func (k *Kind) Params() []Param {
	var out []Param
	for ; k != nil; k = Kinds[k.Parent] {
		out = append(out, k.Uses...)
	}
	return out
}

type tmplEnv struct {
	org      string
	parent   map[string]any
	item     map[string]any
	selector map[string]any
}

// expand fills a template. ok is false when an optional value is absent.
func (t tmplEnv) expand(s string, escape bool) (out string, ok bool, err error) {
	var b strings.Builder
	ok = true
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String(), ok, nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", false, fmt.Errorf("unclosed { in %q", s)
		}
		b.WriteString(s[:i])
		expr := s[i+1 : i+j]
		s = s[i+j+1:]
		optional := strings.HasSuffix(expr, "?")
		expr = strings.TrimSuffix(expr, "?")
		expr, def, hasDef := strings.Cut(expr, "|")
		var val string
		var found bool
		switch {
		case expr == "org":
			val, found = t.org, true
		case strings.HasPrefix(expr, "parent."):
			val, found = field(t.parent, expr[len("parent."):])
		case strings.HasPrefix(expr, "item."):
			val, found = field(t.item, expr[len("item."):])
		case strings.HasPrefix(expr, "selector."):
			val, found = field(t.selector, expr[len("selector."):])
		default:
			return "", false, fmt.Errorf("unknown template {%s}", expr)
		}
		if !found {
			switch {
			case hasDef:
				val = def
			case optional:
				ok = false
			default:
				return "", false, fmt.Errorf("template {%s}: no such field", expr)
			}
		}
		if escape {
			val = url.PathEscape(val)
		}
		b.WriteString(val)
	}
}

func field(m map[string]any, name string) (string, bool) {
	v, ok := m[name]
	if !ok || v == nil {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case fmt.Stringer:
		return v.String(), true
	}
	return fmt.Sprint(v), true
}

// Endpoint names a path template as Sentry's rate limits and the summary
// group requests: ids and names replaced, e.g.
// /organizations/{org}/issues/{id}/tags/{key}/values/.
func Endpoint(tmpl string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		j := strings.IndexByte(tmpl[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		expr, _, _ := strings.Cut(strings.TrimSuffix(tmpl[i+1:i+j], "?"), "|")
		name := expr[strings.LastIndexByte(expr, '.')+1:]
		switch {
		case expr == "org":
			name = "org"
		case strings.HasPrefix(expr, "selector."):
			name = "key"
		case name != "id":
			name = "slug"
		}
		b.WriteString("{" + name + "}")
		tmpl = tmpl[i+j+1:]
	}
}
