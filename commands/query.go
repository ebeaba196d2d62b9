package commands

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gitalog/gitalog/engine/query"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/urfave/cli/v2"
)

func queryCommand(stdio *IO) *cli.Command {
	return &cli.Command{
		Name:      "query",
		Usage:     "answer a question about the catalog, now or at any commit: a jq program or a Port search body",
		ArgsUsage: "PROGRAM | --search FILE | -",
		Description: `Reads the catalog of HEAD, or of --at (a revision such as HEAD~2, a tag or
origin/main; or a date or time: the last commit on HEAD's first-parent
line at or before it; "2026-11-30" is the end of that day, local time),
from the repository's objects, never the worktree, and answers:

  PROGRAM         a jq program over the array of entities, with $catalog
                  (blueprint -> identifier -> entity) and related(relation)
                  (the entity, or list of entities, a relation names); "-"
                  reads the program from standard input
  --search FILE   Port's search body ({"combinator": "and", "rules": [...]},
                  nested combinators, $identifier, $title, $blueprint, a
                  property or a relation, relatedTo); "-" is standard input

Prints each output as indented JSON (the default), as JSON lines, or as a
table (--fields picks the columns; properties and relations by their
names). For jsonl and table a list counts as its elements.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository (worktree or bare)"},
			&cli.StringFlag{Name: "at", Usage: "a revision, or a date or time (2026-11-30, \"2026-11-30 12:00\", RFC 3339)"},
			&cli.StringFlag{Name: "search", Usage: "a file holding a Port search body (- for standard input)"},
			&cli.StringFlag{Name: "format", Value: query.FormatJSON, Usage: "json, jsonl or table"},
			&cli.StringFlag{Name: "fields", Usage: "with --format table: the columns, comma-separated (default: blueprint,identifier,title)"},
		},
		Action: func(c *cli.Context) error {
			for _, a := range c.Args().Slice() {
				if strings.HasPrefix(a, "--") {
					return fmt.Errorf("%s: flags go before the program", a)
				}
			}
			search := c.String("search")
			var program string
			switch {
			case search != "" && c.NArg() > 0:
				return fmt.Errorf("give a jq program or --search, not both")
			case search == "" && c.NArg() != 1:
				return fmt.Errorf("want one jq program, or --search FILE (see \"gitalog query --help\")")
			case search == "":
				program = c.Args().First()
				if program == "-" {
					b, err := io.ReadAll(io.LimitReader(stdio.In, 1<<20))
					if err != nil {
						return fmt.Errorf("reading the program: %w", err)
					}
					program = string(b)
				}
			}
			var fields []string
			if f := c.String("fields"); f != "" {
				for _, x := range strings.Split(f, ",") {
					fields = append(fields, strings.TrimSpace(x))
				}
			}
			out, err := query.NewOutput(stdio.Out, c.String("format"), fields)
			if err != nil {
				return err
			}
			var body *query.Search
			if search != "" {
				var data []byte
				if search == "-" {
					data, err = io.ReadAll(io.LimitReader(stdio.In, 16<<20))
				} else {
					data, err = os.ReadFile(search)
				}
				if err != nil {
					return fmt.Errorf("reading the search body: %w", err)
				}
				if body, err = query.ParseSearch(data); err != nil {
					if search == "-" {
						search = "standard input"
					}
					return fmt.Errorf("%s: %w", search, err)
				}
			}

			cat, err := loadCatalogAt(c, stdio)
			if err != nil {
				return err
			}
			if body != nil {
				if err := out.Write(cat.Search(body)); err != nil {
					return err
				}
			} else if err := cat.JQ(program, query.Limits, out.Write); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		},
	}
}

// loadCatalogAt reads the catalog of --dir at --at (default HEAD) from the
// object store, warning on stderr about files that are not entities.
func loadCatalogAt(c *cli.Context, stdio *IO) (*query.Catalog, error) {
	repo, err := review.Open(c.String("dir"))
	if err != nil {
		return nil, err
	}
	rev, err := repo.At(c.String("at"))
	if err != nil {
		return nil, fmt.Errorf("--at: %w", err)
	}
	cat, err := query.Load(c.Context, repo, rev)
	if err != nil {
		return nil, err
	}
	if !quiet(c) {
		for _, w := range cat.Warnings {
			fmt.Fprintf(stdio.Err, "warning: %s\n", w)
		}
	}
	return cat, nil
}
