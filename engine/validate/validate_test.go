package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/engine/sync"
)

// fixture is a catalog repository made by gitalog init and a fake Sentry
// to sync it from.
type fixture struct {
	t    *testing.T
	dir  string
	srv  *sentrytest.Server
	data *sentrytest.Dataset
}

var testAuthor = testrepo.Author

func newFixture(t *testing.T, data *sentrytest.Dataset) *fixture {
	t.Helper()
	return &fixture{t: t, dir: testrepo.InitPort(t), srv: sentrytest.NewHandler(data), data: data}
}

func (f *fixture) options() sync.Options {
	return sync.Options{Dir: f.dir, Env: testrepo.Env(f.srv, f.data), HTTPClient: f.srv.Client(), Author: testrepo.Author}
}

func (f *fixture) mustSync() *sync.Result {
	f.t.Helper()
	res, err := sync.Run(context.Background(), f.options())
	if err != nil {
		f.t.Fatalf("sync: %v", err)
	}
	return res
}

func (f *fixture) git(args ...string) string {
	f.t.Helper()
	return testrepo.Git(f.t, f.dir, args...)
}

// issueConfig is a config that maps only issues (id, title, status,
// link).
func issueConfig(t *testing.T) string {
	t.Helper()
	cfg, err := filepath.Abs(filepath.Join("testdata", "issues.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func jsonKey(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// valCatalog is a catalog made by init and a sync from the fake Sentry,
// committed, with a clean worktree.
func valCatalog(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	f.git("config", "user.name", "Test")
	f.git("config", "user.email", "test@example.com")
	return f
}

// valFirst is the first entity file of a blueprint folder, as a slash path.
func valFirst(t *testing.T, dir, blueprint string) string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "catalog", blueprint))
	if err != nil || len(ents) == 0 {
		t.Fatalf("no files in catalog/%s: %v", blueprint, err)
	}
	return "catalog/" + blueprint + "/" + ents[0].Name()
}

