package review_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// scenario is a catalog with four commits: init, a first sync, a second
// sync after upstream changes, and a hand-made commit with long texts,
// hostile identifiers, an undecodable file and non-catalog changes.
type scenario struct {
	*repo
	commits map[string]string // name -> hash
	edited  catalog.Key       // the entity the hand commit changes
	hostile catalog.Key
}

const longTitle = "ZeroDivisionError: division by zero in payments.api while computing the monthly invoice totals for the enterprise plan"

func newScenario(t *testing.T) *scenario {
	t.Helper()
	s := &scenario{repo: newRepo(t), commits: map[string]string{}}
	s.commits["INIT"] = s.rev("HEAD")
	s.sync()
	s.commits["SYNC1"] = s.rev("HEAD")
	s.srv.Update(func(d *sentrytest.Dataset) {
		ids := d.IssueIDs("unresolved")
		s.edited = catalog.Key{Blueprint: "issue", Identifier: ids[0]}
		d.ResolveIssue(ids[1])
		d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	s.sync()
	s.commits["SYNC2"] = s.rev("HEAD")

	e := s.read(s.edited)
	e.Title = longTitle
	e.Properties["notes"] = "first line\nsecond line stays\nthird line"
	e.Properties["status"] = "ignored"
	e.Properties["tags"] = []any{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"}
	delete(e.Properties, "isUnhandled")
	s.write(e)
	s.hostile = catalog.Key{Blueprint: "issue", Identifier: "<script>|@octocat #1 `x` **b**"}
	s.write(&catalog.Entity{Identifier: s.hostile.Identifier, Blueprint: "issue",
		Title:      "**bold** [link](http://x) @octocat #12 <img src=x> | ~~s~~ \x1b[31m",
		Properties: map[string]any{"status": "unresolved", "note": "a `tick` and ``two``"}})
	s.writeRaw("catalog/issue/broken.json", []byte("{not json\n"))
	s.writeRaw(".gitalog/extra.txt", []byte("not catalog\n"))
	s.writeRaw("blueprints/extra.json", []byte("[]\n"))
	s.git("rm", "-q", "--", catalog.Path(catalog.Key{Blueprint: "project", Identifier: "payments"}))
	// Edited in place, it moves to the end of the changed list; the
	// notes edit shows a multi-line word diff.
	s.commits["HAND"] = s.commit("hand edits")
	// Once more, to change the multi-line text.
	e.Properties["notes"] = "first line\nsecond line stays\nthird line, longer now\nand a fourth"
	e.Title = strings.Replace(longTitle, "monthly", "yearly", 1)
	s.write(e)
	s.commits["HAND2"] = s.commit("hand edits again")
	return s
}

// normalize replaces commit hashes by their names and dates by DATE.
func (s *scenario) normalize(out string) string {
	for name, h := range s.commits {
		out = strings.ReplaceAll(out, h, "<"+name+">")
		out = strings.ReplaceAll(out, h[:12], "<"+name+">")
	}
	return regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [-+]\d{4}`).ReplaceAllString(out, "DATE")
}

func render(t *testing.T, d *review.Diff, format string) string {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "txt":
		err = review.RenderText(&b, d)
	case "md":
		b.WriteString(review.RenderMarkdown(d, review.MarkdownOptions{}))
	case "json":
		err = review.RenderJSON(&b, d)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDiffGolden(t *testing.T) {
	s := newScenario(t)
	rp := s.open()
	for _, tc := range []struct {
		name           string
		from, to, base string
	}{
		{name: "sync", from: s.commits["SYNC1"], to: "HEAD~2"},
		{name: "hand", from: "HEAD~2", to: "HEAD~1"},
		{name: "hand2"}, // the default, HEAD~1..HEAD
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to, err := rp.Range(tc.from, tc.to, tc.base)
			if err != nil {
				t.Fatal(err)
			}
			d, err := rp.Diff(context.Background(), from, to)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"txt", "md", "json"} {
				golden(t, "diff_"+tc.name+"."+f, s.normalize(render(t, d, f)))
			}
		})
	}
}

func TestDiffContent(t *testing.T) {
	s := newScenario(t)
	rp := s.open()
	from, to, err := rp.Range("HEAD~2", "HEAD~1", "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := rp.Diff(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Summary) != 2 || *d.Summary["issue"] != (review.Counts{Created: 2, Changed: 1}) || *d.Summary["project"] != (review.Counts{Deleted: 1}) {
		t.Errorf("summary %v %v (only catalog/ counts)", d.Summary["issue"], d.Summary["project"])
	}
	var got []string
	for _, e := range d.Entities {
		got = append(got, fmt.Sprintf("%s %s/%s err=%v", e.Change, e.Blueprint, e.Identifier, e.Err != ""))
	}
	want := []string{
		"created issue/" + s.hostile.Identifier + " err=false",
		"created issue/broken err=true",
		"changed issue/" + s.edited.Identifier + " err=false",
		"deleted project/payments err=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entities:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var paths []string
	for _, f := range d.Entities[2].Fields {
		paths = append(paths, f.Path)
	}
	if strings.Join(paths, " ") != "title properties.isUnhandled properties.notes properties.status properties.tags" {
		t.Errorf("changed fields %v", paths)
	}

	// Markdown: nothing from upstream becomes markup, a mention or a link.
	md := stripCode(review.RenderMarkdown(d, review.MarkdownOptions{}))
	for _, bad := range []string{"<script>", "<img", "@octocat", "#12", "\x1b", "**bold**", "[link](http"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown holds %q unescaped:\n%s", bad, md)
		}
	}
	if strings.Count(md, "<details>") != strings.Count(md, "</details>") {
		t.Errorf("unbalanced <details>:\n%s", md)
	}

	// JSON: the documented shape.
	var j struct {
		From, To *string
		Summary  map[string]map[string]int
		Entities []struct {
			Blueprint, Identifier, Change, Path string
			Title                               any
			Fields                              []map[string]json.RawMessage
			Error                               string
		}
	}
	if err := json.Unmarshal([]byte(render(t, d, "json")), &j); err != nil {
		t.Fatal(err)
	}
	if j.From == nil || *j.From != s.commits["SYNC2"] || *j.To != s.commits["HAND"] || j.Summary["project"]["deleted"] != 1 {
		t.Errorf("json header: %v %v %v", j.From, j.To, j.Summary)
	}
	for _, f := range j.Entities[2].Fields {
		if string(f["path"]) == `"properties.isUnhandled"` {
			if _, ok := f["new"]; ok || f["old"] == nil {
				t.Errorf("removed field: %s", f)
			}
		}
	}
}

func TestDiffRootAndEmpty(t *testing.T) {
	r := newRepo(t)
	rp := r.open()
	from, to, err := rp.Range("", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !from.Commit.IsZero() || to.Commit.String() != r.rev("HEAD") {
		t.Fatalf("root commit: range %v..%v", from, to)
	}
	d, err := rp.Diff(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Entities) != 0 {
		t.Fatalf("init commit has entities: %+v", d.Entities)
	}
	if out := render(t, d, "txt"); !strings.Contains(out, "(empty) →") || !strings.Contains(out, "No entity changed.") {
		t.Errorf("text:\n%s", out)
	}
	if out := render(t, d, "json"); !strings.Contains(out, `"from": null`) || !strings.Contains(out, `"entities": []`) {
		t.Errorf("json:\n%s", out)
	}

	// The first sync against the root: everything created.
	r.sync()
	d, err = review.Compare(context.Background(), rp.Store, [20]byte{}, mustResolve(t, rp, "HEAD"))
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Summary["issue"]; c == nil || c.Created == 0 || c.Changed+c.Deleted != 0 {
		t.Fatalf("empty..HEAD: %v", d.Summary)
	}
	if _, _, err := rp.Range("nonesuch", "", ""); err == nil || !strings.Contains(err.Error(), `"nonesuch"`) {
		t.Errorf("unknown revision: %v", err)
	}
}

func mustResolve(t *testing.T, rp *review.Repo, rev string) [20]byte {
	t.Helper()
	h, err := rp.Resolve(rev)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDiffReadsOnlyChangedFiles: an undecodable file that both revisions
// hold is never read, and a revision pair with the same catalog tree is
// empty whatever else changed.
func TestDiffReadsOnlyChangedFiles(t *testing.T) {
	r := newRepo(t)
	r.sync()
	r.writeRaw("catalog/issue/garbage.json", []byte("\x00garbage"))
	r.commit("garbage")
	r.writeRaw("README.md", []byte("hello\n"))
	e := r.read(catalog.Key{Blueprint: "project", Identifier: "payments"})
	e.Properties["x"] = 1
	r.write(e)
	r.commit("one change")
	rp := r.open()
	from, to, _ := rp.Range("", "", "")
	d, err := rp.Diff(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Entities) != 1 || d.Entities[0].Identifier != "payments" || len(d.Summary) != 1 {
		t.Fatalf("entities: %+v", d.Entities)
	}
	r.writeRaw("README.md", []byte("hello again\n"))
	r.commit("readme only")
	from, to, _ = rp.Range("", "", "")
	if d, err = rp.Diff(context.Background(), from, to); err != nil || len(d.Entities) != 0 {
		t.Fatalf("non-catalog change: %v %+v", err, d)
	}
}

// TestDiffBase: --base compares the merge base with HEAD, so changes made
// on the base branch since do not show, as in a pull request.
func TestDiffBase(t *testing.T) {
	r := newRepo(t)
	r.sync()
	r.git("branch", "feature")
	mainOnly := catalog.Key{Blueprint: "project", Identifier: "payments"}
	e := r.read(mainOnly)
	e.Properties["onMain"] = true
	r.write(e)
	r.commit("on main")
	r.git("checkout", "-q", "feature")
	featureOnly := catalog.Key{Blueprint: "project", Identifier: "web-frontend"}
	e = r.read(featureOnly)
	e.Properties["onFeature"] = true
	r.write(e)
	r.commit("on feature 1")
	e.Properties["onFeature"] = "yes"
	r.write(e)
	r.commit("on feature 2")

	rp := r.open()
	ids := func(from, to, base string) string {
		t.Helper()
		f, tt, err := rp.Range(from, to, base)
		if err != nil {
			t.Fatal(err)
		}
		d, err := rp.Diff(context.Background(), f, tt)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range d.Entities {
			out = append(out, e.Identifier)
			for _, c := range e.Fields {
				out = append(out, c.Path+"="+string(review.JSONValue(c.New, c.HasNew)))
			}
		}
		return strings.Join(out, " ")
	}
	if got := ids("", "", "main"); got != "web-frontend properties.onFeature=\"yes\"" {
		t.Errorf("--base main: %s", got)
	}
	// Plainly from main, the main-only change shows (reverted).
	if got := ids("main", "", ""); !strings.Contains(got, "payments properties.onMain=") {
		t.Errorf("main..HEAD: %s", got)
	}
	if got := ids("HEAD~1", "", ""); got != "web-frontend properties.onFeature=\"yes\"" {
		t.Errorf("HEAD~1: %s", got)
	}
	if _, _, err := rp.Range("HEAD~1", "", "main"); err == nil {
		t.Error("--base with FROM was accepted")
	}
	if _, _, err := rp.Range("", "", "nonesuch"); err == nil {
		t.Error("unknown --base accepted")
	}
}

func TestBareRepository(t *testing.T) {
	s := newScenario(t)
	bare := filepath.Join(t.TempDir(), "bare.git")
	if out, err := exec.Command("git", "clone", "-q", "--bare", s.dir, bare).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rp, err := review.Open(bare)
	if err != nil {
		t.Fatal(err)
	}
	from, to, err := rp.Range("", "", "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := rp.Diff(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Entities) != 1 || d.Entities[0].Key() != s.edited {
		t.Fatalf("bare diff: %+v", d.Entities)
	}
	if h, err := rp.Log(context.Background(), s.edited); err != nil || len(h.Entries) != 3 {
		t.Fatalf("bare log: %+v %v", h, err)
	}
}

func TestStepSummary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "summary.md")
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if err := review.AppendStepSummary(getenv, "ignored"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Fatal("wrote a summary without GITHUB_STEP_SUMMARY")
	}
	env["GITHUB_STEP_SUMMARY"] = p
	if err := os.WriteFile(p, []byte("# earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, md := range []string{"### one\n", "### two"} {
		if err := review.AppendStepSummary(getenv, md); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(p)
	if want := "# earlier step\n\n### one\n\n### two\n"; string(got) != want {
		t.Fatalf("summary file %q, want %q", got, want)
	}
	env["GITHUB_STEP_SUMMARY"] = filepath.Join(p, "no", "such")
	if err := review.AppendStepSummary(getenv, "x"); err == nil || !strings.Contains(err.Error(), "GITHUB_STEP_SUMMARY") {
		t.Fatalf("unwritable summary: %v", err)
	}
}

// stripCode removes code spans (where nothing is markup) from markdown.
func stripCode(md string) string {
	var b strings.Builder
	for i := 0; i < len(md); {
		if md[i] != '`' {
			b.WriteByte(md[i])
			i++
			continue
		}
		n := 0
		for i+n < len(md) && md[i+n] == '`' {
			n++
		}
		fence := strings.Repeat("`", n)
		end := strings.Index(md[i+n:], fence)
		if end < 0 {
			b.WriteString(md[i:])
			break
		}
		b.WriteString("CODE")
		i += n + end + n
	}
	return b.String()
}
