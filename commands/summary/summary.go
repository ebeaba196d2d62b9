package summary

import (
	"fmt"
	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/sync"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/schema"
)

// Verbosity of a summary.
type Verbosity int

const (
	Quiet   Verbosity = -1 // errors and the final line only
	Normal  Verbosity = 0
	Verbose Verbosity = 1 // every entity and problem
)

// Write prints a one-screen summary of a sync.
func Write(w io.Writer, r *sync.Result, v Verbosity) {
	if len(r.Sources) > 0 {
		// Every source of the config, synced side by side: each says
		// what it did, in the config's order.
		for i, sr := range r.Sources {
			if i > 0 && v != Quiet {
				fmt.Fprintln(w)
			}
			name := ""
			if sr != nil {
				name = sr.SourceName
			}
			if sr == nil {
				continue // failed before it had anything to say: see the error
			}
			if v != Quiet {
				fmt.Fprintf(w, "== source %s ==\n", name)
			}
			Write(w, sr, v)
		}
		return
	}
	verbose := v == Verbose
	if v == Quiet {
		writeProblems(w, r, false, true)
		writeFinal(w, r)
		return
	}
	kinds := make([]string, 0, len(r.Items))
	for k := range r.Items {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var ks []string
	total := 0
	for _, k := range kinds {
		ks = append(ks, fmt.Sprintf("%s %d", k, r.Items[k]))
		total += r.Items[k]
	}
	fmt.Fprintf(w, "Fetched %d items from %s", total, r.Source)
	if r.Requests > 0 {
		fmt.Fprintf(w, " in %d requests", r.Requests)
		if r.Retries > 0 {
			fmt.Fprintf(w, " (%d retried)", r.Retries)
		}
	}
	fmt.Fprintln(w)
	if s := skipped(r); s > 0 {
		fmt.Fprintf(w, "  %d requests skipped: their parents are unchanged since the last sync\n", s)
	}
	if verbose {
		WriteEndpoints(w, r)
	} else if r.FullRefresh != "" {
		fmt.Fprintf(w, "  full refresh: %s\n", r.FullRefresh)
	}
	if len(ks) > 0 {
		fmt.Fprintf(w, "  %s\n", strings.Join(ks, ", "))
	}
	if verbose && r.Cached > 0 {
		fmt.Fprintf(w, "  %d of them unchanged since the last sync: mapped from the item cache\n", r.Cached)
	}
	if len(r.Counts) > 0 {
		fmt.Fprintf(w, "\n  %-22s %8s %8s %8s\n", "blueprint", "created", "changed", "deleted")
		for _, bp := range r.Blueprints() {
			c := r.Counts[bp]
			fmt.Fprintf(w, "  %-22s %8d %8d %8d\n", bp, c.Created, c.Changed, c.Deleted)
		}
	}
	fmt.Fprintf(w, "\n%d unchanged entities.\n", r.Unchanged)
	limit := 10
	if verbose {
		limit = 1 << 30
	}
	list := func(title, mark string, es []sync.EntityRef) {
		if len(es) == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		for i, e := range es {
			if i == limit {
				fmt.Fprintf(w, "  ... and %d more\n", len(es)-i)
				break
			}
			t := ""
			if e.Title != "" {
				t = "  " + catalog.OneLine(e.Title, 60)
			}
			fmt.Fprintf(w, "  %s %s/%s%s\n", mark, catalog.Printable(e.Blueprint), catalog.Printable(e.Identifier), t)
			for _, c := range e.Fields {
				fmt.Fprintf(w, "      %s\n", review.FieldLine(c, 60))
			}
		}
	}
	if r.DryRun || r.Commit.IsZero() {
		list("Would create", "+", r.Created)
		list("Would change", "~", r.Changed)
		list("Would delete", "-", r.Deleted)
	} else {
		list("Created", "+", r.Created)
		list("Changed", "~", r.Changed)
		list("Deleted", "-", r.Deleted)
	}
	// Suggestions are listed every sync, not only when they change: they
	// wait for a person, who needs to see them.
	list(fmt.Sprintf("Suggested (not in catalog/; see %s/)", sync.SuggestionsDir), "?", r.Suggested)
	if r.Skipped > 0 {
		fmt.Fprintf(w, "%d entities skipped: no component in the catalog matched them (on_component_not_found: skip).\n", r.Skipped)
	}
	for _, c := range r.Conflicts {
		fmt.Fprintf(w, "warning: %s exists and was not written by gitalog; left as it is\n", c)
	}
	for i, c := range r.Claims {
		if i == limit && !verbose {
			fmt.Fprintf(w, "  ... and %d more entities owned by other sources\n", len(r.Claims)-i)
			break
		}
		if c.Field != "" {
			fmt.Fprintf(w, "conflict: %s: %s belongs to %s, which set it first; not written\n", c.Path, c.Field, c.Owner)
			continue
		}
		if c.Both {
			fmt.Fprintf(w, "conflict: %s is listed by this source and by %s; neither writes or deletes it until one list drops it (gitalog validate says where)\n", c.Path, c.Owner)
			continue
		}
		fmt.Fprintf(w, "conflict: %s belongs to %s, which wrote it first; not written\n", c.Path, c.Owner)
	}
	for i, m := range r.MapIssues {
		if i == limit {
			fmt.Fprintf(w, "  ... and %d more mapping issues\n", len(r.MapIssues)-i)
			break
		}
		fmt.Fprintf(w, "mapping: %s: %s: %s (%d items)\n", m.Resource, m.Field, m.Message, m.Count)
	}
	if len(r.Duplicates) > 0 {
		shown := r.Duplicates[:min(len(r.Duplicates), 3)]
		if verbose {
			shown = r.Duplicates
		}
		var ex []string
		for _, d := range shown {
			ex = append(ex, fmt.Sprintf("%s/%s (%d items)", catalog.Printable(d.Blueprint), catalog.Printable(d.Identifier), d.Items))
		}
		more := ""
		if len(shown) < len(r.Duplicates) {
			more = fmt.Sprintf(" and %d more", len(r.Duplicates)-len(shown))
		}
		what := fmt.Sprintf("%d entities were", len(r.Duplicates))
		if len(r.Duplicates) == 1 {
			what = "1 entity was"
		}
		fmt.Fprintf(w, "warning: %s given by more than one item; the later item's entity was written: %s%s\n", what, strings.Join(ex, ", "), more)
	}
	for _, k := range r.Kept {
		fmt.Fprintf(w, "not deleted: %s\n", r.KeptLine(k))
	}
	writeProblems(w, r, verbose, false)
	writeFinal(w, r)
}

// writeProblems prints problems, grouped: problems that differ only in the
// entity are shown once with the entities listed, so a systematic problem
// takes one line, not a screen.
func writeProblems(w io.Writer, r *sync.Result, verbose, errorsOnly bool) {
	limit := 10
	if verbose {
		limit = 1 << 30
	}
	type group struct {
		p   schema.Problem
		ids []string
	}
	type key struct {
		warning             bool
		bp, pointer, reason string
	}
	var groups []*group
	byKey := map[key]*group{}
	for _, p := range r.Problems {
		if errorsOnly && p.Warning {
			continue
		}
		k := key{p.Warning, p.Blueprint, p.Pointer, p.Reason}
		if g := byKey[k]; g != nil {
			g.ids = append(g.ids, p.Identifier)
			continue
		}
		g := &group{p, []string{p.Identifier}}
		byKey[k] = g
		groups = append(groups, g)
	}
	for i, g := range groups {
		if i == limit*2 {
			fmt.Fprintf(w, "  ... and %d more kinds of problem (use --verbose to see all)\n", len(groups)-i)
			break
		}
		level := "error"
		if g.p.Warning {
			level = "warning"
		}
		ids := g.ids
		more := ""
		if len(ids) > 3 && !verbose {
			more = fmt.Sprintf(" and %d more", len(ids)-3)
			ids = ids[:3]
		}
		fmt.Fprintf(w, "%s: %s %s%s: %s: %s\n", level, g.p.Blueprint, quoteAll(ids), more, g.p.Pointer, g.p.Reason)
	}
}

func writeFinal(w io.Writer, r *sync.Result) {
	switch {
	case r.DryRun:
		fmt.Fprintf(w, "Dry run: nothing was written. %s\n", r.Subject)
	case r.NoChange:
		fmt.Fprintln(w, NoChangeLine(r))
	case r.Commit.IsZero():
		// The commit failed (the error says why): only what happened.
		fmt.Fprintln(w, "Nothing was committed.")
	default:
		fmt.Fprintf(w, "Committed %s on %s: %s\n", r.Commit.String()[:12], sync.BranchName(r.Branch), r.Subject)
	}
	switch {
	case r.Pushed:
		fmt.Fprintf(w, "Pushed %s.\n", sync.BranchName(r.Branch))
	case r.PushedUpToDate != "":
		fmt.Fprintf(w, "%s is up to date; nothing to push.\n", r.PushedUpToDate)
	}
	if r.Notified != nil {
		for _, s := range r.Notified.Sinks {
			switch {
			case s.Err != nil:
				fmt.Fprintf(w, "Notified %s: %d sent, the rest pending (see the warning).\n", s.Name, s.Sent)
			case s.Sent > 0:
				fmt.Fprintf(w, "Notified %s: %d sent.\n", s.Name, s.Sent)
			}
		}
	}
}

// NoChangeLine says a sync made no commit, and whether that means the
// catalog is up to date: after a failed fetch or a skipped deletion it is
// only as up to date as what the sync could vouch for.
func NoChangeLine(r *sync.Result) string {
	switch {
	case len(r.FetchErrors) > 0:
		return "Nothing changed in what was fetched; no commit."
	case r.Err() != nil:
		return "Nothing changed that the sync could write; no commit."
	}
	return "The catalog is up to date; no commit."
}

func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", catalog.Printable(id))
	}
	return strings.Join(q, ", ")
}

func skipped(r *sync.Result) int64 {
	var n int64
	for _, e := range r.Endpoints {
		n += e.Skipped
	}
	return n
}

// WriteEndpoints writes the requests made and skipped per endpoint, with
// the 429s and the time waited for rate limits and retries.
func WriteEndpoints(w io.Writer, r *sync.Result) {
	if len(r.Endpoints) == 0 {
		return
	}
	fmt.Fprintf(w, "  %-58s %8s %8s %5s %8s\n", "endpoint", "requests", "skipped", "429s", "waited")
	for _, e := range r.Endpoints {
		fmt.Fprintf(w, "  %-58s %8d %8d %5d %8s\n", e.Endpoint, e.Requests, e.Skipped, e.TooMany, e.Wait.Round(time.Millisecond))
	}
	if r.FullRefresh != "" {
		fmt.Fprintf(w, "  full refresh: %s\n", r.FullRefresh)
	}
}
