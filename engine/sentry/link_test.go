package sentry

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// recorded is the Link header from Sentry's own API docs cache (see
// shared/sentry-api/README.md).
const recorded = `<https://app.getsentry.com/api/0/projects/the-interstellar-jurisdiction/pump-station/groups/?statsPeriod=24h&cursor=1440711322:0:1>; rel="previous"; results="false"; cursor="1440711322:0:1", <https://app.getsentry.com/api/0/projects/the-interstellar-jurisdiction/pump-station/groups/?statsPeriod=24h&cursor=1440711320:0:0>; rel="next"; results="false"; cursor="1440711320:0:0"`

func TestParseLinks(t *testing.T) {
	const base = "https://sentry.io/api/0/organizations/acme/issues/"
	type L = Link
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name, h string
		want    []Link
		next    string
	}{
		{"empty", "", nil, ""},
		{"recorded example", recorded, []Link{
			{"https://app.getsentry.com/api/0/projects/the-interstellar-jurisdiction/pump-station/groups/?statsPeriod=24h&cursor=1440711322:0:1",
				p("rel", "previous", "results", "false", "cursor", "1440711322:0:1")},
			{"https://app.getsentry.com/api/0/projects/the-interstellar-jurisdiction/pump-station/groups/?statsPeriod=24h&cursor=1440711320:0:0",
				p("rel", "next", "results", "false", "cursor", "1440711320:0:0")},
		}, ""},
		{"first page, bare query ?&cursor=",
			`<https://sentry.io/api/0/organizations/acme/projects/?&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", <https://sentry.io/api/0/organizations/acme/projects/?&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"`,
			[]Link{
				{"https://sentry.io/api/0/organizations/acme/projects/?&cursor=0:0:1", p("rel", "previous", "results", "false", "cursor", "0:0:1")},
				{"https://sentry.io/api/0/organizations/acme/projects/?&cursor=0:100:0", p("rel", "next", "results", "true", "cursor", "0:100:0")},
			}, "https://sentry.io/api/0/organizations/acme/projects/?&cursor=0:100:0"},
		{"middle page with query",
			`<` + base + `?project=1&query=is%3Aunresolved&cursor=1700000000000:0:1>; rel="previous"; results="true"; cursor="1700000000000:0:1", <` + base + `?project=1&query=is%3Aunresolved&cursor=1699999999000:0:0>; rel="next"; results="true"; cursor="1699999999000:0:0"`,
			[]Link{
				{base + "?project=1&query=is%3Aunresolved&cursor=1700000000000:0:1", p("rel", "previous", "results", "true", "cursor", "1700000000000:0:1")},
				{base + "?project=1&query=is%3Aunresolved&cursor=1699999999000:0:0", p("rel", "next", "results", "true", "cursor", "1699999999000:0:0")},
			}, base + "?project=1&query=is%3Aunresolved&cursor=1699999999000:0:0"},
		{"last page: next with results=false",
			`<` + base + `?cursor=0:100:1>; rel="previous"; results="true"; cursor="0:100:1", <` + base + `?cursor=0:200:0>; rel="next"; results="false"; cursor="0:200:0"`,
			[]Link{
				{base + "?cursor=0:100:1", p("rel", "previous", "results", "true", "cursor", "0:100:1")},
				{base + "?cursor=0:200:0", p("rel", "next", "results", "false", "cursor", "0:200:0")},
			}, ""},
		{"next first, no spaces, unquoted values, upper-case keys",
			`<a?c=1>;REL=next;Results=true,<b>;rel=previous;results=true`,
			[]Link{{"a?c=1", p("rel", "next", "results", "true")}, {"b", p("rel", "previous", "results", "true")}},
			"a?c=1"},
		{"quoted commas and semicolons",
			`<u1>; title="a, b; c=d"; rel="next"; results="true", <u2>; rel="previous"`,
			[]Link{{"u1", p("title", "a, b; c=d", "rel", "next", "results", "true")}, {"u2", p("rel", "previous")}},
			"u1"},
		{"escaped quote and backslash",
			`<u>; title="say \"hi\" \\ bye"; rel="next"; results="true"`,
			[]Link{{"u", p("title", `say "hi" \ bye`, "rel", "next", "results", "true")}}, "u"},
		{"commas and semicolons inside the URL",
			`<https://h/x?a=1,2;b>; rel="next"; results="true"`,
			[]Link{{"https://h/x?a=1,2;b", p("rel", "next", "results", "true")}}, "https://h/x?a=1,2;b"},
		{"whitespace and tabs", " \t<u> \t;\trel = \"next\" ; results=\"true\"  ,  ",
			[]Link{{"u", p("rel", "next", "results", "true")}}, "u"},
		{"valueless parameter", `<u>; crossorigin; rel="next"; results="true"`,
			[]Link{{"u", p("crossorigin", "", "rel", "next", "results", "true")}}, "u"},
		{"results is matched case-insensitively", `<u>; rel="next"; results="TRUE"`,
			[]Link{{"u", p("rel", "next", "results", "TRUE")}}, "u"},
		{"rel is a list of relations", `<u>; rel="last next"; results="true"`,
			[]Link{{"u", p("rel", "last next", "results", "true")}}, "u"},
		{"rel=next without results", `<u>; rel="next"`, []Link{{"u", p("rel", "next")}}, ""},
		{"rel is matched case-insensitively", `<u>; rel="NEXT"; results="true"`,
			[]Link{{"u", p("rel", "NEXT", "results", "true")}}, "u"},
		{"malformed: no angle bracket", `https://x; rel="next"; results="true"`, nil, ""},
		{"malformed: unclosed angle bracket", `<https://x; rel="next"; results="true"`, nil, ""},
		{"malformed: unclosed quote", `<u>; rel="next; results="true"`, []Link{{"u", p("rel", "next; results=")}}, ""},
		{"malformed: garbage after first link", `<a>; rel="previous" junk, <b>; rel="next"; results="true"`,
			[]Link{{"a", p("rel", "previous")}}, ""},
		{"malformed: trailing backslash in quote", `<u>; rel="next\`, []Link{{"u", p("rel", `next\`)}}, ""},
		{"empty URL", `<>; rel="next"; results="true"`, []Link{{"", p("rel", "next", "results", "true")}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseLinks(tc.h)
			if len(got) == 0 && len(tc.want) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseLinks(%q)\n got %#v\nwant %#v", tc.h, got, tc.want)
			}
			if n := nextURL(tc.h); n != tc.next {
				t.Errorf("nextURL = %q, want %q", n, tc.next)
			}
		})
	}
}

// formatLinks writes links in Sentry's layout, quoting every value.
func formatLinks(links []Link) string {
	var parts []string
	for _, l := range links {
		var b strings.Builder
		b.WriteString("<" + l.URL + ">")
		keys := make([]string, 0, len(l.Params))
		for k := range l.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(l.Params[k])
			b.WriteString("; " + k + `="` + v + `"`)
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, ", ")
}

func FuzzParseLinks(f *testing.F) {
	f.Add(recorded)
	f.Add(`<https://sentry.io/api/0/organizations/acme/projects/?&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"`)
	f.Add(`<u1>; title="a, b; c=d"; rel="next"; results="true", <u2>; rel="previous"`)
	f.Add(`<u>; rel="next\`)
	f.Add(`<`)
	f.Add(`<a>;;;,,,<b>;=;="";x=`)
	f.Fuzz(func(t *testing.T, h string) {
		links := ParseLinks(h) // must not panic
		next := nextURL(h)
		found := next == ""
		for _, l := range links {
			if strings.Contains(l.URL, ">") {
				t.Errorf("URL %q holds '>'", l.URL)
			}
			if l.URL != strings.TrimSpace(l.URL) {
				t.Errorf("URL %q is not trimmed", l.URL)
			}
			for k := range l.Params {
				if k == "" || k != strings.ToLower(k) || k != strings.TrimSpace(k) || strings.ContainsAny(k, "=;,") {
					t.Errorf("bad key %q", k)
				}
			}
			if next != "" && l.URL == next && strings.Contains(strings.ToLower(l.Params["rel"]), "next") && strings.EqualFold(strings.TrimSpace(l.Params["results"]), "true") {
				found = true
			}
		}
		if !found {
			t.Errorf("nextURL(%q) = %q, which is no parsed next link", h, next)
		}
		// Round trip: what was parsed, written back canonically, parses
		// the same (the URL must not start a link with a '<' it lacks).
		again := ParseLinks(formatLinks(links))
		if len(again) == 0 && len(links) == 0 {
			return
		}
		if !reflect.DeepEqual(again, links) {
			t.Errorf("round trip of %q:\n got %#v\nwant %#v", h, again, links)
		}
	})
}

// nextURL is the next page's URL when NextPage knows there is one, else "".
func nextURL(h string) string {
	next, known := NextPage(h)
	if !known {
		return ""
	}
	return next
}
