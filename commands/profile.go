package commands

import (
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/urfave/cli/v2"
)

// Profiles are for BENCHMARKS.md and for finding where time goes on a
// user's catalog; the flags are hidden.
func startProfiles(c *cli.Context) error {
	if p := c.String("cpuprofile"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		c.App.Metadata["cpuprofile"] = f
	}
	return nil
}

func stopProfiles(c *cli.Context) error {
	if f, ok := c.App.Metadata["cpuprofile"].(*os.File); ok {
		pprof.StopCPUProfile()
		f.Close()
	}
	if p := c.String("memprofile"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.GC()
		return pprof.WriteHeapProfile(f)
	}
	return nil
}
