package commands

import (
	"github.com/gitalog/gitalog/engine/demo"
	"github.com/urfave/cli/v2"
)

func demoCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "an offline tour: a fake Sentry, init, two syncs and the catalog's git history",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "gitalog-demo", Usage: "where to create the demo catalog"},
		},
		Action: func(c *cli.Context) error {
			prog := newProgress(c, io)
			defer prog.done()
			return demo.Run(c.Context, demo.Options{Dir: c.String("dir"), Out: io.Out, Progress: func(stage, detail string) {
				prog.update(stage, detail)
			}, ClearProgress: prog.done})
		},
	}
}
