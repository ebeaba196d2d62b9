package review_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/review"
	"github.com/go-git/go-git/v5/plumbing"
)

// largeChange is a 3,000-entity change like the one of issue 18 whose
// comment vanished: most of it issues with long text changes, and a few
// projects, teams, users and alerts that the old cut never reached.
func largeChange() *review.Diff {
	d := &review.Diff{
		From:    review.Rev{Commit: plumbing.NewHash("1111111111111111111111111111111111111111"), Name: "origin/main"},
		To:      review.Rev{Commit: plumbing.NewHash("2222222222222222222222222222222222222222")},
		Summary: map[string]*review.Counts{},
	}
	add := func(bp string, n int, kind review.Kind, fields func(i int) []review.FieldChange, url func(i int) string) {
		for i := 0; i < n; i++ {
			c := d.Summary[bp]
			if c == nil {
				c = &review.Counts{}
				d.Summary[bp] = c
			}
			switch kind {
			case review.Created:
				c.Created++
			case review.Changed:
				c.Changed++
			default:
				c.Deleted++
			}
			id := fmt.Sprintf("%s-%04d", bp, i)
			if kind == review.Deleted {
				id = fmt.Sprintf("%s-gone-%04d", bp, i)
			}
			e := review.EntityChange{Blueprint: bp, Identifier: id, Change: kind, Title: "Title of " + id,
				Path: "catalog/" + bp + "/" + id + ".json"}
			if fields != nil && kind != review.Deleted {
				e.Fields = fields(i)
			}
			if url != nil {
				e.URL = url(i)
			}
			d.Entities = append(d.Entities, e)
		}
	}
	text := func(i int) []review.FieldChange {
		return []review.FieldChange{
			{Path: "properties.status", Old: "unresolved", New: "resolved", HadOld: true, HasNew: true},
			{Path: "properties.culprit", Old: strings.Repeat("handler in module ", 8) + fmt.Sprint(i), New: strings.Repeat("handler in module ", 8) + fmt.Sprint(i+1), HadOld: true, HasNew: true},
		}
	}
	created := func(i int) []review.FieldChange {
		return []review.FieldChange{{Path: "properties.level", New: "error", HasNew: true}, {Path: "properties.count", New: float64(i), HasNew: true}}
	}
	issueURL := func(i int) string { return fmt.Sprintf("https://acme.sentry.io/issues/%d/", 4000000+i) }
	// Entities come sorted as Compare sorts them: blueprint, then created,
	// changed, deleted.
	add("alert", 5, review.Changed, text, nil)
	add("issue", 700, review.Created, created, issueURL)
	add("issue", 1200, review.Changed, text, issueURL)
	add("issue", 900, review.Deleted, nil, issueURL)
	add("project", 120, review.Changed, text, func(i int) string { return fmt.Sprintf("https://acme.sentry.io/projects/p%d/", i) })
	add("project", 10, review.Deleted, nil, nil)
	add("team", 40, review.Created, created, nil)
	add("user", 25, review.Changed, text, nil)
	return d
}

