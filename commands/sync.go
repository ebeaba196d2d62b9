package commands

import (
	"fmt"
	"github.com/gitalog/gitalog/commands/summary"
	"github.com/gitalog/gitalog/engine/sync"
	"strconv"
	"time"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/secretenv"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/urfave/cli/v2"
)

func syncCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "fetch Sentry, map and validate every entity, and commit the changes as one commit",
		Description: `Reads <dir>/gitalog.yaml and <dir>/blueprints/*.json. Sentry is reached with
SENTRY_URL (default https://sentry.io), SENTRY_ORG and SENTRY_AUTH_TOKEN (or
SENTRY_AUTH_TOKEN_FILE); Port Ocean's OCEAN__INTEGRATION__CONFIG__SENTRY_HOST,
_SENTRY_ORGANIZATION and _SENTRY_TOKEN and sentry-cli's .sentryclirc work too.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository (a worktree root or a bare repository)"},
			&cli.StringFlag{Name: "config", Usage: "the mapping config (default <dir>/gitalog.yaml)"},
			&cli.StringFlag{Name: "blueprints", Usage: "a folder of blueprint JSON files (default <dir>/blueprints)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "fetch, map and validate, print what would change, write nothing"},
			&cli.StringFlag{Name: "replay", Usage: "read items from a folder written by \"gitalog dump\" instead of Sentry"},
			&cli.StringFlag{Name: "author", Usage: `commit author "Name <email>" (default: git config, else gitalog)`},
			&cli.StringFlag{Name: "delete-threshold", Usage: "refuse to delete more than this share of a blueprint's managed entities (0-1; default: entityDeletionThreshold, 0.9)"},
			&cli.IntFlag{Name: "concurrency", Usage: "Sentry requests in flight at once", DefaultText: "4"},
			&cli.StringFlag{Name: "branch", Usage: "commit on this branch (created from HEAD, or from the remote's branch with --push, if missing)"},
			&cli.BoolFlag{Name: "push", Usage: "push the branch after the sync (https token from GITHUB_TOKEN or GIT_TOKEN; ssh and local remotes work as they are); if the remote moved, redo the sync on top of it"},
			&cli.StringFlag{Name: "remote", Value: "origin", Usage: "the remote to push to"},
			sourceFlag("sync only this source of gitalog.yaml's sources: (default: all of them, side by side, one commit each)"),
			&cli.IntFlag{Name: "push-attempts", Usage: "with --push, how many times to redo the sync on top of a remote that moved meanwhile", DefaultText: "3, plus 2 per source in sources:"},
			&cli.BoolFlag{Name: "detailed-exitcode", Usage: "exit 0 when nothing changed, 2 when the catalog changed (a commit made, or one pushed), 1 on error (3 when partial)"},
			&cli.BoolFlag{Name: "no-cache", Usage: "map every item, even those whose bytes are the same as at the last sync (the item cache in the git dir is then rewritten)"},
			&cli.BoolFlag{Name: "full", Usage: "ask Sentry for every fan-out child (issue tag values, team members) again, even for parents whose fields are unchanged since the last sync, and rewrite the stored results (done automatically every sentry.fullRefresh, default 24h)"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long to wait for another sync of the same repository to finish"},
			&cli.DurationFlag{Name: "timeout", Value: sync.DefaultTimeout, Usage: "give up on a sync that takes longer than this, deleting nothing (0: no limit)"},
		},
		Action: func(c *cli.Context) error {
			o, err := syncOptions(c, io)
			if err != nil {
				return err
			}
			prog := newProgress(c, io)
			o.Progress = prog.update
			res, err := sync.Run(c.Context, o)
			prog.done()
			if res != nil {
				summary.Write(io.Out, res, verbosity(c))
				if io.Getenv("GITHUB_STEP_SUMMARY") != "" {
					md, serr := syncStepSummary(c.Context, o.Dir, res, err)
					if serr == nil {
						serr = review.AppendStepSummary(io.Getenv, md)
					}
					if serr != nil {
						logger(c, io).Warn("writing the GitHub step summary", "error", serr)
					}
				}
			}
			// A push of a commit an earlier run could not push changes the
			// remote's catalog too.
			if err == nil && c.Bool("detailed-exitcode") && res != nil && (!res.Commit.IsZero() || res.Pushed || res.DryRun && !res.NoChange) {
				return &exitCodeError{code: ExitChanges}
			}
			return err
		},
	}
}

func syncOptions(c *cli.Context, io *IO) (sync.Options, error) {
	o := sync.Options{
		Dir:            c.String("dir"),
		ConfigPath:     c.String("config"),
		BlueprintsPath: c.String("blueprints"),
		DryRun:         c.Bool("dry-run"),
		Replay:         c.String("replay"),
		Env:            io.Getenv,
		Concurrency:    c.Int("concurrency"),
		Logger:         logger(c, io),
		Branch:         c.String("branch"),
		Push:           c.Bool("push"),
		Remote:         c.String("remote"),
		LockWait:       c.Duration("lock-timeout"),
		Timeout:        c.Duration("timeout"),
		NoCache:        c.Bool("no-cache"),
		Full:           c.Bool("full"),
		Source:         c.String("source"),
		PushAttempts:   c.Int("push-attempts"),
		RemoteAuth:     gitstore.RemoteAuth{Username: io.Getenv("GIT_USERNAME"), Token: secretenv.FirstPushToken(io.Getenv)},
	}
	if o.Concurrency < 0 || o.Concurrency > 64 {
		return o, fmt.Errorf("--concurrency must be from 1 to 64, got %d", o.Concurrency)
	}
	if o.PushAttempts < 0 || o.PushAttempts > 1000 {
		return o, fmt.Errorf("--push-attempts must be from 1 to 1000, got %d", o.PushAttempts)
	}
	if o.Timeout < 0 {
		return o, fmt.Errorf("--timeout must not be negative, got %s", o.Timeout)
	}
	if s := c.String("delete-threshold"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1 {
			return o, fmt.Errorf("--delete-threshold must be a number from 0 to 1, got %q", s)
		}
		o.DeleteThreshold = &f
	}
	var err error
	o.Author, err = parseAuthor(c.String("author"))
	return o, err
}

func verbosity(c *cli.Context) summary.Verbosity {
	switch {
	case quiet(c):
		return summary.Quiet
	case verbose(c):
		return summary.Verbose
	}
	return summary.Normal
}

func parseAuthor(s string) (*object.Signature, error) {
	if s == "" {
		return nil, nil
	}
	sig, err := gitstore.ParseSignature(s)
	if err != nil {
		return nil, fmt.Errorf("--author: %w", err)
	}
	return &sig, nil
}
