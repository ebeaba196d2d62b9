package commands

import (
	"fmt"
	"github.com/gitalog/gitalog/engine/scaffold"

	"github.com/gitalog/gitalog/examples"
	"github.com/urfave/cli/v2"
)

func initCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "make a directory a catalog: a git repository with gitalog.yaml, blueprints/ and CI recipes",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository"},
			&cli.StringFlag{Name: "branch", Usage: "default branch of a new repository (default: git's init.defaultBranch, else main)"},
			&cli.StringFlag{Name: "author", Usage: `commit author "Name <email>" (default: git config, else gitalog)`},
			&cli.BoolFlag{Name: "opslevel", Usage: "write OpsLevel's Sentry integration (extractors and transforms) and its component types instead of Port's mapping"},
		},
		Action: func(c *cli.Context) error {
			author, err := parseAuthor(c.String("author"))
			if err != nil {
				return err
			}
			// CI recipes: a scheduled sync and a pull-request review
			// for GitHub Actions, and a Jenkinsfile (examples/README.md).
			recipes := examples.Recipes()
			if c.Bool("opslevel") {
				recipes = examples.OpsLevelRecipes()
			}
			res, err := scaffold.Init(c.Context, scaffold.Options{
				Dir: c.String("dir"), Branch: c.String("branch"), Author: author,
				Extra:    recipes,
				OpsLevel: c.Bool("opslevel"),
			})
			if err != nil {
				return err
			}
			printInit(io, res, quiet(c), c.Bool("opslevel"))
			return nil
		},
	}
}

// printInit lists what init did; quiet leaves the result line only.
func printInit(io *IO, res *scaffold.Result, quiet, opslevel bool) {
	if !quiet {
		printInitSteps(io, res)
	}
	if !res.Commit.IsZero() {
		next := "set SENTRY_ORG and SENTRY_AUTH_TOKEN"
		if opslevel {
			next = "put your organization in the URLs of gitalog.yaml, set SENTRY_API_TOKEN"
		}
		fmt.Fprintf(io.Out, "Committed %s. Next: %s, then run \"gitalog sync --dir %s\".\n", res.Commit.String()[:12], next, res.Dir)
	} else {
		fmt.Fprintf(io.Out, "%s is already a catalog; nothing to do.\n", res.Dir)
	}
}

func printInitSteps(io *IO, res *scaffold.Result) {
	if res.Created {
		fmt.Fprintf(io.Out, "Initialized a git repository in %s\n", res.Dir)
	}
	for _, p := range res.Written {
		fmt.Fprintf(io.Out, "  wrote %s\n", p)
	}
	for _, p := range res.Kept {
		fmt.Fprintf(io.Out, "  kept  %s (already there)\n", p)
	}
	switch res.Gitignore {
	case scaffold.GitignoreIgnored:
		fmt.Fprintln(io.Out, "  kept  .gitignore (it ignores .sentryclirc already)")
	case scaffold.GitignoreAppended:
		fmt.Fprintln(io.Out, "  added .sentryclirc to .gitignore")
	case scaffold.GitignoreWorktree:
		fmt.Fprintln(io.Out, "  added .sentryclirc to .gitignore (not committed: the file has changes of yours)")
	case scaffold.GitignoreLeftAlone:
		fmt.Fprintln(io.Out, "  left  .gitignore alone (deleted in the worktree or not a file): add .sentryclirc to it, sentry-cli may keep a token there")
	}
}