// A 3,000-entity change's comment fits the review workflow's limit, lists
// every blueprint with its counts and some of its entities (deletions
// first), links each entity to its file at the pull request's head (its
// old file at the base when deleted) and to its Sentry page, and starts
// with validate's result.
func TestMarkdownLargeChange(t *testing.T) {
	d := largeChange()
	if n := len(d.Entities); n != 3000 {
		t.Fatalf("%d entities", n)
	}
	links := &review.Links{Server: "https://github.com", Repository: "acme/catalog",
		Head: "3333333333333333333333333333333333333333", Base: d.From.Commit.String()}
	for _, tc := range []struct {
		name string
		v    *review.Validation
	}{
		{"pass", &review.Validation{Files: 4321}},
		{"errors", &review.Validation{Files: 4321, Errors: 2, Warnings: 1, Findings: []string{
			"catalog/issue/issue-0001.json:7: /properties/status: \"x\" is not one of [\"resolved\",\"unresolved\"]",
			"catalog/team/team-0003.json: relation owner: no entity user/nobody @someone #12",
			"catalog/user/u.json: warning: edited by hand"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := review.RenderMarkdown(d, review.MarkdownOptions{Links: links, Validation: tc.v})
			if len(md) > review.MaxMarkdown || review.MaxMarkdown >= review.CommentLimit {
				t.Fatalf("%d bytes, MaxMarkdown %d, CommentLimit %d", len(md), review.MaxMarkdown, review.CommentLimit)
			}
			// validate's result comes right after the heading.
			lines := strings.SplitN(md, "\n", 4)
			want := map[string]string{"pass": "**validate**: ✅ pass (4321 files)", "errors": "**validate**: ❌ 2 errors, 1 warning (4321 files)"}[tc.name]
			if lines[0] != "### Catalog changes" || lines[2] != want {
				t.Errorf("starts with %q, want the heading then %q", lines[:3], want)
			}
			shown := map[string]int{}
			for _, m := range regexp.MustCompile(`(?m)^- \*\*\w+\*\* \[`+"`"+`(\w+)-`).FindAllStringSubmatch(md, -1) {
				shown[m[1]]++
			}
			for _, bp := range d.Blueprints() {
				c := d.Summary[bp]
				row := fmt.Sprintf("| `%s` | %d | %d | %d |", bp, c.Created, c.Changed, c.Deleted)
				if !strings.Contains(md, row) {
					t.Errorf("the table lacks %s", row)
				}
				if !strings.Contains(md, "<details><summary><b>"+bp+"</b>") {
					t.Errorf("no section for %s", bp)
				}
				// A fair share: every blueprint shows all its entities or
				// dozens of them, however many the others have.
				if shown[bp] < min(c.Total(), 50) {
					t.Errorf("%s: %d of %d entities shown", bp, shown[bp], c.Total())
				}
			}
			// Deletions first: the first issue listed is a deleted one, and
			// links to its old file at the base.
			first := regexp.MustCompile("(?m)^- \\*\\*(\\w+)\\*\\* \\[`issue-[^`]*`\\]\\(([^)]*)\\)").FindStringSubmatch(md)
			if first == nil || first[1] != "deleted" || first[2] != "https://github.com/acme/catalog/blob/"+d.From.Commit.String()+"/catalog/issue/issue-gone-0000.json" {
				t.Errorf("first issue shown: %q", first)
			}
			if !strings.Contains(md, "(https://github.com/acme/catalog/blob/3333333333333333333333333333333333333333/catalog/alert/alert-0000.json)") {
				t.Error("no link to a changed entity's file at the head")
			}
			if !strings.Contains(md, "[acme.sentry.io](https://acme.sentry.io/issues/4000000/)") {
				t.Error("no link to an issue's Sentry page")
			}
			if tc.name == "errors" && (strings.Contains(md, "@someone") || strings.Contains(md, " #12")) {
				t.Error("a finding pings or links")
			}
			if strings.Count(md, "<details>") != strings.Count(md, "</details>") {
				t.Error("unbalanced <details>")
			}
			more := regexp.MustCompile(`\n… (\d+) more entities not shown`).FindStringSubmatch(md)
			total := 0
			for _, n := range shown {
				total += n
			}
			if more == nil || fmt.Sprint(3000-total) != more[1] {
				t.Errorf("shown %d, note %q", total, more)
			}
			golden(t, "comment_"+tc.name+".md", md)
		})
	}
}

// The limit RenderMarkdown keeps to by default leaves the workflow room
// for its marker line and a note about the plan.
func TestMaxMarkdownFitsTheComment(t *testing.T) {
	if review.CommentLimit != 60000 || review.CommentLimit-review.MaxMarkdown < 200 || review.CommentLimit >= 65536 {
		t.Errorf("CommentLimit %d, MaxMarkdown %d", review.CommentLimit, review.MaxMarkdown)
	}
}

// A link from a file's properties is a link only when it is an http(s)
// URL, and cannot break out of the markdown.
func TestEntityURL(t *testing.T) {
	for _, tc := range []struct {
		props map[string]any
		want  string
	}{
		{map[string]any{"permalink": "https://acme.sentry.io/issues/1/"}, "https://acme.sentry.io/issues/1/"},
		{map[string]any{"link": "https://a.example/x", "url": "https://b.example/y"}, "https://a.example/x"},
		{map[string]any{"url": "http://sentry.local/organizations/acme/"}, "http://sentry.local/organizations/acme/"},
		{map[string]any{"permalink": "javascript:alert(1)"}, ""},
		{map[string]any{"permalink": "https://a.example/x) [click](https://evil.example"}, "https://a.example/x%29%20%5Bclick%5D%28https://evil.example"},
		{map[string]any{"permalink": "//evil.example/x"}, ""},
		{map[string]any{"permalink": 12}, ""},
		{map[string]any{"title": "https://a.example/"}, ""},
	} {
		if got := review.EntityURL(tc.props); got != tc.want {
			t.Errorf("EntityURL(%v) = %q, want %q", tc.props, got, tc.want)
		}
	}
}
