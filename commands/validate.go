package commands

import (
	"fmt"

	"github.com/gitalog/gitalog/engine/validate"
	"github.com/urfave/cli/v2"
)

func validateCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:  "validate",
		Usage: "check every catalog file against its blueprint and every relation against the catalog",
		Description: `Checks the worktree's catalog/ (HEAD's for a bare repository): valid JSON,
each file at the path of its blueprint and identifier, each entity valid for
its blueprint, each related entity present, no folder without a blueprint.
It warns about hand edits to files the sync manages (in the worktree, and
with --base in the commits since the merge base with REF), as the next sync
overwrites them. Prints file, JSON pointer and reason, one per line, errors
first. Exits 1 on any error; warnings alone exit 0. With GITHUB_ACTIONS=true
it also prints GitHub workflow commands, which annotate the pull request.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository (a worktree root or a bare repository)"},
			&cli.StringFlag{Name: "blueprints", Usage: "a folder of blueprint JSON files (default <dir>/blueprints)"},
			&cli.StringFlag{Name: "base", Usage: "a ref (such as origin/main): also warn about managed files edited by the commits since its merge base with HEAD"},
		},
		Action: func(c *cli.Context) error {
			res, err := validate.Run(c.Context, validate.Options{
				Dir: c.String("dir"), BlueprintsPath: c.String("blueprints"), Base: c.String("base"),
			})
			if err != nil {
				return err
			}
			warnings := !quiet(c)
			res.WriteText(io.Out, warnings)
			if io.Getenv("GITHUB_ACTIONS") == "true" {
				res.WriteAnnotations(io.Out, warnings)
			}
			if n := res.Errors(); n > 0 {
				if n == 1 {
					return fmt.Errorf("the catalog has 1 error")
				}
				return fmt.Errorf("the catalog has %d errors", n)
			}
			return nil
		},
	}
}
