package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/scaffold/porttest"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/engine/sync"
	"github.com/go-git/go-git/v5/plumbing/object"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendering (go test -update rewrites it); got:\n%s", p, got)
	}
}

// realPlan is a plan gitalog made: a catalog synced from the fake Sentry,
// whose data then changed (an issue resolved, one added, one retitled
// with a long title).
func realPlan(t *testing.T) *sync.Result {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	author := &object.Signature{Name: "Test", Email: "test@example.com"}
	if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: author, Branch: "main", Extra: porttest.Files()}); err != nil {
		t.Fatal(err)
	}
	data := sentrytest.Demo()
	srv := sentrytest.NewHandler(data)
	env := map[string]string{"SENTRY_URL": srv.URL, "SENTRY_ORG": data.OrgSlug(), "SENTRY_AUTH_TOKEN": sentrytest.Token}
	o := sync.Options{Dir: dir, Env: func(k string) string { return env[k] }, HTTPClient: srv.Client(), Author: author}
	if _, err := sync.Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	srv.Update(func(d *sentrytest.Dataset) {
		d.ResolveIssue("4605181614")
		d.AddIssue("web-frontend", "ChunkLoadError: Loading chunk 812 failed", "webpack/runtime in loadChunk", "error")
		is := d.Issue("4605173695")
		is.Title = "OperationalError: could not connect to server: Connection refused. Is the server running on host \"db.internal\" (10.0.0.12) and accepting TCP/IP connections on port 5432?"
	})
	o.Plan = true
	res, err := sync.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// The fake listens on a new port each run.
	res.Source = "Sentry organization acme-corp (fake)"
	return res
}

func TestRenderRealPlan(t *testing.T) {
	res := realPlan(t)
	var text, js bytes.Buffer
	if err := Text(&text, res, Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.txt", text.String())
	golden(t, "plan.md", Markdown(res, Options{}))
	if err := JSON(&js, res); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json", js.String())
}

// handPlan has what a real one seldom shows at once: a kind with no item,
// a sample that maps to nothing and why, more entities than a list shows,
// a suggestion.
func handPlan() *sync.Result {
	p := &sync.Plan{
		Kinds: []sync.PlanKind{
			{Kind: "widget", Items: 3, Requests: 2, Sample: json.RawMessage(`{"id":"w1","tags":["a","b","c","… 9 more"]}`), Trimmed: true,
				Entities: []json.RawMessage{}, Issues: []string{`resource #1 (kind "widget"): selector.query rejected the item`}},
			{Kind: "gadget", Entities: []json.RawMessage{}, Issues: []string{}},
		},
		Update: []sync.PlanChange{}, Delete: []sync.PlanChange{}, Suggest: []sync.PlanChange{
			{Blueprint: "service", Identifier: "checkout", Title: "Checkout", Fields: []review.FieldChange{{Path: "properties.tier", New: "1", HasNew: true}}},
		},
	}
	for _, id := range []string{"w1", "w2", "w3", "w4", "w5"} {
		p.Create = append(p.Create, sync.PlanChange{Blueprint: "widget", Identifier: id, Title: "<b>" + id + "</b> @team"})
	}
	return &sync.Result{Source: "replay of dump", Subject: "sync: widget +5", Plan: p}
}

func TestRenderHandPlan(t *testing.T) {
	res := handPlan()
	var text, js bytes.Buffer
	if err := Text(&text, res, Options{Limit: 2}); err != nil {
		t.Fatal(err)
	}
	golden(t, "hand.txt", text.String())
	golden(t, "hand.md", Markdown(res, Options{Limit: 2, Err: errors.New("partial: fetching gadgets failed")}))
	if err := JSON(&js, res); err != nil {
		t.Fatal(err)
	}
	golden(t, "hand.json", js.String())
}

// TestJSONEmptyListsAndShape: a plan with nothing in it still has every
// key, lists as [] and a kind without an item a null sample.
func TestJSONEmptyListsAndShape(t *testing.T) {
	res := &sync.Result{Plan: &sync.Plan{Kinds: []sync.PlanKind{{Kind: "issue"}}}}
	var b bytes.Buffer
	if err := JSON(&b, res); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	ch, _ := got["changes"].(map[string]any)
	for _, k := range []string{"create", "update", "delete", "suggest"} {
		if l, ok := ch[k].([]any); !ok || len(l) != 0 {
			t.Errorf("changes.%s = %#v, want []", k, ch[k])
		}
	}
	kinds, _ := got["kinds"].([]any)
	k, _ := kinds[0].(map[string]any)
	for _, key := range []string{"kind", "items", "requests", "sample", "entity"} {
		if _, ok := k[key]; !ok {
			t.Errorf("kind lacks %q: %v", key, k)
		}
	}
	if k["sample"] != nil || k["entity"] == nil {
		t.Errorf("a kind with no item: sample %v, entity %v", k["sample"], k["entity"])
	}
}

// TestMarkdownFitsAComment: a plan far over a comment's size is cut, says
// so, and keeps its tables and warning.
func TestMarkdownFitsAComment(t *testing.T) {
	res := handPlan()
	for i := range 3000 {
		res.Plan.Create = append(res.Plan.Create, sync.PlanChange{Blueprint: "issue" + strings.Repeat("x", i%7), Identifier: strings.Repeat("i", 40) + string(rune('a'+i%26)), Title: strings.Repeat("long title ", 10)})
	}
	sync.SortChanges(res.Plan.Create)
	for _, max := range []int{2000, 0} {
		md := Markdown(res, Options{Limit: -1, MaxBytes: max, Err: errors.New("boom")})
		limit := max
		if limit == 0 {
			limit = review.MaxMarkdown
		}
		if len(md) > limit {
			t.Errorf("MaxBytes %d: %d bytes", max, len(md))
		}
		if !strings.Contains(md, "cut to fit a comment") || !strings.Contains(md, "| blueprint |") || !strings.Contains(md, "boom") {
			t.Errorf("MaxBytes %d: the cut plan lacks its note, table or warning:\n%s", max, md)
		}
		if strings.Count(md, "<details>") != strings.Count(md, "</details>") {
			t.Errorf("MaxBytes %d: unbalanced <details>", max)
		}
	}
}
