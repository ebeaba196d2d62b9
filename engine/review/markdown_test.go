package review_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/review"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// bigDiff is a diff with n changed entities over three blueprints, each
// with a long text change.
func bigDiff(n int) *review.Diff {
	d := &review.Diff{Summary: map[string]*review.Counts{}}
	for i := 0; i < n; i++ {
		bp := []string{"alpha", "beta", "gamma"}[i*3/n]
		if d.Summary[bp] == nil {
			d.Summary[bp] = &review.Counts{}
		}
		d.Summary[bp].Changed++
		d.Entities = append(d.Entities, review.EntityChange{
			Blueprint: bp, Identifier: fmt.Sprintf("entity-%05d", i), Change: review.Changed,
			Title: "Some <title> @someone", Path: "catalog/x",
			Fields: []review.FieldChange{
				{Path: "properties.status", Old: "unresolved", New: "resolved", HadOld: true, HasNew: true},
				{Path: "properties.text", Old: strings.Repeat("lorem ipsum ", 12), New: strings.Repeat("lorem ipsum ", 11) + "dolor", HadOld: true, HasNew: true},
			},
		})
	}
	return d
}

func TestMarkdownTruncation(t *testing.T) {
	for _, tc := range []struct {
		n, max int
	}{
		{3, 0}, {100, 0}, {5000, 0}, {5000, 3000}, {50, 400},
	} {
		t.Run(fmt.Sprintf("%d_%d", tc.n, tc.max), func(t *testing.T) {
			d := bigDiff(tc.n)
			md := review.RenderMarkdown(d, review.MarkdownOptions{MaxBytes: tc.max})
			limit := tc.max
			if limit == 0 {
				limit = review.MaxMarkdown
			}
			if len(md) > limit || len(md) >= 65536 {
				t.Fatalf("%d bytes, limit %d", len(md), limit)
			}
			shown := strings.Count(md, "\n- **changed**")
			m := regexp.MustCompile(`\n… (\d+) more entities not shown`).FindStringSubmatch(md)
			more := 0
			if m != nil {
				more, _ = strconv.Atoi(m[1])
				if !strings.HasSuffix(md, "for all of them).\n") {
					t.Errorf("the note is not last:\n%s", md[len(md)-300:])
				}
			}
			if shown+more != tc.n {
				t.Errorf("shown %d + not shown %d != %d", shown, more, tc.n)
			}
			if tc.n == 5000 && more == 0 || tc.n <= 100 && tc.max == 0 && more != 0 {
				t.Errorf("cut %d of %d", more, tc.n)
			}
			if strings.Count(md, "<details>") != strings.Count(md, "</details>") {
				t.Errorf("unbalanced details")
			}
			// The summary table is always whole.
			for _, bp := range []string{"alpha", "beta", "gamma"} {
				if !strings.Contains(md, "| `"+bp+"` |") {
					t.Errorf("summary lacks %s", bp)
				}
			}
		})
	}
}

func TestWords(t *testing.T) {
	show := func(ops []review.Op) string {
		var b strings.Builder
		for _, op := range ops {
			switch op.Kind {
			case diffmatchpatch.DiffDelete:
				b.WriteString("[-" + op.Text + "-]")
			case diffmatchpatch.DiffInsert:
				b.WriteString("{+" + op.Text + "+}")
			default:
				b.WriteString(op.Text)
			}
		}
		return b.String()
	}
	for _, tc := range []struct{ a, b, want string }{
		{"the quick brown fox", "the quick red fox", "the quick [-brown-]{+red+} fox"},
		{"version 1.2.3", "version 1.2.4", "version 1.2.[-3-]{+4+}"},
		{"a\nb\nc", "a\nB\nc", "a\n[-b-]{+B+}\nc"},
		{"same", "same", "same"},
		{"", "new text", "{+new text+}"},
		{"naïve café", "naïve cafés", "naïve [-café-]{+cafés+}"},
	} {
		if got := show(review.Words(tc.a, tc.b)); got != tc.want {
			t.Errorf("Words(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestFormatField(t *testing.T) {
	long := "a fairly long description of an issue that goes on for more than sixty characters"
	for _, tc := range []struct {
		c    review.FieldChange
		want string
	}{
		{review.FieldChange{Path: "properties.status", Old: "a", New: "b", HadOld: true, HasNew: true}, `properties.status: "a" → "b"`},
		{review.FieldChange{Path: "properties.n", New: 1, HasNew: true}, `properties.n: (none) → 1`},
		{review.FieldChange{Path: "properties.n", Old: nil, HadOld: true}, `properties.n: null → (none)`},
		{review.FieldChange{Path: "properties.d", Old: long, New: strings.Replace(long, "issue", "incident", 1), HadOld: true, HasNew: true},
			"properties.d:\n  a fairly long description of an [-issue-]{+incident+} that goes on for more than sixty characters"},
		{review.FieldChange{Path: "properties.d", Old: "x\ny", New: "x\nz", HadOld: true, HasNew: true}, "properties.d:\n  x\n  [-y-]{+z+}"},
	} {
		if got := review.FormatField(tc.c, ""); got != tc.want {
			t.Errorf("FormatField(%+v) =\n%s\nwant\n%s", tc.c, got, tc.want)
		}
	}
}

// FieldLine is the one-line form the sync summary shows: never a word
// diff, each value cut to the width asked for.
func TestFieldLine(t *testing.T) {
	long := "a fairly long description of an issue that goes on for more than sixty characters"
	c := review.FieldChange{Path: "properties.d", Old: long, New: "short\nlines", HadOld: true, HasNew: true}
	want := `properties.d: "a fairly lon… → "short\nlines"`
	if got := review.FieldLine(c, 14); got != want {
		t.Errorf("FieldLine = %s\nwant %s", got, want)
	}
}
