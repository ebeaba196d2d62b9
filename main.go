// Command gitalog keeps a Sentry organization as a git-native software
// catalog: one validated JSON file per entity, one commit per change set.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/gitalog/gitalog/commands"
)

func main() {
	// A sync allocates many short-lived values (decoded items, jq
	// environments) while its live heap stays small: collecting less often
	// saves CPU, and memory still grows only with the live heap (a fixed
	// soft limit would make the collector thrash on large catalogs).
	// GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	io := commands.StdIO()
	err := commands.Run(commands.NewApp(io), ctx, os.Args)
	stop()
	if err != nil && err.Error() != "" {
		fmt.Fprintf(os.Stderr, "gitalog: %v\n", err)
	}
	os.Exit(commands.ExitCode(err))
}
