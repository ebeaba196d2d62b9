package commands

import (
	"fmt"
	"github.com/gitalog/gitalog/engine/sync"
	"sort"

	"github.com/urfave/cli/v2"
)

func dumpCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:  "dump",
		Usage: "write the raw items of every kind to <out>/<kind>.jsonl, for `sync --replay` and `map`",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository whose gitalog.yaml says what to fetch"},
			&cli.StringFlag{Name: "config", Usage: "the mapping config (default <dir>/gitalog.yaml)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "the folder to write"},
			&cli.IntFlag{Name: "concurrency", Usage: "Sentry requests in flight at once", DefaultText: "4"},
			sourceFlag("with sources: in gitalog.yaml, the source to fetch from (required then)"),
		},
		Action: func(c *cli.Context) error {
			prog := newProgress(c, io)
			o := sync.Options{
				Dir: c.String("dir"), ConfigPath: c.String("config"), Env: io.Getenv,
				Concurrency: c.Int("concurrency"), Logger: logger(c, io), Progress: prog.update,
				Source: c.String("source"),
			}
			res, err := sync.Dump(c.Context, o, c.String("out"))
			prog.done()
			if err != nil {
				return err
			}
			kinds := make([]string, 0, len(res.Items))
			for k := range res.Items {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				fmt.Fprintf(io.Out, "%-12s %7d items\n", k, res.Items[k])
			}
			fmt.Fprintf(io.Out, "Wrote %d files to %s\n", res.Files, c.String("out"))
			return nil
		},
	}
}
