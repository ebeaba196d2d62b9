package commands

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/validate"
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

--format markdown is made for a pull-request comment: it stays under the
review workflow's limit (60,000 bytes), every blueprint with its counts and
a fair share of its entities, deletions first. When TO is HEAD, it starts
with validate's result for the worktree (--validate=false leaves it out).
In GitHub Actions (GITHUB_SERVER_URL and GITHUB_REPOSITORY set), each entity
links to its file at --head-sha (default: TO; a pull request's checkout is
a merge commit, so pass the pull request's head) and a deleted one to its
old file at FROM. An entity links to its Sentry page when its properties
hold one (link, permalink or url). --format json is documented in
engine/review. When GITHUB_STEP_SUMMARY is set, the markdown is also
appended to it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository (worktree or bare)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, markdown or json"},
			&cli.StringFlag{Name: "base", Usage: "compare the merge base of `REF` and HEAD with HEAD"},
			&cli.StringFlag{Name: "head-sha", Usage: "markdown in GitHub Actions: link entities to their files at this `COMMIT` (the pull request's head)"},
			&cli.BoolFlag{Name: "validate", Value: true, Usage: "markdown with TO at HEAD: start with validate's result"},
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
				o := review.MarkdownOptions{Links: githubLinks(io.Getenv, c.String("head-sha"))}
				// validate reads the worktree (HEAD when bare): its result
				// speaks for the diff only when TO is HEAD.
				if c.Bool("validate") && c.NArg() < 2 {
					o.Validation = validation(c, c.String("dir"), c.String("base"))
				}
				md = review.RenderMarkdown(d, o)
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

// githubLinks are the links to files on GitHub when running in GitHub
// Actions, else nil.
func githubLinks(getenv func(string) string, head string) *review.Links {
	server, repo := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY")
	if server == "" || repo == "" {
		return nil
	}
	return &review.Links{Server: server, Repository: repo, Head: head}
}

// validation runs validate as `gitalog validate --base` does, for the
// comment's first line; a validation that cannot run says why there.
func validation(c *cli.Context, dir, base string) *review.Validation {
	res, err := validate.Run(c.Context, validate.Options{Dir: dir, Base: base})
	if err != nil {
		return &review.Validation{Failed: err.Error()}
	}
	v := &review.Validation{Files: res.Files, Errors: res.Errors(), Warnings: res.Warnings()}
	var b bytes.Buffer
	res.WriteText(&b, true)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	v.Findings = lines[:len(lines)-1] // the last is the count, which the comment has
	return v
}
