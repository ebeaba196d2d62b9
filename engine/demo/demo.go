// Package demo runs gitalog's offline tour: an in-process fake Sentry,
// init, a first sync, changes upstream, a second sync, and the history.
package demo

import (
	"context"
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/sync"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Options configure the demo.
type Options struct {
	Dir      string
	Out      io.Writer
	Progress func(stage, detail string)
	// ClearProgress removes a progress line before the tour prints.
	ClearProgress func()
}

// marker, inside .git, says a folder is a demo the tour may replace.
const marker = "gitalog-demo"

// Run runs the tour.
func Run(ctx context.Context, o Options) error {
	if err := prepare(o.Dir); err != nil {
		return err
	}
	w := io.Writer(clearing{o.Out, o.ClearProgress})
	data := sentrytest.Demo()
	srv := sentrytest.NewHandler(data)
	env := map[string]string{
		"SENTRY_URL":        srv.URL,
		"SENTRY_ORG":        data.OrgSlug(),
		"SENTRY_AUTH_TOKEN": sentrytest.Token,
	}
	author := &object.Signature{Name: "gitalog demo", Email: "demo@gitalog.invalid"}
	opts := sync.Options{
		Dir: o.Dir, Env: func(k string) string { return env[k] }, HTTPClient: srv.Client(),
		Author: author, Progress: o.Progress,
	}

	fmt.Fprintf(w, "gitalog demo: an offline tour on a fake Sentry organization %q\n", data.OrgSlug())
	fmt.Fprintf(w, "(%d projects, %d teams, %d members, %d issues; no token, no network)\n\n",
		len(data.Projects), len(data.Teams), len(data.Members), data.NumIssues())

	fmt.Fprintf(w, "$ gitalog init --dir %s\n", o.Dir)
	ir, err := scaffold.Init(ctx, scaffold.Options{Dir: o.Dir, Author: author})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, ".git", marker), []byte("made by gitalog demo; the next demo run may replace this folder\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "  wrote %s; committed %s\n\n", strings.Join(ir.Written, ", "), short(ir.Commit.String()))

	fmt.Fprintln(w, "$ gitalog sync                  # first sync: every entity is new")
	r1, err := sync.Run(ctx, opts)
	if err := report(w, r1, err, 0); err != nil {
		return err
	}

	fmt.Fprintln(w, "Meanwhile, in Sentry:")
	var changes []string
	srv.Update(func(d *sentrytest.Dataset) { changes = mutate(d) })
	for _, c := range changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "$ gitalog sync                  # only what changed upstream becomes a commit")
	r2, err := sync.Run(ctx, opts)
	if err := report(w, r2, err, 4); err != nil {
		return err
	}

	fmt.Fprintln(w, "$ gitalog sync                  # nothing changed: no commit")
	r3, err := sync.Run(ctx, opts)
	if err := report(w, r3, err, 0); err != nil {
		return err
	}

	fmt.Fprintln(w, "$ git log --oneline")
	if err := gitLog(w, o.Dir); err != nil {
		return err
	}
	key := "sentryIssue 4605292480"
	if r2 != nil && len(r2.Changed) > 0 {
		key = r2.Changed[0].Blueprint + " " + r2.Changed[0].Identifier
	}
	fmt.Fprintf(w, `
Look around (from this checkout, "gitalog" is "go run ."):
  git -C %[1]s log --stat                  one commit per sync, with the entities it touched
  gitalog diff --dir %[1]s                 the last sync, entity by entity (--format markdown for a PR)
  gitalog log --dir %[1]s %[2]s   one entity's history
  gitalog validate --dir %[1]s             every file against its blueprint
  ls %[1]s/catalog/                        one folder per blueprint, one JSON file per entity
`, o.Dir, key)
	return nil
}

// clearing clears the progress line before each write.
type clearing struct {
	w     io.Writer
	clear func()
}

func (c clearing) Write(p []byte) (int, error) {
	if c.clear != nil {
		c.clear()
	}
	return c.w.Write(p)
}

// prepare makes sure dir is free, or a demo this tour made before.
func prepare(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", marker)); err != nil {
		return fmt.Errorf("%s exists and is not a previous demo; remove it or pick another folder with --dir", dir)
	}
	return os.RemoveAll(dir)
}

