package sync

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/notify"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/sentry"
	"github.com/gitalog/gitalog/schema"
	"github.com/go-git/go-git/v5/plumbing"
)

// Result is what a sync did, for the summary and for tests.
type Result struct {
	Source string
	// SourceName is the source of sources: this sync was of ("" for a
	// catalog without sources).
	SourceName string
	// Sources are, for a sync of every source in one process, each
	// source's own result, in the config's order; the other fields are
	// then unset but Duration.
	Sources  []*Result
	DryRun   bool
	NoChange bool
	Commit   plumbing.Hash
	Parent   plumbing.Hash // the commit the sync compared against
	Branch   string
	Pushed   bool
	// PushedUpToDate names the remote branch ("origin/main") when a push
	// was asked for and the remote already had the branch's commit.
	PushedUpToDate string
	Subject        string
	// Notified is what the notify: sinks were sent after the sync (nil
	// without sinks, or when nothing was committed and none was due).
	Notified *notify.Report

	notify *notifyRun

	Items map[string]int // raw items per kind
	// Cached is how many of those items the item cache mapped: their bytes
	// were the same as last time, and so are their files.
	Cached      int
	FetchErrors []error
	FailedKinds []string
	MapIssues   []*MapIssue
	// Doubts are why some blueprints' entities were not deleted: kinds
	// that failed to fetch, items whose identity failed to map.
	Doubts   []Doubt
	Problems []schema.Problem
	// Duplicates are entities that more than one item gave (the later
	// item's entity was written).
	Duplicates []Duplicate

	Counts    map[string]*Counts // per blueprint
	Created   []EntityRef
	Changed   []EntityRef
	Deleted   []EntityRef
	Unchanged int
	Conflicts []string
	// Claims are entities this source produced that another source owns:
	// the first owner keeps them.
	Claims []catalog.Claim

	// Kept lists the blueprints whose entities were not produced but not
	// deleted either, because of a doubt or the threshold.
	Kept      []catalog.Kept
	Threshold float64

	// Suggested are the entities suggest transforms found no component
	// for (listed in .gitalog/suggestions/); Skipped counts those skip
	// transforms dropped.
	Suggested []EntityRef
	Skipped   int

	Requests, Retries int64
	// Endpoints count Sentry's requests per endpoint: made, skipped (a
	// fan-out parent whose fields were unchanged), 429s and waits.
	Endpoints []sentry.EndpointStat
	// FullRefresh says why every fan-out child was fetched again ("" when
	// unchanged parents' results were reused): "--full", or the period.
	FullRefresh string
	Duration    time.Duration

	// Plan is set by Options.Plan: the full plan, for `gitalog plan`.
	Plan *Plan

	// LeftSelection are, for Apply, the entities deleted because their
	// issue left the resource's selection, with the issue's status.
	LeftSelection map[catalog.Key]string
	// Undecided are, for Apply, the items whose entities a resource left
	// as they were (the next full sync decides).
	Undecided []Undecided
}

// Duplicate is an entity that Items items gave; the last one's was written.
type Duplicate struct {
	Blueprint, Identifier string
	Items                 int
}

// Counts are one blueprint's changes.
type Counts struct{ Created, Changed, Deleted int }

// EntityRef names an entity in a result. Fields are the fields that
// changed, for the first MaxListed changed entities.
type EntityRef struct {
	Blueprint, Identifier, Title string
	Fields                       []review.FieldChange
}

// MapIssue is a mapping problem, counted over all items that had it.
type MapIssue struct {
	Resource, Field, Message string
	Count                    int
	Skipped                  bool
	// Stopped: a jq evaluation went past jqMaxSteps, jqTimeout or jqMaxMemory.
	Stopped bool
}

func refs(es []catalog.Entry) []EntityRef {
	out := make([]EntityRef, len(es))
	for i, e := range es {
		out[i] = EntityRef{Blueprint: e.Key.Blueprint, Identifier: e.Key.Identifier, Title: e.Title}
	}
	return out
}

