package commands

import (
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/secretenv"
	"github.com/gitalog/gitalog/engine/serve"
	"github.com/gitalog/gitalog/engine/sync"
	"github.com/urfave/cli/v2"
)

func serveCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "take Sentry webhooks and keep the catalog current in real time (with a periodic full sync)",
		Description: `Listens for Sentry Integration Platform webhooks on POST /sentry/webhook,
checks their Sentry-Hook-Signature with the integration's client secret
(SENTRY_CLIENT_SECRET or SENTRY_CLIENT_SECRET_FILE), records each accepted
event in a journal in the git dir before answering, and commits the
recorded issues every --commit-interval. With GITALOG_PUSH_TOKEN (or
GITALOG_PUSH_TOKEN_FILE), POST /push/<external_kind> takes OpsLevel-style
pushes for extractors without http_polling (Authorization: Bearer).
GET /healthz and GET /metrics (Prometheus) are served too. Each commit is
notified to the notify: sinks of gitalog.yaml as "gitalog sync" does, in
the background: a sink that is down is retried with backoff and then gets
every change it missed, in order. SIGTERM or SIGINT stops accepting,
commits what is recorded, tries the pending notifications once more (10s
at most; the rest stay pending for the next start or sync), and exits 0.
Sentry is reached as by "gitalog sync".`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository (a worktree root or a bare repository)"},
			&cli.StringFlag{Name: "config", Usage: "the mapping config (default <dir>/gitalog.yaml)"},
			&cli.StringFlag{Name: "blueprints", Usage: "a folder of blueprint JSON files (default <dir>/blueprints)"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "the address to listen on (put a TLS reverse proxy in front)"},
			&cli.DurationFlag{Name: "commit-interval", Value: 10 * time.Second, Usage: "commit the recorded webhook events this often"},
			&cli.DurationFlag{Name: "resync-interval", Value: time.Hour, Usage: "run a full sync this often (0: never)"},
			&cli.Int64Flag{Name: "max-body", Value: serve.DefaultMaxBody, Usage: "refuse webhook bodies over this many bytes (413)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json"},
			&cli.StringFlag{Name: "author", Usage: `commit author "Name <email>" (default: git config, else gitalog)`},
			&cli.StringFlag{Name: "branch", Usage: "commit on this branch"},
			&cli.BoolFlag{Name: "push", Usage: "push each commit (https token from GITHUB_TOKEN or GIT_TOKEN); if the remote moved, redo it on top"},
			&cli.StringFlag{Name: "remote", Value: "origin", Usage: "the remote to push to"},
			sourceFlag("with sources: in gitalog.yaml, the source whose webhooks this server receives (required then)"),
			&cli.IntFlag{Name: "concurrency", Usage: "Sentry requests in flight at once", DefaultText: "4"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long a commit waits for another sync of the same repository"},
			&cli.DurationFlag{Name: "timeout", Value: sync.DefaultTimeout, Usage: "give up on a full sync that takes longer than this (0: no limit)"},
		},
		Action: func(c *cli.Context) error {
			log, err := serveLogger(c, io)
			if err != nil {
				return err
			}
			pushToken, err := serve.PushToken(io.Getenv)
			if err != nil {
				return err
			}
			secret, err := serve.ClientSecret(io.Getenv)
			if err != nil && pushToken == nil {
				return err
			}
			if err != nil {
				// Pushes only: every webhook is refused (401).
				log.Info("POST /sentry/webhook refuses every delivery: " + err.Error())
			}
			switch {
			case c.Duration("commit-interval") <= 0:
				return fmt.Errorf("--commit-interval must be positive, got %s", c.Duration("commit-interval"))
			case c.Duration("resync-interval") < 0:
				return fmt.Errorf("--resync-interval must not be negative (0 turns it off), got %s", c.Duration("resync-interval"))
			case c.Int64("max-body") <= 0:
				return fmt.Errorf("--max-body must be positive, got %d", c.Int64("max-body"))
			}
			author, err := parseAuthor(c.String("author"))
			if err != nil {
				return err
			}
			so := sync.Options{
				Dir: c.String("dir"), ConfigPath: c.String("config"), BlueprintsPath: c.String("blueprints"),
				Env: io.Getenv, Concurrency: c.Int("concurrency"), Logger: log, Author: author,
				Branch: c.String("branch"), Push: c.Bool("push"), Remote: c.String("remote"), Source: c.String("source"),
				LockWait: c.Duration("lock-timeout"), Timeout: c.Duration("timeout"),
				RemoteAuth: gitstore.RemoteAuth{Username: io.Getenv("GIT_USERNAME"), Token: secretenv.FirstPushToken(io.Getenv)},
			}
			cfg := serve.Config{Sync: so, Listen: c.String("listen"), Options: serve.Options{
				Secret: secret, MaxBody: c.Int64("max-body"), Logger: log, PushToken: pushToken,
				CommitInterval: c.Duration("commit-interval"), ResyncInterval: c.Duration("resync-interval"),
			}}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return serve.Run(ctx, cfg)
		},
	}
}

// serveLogger logs at info level (a server's log is its record), debug with
// -v, errors only with -q, as text or JSON lines.
func serveLogger(c *cli.Context, io *IO) (*slog.Logger, error) {
	level := slog.LevelInfo
	if verbose(c) {
		level = slog.LevelDebug
	}
	if quiet(c) {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f := c.String("log-format"); f {
	case "text":
		return slog.New(slog.NewTextHandler(io.Err, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(io.Err, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format must be text or json, got %q", f)
	}
}
