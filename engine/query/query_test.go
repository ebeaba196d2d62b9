package query

import (
	"bytes"
	"strings"
	"testing"

	"github.com/itchyny/gojq"
)

func idsOf(t *testing.T, vs []any) string {
	t.Helper()
	var out []string
	for _, v := range vs {
		out = append(out, v.(map[string]any)["identifier"].(string))
	}
	return strings.Join(out, " ")
}

func TestSearch(t *testing.T) {
	c := load(t, makeCatalog(t, smallCatalog(6)))
	for _, tc := range []struct{ name, body, want string }{
		{"property and builtin", `{"combinator":"and","rules":[{"property":"$blueprint","operator":"=","value":"issue"},{"property":"status","operator":"=","value":"unresolved"}]}`, "i000000 i000003"},
		{"nested or", `{"combinator":"and","rules":[{"property":"$blueprint","operator":"=","value":"issue"},{"combinator":"or","rules":[{"property":"count","operator":">=","value":5},{"property":"$identifier","operator":"=","value":"i000001"}]}]}`, "i000001 i000005"},
		{"relation as property", `{"combinator":"and","rules":[{"property":"project","operator":"=","value":"site"},{"property":"assignee","operator":"in","value":["ann","cid"]}]}`, "i000003 i000005"},
		{"many relation", `{"combinator":"and","rules":[{"property":"members","operator":"contains","value":"bob"}]}`, "core"},
		{"relatedTo downstream", `{"combinator":"and","rules":[{"operator":"relatedTo","blueprint":"user","value":"cid","direction":"downstream"}]}`, "i000002 i000005 web"},
		{"relatedTo upstream", `{"combinator":"and","rules":[{"operator":"relatedTo","blueprint":"team","value":"core","direction":"upstream"}]}`, "ann bob"},
		{"relatedTo both", `{"combinator":"and","rules":[{"operator":"relatedTo","blueprint":"team","value":["web"]}]}`, "site cid"},
		{"isEmpty", `{"combinator":"and","rules":[{"property":"role","operator":"isNotEmpty"}]}`, "ann bob cid"},
		{"nothing", `{"combinator":"and","rules":[{"property":"$blueprint","operator":"=","value":"nope"}]}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSearch([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := idsOf(t, c.Search(s)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSearchErrorsNameTheRule(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`[]`, `search body: want an object`},
		{`{"combinator":"xor","rules":[]}`, `search body: combinator must be "and" or "or", got "xor"`},
		{`{"combinator":"and","rules":[{"property":"a","operator":"="}]}`, `rules[0]: operator "=" needs a value`},
		{`{"combinator":"and","rules":[{},{"combinator":"or","rules":[{"property":"a","operator":"~","value":1}]}]}`, `rules[0]: operator is missing`},
		{`{"combinator":"and","rules":[{"property":"a","operator":"=","value":1},{"combinator":"or","rules":[{"property":"a","operator":"~","value":1}]}]}`, `rules[1].rules[0]: unknown operator "~"`},
		{`{"combinator":"and","rules":[{"operator":"relatedTo","value":"x"}]}`, `rules[0]: relatedTo needs a blueprint`},
		{`{"combinator":"and","rules":[{"operator":"relatedTo","blueprint":"b","value":"x","direction":"up"}]}`, `rules[0]: direction must be "upstream" or "downstream"`},
		{`{"combinator":"and","rules":[{"property":"a","operator":"=","value":1,"valu":2}]}`, `rules[0]: unknown key "valu"`},
		{`{"combinator":"and","rules":"x"}`, `search body: rules must be a list`},
	} {
		_, err := ParseSearch([]byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.body, err, tc.want)
		}
	}
}

func runJQ(t *testing.T, c *Catalog, src string) (string, error) {
	t.Helper()
	var out []string
	// A loop that never ends stops after a million steps here, not after
	// Limits' minute.
	limits := Limits
	limits.MaxSteps = 1_000_000
	err := c.JQ(src, limits, func(v any) error {
		b, err := gojq.Marshal(v)
		out = append(out, string(b))
		return err
	})
	return strings.Join(out, "\n"), err
}

func TestJQ(t *testing.T) {
	c := load(t, makeCatalog(t, smallCatalog(6)))
	for _, tc := range []struct{ src, want string }{
		{`length`, `13`},
		{`$catalog.team.core.relations.members`, `["ann","bob"]`},
		{`$catalog.issue.i000004 | related("assignee").properties.role`, `"member"`},
		{`$catalog.team.core | [related("members")[].identifier]`, `["ann","bob"]`},
		{`[.[] | select(.blueprint == "issue" and .properties.status == "unresolved") | select(related("project") | related("team").identifier == "web") | .identifier]`, `["i000003"]`},
	} {
		got, err := runJQ(t, c, tc.src)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.src, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{`.[] | select(.x ==)`, "jq syntax error at column 19"},
		{`.[0] | related("nope")`, `related("nope"): blueprint issue has no relation "nope" (it has: assignee, project)`},
		{`related("team")`, `related("team"): the input is not an entity`},
		{`def f: f; f`, "jq evaluation stopped"},
	} {
		_, err := runJQ(t, c, tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestTable(t *testing.T) {
	c := load(t, makeCatalog(t, smallCatalog(3)))
	var b bytes.Buffer
	o, err := NewOutput(&b, FormatTable, []string{"identifier", "status", "assignee", "properties.count", "members"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.JQ(`map(select(.blueprint == "issue" or .identifier == "core"))`, Limits, o.Write); err != nil {
		t.Fatal(err)
	}
	o.Close()
	want := `IDENTIFIER  STATUS      ASSIGNEE  PROPERTIES.COUNT  MEMBERS
i000000     unresolved  ann       0                 
i000001     resolved    bob       1                 
i000002     ignored     cid       2                 
core                                                ann,bob
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
