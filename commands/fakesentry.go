package commands

import (
	"fmt"
	"github.com/gitalog/gitalog/engine/secretenv"
	"github.com/gitalog/gitalog/engine/sync"
	"net"
	"net/http"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/urfave/cli/v2"
)

// fakeSentryCommand serves the fake Sentry of the tests and the demo on a
// local port, for trying sync, dump and the benchmarks against it.
func fakeSentryCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:   "fake-sentry",
		Usage:  "serve the demo's fake Sentry on a local port (for trying gitalog and benchmarks)",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:0", Usage: "listen address (loopback)"},
			&cli.IntFlag{Name: "issues", Usage: "serve a generated organization with this many issues instead of the demo's"},
			&cli.IntFlag{Name: "projects", Value: 20, Usage: "projects of a generated organization"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of a generated organization"},
			&cli.StringFlag{Name: "dump", Usage: "instead of serving, write the items the config fetches to this folder (a --replay folder) and exit"},
			&cli.StringFlag{Name: "config", Usage: "with --dump: the mapping config saying which kinds to fetch"},
			sourceFlag("with --dump and a config with sources: the source whose items to write (its url and org point at the fake)"),
		},
		Action: func(c *cli.Context) error {
			data := sentrytest.Demo()
			if n := c.Int("issues"); n > 0 {
				data = sentrytest.Generate(sentrytest.GenOptions{Seed: c.Int64("seed"), Projects: c.Int("projects"), Issues: n, Teams: 8, Members: 40})
			}
			if out := c.String("dump"); out != "" {
				srv := sentrytest.NewHandler(data)
				env := map[string]string{"SENTRY_URL": srv.URL, "SENTRY_ORG": data.OrgSlug(), "SENTRY_AUTH_TOKEN": sentrytest.Token}
				src := c.String("source")
				if src != "" {
					env[secretenv.SourceVar("SENTRY_URL", src)] = srv.URL
					env[secretenv.SourceVar("SENTRY_ORG", src)] = data.OrgSlug()
					env[secretenv.SourceVar(secretenv.SentryToken, src)] = sentrytest.Token
				}
				res, err := sync.Dump(c.Context, sync.Options{ConfigPath: c.String("config"), Dir: ".", Source: src,
					Env: func(k string) string { return env[k] }, HTTPClient: srv.Client(), Concurrency: 8}, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(io.Out, "wrote %d files to %s: %v\n", res.Files, out, res.Items)
				return nil
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return err
			}
			srv := sentrytest.NewHandler(data)
			url := "http://" + ln.Addr().String()
			fmt.Fprintf(io.Out, "export SENTRY_URL=%s SENTRY_ORG=%s SENTRY_AUTH_TOKEN=%s\n", url, data.OrgSlug(), sentrytest.Token)
			hs := &http.Server{Handler: srv}
			go func() {
				<-c.Context.Done()
				hs.Close()
			}()
			if err := hs.Serve(ln); err != nil && err != http.ErrServerClosed {
				return err
			}
			return nil
		},
	}
}
