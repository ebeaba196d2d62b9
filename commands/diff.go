package commands

import (
	"fmt"
	"strings"

	"github.com/gitalog/gitalog/engine/review"
	"github.com/urfave/cli/v2"
)

func diffCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "show what changed in the catalog between two revisions, entity by entity",
		ArgsUsage: "[FROM [TO]]",
		Description: `Compares catalog/ at two revisions: HEAD~1..HEAD by default (the empty
tree..HEAD on a root commit), FROM..HEAD with one revision, FROM..TO with
two, and with --base REF the merge base of REF and HEAD..HEAD, as a pull
request does. Prints counts per blueprint, then each created, changed and
deleted entity with its field changes (old → new; long texts as word diffs).

--format markdown is made for a pull-request comment (kept under GitHub's
65536-character limit); --format json is documented in engine/review.
When GITHUB_STEP_SUMMARY is set, the markdown is also appended to it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository (worktree or bare)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, markdown or json"},
			&cli.StringFlag{Name: "base", Usage: "compare the merge base of `REF` and HEAD with HEAD"},
		},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if format != "text" && format != "markdown" && format != "json" {
				return fmt.Errorf("--format %q: want text, markdown or json", format)
			}
			for _, a := range c.Args().Slice() {
				if strings.HasPrefix(a, "-") {
					return fmt.Errorf("%s: flags go before the revisions", a)
				}
			}
			if c.NArg() > 2 {
				return fmt.Errorf("too many arguments: want [FROM [TO]]")
			}
			repo, err := review.Open(c.String("dir"))
			if err != nil {
				return err
			}
			from, to, err := repo.Range(c.Args().Get(0), c.Args().Get(1), c.String("base"))
			if err != nil {
				return err
			}
			d, err := repo.Diff(c.Context, from, to)
			if err != nil {
				return err
			}
			var md string
			if format == "markdown" || io.Getenv("GITHUB_STEP_SUMMARY") != "" {
				md = review.RenderMarkdown(d, review.MarkdownOptions{})
			}
			switch format {
			case "text":
				err = review.RenderText(io.Out, d)
			case "markdown":
				_, err = fmt.Fprint(io.Out, md)
			case "json":
				err = review.RenderJSON(io.Out, d)
			}
			if err != nil {
				return err
			}
			return review.AppendStepSummary(io.Getenv, md)
		},
	}
}