func (r *Result) apply(p *catalog.Plan) {
	r.Created, r.Changed, r.Deleted = refs(p.Created), refs(p.Changed), refs(p.Deleted)
	r.Unchanged = p.Unchanged
	r.Conflicts = p.Conflicts
	r.Claims = p.Claims
	r.Kept, r.Threshold = p.Kept, p.Threshold
	r.Counts = map[string]*Counts{}
	c := func(bp string) *Counts {
		if r.Counts[bp] == nil {
			r.Counts[bp] = &Counts{}
		}
		return r.Counts[bp]
	}
	for _, e := range r.Created {
		c(e.Blueprint).Created++
	}
	for _, e := range r.Changed {
		c(e.Blueprint).Changed++
	}
	for _, e := range r.Deleted {
		c(e.Blueprint).Deleted++
	}
	r.Subject = r.subject()
}

// Errors counts the problems that are errors, not warnings.
func (r *Result) Errors() int {
	n := 0
	for _, p := range r.Problems {
		if !p.Warning {
			n++
		}
	}
	return n
}

// InvalidEntities counts the entities with at least one error.
func (r *Result) InvalidEntities() int {
	seen := map[[2]string]bool{}
	for _, p := range r.Problems {
		if !p.Warning {
			seen[[2]string{p.Blueprint, p.Identifier}] = true
		}
	}
	return len(seen)
}

// Err is the error a finished sync returns: nil, or one wrapping
// catalog.ErrPartial that says what was left undone.
func (r *Result) Err() error {
	var why []string
	if len(r.FetchErrors) > 0 {
		why = append(why, fmt.Sprintf("fetching failed, so %s was deleted:\n  %s", noEntityOf(r.fetchDoubts()), indentErr(errors.Join(r.FetchErrors...))))
	}
	for _, d := range r.Doubts {
		if !d.Fetch && !d.Empty {
			why = append(why, fmt.Sprintf("deletions skipped for %s: %s", blueprintList(d.Blueprints), d))
		}
	}
	for _, d := range r.Doubts {
		// Said only where it kept entities: a resource empty for good
		// is no failure once what it gave is gone.
		var bps []string
		for _, k := range r.Kept {
			if k.GaveNothing && d.Empty && d.touches(k.Blueprint) {
				bps = append(bps, k.Blueprint)
			}
		}
		if len(bps) > 0 {
			why = append(why, fmt.Sprintf("deletions skipped for %s: %s; rerun with --delete-threshold 1 if this is intended", blueprintList(bps), d))
		}
	}
	if n := r.InvalidEntities(); n > 0 {
		why = append(why, fmt.Sprintf("%d invalid entities were not written (their older files, if any, are unchanged)", n))
	}
	for _, m := range r.MapIssues {
		if m.Stopped {
			// A mapping that never ends is broken whatever the data: the
			// sync must not pass for a success.
			why = append(why, "a jq mapping was stopped by jqMaxSteps, jqTimeout or jqMaxMemory (see the mapping: lines)")
			break
		}
	}
	var over []string
	for _, k := range r.Kept {
		if k.MappingFailed {
			why = append(why, r.KeptLine(k))
		}
		if k.OverThreshold {
			what := "managed %s entities"
			if k.Fields {
				what = "hand-written %s files' managed properties"
			}
			over = append(over, fmt.Sprintf("%d of %d "+what+" (%.0f%%)", k.Entities, k.Managed, catalog.Printable(k.Blueprint), 100*float64(k.Entities)/float64(k.Managed)))
		}
	}
	if len(r.Claims) > 0 {
		why = append(why, claimsLine(r.Claims))
	}
	if len(over) > 0 {
		why = append(why, fmt.Sprintf("refused to delete %s, over entityDeletionThreshold %.2f; they were kept; rerun with --delete-threshold 1 if this is intended", strings.Join(over, ", "), r.Threshold))
	}
	if len(why) == 0 {
		return nil
	}
	// One reason a line: the fetch errors end in an indented list, and a
	// reason after it on the same line would read as one of them.
	return fmt.Errorf("%w: %s", catalog.ErrPartial, strings.Join(why, "\n"))
}

