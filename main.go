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
	// environments) while its live heap stays small; collecting less often
	// saves a third of the CPU, and the soft limit keeps memory bounded.
	// GOGC and GOMEMLIMIT in the environment still win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(300 << 20)
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
