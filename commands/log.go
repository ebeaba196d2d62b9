package commands

import (
	"fmt"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/urfave/cli/v2"
)

func logCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:      "log",
		Usage:     "show the history of one entity: the commits that created, changed or deleted it",
		ArgsUsage: "BLUEPRINT IDENTIFIER",
		Description: `Follows HEAD's first parents, newest first, and prints for each commit
that touched catalog/<blueprint>/<identifier>.json its short hash, date and
subject, and the entity's field changes (old → new), as "gitalog diff" does.
In a shallow clone it stops at the clone's boundary and says so.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository (worktree or bare)"},
		},
		Action: func(c *cli.Context) error {
			for _, a := range c.Args().Slice() {
				if strings.HasPrefix(a, "--") {
					return fmt.Errorf("%s: flags go before BLUEPRINT IDENTIFIER", a)
				}
			}
			if c.NArg() != 2 {
				return fmt.Errorf("want BLUEPRINT IDENTIFIER (see \"gitalog log --help\")")
			}
			key := catalog.Key{Blueprint: c.Args().Get(0), Identifier: c.Args().Get(1)}
			if key.Blueprint == "" || key.Identifier == "" {
				return fmt.Errorf("BLUEPRINT and IDENTIFIER must not be empty")
			}
			repo, err := review.Open(c.String("dir"))
			if err != nil {
				return err
			}
			h, err := repo.Log(c.Context, key)
			if err != nil {
				return err
			}
			return review.RenderLog(io.Out, key, h)
		},
	}
}