// claimsLine says which entities another source owns: two sources give
// the same blueprint and identifier (make identifiers unique per source,
// e.g. $source + "-" + .slug).
func claimsLine(cs []catalog.Claim) string {
	const show = 5
	var names []string
	for i, c := range cs {
		if i == show {
			names = append(names, fmt.Sprintf("and %d more", len(cs)-show))
			break
		}
		what := ""
		switch {
		case c.Field != "":
			what = c.Field + ", owned by "
		case c.Both:
			what = "listed by this source and by "
		default:
			what = "owned by "
		}
		names = append(names, fmt.Sprintf("%s/%s (%s%s)", catalog.Printable(c.Key.Blueprint), catalog.Printable(c.Key.Identifier), what, c.Owner))
	}
	return fmt.Sprintf("%d entities (or fields of hand-written ones) this source produced belong to another source, which set them first and keeps them: %s; give each source its own identifiers (e.g. $source + \"-\" + .slug), or the field to one source (source: on the transform)", len(cs), strings.Join(names, ", "))
}

// fetchDoubts are the doubts of kinds that failed to fetch.
func (r *Result) fetchDoubts() []Doubt {
	var out []Doubt
	for _, d := range r.Doubts {
		if d.Fetch {
			out = append(out, d)
		}
	}
	return out
}

// noEntityOf names what the doubts keep: "nothing", or "no entity of
// issue, sentryIssue".
func noEntityOf(ds []Doubt) string {
	set := map[string]bool{}
	for _, d := range ds {
		if d.Blueprints == nil {
			return "nothing"
		}
		for _, bp := range d.Blueprints {
			set[bp] = true
		}
	}
	if len(set) == 0 {
		return "nothing"
	}
	bps := make([]string, 0, len(set))
	for bp := range set {
		bps = append(bps, bp)
	}
	sort.Strings(bps)
	return "no entity of " + blueprintList(bps)
}

// blueprintList names a doubt's blueprints; nil is all of them.
func blueprintList(bps []string) string {
	if bps == nil {
		return "every blueprint"
	}
	q := make([]string, len(bps))
	for i, bp := range bps {
		q[i] = catalog.Printable(bp)
	}
	return strings.Join(q, ", ")
}

func indentErr(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "\n  ")
}

// Blueprints are the blueprints the sync changed, sorted.
func (r *Result) Blueprints() []string { return slices.Sorted(maps.Keys(r.Counts)) }

// subject is the commit subject: changes counted per blueprint, e.g.
// "sync: issue +7 ~12 -5, project +1".
func (r *Result) subject() string {
	s := r.subjectText()
	if r.SourceName != "" {
		s = "sync(" + r.SourceName + ")" + strings.TrimPrefix(s, "sync")
	}
	return s
}

func (r *Result) subjectText() string {
	var parts []string
	for _, bp := range r.Blueprints() {
		c := r.Counts[bp]
		var s []string
		if c.Created > 0 {
			s = append(s, fmt.Sprintf("+%d", c.Created))
		}
		if c.Changed > 0 {
			s = append(s, fmt.Sprintf("~%d", c.Changed))
		}
		if c.Deleted > 0 {
			s = append(s, fmt.Sprintf("-%d", c.Deleted))
		}
		parts = append(parts, bp+" "+strings.Join(s, " "))
	}
	if len(parts) == 0 {
		if len(r.Suggested) > 0 {
			// Only .gitalog/suggestions/ can have changed.
			return "sync: " + plural(len(r.Suggested), "suggestion", "suggestions")
		}
		return "sync: no entity changes"
	}
	return "sync: " + strings.Join(parts, ", ")
}

