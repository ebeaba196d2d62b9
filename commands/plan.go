package commands

import (
	"bytes"
	"fmt"

	"github.com/gitalog/gitalog/commands/plan"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/sync"
	"github.com/urfave/cli/v2"
)

func planCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "show what a sync would do, kind by kind and entity by entity, writing nothing",
		Description: `Runs everything a sync runs up to the commit and shows, per kind: the items
fetched, the requests made, one sample item (trimmed) and the entities it
maps to; then every entity that would be created, updated (with the fields
that change) and deleted, per blueprint. Nothing is written: no commit, no
object, no worktree file, no item cache.

--format markdown is made for a pull-request comment (kept under GitHub's
65536-character limit); --format json prints one object (documented in
commands/plan); with sources: and no --source, one object a source, one
after the other, each naming its source in "source_name". When GITHUB_STEP_SUMMARY is set, the markdown is also
appended to it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository (a worktree root or a bare repository)"},
			&cli.StringFlag{Name: "config", Usage: "the mapping config (default <dir>/gitalog.yaml)"},
			&cli.StringFlag{Name: "blueprints", Usage: "a folder of blueprint JSON files (default <dir>/blueprints)"},
			&cli.StringFlag{Name: "replay", Usage: "read items from a folder written by \"gitalog dump\" instead of Sentry"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, markdown or json"},
			&cli.StringFlag{Name: "branch", Usage: "plan against this branch's catalog instead of HEAD's"},
			sourceFlag("plan only this source of gitalog.yaml's sources: (default: each of them)"),
			&cli.StringFlag{Name: "delete-threshold", Usage: "as for sync: the share of a blueprint's managed entities a sync may delete (0-1)"},
			&cli.IntFlag{Name: "concurrency", Usage: "Sentry requests in flight at once", DefaultText: "4"},
			&cli.BoolFlag{Name: "detailed-exitcode", Usage: "exit 0 when nothing would change, 2 when the catalog would change, 1 on error (3 when partial)"},
			&cli.BoolFlag{Name: "no-cache", Usage: "map every item, even those the item cache knows (the cache is not written either way)"},
			&cli.BoolFlag{Name: "full", Usage: "plan a full refresh: ask Sentry for every fan-out child again, as sync --full does"},
			&cli.DurationFlag{Name: "timeout", Value: sync.DefaultTimeout, Usage: "give up on a plan that takes longer than this (0: no limit)"},
		},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if format != "text" && format != "markdown" && format != "json" {
				return fmt.Errorf("--format %q: want text, markdown or json", format)
			}
			o, err := syncOptions(c, io)
			if err != nil {
				return err
			}
			o.Plan = true
			prog := newProgress(c, io)
			o.Progress = prog.update
			res, err := sync.Run(c.Context, o)
			prog.done()
			if res == nil {
				return err
			}
			po := plan.Options{Err: err}
			if verbose(c) {
				po.Limit = -1
			}
			// With sources: and no --source, each source's plan in turn.
			results := []*sync.Result{res}
			if len(res.Sources) > 0 {
				results = nil
				for _, r := range res.Sources {
					if r != nil {
						results = append(results, r)
					}
				}
			}
			var md string
			var out bytes.Buffer
			for i, r := range results {
				head := ""
				if len(res.Sources) > 0 {
					head = "source " + r.SourceName
				}
				if format == "markdown" || io.Getenv("GITHUB_STEP_SUMMARY") != "" {
					if head != "" {
						md += "## " + head + "\n\n"
					}
					md += plan.Markdown(r, po)
				}
				switch format {
				case "text":
					if !quiet(c) {
						if head != "" {
							if i > 0 {
								out.WriteString("\n")
							}
							out.WriteString("== " + head + " ==\n")
						}
						if err2 := plan.Text(&out, r, po); err2 != nil {
							return err2
						}
					}
				case "json":
					// One object a source, one after the other (a JSON stream).
					if err2 := plan.JSON(&out, r); err2 != nil {
						return err2
					}
				}
			}
			if format == "markdown" {
				out.WriteString(md)
			}
			if _, err2 := io.Out.Write(out.Bytes()); err2 != nil {
				return err2
			}
			if serr := review.AppendStepSummary(io.Getenv, md); serr != nil {
				logger(c, io).Warn("writing the GitHub step summary", "error", serr)
			}
			if err == nil && c.Bool("detailed-exitcode") && !allNoChange(res) {
				return &exitCodeError{code: ExitChanges}
			}
			return err
		},
	}
}

// allNoChange reports whether a plan (of each source, with sources:) would
// change nothing.
func allNoChange(res *sync.Result) bool {
	if len(res.Sources) == 0 {
		return res.NoChange
	}
	for _, r := range res.Sources {
		if r != nil && !r.NoChange {
			return false
		}
	}
	return true
}
