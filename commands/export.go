package commands

import (
	"fmt"

	"github.com/gitalog/gitalog/engine/backstage"
	"github.com/urfave/cli/v2"
)

func exportCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the catalog in another tool's format (backstage)",
		Subcommands: []*cli.Command{{
			Name:  "backstage",
			Usage: "write the catalog as Backstage descriptor YAML, a location Backstage can register",
			Description: `Reads the catalog of HEAD (or --at a revision or date, as "gitalog query"
does) from the repository's objects and maps it to Backstage entities:
projects become Components (spec.owner: the team that lists the project),
teams Groups, members Users (spec.memberOf), and each project's issues
annotations on its Component (gitalog.dev/issues-<status>: count). Names
follow Backstage's rules; one that had to change keeps the original in
gitalog.dev/identifier. --mapping FILE replaces the default mapping
(--print-mapping prints it to start from).

With --out DIR it writes components.yaml, groups.yaml and users.yaml
(one document per entity, sorted by name) and catalog-info.yaml, the
Location to register in Backstage; without it prints the documents.`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository (worktree or bare)"},
				&cli.StringFlag{Name: "at", Usage: "a revision, or a date or time (as gitalog query --at)"},
				&cli.StringFlag{Name: "out", Usage: "the folder to write the files into (default: print to standard output)"},
				&cli.StringFlag{Name: "mapping", Usage: "a YAML file: which blueprints become which kinds (see --print-mapping)"},
				&cli.BoolFlag{Name: "print-mapping", Usage: "print the default mapping and exit"},
			},
			Action: func(c *cli.Context) error {
				if c.Bool("print-mapping") {
					_, err := fmt.Fprint(io.Out, backstage.DefaultConfigYAML)
					return err
				}
				cfg := backstage.DefaultConfig()
				if p := c.String("mapping"); p != "" {
					var err error
					if cfg, err = backstage.LoadConfig(p); err != nil {
						return err
					}
				}
				cat, err := loadCatalogAt(c, io)
				if err != nil {
					return err
				}
				ds, err := backstage.Build(cfg, cat, cat.Entities)
				if err != nil {
					return err
				}
				out := c.String("out")
				if out == "" {
					data, err := backstage.Encode(ds)
					if err != nil {
						return err
					}
					_, err = io.Out.Write(data)
					return err
				}
				files, err := backstage.Write(out, cfg.Namespace, ds)
				if err != nil {
					return err
				}
				if !quiet(c) {
					fmt.Fprintf(io.Out, "wrote %d Backstage entities to %s: %v (register %s)\n", len(ds), out, files, backstage.LocationFile)
				}
				return nil
			},
		}},
	}
}
