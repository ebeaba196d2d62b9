package commands

import (
	"context"
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/catalog"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"
)

// Exit codes, documented in the README.
const (
	ExitOK      = 0 // success (with --detailed-exitcode: no changes)
	ExitError   = 1 // failure: nothing was committed, or bad input
	ExitChanges = 2 // with --detailed-exitcode: success, and the catalog changed
	ExitPartial = 3 // committed what was valid, but some work was left undone
)

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var ec *exitCodeError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ec):
		return ec.code
	case errors.Is(err, catalog.ErrPartial):
		return ExitPartial
	}
	return ExitError
}

// exitCodeError carries a chosen exit code; its message may be empty.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitCodeError) Unwrap() error { return e.err }

// IO are the streams and environment a command runs with, injected so
// tests can run commands in-process.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	Getenv   func(string) string
	// StderrTTY says whether Err is a terminal (progress lines only then).
	StderrTTY bool
}

// StdIO is the process's own streams.
func StdIO() *IO {
	tty := false
	if fi, err := os.Stderr.Stat(); err == nil {
		tty = fi.Mode()&os.ModeCharDevice != 0
	}
	return &IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv, StderrTTY: tty}
}

// Version is set at build time with -ldflags "-X ...commands.Version=..."
// (release builds); BuildVersion falls back to the build info without it.
var Version = "dev"

// Run runs the app and returns the error to print and map to an exit code.
func Run(app *cli.App, ctx context.Context, args []string) error {
	err := app.RunContext(ctx, args)
	// urfave/cli reports an unknown command through a callback, not as an
	// error; NewApp's callback leaves it in Metadata.
	if nf, ok := app.Metadata["notFound"].(error); ok && err == nil {
		return nf
	}
	return err
}

// NewApp builds the command line.
func NewApp(io *IO) *cli.App {
	// -v is --verbose here, as in git and curl.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	app := &cli.App{
		Name:      "gitalog",
		Usage:     "a git-native software catalog of your Sentry organization",
		Version:   BuildVersion(),
		Reader:    io.In,
		Writer:    io.Out,
		ErrWriter: io.Err,
		Flags: append(outputFlags(),
			&cli.StringFlag{Name: "dir", Usage: "the catalog repository, for a command that takes --dir (before or after the command name)"},
			&cli.StringFlag{Name: "cpuprofile", Hidden: true, Usage: "write a CPU profile to this file"},
			&cli.StringFlag{Name: "memprofile", Hidden: true, Usage: "write a heap profile to this file at exit"},
		),
		Before: startProfiles,
		After:  stopProfiles,
		Commands: []*cli.Command{
			initCommand(io),
			syncCommand(io),
			planCommand(io),
			validateCommand(io),
			mapCommand(io),
			dumpCommand(io),
			demoCommand(io),
			fakeSentryCommand(io),
			diffCommand(io),
			logCommand(io),
			serveCommand(io),
			queryCommand(io),
			exportCommand(io),
		},
		HideHelpCommand: true,
		// Errors are printed once, by main.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, isSubcommand bool) error {
			return fmt.Errorf("%w (see \"gitalog %s --help\")", err, c.Command.Name)
		},
	}
	app.Metadata = map[string]any{}
	app.CommandNotFound = func(c *cli.Context, name string) {
		app.Metadata["notFound"] = fmt.Errorf("unknown command %q (see \"gitalog --help\")", name)
	}
	app.Commands = append(app.Commands, helpCommand(app))
	for _, cmd := range app.Commands {
		// --quiet and --verbose work before or after the command name.
		cmd.Flags = append(cmd.Flags, outputFlags()...)
		if hasFlag(cmd, "dir") {
			// "gitalog --dir D sync" is "gitalog sync --dir D"; the
			// command's own --dir wins.
			before := cmd.Before
			cmd.Before = func(c *cli.Context) error {
				if !c.IsSet("dir") {
					for _, p := range c.Lineage()[1:] {
						if p.IsSet("dir") {
							if err := c.Set("dir", p.String("dir")); err != nil {
								return err
							}
							break
						}
					}
				}
				if before != nil {
					return before(c)
				}
				return nil
			}
		}
		cmd.OnUsageError = func(c *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w (see \"gitalog %s --help\")", err, c.Command.Name)
		}
		if cmd.ArgsUsage == "" && cmd.Action != nil {
			action, name := cmd.Action, cmd.Name
			cmd.Action = func(c *cli.Context) error {
				if c.NArg() > 0 {
					return fmt.Errorf("gitalog %s takes no arguments, got %q (see \"gitalog %s --help\")", name, c.Args().First(), name)
				}
				return action(c)
			}
		}
	}
	return app
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// helpCommand is "gitalog help [COMMAND]": the app's or the command's
// --help. Hidden from the list, which already says --help.
func helpCommand(app *cli.App) *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the help of gitalog or of one command",
		ArgsUsage: "[COMMAND]",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c.Lineage()[1])
			}
			name := c.Args().First()
			if app.Command(name) == nil || name == "help" {
				return fmt.Errorf("unknown command %q (see \"gitalog --help\")", name)
			}
			return cli.ShowCommandHelp(c.Lineage()[1], name)
		},
	}
}

func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress and no warnings; errors and the result only"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "debug logs (HTTP requests, Authorization redacted) and full lists"},
	}
}

// outputFlag reads --quiet or --verbose wherever it was given: every
// command defines them too, and c.Bool finds the command's own flag first,
// so "gitalog -v sync" would read the command's unset one.
func outputFlag(c *cli.Context, name string) bool {
	for _, ctx := range c.Lineage() {
		if ctx.Bool(name) {
			return true
		}
	}
	return false
}

func quiet(c *cli.Context) bool   { return outputFlag(c, "quiet") }
func verbose(c *cli.Context) bool { return outputFlag(c, "verbose") }

// logger builds the slog logger for --quiet/--verbose.
func logger(c *cli.Context, io *IO) *slog.Logger {
	level := slog.LevelWarn
	if verbose(c) {
		level = slog.LevelDebug
	}
	if quiet(c) {
		level = slog.LevelError
	}
	return slog.New(newWarnHandler(slog.NewTextHandler(io.Err, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}}), io.Err))
}

// progress is a one-line progress display on stderr, shown only when stderr
// is a terminal, outside CI, and without --quiet.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	last    time.Time
	printed bool
}

func newProgress(c *cli.Context, io *IO) *progress {
	on := io.StderrTTY && !quiet(c) && io.Getenv("CI") == ""
	return &progress{w: io.Err, on: on}
}

func (p *progress) update(stage, detail string) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 100*time.Millisecond && stage == "fetch" {
		return
	}
	p.last = time.Now()
	line := stage
	if detail != "" {
		line += ": " + detail
	}
	fmt.Fprintf(p.w, "\r\033[K%s", strings.TrimSpace(line))
	p.printed = true
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.printed {
		fmt.Fprint(p.w, "\r\033[K")
		p.printed = false
	}
}

// sourceFlag is --source. An empty value is refused rather than read as
// no flag ("every source"): a CI matrix whose source came out empty would
// otherwise sync every source with the one job's token.
func sourceFlag(usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: "source", Usage: usage, Action: func(_ *cli.Context, v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New(`--source "": no source named; name one of gitalog.yaml's sources:, or leave the flag out`)
		}
		return nil
	}}
}
