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
	os.Exit(run())
}

// run is the whole program but the exit, so that the scripts' gitalog
// (main_test.go) runs exactly this.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := commands.Run(commands.NewApp(commands.StdIO()), ctx, os.Args)
	if err != nil && err.Error() != "" {
		fmt.Fprintf(os.Stderr, "gitalog: %v\n", err)
	}
	return commands.ExitCode(err)
}
