package sync

import (
	"errors"
	"github.com/gitalog/gitalog/engine/catalog"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/schema"
)

// defaultBlueprintSet is Port's and seed 001's blueprints, compiled.
func defaultBlueprintSet(t *testing.T) *schema.Set {
	t.Helper()
	// Port's blueprints and seed 001's, as the fixtures' catalogs have.
	dir := t.TempDir()
	for p, b := range testrepo.PortFiles() {
		if strings.HasPrefix(p, "blueprints/") {
			if err := os.WriteFile(filepath.Join(dir, path.Base(p)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	bps, err := schema.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := schema.Compile(bps)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// Which blueprints a doubt keeps: the item's when it told, the resource's
// literal one, else every blueprint; a blueprint that does not exist says
// nothing about which existing one the items belong to.
func TestDoubtBlueprints(t *testing.T) {
	set := defaultBlueprintSet(t)
	cfg, err := mapping.Parse("c.yaml", []byte(`resources:
  - kind: user
    port: {entity: {mappings: {identifier: .email, blueprint: '"sentryUser"'}}}
  - kind: user
    port: {entity: {mappings: {identifier: .email, blueprint: '"sentryUsers"'}}}
  - kind: issue
    port: {entity: {mappings: {identifier: .id, blueprint: .bp}}}
  - kind: issue-tag
    port: {entity: {mappings: {identifier: .id, blueprint: '"sentryIssue"'}}}
  - kind: team
    port: {entity: {mappings: {identifier: .slug, blueprint: '"sentryTeam"'}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Resources
	every := []string(nil)
	for _, c := range []struct {
		name   string
		items  []doubtItem
		failed []string
		empty  []int            // resources that gave no entity
		want   map[int][]string // resource index -> blueprints
	}{
		{"literal blueprint", []doubtItem{{res: r[0], msg: "x"}}, nil, nil, map[int][]string{0: {"sentryUser"}}},
		{"misspelled literal", []doubtItem{{res: r[1], msg: "x"}}, nil, nil, map[int][]string{1: every}},
		{"item told", []doubtItem{{res: r[2], msg: "x", bp: "issue"}, {res: r[2], msg: "y", bp: "project"}}, nil, nil, map[int][]string{2: {"issue", "project"}}},
		{"item told an unknown one", []doubtItem{{res: r[2], msg: "x", bp: "issue"}, {res: r[2], msg: "x", bp: "nope"}}, nil, nil, map[int][]string{2: every}},
		{"dynamic, untold", []doubtItem{{res: r[2], msg: "x"}}, nil, nil, map[int][]string{2: every}},
		{"failed kind", nil, []string{"user"}, nil, map[int][]string{0: {"sentryUser"}, 1: every}},
		{"failed parent", nil, []string{"issue"}, nil, map[int][]string{2: every, 3: {"sentryIssue"}}},
		{"failed grandparent", nil, []string{"project"}, nil, map[int][]string{2: every, 3: {"sentryIssue"}}},
		{"unrelated kind", nil, []string{"team"}, nil, map[int][]string{4: {"sentryTeam"}}},
		{"gave nothing, literal", nil, nil, []int{0}, map[int][]string{0: {"sentryUser"}}},
		{"gave nothing, misspelled", nil, nil, []int{1}, map[int][]string{1: every}},
		{"gave nothing, dynamic", nil, nil, []int{2}, map[int][]string{2: every}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ds := newDoubts(set)
			for _, d := range c.items {
				ds.item(d)
			}
			failed := map[string]bool{}
			for _, k := range c.failed {
				failed[k] = true
			}
			var groups [][]*mapping.Resource
			for _, res := range r {
				groups = append(groups, []*mapping.Resource{res})
			}
			ds.fetchFailures(groups, failed)
			for _, i := range c.empty {
				ds.gaveNothing(&resCount{res: r[i], items: 3, rejected: 3})
			}
			got := map[int][]string{}
			for _, d := range ds.list() {
				got[indexOf(r, d.Resource)] = d.Blueprints
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func indexOf(rs []*mapping.Resource, label string) int {
	for i, r := range rs {
		if r.Label() == label {
			return i
		}
	}
	return -1
}

// A message splits around the value an item gave, so that messages that
// differ only in it group; a message without one stays whole.
func TestSplitValue(t *testing.T) {
	for _, c := range []struct{ msg, pre, value, post string }{
		{"identifier must be a non-empty string, got 46; item skipped", "identifier must be a non-empty string, got ", "46", "; item skipped"},
		{`must yield an array, got {"a":1}`, "must yield an array, got ", `{"a":1}`, ""},
		{`expected an object but got: string ("a@x") (value set to null)`, "expected an object but got: string (", `"a@x"`, ") (value set to null)"},
		{"cannot iterate over: null (null)", "cannot iterate over: null (", "null", ")"},
		{"jq stopped after 100 steps (value set to null)", "jq stopped after 100 steps (value set to null)", "", ""},
	} {
		pre, value, post := splitValue(c.msg)
		if pre != c.pre || value != c.value || post != c.post {
			t.Errorf("splitValue(%q) = %q, %q, %q", c.msg, pre, value, post)
		}
		if pre+value+post != c.msg {
			t.Errorf("splitValue(%q) loses text", c.msg)
		}
	}
}

// Why a resource gave no entity: one cause for all its items, or each
// cause with its count.
func TestGaveNothingReason(t *testing.T) {
	set := defaultBlueprintSet(t)
	cfg, err := mapping.Parse("c.yaml", []byte(`resources:
  - kind: team
    port: {itemsToParse: .__members, entity: {mappings: {identifier: .item.email, blueprint: '"sentryUser"'}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Resources[0]
	for _, c := range []struct {
		count resCount
		want  string
	}{
		{resCount{items: 4, rejected: 4}, `resource #1 (kind "team") gave no entity from its 4 items (selector.query was false for all of them)`},
		{resCount{items: 1, empty: 1}, `resource #1 (kind "team") gave no entity from its 1 item (port.itemsToParse gave an empty array for all of them)`},
		{resCount{items: 4, rejected: 2, empty: 1, nulls: 1}, `resource #1 (kind "team") gave no entity from its 4 items (selector.query was false for 2 of them, port.itemsToParse gave an empty array for 1 of them, port.itemsToParse gave null for 1 of them)`},
	} {
		ds := newDoubts(set)
		c.count.res = r
		ds.gaveNothing(&c.count)
		got := ds.list()
		if len(got) != 1 || !got[0].Empty || got[0].String() != c.want || !reflect.DeepEqual(got[0].Blueprints, []string{"sentryUser"}) {
			t.Errorf("got %+v\nwant %s", got, c.want)
		}
	}
}

// Each reason a sync was incomplete starts a line of its own: after the
// fetch errors' indented list, a mapping doubt on the list's last line
// would read as one more failed request.
func TestPartialReasonsOnTheirOwnLines(t *testing.T) {
	r := &Result{
		FetchErrors: []error{errors.New("fetching teams: HTTP 502"), errors.New("(and 17 more failed requests)")},
		Doubts: []Doubt{
			{Resource: `resource #2 (kind "team")`, Kind: "team", Fetch: true, Blueprints: []string{"sentryTeam"}},
			{Resource: `resource #1 (kind "user")`, Kind: "user", Items: 10, Reason: "port.entity.mappings.identifier: must be a non-empty string", Blueprints: []string{"sentryUser"}},
		},
	}
	err := r.Err()
	if !errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("want catalog.ErrPartial, got %v", err)
	}
	lines := strings.Split(err.Error(), "\n")
	want := `deletions skipped for sentryUser: resource #1 (kind "user") failed to map 10 items: port.entity.mappings.identifier: must be a non-empty string`
	if len(lines) != 4 || lines[2] != "  (and 17 more failed requests)" || lines[3] != want {
		t.Errorf("reasons:\n%s\nwant the last line %q", err, want)
	}
}