func mutate(d *sentrytest.Dataset) []string {
	var out []string
	unresolved := d.IssueIDs("unresolved")
	resolved := d.IssueIDs("resolved")
	say := func(verb, id string) {
		is := d.Issue(id)
		out = append(out, fmt.Sprintf("%-10s %-18s %s", verb, is.ShortID(), trim(is.Title, 60)))
	}
	for _, id := range unresolved[:min(3, len(unresolved))] {
		d.ResolveIssue(id)
		say("resolved", id)
	}
	if len(resolved) > 0 {
		d.RegressIssue(resolved[0])
		say("regressed", resolved[0])
	}
	if len(unresolved) > 4 {
		// A new assignee: the issue stays, one relation changes.
		id := unresolved[4]
		is := d.Issue(id)
		m := d.Members[1]
		is.AssignedTo = &sentrytest.Assignee{Type: "user", ID: m.UserID, Name: m.Name, Email: m.Email}
		say("assigned", id)
		out[len(out)-1] += " -> " + m.Name
	}
	if id := d.AddIssue("payments", "IdempotencyError: duplicate charge request ch_3Q2x", "github.com/acme-corp/payments/internal/charge.Create", "error"); id != "" {
		say("new", id)
	}
	if id := d.AddIssue("web-frontend", "ChunkLoadError: Loading chunk 812 failed", "app/routes/checkout in lazyLoad", "error"); id != "" {
		say("new", id)
	}
	if len(unresolved) > 5 {
		id := unresolved[5]
		say("deleted", id)
		d.DeleteIssue(id)
	}
	return out
}

// report prints a compact summary of one sync, listing up to n entities.
func report(w io.Writer, r *sync.Result, err error, n int) error {
	if r == nil {
		return err
	}
	total := 0
	for _, c := range r.Items {
		total += c
	}
	fmt.Fprintf(w, "  fetched %d items in %d requests; %d entities unchanged\n", total, r.Requests, r.Unchanged)
	if r.NoChange {
		fmt.Fprintln(w, "  the catalog is up to date: no commit")
	} else {
		fmt.Fprintf(w, "  committed %s  %s\n", short(r.Commit.String()), r.Subject)
	}
	list := func(mark string, es []sync.EntityRef) {
		for i, e := range es {
			if i == n {
				fmt.Fprintf(w, "    %s ... and %d more\n", mark, len(es)-i)
				break
			}
			fmt.Fprintf(w, "    %s %-24s %s\n", mark, e.Blueprint+"/"+e.Identifier, trim(e.Title, 48))
			for _, c := range e.Fields {
				fmt.Fprintf(w, "        %s\n", review.FieldLine(c, 40))
			}
		}
	}
	if n > 0 {
		list("+", r.Created)
		list("~", r.Changed)
		list("-", r.Deleted)
	}
	warned := map[string]bool{}
	for _, p := range r.Problems {
		level := "error"
		if p.Warning {
			level = "warning"
		}
		key := level + p.Blueprint + p.Pointer + p.Reason
		if warned[key] {
			continue
		}
		warned[key] = true
		fmt.Fprintf(w, "  %s: %s %s: %s\n", level, p.Blueprint, p.Pointer, p.Reason)
	}
	fmt.Fprintln(w)
	if err != nil && !errors.Is(err, catalog.ErrPartial) {
		return err
	}
	return nil
}

func gitLog(w io.Writer, dir string) error {
	store, err := gitstore.Open(dir)
	if err != nil {
		return err
	}
	repo, err := git.PlainOpen(store.Root())
	if err != nil {
		return err
	}
	iter, err := repo.Log(&git.LogOptions{})
	if err != nil {
		return err
	}
	defer iter.Close()
	return iter.ForEach(func(c *object.Commit) error {
		subject, _, _ := strings.Cut(c.Message, "\n")
		fmt.Fprintf(w, "  %s %s\n", short(c.Hash.String()), subject)
		return nil
	})
}

func short(h string) string { return h[:min(7, len(h))] }

func trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