func valRead(t *testing.T, dir, p string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func valWrite(t *testing.T, dir, p, content string) {
	t.Helper()
	full := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// valReplace replaces old (which must be there) in a file.
func valReplace(t *testing.T, dir, p, old, new string) {
	t.Helper()
	s := valRead(t, dir, p)
	if !strings.Contains(s, old) {
		t.Fatalf("%s has no %q:\n%s", p, old, s)
	}
	valWrite(t, dir, p, strings.Replace(s, old, new, 1))
}

// valLine is the 1-based line of the first line of p that contains s.
func valLine(t *testing.T, dir, p, s string) int {
	t.Helper()
	for i, l := range strings.Split(valRead(t, dir, p), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line with %q", p, s)
	return 0
}

func valRun(t *testing.T, o Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return res
}

func valText(res *Result) string {
	var b bytes.Buffer
	res.WriteText(&b, true)
	return b.String()
}

// A service blueprint with a required relation, for the cases that need one.
const valServiceBlueprint = `{
  "identifier": "service",
  "title": "Service",
  "schema": {"properties": {"tier": {"type": "string", "enum": ["gold", "silver"]}}, "required": []},
  "relations": {
    "owner": {"title": "Owner", "target": "sentryTeam", "required": true, "many": false},
    "projects": {"title": "Projects", "target": "sentryProject", "required": false, "many": true}
  }
}
`

func TestValidate(t *testing.T) {
	type tc struct {
		name string
		// edit changes the catalog and returns the findings expected, in
		// order (path, pointer, line, reason prefix, warning).
		edit func(t *testing.T, dir string) []Finding
	}
	managedEdit := func(p, list string) Finding {
		return Finding{Path: p, Warning: true, Reason: "this file is edited in the worktree, but the sync manages it (it is listed in .gitalog/managed/" + list + ".txt): the next sync will overwrite it"}
	}
	cases := []tc{
		{"clean", func(t *testing.T, dir string) []Finding { return nil }},
		{"enum broken by a hand edit", func(t *testing.T, dir string) []Finding {
			p := valFirst(t, dir, "sentryIssue")
			valReplace(t, dir, p, `"status": "unresolved"`, `"status": "open"`)
			return []Finding{
				{Path: p, Pointer: "/properties/status", Line: valLine(t, dir, p, `"status"`),
					Reason: `"open" is not one of "resolved", "unresolved", "ignored", "reprocessing"`},
				managedEdit(p, "sentryIssue"),
			}
		}},
		{"relation to a missing entity is a warning", func(t *testing.T, dir string) []Finding {
			p := valFirst(t, dir, "sentryIssue")
			valReplace(t, dir, p, `"backend-api-production"`, `"no-such-project"`)
			return []Finding{
				{Path: p, Pointer: "/relations/projectEnvironment/0", Line: valLine(t, dir, p, `"no-such-project"`), Warning: true,
					Reason: `no sentryProject entity "no-such-project" in the catalog`},
				managedEdit(p, "sentryIssue"),
			}
		}},
		{"required relation to a missing entity is an error", func(t *testing.T, dir string) []Finding {
			valWrite(t, dir, "blueprints/service.json", valServiceBlueprint)
			team := strings.TrimSuffix(filepath.Base(valFirst(t, dir, "sentryTeam")), ".json")
			valWrite(t, dir, "catalog/service/checkout.json", `{
  "identifier": "checkout",
  "blueprint": "service",
  "title": "Checkout",
  "properties": {"tier": "gold"},
  "relations": {"owner": "ghost-team", "projects": ["backend-api-production"]}
}
`)
			valWrite(t, dir, "catalog/service/payments.json", `{"identifier": "payments", "blueprint": "service", "title": null,
 "properties": {}, "relations": {"owner": "`+team+`", "projects": ["backend-api-production", "gone"]}}`)
			valWrite(t, dir, "catalog/service/unowned.json", `{"identifier": "unowned", "blueprint": "service", "title": null}`)
			return []Finding{
				{Path: "catalog/service/checkout.json", Pointer: "/relations/owner", Line: 6, Reason: `no sentryTeam entity "ghost-team" in the catalog`},
				// A missing key: the line of its nearest parent that is there.
				{Path: "catalog/service/unowned.json", Pointer: "/relations/owner", Reason: "required relation is not set"},
				{Path: "catalog/service/payments.json", Pointer: "/relations/projects/1", Line: 2, Warning: true, Reason: `no sentryProject entity "gone" in the catalog`},
			}
		}},
		{"invalid JSON", func(t *testing.T, dir string) []Finding {
			p := valFirst(t, dir, "sentryProject")
			valReplace(t, dir, p, `"platform": `, `"platform" `)
			line := valLine(t, dir, p, `"platform"`)
			col := strings.Index(strings.Split(valRead(t, dir, p), "\n")[line-1], `"platform"`) + len(`"platform" `) + 1
			return []Finding{
				{Path: p, Line: line, Column: col, Reason: `invalid JSON: invalid character '"' after object key`},
				managedEdit(p, "sentryProject"),
			}
		}},
		{"not an object", func(t *testing.T, dir string) []Finding {
			valWrite(t, dir, "catalog/issue/list.json", "[1, 2]\n")
			valWrite(t, dir, "catalog/issue/noid.json", `{"blueprint": "issue", "identifier": 7}`)
			return []Finding{
				{Path: "catalog/issue/list.json", Reason: "an entity file must hold a JSON object, not an array"},
				{Path: "catalog/issue/noid.json", Pointer: "/identifier", Line: 1, Reason: `"identifier" must be a string, not a number`},
			}
		}},
		{"identifier does not match the file name", func(t *testing.T, dir string) []Finding {
			p := valFirst(t, dir, "sentryTeam")
			valWrite(t, dir, "catalog/sentryTeam/copy.json", valRead(t, dir, p))
			id := strings.TrimSuffix(filepath.Base(p), ".json")
			return []Finding{{Path: "catalog/sentryTeam/copy.json", Pointer: "/identifier", Line: valLine(t, dir, p, `"identifier"`),
				Reason: fmt.Sprintf(`identifier %q does not match the file name copy.json (this entity's file would be %s)`, id, p)}}
		}},
		{"blueprint does not match the folder", func(t *testing.T, dir string) []Finding {
			p := valFirst(t, dir, "issue")
			moved := strings.Replace(p, "catalog/issue/", "catalog/sentryIssue/", 1)
			content := valRead(t, dir, p)
			valWrite(t, dir, moved, content)
			if err := os.Remove(filepath.Join(dir, p)); err != nil {
				t.Fatal(err)
			}
			return []Finding{
				{Path: moved, Pointer: "/blueprint", Line: valLine(t, dir, moved, `"blueprint"`),
					Reason: fmt.Sprintf(`blueprint "issue" does not match the folder catalog/sentryIssue/ (this entity's file would be %s)`, p)},
				{Path: p, Warning: true, Reason: "this file is deleted in the worktree, but the sync manages it (it is listed in .gitalog/managed/issue.txt): the next sync will write it again"},
				managedEdit(moved, "sentryIssue"),
			}
		}},
		{"folder without a blueprint", func(t *testing.T, dir string) []Finding {
			valWrite(t, dir, "catalog/services/a.json", `{"identifier": "a", "blueprint": "services"}`)
			valWrite(t, dir, "catalog/issue/notes.txt", "hello\n")
			return []Finding{
				{Path: "catalog/services/", Reason: `folder "services" matches no blueprint (blueprints: issue, project, sentryIssue, sentryProject, sentryTeam, sentryUser)`},
				{Path: "catalog/issue/notes.txt", Warning: true, Reason: "not a .json file; gitalog ignores it"},
			}
		}},
		{"property not in the blueprint and a wrong type", func(t *testing.T, dir string) []Finding {
			p := valFirst(t, dir, "sentryIssue")
			for _, v := range []string{"true", "false"} {
				if strings.Contains(valRead(t, dir, p), `"isUnhandled": `+v) {
					valReplace(t, dir, p, `"isUnhandled": `+v, `"isUnhandled": "yes", "extra": 1`)
					break
				}
			}
			line := valLine(t, dir, p, `"extra"`)
			return []Finding{
				{Path: p, Pointer: "/properties/isUnhandled", Line: line, Reason: "expected boolean, got string"},
				{Path: p, Pointer: "/properties/extra", Line: line, Reason: `property "extra" is not defined in blueprint sentryIssue`},
				managedEdit(p, "sentryIssue"),
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := valCatalog(t)
			want := c.edit(t, f.dir)
			res := valRun(t, Options{Dir: f.dir})
			valCompare(t, res, want)
			if res.Source != "worktree" || res.Files < 50 {
				t.Errorf("source %q, %d files", res.Source, res.Files)
			}
		})
	}
}

// valCompare checks res's findings against want, in order; a wanted
// Reason is a prefix of the found one.
func valCompare(t *testing.T, res *Result, want []Finding) {
	t.Helper()
	got := res.Findings
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.Path == w.Path && g.Pointer == w.Pointer && g.Line == w.Line && g.Column == w.Column &&
			g.Warning == w.Warning && strings.HasPrefix(g.Reason, w.Reason)
	}
	if !ok {
		var b strings.Builder
		for _, w := range want {
			fmt.Fprintf(&b, "  %+v\n", w)
		}
		t.Fatalf("findings:\n%s\nwant:\n%s", valText(res), b.String())
	}
}

func TestValidateCountAndText(t *testing.T) {
	f := valCatalog(t)
	res := valRun(t, Options{Dir: f.dir})
	if got, want := valText(res), fmt.Sprintf("%d files checked (worktree): no problems\n", res.Files); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	files := 0
	for _, p := range strings.Fields(f.git("ls-files", "catalog")) {
		if strings.HasSuffix(p, ".json") {
			files++
		}
	}
	if res.Files != files {
		t.Fatalf("%d files checked, %d in the catalog", res.Files, files)
	}

	p := valFirst(t, f.dir, "sentryIssue")
	valReplace(t, f.dir, p, `"status": "unresolved"`, `"status": "open"`)
	valReplace(t, f.dir, p, `"backend-api-production"`, `"nope"`)
	res = valRun(t, Options{Dir: f.dir})
	want := fmt.Sprintf(`%[1]s:%[2]d: error: /properties/status: "open" is not one of "resolved", "unresolved", "ignored", "reprocessing"
%[1]s:%[3]d: warning: /relations/projectEnvironment/0: no sentryProject entity "nope" in the catalog
%[1]s: warning: this file is edited in the worktree, but the sync manages it (it is listed in .gitalog/managed/sentryIssue.txt): the next sync will overwrite it; change the data in Sentry or the mapping in gitalog.yaml instead
%[4]d files checked (worktree): 1 error, 2 warnings
`, p, valLine(t, f.dir, p, `"status"`), valLine(t, f.dir, p, `"nope"`), res.Files)
	if got := valText(res); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	var quiet bytes.Buffer
	res.WriteText(&quiet, false)
	if strings.Contains(quiet.String(), "warning:") || !strings.Contains(quiet.String(), "error:") {
		t.Fatalf("without warnings:\n%s", quiet.String())
	}
}

func TestValidateAnnotations(t *testing.T) {
	res := &Result{Source: "worktree", Files: 3, Findings: []Finding{
		{Path: "catalog/issue/a,b:c.json", Pointer: "/properties/status", Line: 7, Reason: `"x" is not one of "a", "b"`},
		{Path: "catalog/issue/bad.json", Line: 2, Column: 14, Reason: "invalid character '}' looking for beginning of value"},
		{Path: "catalog/services/", Reason: "folder \"services\" matches no blueprint: 100% sure"},
		{Path: "catalog/issue/1.json", Pointer: "/relations/project", Line: 12, Warning: true, Reason: "no project entity \"p\"\nin the catalog\r"},
		{Path: "catalog/issue/2.json", Warning: true, Reason: "edited: the next sync will overwrite it"},
	}}
	var b bytes.Buffer
	res.WriteAnnotations(&b, true)
	want := `::error file=catalog/issue/a%2Cb%3Ac.json,line=7,title=gitalog validate::/properties/status: "x" is not one of "a", "b"
::error file=catalog/issue/bad.json,line=2,col=14,title=gitalog validate::invalid character '}' looking for beginning of value
::error file=catalog/services,title=gitalog validate::folder "services" matches no blueprint: 100%25 sure
::warning file=catalog/issue/1.json,line=12,title=gitalog validate::/relations/project: no project entity "p"\x0ain the catalog\x0d
::warning file=catalog/issue/2.json,title=gitalog validate::edited: the next sync will overwrite it
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	res.WriteAnnotations(&b, false)
	if strings.Contains(b.String(), "::warning") || strings.Count(b.String(), "::error") != 3 {
		t.Fatalf("without warnings:\n%s", b.String())
	}
	if got := escapeData("a%b\r\nc:d,e"); got != "a%25b%0D%0Ac:d,e" {
		t.Errorf("escapeData: %q", got)
	}
	if got := escapeProperty("a%b\r\nc:d,e"); got != "a%25b%0D%0Ac%3Ad%2Ce" {
		t.Errorf("escapeProperty: %q", got)
	}

	// End to end: what a hand edit gives.
	f := valCatalog(t)
	p := valFirst(t, f.dir, "sentryIssue")
	valReplace(t, f.dir, p, `"status": "unresolved"`, `"status": "open"`)
	b.Reset()
	valRun(t, Options{Dir: f.dir}).WriteAnnotations(&b, true)
	want = fmt.Sprintf(`::error file=%[1]s,line=%[2]d,title=gitalog validate::/properties/status: "open" is not one of "resolved", "unresolved", "ignored", "reprocessing"
::warning file=%[1]s,title=gitalog validate::this file is edited in the worktree, but the sync manages it (it is listed in .gitalog/managed/sentryIssue.txt): the next sync will overwrite it; change the data in Sentry or the mapping in gitalog.yaml instead
`, p, valLine(t, f.dir, p, `"status"`))
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// With a base, the commits of a branch that edit managed files by hand are
// warned about, the sync's own commits are not, and neither is a file a
// later sync wrote again.
func TestValidateBaseWarnsAboutHandEditedManagedFiles(t *testing.T) {
	f := valCatalog(t)
	f.git("branch", "base")

	// A managed file edited by hand and then written again by a sync: the
	// newest commit that touched it is the sync's, so it is not an edit.
	ents, err := os.ReadDir(filepath.Join(f.dir, "catalog", "sentryIssue"))
	if err != nil || len(ents) < 2 {
		t.Fatal(ents, err)
	}
	rewritten := "catalog/sentryIssue/" + ents[1].Name()
	valReplace(t, f.dir, rewritten, `"title": `, `"title": "edited by hand", "note": `)
	f.git("commit", "-qam", "hand edit, overwritten by the next sync")
	if res := f.mustSync(); res.Commit.IsZero() {
		t.Fatal("the sync did not rewrite the hand edit")
	}

	edited := "catalog/sentryIssue/" + ents[0].Name()
	deleted := valFirst(t, f.dir, "sentryUser")
	handWritten := "catalog/sentryTeam/hand-written.json"
	valReplace(t, f.dir, edited, `"title": `, `"title": "edited by hand", "note": `)
	f.git("rm", "-q", deleted)
	valWrite(t, f.dir, handWritten, `{"identifier": "hand-written", "blueprint": "sentryTeam", "title": "Hand"}`+"\n")
	f.git("add", "-A")
	f.git("commit", "-qm", "hand edits")
	hand := strings.TrimSpace(f.git("rev-parse", "--short=12", "HEAD"))
	if st := f.git("status", "--porcelain"); st != "" {
		t.Fatalf("worktree not clean: %s", st)
	}

	// Without --base the clean worktree has nothing to warn about.
	res := valRun(t, Options{Dir: f.dir})
	for _, fd := range res.Findings {
		if strings.Contains(fd.Reason, "manages it") {
			t.Fatalf("warning without --base on a clean worktree: %+v", fd)
		}
	}

	res = valRun(t, Options{Dir: f.dir, Base: "base"})
	var got []string
	for _, fd := range res.Findings {
		if strings.Contains(fd.Reason, "manages it") {
			got = append(got, fd.Path+": "+fd.Reason[:strings.Index(fd.Reason, ", but")])
		}
	}
	sort.Strings(got)
	want := []string{
		edited + ": this file is edited by commit " + hand,
		deleted + ": this file is deleted by commit " + hand,
	}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s\nall:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), valText(res))
	}
	if res.Errors() != 0 {
		t.Fatalf("errors:\n%s", valText(res))
	}

	if _, err := Run(context.Background(), Options{Dir: f.dir, Base: "no-such-ref"}); err == nil || !strings.Contains(err.Error(), "--base no-such-ref") {
		t.Fatalf("unknown base: %v", err)
	}
}

// A bare repository is validated at HEAD.
func TestValidateBare(t *testing.T) {
	f := valCatalog(t)
	p := valFirst(t, f.dir, "sentryProject")
	valReplace(t, f.dir, p, `"status": "active"`, `"status": "archived"`)
	f.git("commit", "-qam", "hand edit")
	bare := filepath.Join(t.TempDir(), "bare.git")
	if out, err := exec.Command("git", "clone", "-q", "--bare", f.dir, bare).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	res := valRun(t, Options{Dir: bare})
	valCompare(t, res, []Finding{{Path: p, Pointer: "/properties/status", Line: valLine(t, f.dir, p, `"status"`), Reason: `"archived" is not one of`}})
	if res.Source != "HEAD" {
		t.Fatalf("source %q", res.Source)
	}
	res = valRun(t, Options{Dir: bare, Base: "HEAD~1"})
	valCompare(t, res, []Finding{
		{Path: p, Pointer: "/properties/status", Line: valLine(t, f.dir, p, `"status"`), Reason: `"archived" is not one of`},
		{Path: p, Warning: true, Reason: "this file is edited by commit"},
	})
}

// Whatever identifiers the sync wrote, their files pass the path check.
func TestValidateHostileIdentifiers(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	hostile := []string{"../../etc/passwd", "Foo", "foo", "CON", "con.txt", `a\b:c*d?e"f<g>h|i`, ".hidden", "trailing.", strings.Repeat("long-", 80), "ünïcödé", "a%2fb", "^x", "a,b"}
	dump := t.TempDir()
	var items []string
	for _, id := range hostile {
		items = append(items, `{"id": `+jsonKey(id)+`, "title": "t", "status": "unresolved"}`)
	}
	valWrite(t, dump, "issue.jsonl", strings.Join(items, "\n")+"\n")
	cfg := issueConfig(t)
	o := f.options()
	o.Replay, o.ConfigPath = dump, cfg
	if _, err := sync.Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	res := valRun(t, Options{Dir: f.dir})
	if len(res.Findings) != 0 || res.Files != len(hostile) {
		t.Fatalf("%d files:\n%s", res.Files, valText(res))
	}
}

func TestPointerLine(t *testing.T) {
	data := []byte(`{
  "a": {"b": [
    1,
    {"c~d/e": 2}
  ]},
  "s": "{\"a\": 1}",
  "z": null
}`)
	for ptr, want := range map[string]int{
		"":               0,
		"/a":             2,
		"/a/b":           2,
		"/a/b/0":         3,
		"/a/b/1":         4,
		"/a/b/1/c~0d~1e": 4,
		"/a/b/2":         2, // past the end: the array's line
		"/s":             6,
		"/z":             7,
		"/missing":       0,
		"/z/deeper":      7,
	} {
		if got := pointerLine(data, ptr); got != want {
			t.Errorf("pointerLine(%q) = %d, want %d", ptr, got, want)
		}
	}
}

// In a shallow clone whose history does not reach the merge base, --base
// fails with what to fetch, and a base within it works.
func TestValidateBaseShallow(t *testing.T) {
	f := valCatalog(t)
	p := f.handEdit("old", `"status": "active"`, `"status": "disabled"`)
	f.handEdit("recent", `"status": "disabled"`, `"status": "active"`)
	clone := filepath.Join(t.TempDir(), "shallow")
	for _, args := range [][]string{
		{"clone", "-q", "--depth", "2", "file://" + f.dir, clone},
		{"-C", clone, "fetch", "-q", "--depth", "1", "origin", "old:refs/remotes/origin/old", "recent:refs/remotes/origin/recent"},
	} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	_, err := Run(context.Background(), Options{Dir: clone, Base: "origin/old"})
	if err == nil || !strings.HasPrefix(err.Error(), "--base origin/old: no merge base with HEAD (is the history fetched? actions/checkout needs fetch-depth: 0): ") ||
		!strings.Contains(err.Error(), "shallow clone") {
		t.Fatalf("base beyond the boundary: %v", err)
	}
	res := valRun(t, Options{Dir: clone, Base: "origin/recent"})
	valCompare(t, res, []Finding{{Path: p, Warning: true, Reason: "this file is edited by commit"}})
}

// Validation reads history itself: with no git on PATH, --base still
// finds the hand edits since the merge base.
func TestValidateWithoutGitCLI(t *testing.T) {
	f := valCatalog(t)
	p := f.handEdit("base", `"status": "active"`, `"status": "disabled"`)
	t.Setenv("PATH", t.TempDir())
	res := valRun(t, Options{Dir: f.dir, Base: "base"})
	valCompare(t, res, []Finding{{Path: p, Warning: true, Reason: "this file is edited by commit"}})
}

// handEdit names HEAD branch, then commits a hand edit (old to new) of the
// first project's file, and returns its path.
func (f *fixture) handEdit(branch, old, new string) string {
	f.t.Helper()
	f.git("branch", branch)
	p := valFirst(f.t, f.dir, "sentryProject")
	valReplace(f.t, f.dir, p, old, new)
	f.git("commit", "-qam", "hand edit after "+branch)
	return p
}

// A name two sources' managed lists both hold is an error on the second
// list, at its line: neither source writes or deletes it until fixed.
func TestValidateNameListedBySourcesTwice(t *testing.T) {
	dir := testrepo.Init(t)
	for _, s := range []string{"a", "b"} {
		p := filepath.Join(dir, ".gitalog", "sources", s, "managed", "sentryProject.txt")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("a-x\nb-y\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testrepo.Git(t, dir, "add", "-A")
	testrepo.Git(t, dir, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "lists")
	res, err := Run(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		if strings.Contains(f.Reason, "two sources claim it") {
			got = append(got, fmt.Sprintf("%s:%d %v", f.Path, f.Line, f.Warning))
		}
	}
	want := []string{".gitalog/sources/b/managed/sentryProject.txt:1 false", ".gitalog/sources/b/managed/sentryProject.txt:2 false"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A pull request that adds a hand-written file's name to a managed list
// is warned about: the next sync would take that file for its own.
func TestValidateBaseWarnsAboutAListGainingAHandWrittenFile(t *testing.T) {
	f := valCatalog(t)
	handWritten := "catalog/sentryTeam/hand-written.json"
	valWrite(t, f.dir, handWritten, `{"identifier": "hand-written", "blueprint": "sentryTeam", "title": "Hand"}`+"\n")
	f.git("add", "-A")
	f.git("commit", "-qm", "a hand-written team")
	f.git("branch", "base")
	list := filepath.Join(f.dir, ".gitalog", "managed", "sentryTeam.txt")
	data, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(list, append(data, "hand-written\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("commit", "-qam", "a line in the list")
	res := valRun(t, Options{Dir: f.dir, Base: "base"})
	found := false
	for _, fd := range res.Findings {
		if fd.Path == ".gitalog/managed/sentryTeam.txt" && fd.Warning && fd.Line > 0 && strings.Contains(fd.Reason, handWritten+" is hand-written at base") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no warning about the list:\n%s", valText(res))
	}
}
