package mapping

import (
	"sort"
	"strings"
	"testing"
)

func TestInputKeys(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want string // sorted keys, or "ALL"
	}{
		{`.id`, "id"},
		{`.project.slug`, "project"},
		{`.a + "-" + .b.c`, "a b"},
		{`."weird key"`, "weird key"},
		{`.["x"]`, "x"},
		{`.title | ascii_downcase`, "title"},
		{`.projects | map (.slug)`, "projects"},
		{`if .__members != null then .__members | map(.user.email) | map(select(. != null)) else [] end`, "__members"},
		{`[(.project.slug as $slug | .__tags[] | "\($slug)-\(.name)")]`, "__tags project"},
		{`.organization.links.organizationUrl + "/projects/" + .name`, "name organization"},
		{`{a: .x, b}`, "b x"},
		{`"\(.a) and \(.b)"`, "a b"},
		{`try .a catch .b`, "a"},
		{`reduce .xs[] as $x (0; . + $x)`, "xs"},
		{`.a[.b]`, "a b"},
		{`"true"`, ""},
		{`empty`, ""},
		{`error("x")`, ""},
		{`.a // .b`, "a b"},
		{`.`, "ALL"},
		{`.[]`, "ALL"},
		{`..`, "ALL"},
		{`keys`, "ALL"},
		{`to_entries`, "ALL"},
		{`select(.a)`, "ALL"},
		{`. as $r | .a | $r.b`, "ALL"},
		{`.[.k]`, "ALL"},
		{`def f: .a; f`, "ALL"},
		{`.a = 1`, "ALL"},
		{`@base64`, "ALL"},
		{`{(.k): 1}`, "k"},
		{`.[1:2]`, "ALL"},
		{`. as [$a] | $a`, "ALL"},
		{`error`, "ALL"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			p, err := compileJQ(tc.expr, "f", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := &Resource{Identifier: p, Blueprint: p, Query: p}
			keys, all := InputKeys([]*Resource{r})
			got := "ALL"
			if !all {
				var ks []string
				for k := range keys {
					ks = append(ks, k)
				}
				sort.Strings(ks)
				got = strings.Join(ks, " ")
			}
			if got != tc.want {
				t.Fatalf("InputKeys(%s) = %q, want %q", tc.expr, got, tc.want)
			}
		})
	}
}
