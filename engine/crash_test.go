package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestMain lets the crash test re-run this binary as a syncing child.
func TestMain(m *testing.M) {
	if dir := os.Getenv("GITALOG_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild syncs dir over and over, with upstream changing each time so
// that every sync commits, until it is killed.
func crashChild(dir string) {
	data := sentrytest.Generate(sentrytest.GenOptions{Seed: 7, Projects: 4, Issues: 600, Teams: 2, Members: 4})
	srv := sentrytest.NewHandler(data)
	env := map[string]string{"SENTRY_URL": srv.URL, "SENTRY_ORG": data.OrgSlug(), "SENTRY_AUTH_TOKEN": sentrytest.Token}
	one := 1.0
	o := Options{Dir: dir, Env: func(k string) string { return env[k] }, HTTPClient: srv.Client(), Author: testAuthor,
		ConfigPath: os.Getenv("GITALOG_CRASH_CONFIG"), DeleteThreshold: &one}
	for i := 0; ; i++ {
		srv.Update(func(d *sentrytest.Dataset) {
			ids := d.IssueIDs("unresolved")
			for j := 0; j < 40 && j < len(ids); j++ {
				d.ResolveIssue(ids[j])
			}
			for j := 0; j < 40; j++ {
				d.AddIssue(d.Projects[j%len(d.Projects)].Slug, fmt.Sprintf("Error %d.%d", i, j), "app in f", "error")
			}
		})
		if _, err := Sync(context.Background(), o); err != nil {
			fmt.Fprintln(os.Stderr, "child sync:", err)
			os.Exit(1)
		}
	}
}

// TestKill9DuringSync kills a syncing process at random moments: the
// repository must always pass git fsck --strict, and the next sync must
// leave HEAD and the worktree in agreement.
func TestKill9DuringSync(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; skipped with -short")
	}
	f := newFixture(t, sentrytest.Demo())
	cfg := issueConfig(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 8; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "GITALOG_CRASH_CHILD="+f.dir, "GITALOG_CRASH_CONFIG="+cfg)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+rng.IntN(900)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if strings.Contains(stderr.String(), "child sync:") {
			t.Fatalf("child failed before the kill:\n%s", stderr.String())
		}
		f.git("fsck", "--strict")
		// The next sync finishes whatever the killed one left.
		o := f.options()
		o.ConfigPath = cfg
		one := 1.0
		o.DeleteThreshold = &one // the parent's fake differs from the child's
		if _, err := Sync(context.Background(), o); err != nil {
			t.Fatalf("round %d: sync after kill -9: %v", round, err)
		}
		f.checkRepo()
		if tmp := f.git("ls-files", "--others", "--", "catalog"); tmp != "" {
			t.Fatalf("stray files under catalog/ after recovery:\n%s", tmp)
		}
	}
	if n := f.commits(); n < 4 {
		t.Fatalf("only %d commits: the child never got far enough to be killed mid-sync", n)
	}
}