// leftSelection lists in the commit body the entities a batch deleted
// because their issue left the resource's selection, each with the
// issue's status then ("  issue/123: resolved"): notify tells a resolution
// from a deletion by it.
func leftSelection(b *strings.Builder, r *Result) {
	var lines []string
	for _, e := range r.Deleted {
		if st, ok := r.LeftSelection[catalog.Key{Blueprint: e.Blueprint, Identifier: e.Identifier}]; ok && st != "" {
			lines = append(lines, fmt.Sprintf("  %s/%s: %s", catalog.Printable(e.Blueprint), catalog.Printable(e.Identifier), catalog.Printable(st)))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n", notify.LeftSelectionTitle)
	for i, l := range lines {
		if i == MaxListed {
			fmt.Fprintf(b, "  ... and %d more\n", len(lines)-i)
			break
		}
		b.WriteString(l + "\n")
	}
}

// MaxListed caps the entities listed in a commit body.
const MaxListed = 100

func commitMessage(r *Result, p *catalog.Plan) string {
	var b strings.Builder
	b.WriteString(r.Subject)
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "Source: %s\n", r.Source)
	kinds := make([]string, 0, len(r.Items))
	for k := range r.Items {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var ks []string
	for _, k := range kinds {
		ks = append(ks, fmt.Sprintf("%s %d", k, r.Items[k]))
	}
	if len(ks) > 0 {
		fmt.Fprintf(&b, "Items: %s\n", strings.Join(ks, ", "))
	}
	listed := 0
	section := func(title, mark string, es []EntityRef) {
		if len(es) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for i, e := range es {
			if listed >= MaxListed {
				fmt.Fprintf(&b, "  ... and %d more\n", len(es)-i)
				return
			}
			listed++
			line := fmt.Sprintf("  %s %s/%s", mark, catalog.Printable(e.Blueprint), catalog.Printable(e.Identifier))
			if e.Title != "" {
				line += "  " + catalog.OneLine(e.Title, 72)
			}
			b.WriteString(line + "\n")
			for _, c := range e.Fields {
				b.WriteString("      " + review.FieldLine(c, 60) + "\n")
			}
		}
	}
	section("Created", "+", r.Created)
	section("Changed", "~", r.Changed)
	section("Deleted", "-", r.Deleted)
	section("Suggested (in "+SuggestionsDir+"/)", "?", r.Suggested)
	leftSelection(&b, r)
	if len(r.FetchErrors) > 0 {
		fmt.Fprintf(&b, "\nIncomplete fetch (%s): %s was deleted.\n", strings.Join(r.FailedKinds, ", "), noEntityOf(r.fetchDoubts()))
	}
	if len(r.Kept) > 0 {
		b.WriteString("\nNot deleted:\n")
		for _, k := range r.Kept {
			fmt.Fprintf(&b, "  %s\n", r.KeptLine(k))
		}
	}
	if n := r.InvalidEntities(); n > 0 {
		fmt.Fprintf(&b, "\nInvalid entities not written: %d.\n", n)
	}
	if len(r.Claims) > 0 {
		fmt.Fprintf(&b, "\nOwned by another source (not written): %d.\n", len(r.Claims))
	}
	if r.SourceName != "" {
		// A trailer, so that git log --format='%(trailers:key=Gitalog-Source)'
		// and notify tell each source's commits apart.
		fmt.Fprintf(&b, "\n%s: %s\n", SourceTrailer, r.SourceName)
	}
	return b.String()
}

// SourceTrailer is the git trailer naming the source a sync commit is of.
const SourceTrailer = notify.SourceTrailer

// KeptLine says why a blueprint's entities were kept.
func (r *Result) KeptLine(k catalog.Kept) string {
	s := fmt.Sprintf("%d %s entities", k.Entities, catalog.Printable(k.Blueprint))
	switch {
	case k.Fields:
		s = fmt.Sprintf("the managed properties of %d hand-written %s files", k.Entities, catalog.Printable(k.Blueprint))
	case k.Entities == 1:
		s = fmt.Sprintf("1 %s entity", catalog.Printable(k.Blueprint))
	}
	if k.MappingFailed {
		files := "files"
		if k.Entities == 1 {
			files = "file"
		}
		return fmt.Sprintf("the managed properties whose jq failed (see the mapping: lines) in %d hand-written %s %s, kept as they were", k.Entities, catalog.Printable(k.Blueprint), files)
	}
	if k.OverThreshold {
		return fmt.Sprintf("%s (%d of %d managed, %.0f%%, over entityDeletionThreshold %.2f)", s, k.Entities, k.Managed, 100*float64(k.Entities)/float64(k.Managed), r.Threshold)
	}
	var why []string
	for _, d := range r.Doubts {
		// A blueprint kept by another doubt was not kept by a resource
		// that gave nothing, which may well be data.
		if d.touches(k.Blueprint) && d.Empty == k.GaveNothing {
			why = append(why, d.String())
		}
	}
	if len(why) == 0 {
		// Held with no doubt: a push batch fetches none of the kinds
		// polled for the blueprint.
		return s + ", not fetched in this run (a push batch polls nothing)"
	}
	return s + ", because " + strings.Join(why, "; ")
}
