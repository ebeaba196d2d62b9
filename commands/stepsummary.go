package commands

import (
	"context"
	"fmt"
	"github.com/gitalog/gitalog/commands/summary"
	"github.com/gitalog/gitalog/engine/sync"
	"strings"

	"github.com/gitalog/gitalog/engine/review"
)

// syncStepSummary is the markdown a sync appends to GITHUB_STEP_SUMMARY:
// the same entity-by-entity diff as `gitalog diff --format markdown` for
// the commit it made, or one line when it made none, plus its problems.
func syncStepSummary(ctx context.Context, dir string, res *sync.Result, syncErr error) (string, error) {
	if len(res.Sources) > 0 {
		// Each source's commit, in the config's order; the error (naming
		// each failed source) once, at the end.
		var all strings.Builder
		for _, r := range res.Sources {
			if r == nil {
				continue
			}
			md, err := syncStepSummary(ctx, dir, r, nil)
			if err != nil {
				return "", err
			}
			all.WriteString(md + "\n")
		}
		if syncErr != nil {
			fmt.Fprintf(&all, "\n> [!WARNING]\n> %s\n", strings.ReplaceAll(review.EscapeMarkdown(syncErr.Error()), "<br>", "\n> "))
		}
		return all.String(), nil
	}
	var b strings.Builder
	switch {
	case !res.Commit.IsZero():
		repo, err := review.Open(dir)
		if err != nil {
			return "", err
		}
		d, err := review.Compare(ctx, repo.Store, res.Parent, res.Commit)
		if err != nil {
			return "", err
		}
		b.WriteString(review.RenderMarkdown(d, review.MarkdownOptions{Title: "gitalog " + review.EscapeMarkdown(res.Subject)}))
	case res.DryRun:
		fmt.Fprintf(&b, "### gitalog sync (dry run)\n\nWould commit: %s\n", review.EscapeMarkdown(res.Subject))
	case res.NoChange:
		fmt.Fprintf(&b, "### gitalog sync\n\n%s\n", summary.NoChangeLine(res))
	default:
		fmt.Fprintf(&b, "### gitalog sync\n\nNothing was committed (%s).\n", review.EscapeMarkdown(res.Subject))
	}
	if n := res.InvalidEntities(); n > 0 {
		fmt.Fprintf(&b, "\n**%d invalid entities were not written.** Run `gitalog sync --dry-run -v` to see why.\n", n)
	}
	if syncErr != nil {
		fmt.Fprintf(&b, "\n> [!WARNING]\n> %s\n", strings.ReplaceAll(review.EscapeMarkdown(syncErr.Error()), "<br>", "\n> "))
	}
	return b.String(), nil
}
