// Command gitalog keeps a Sentry organization as a git-native software
// catalog: one validated JSON file per entity, one commit per change set.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gitalog/gitalog/commands"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	io := commands.StdIO()
	err := commands.Run(commands.NewApp(io), ctx, os.Args)
	stop()
	if err != nil && err.Error() != "" {
		fmt.Fprintf(os.Stderr, "gitalog: %v\n", err)
	}
	os.Exit(commands.ExitCode(err))
}
