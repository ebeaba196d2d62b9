package sync

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/internal/killseed"
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
		if _, err := Run(context.Background(), o); err != nil {
			fmt.Fprintln(os.Stderr, "child sync:", err)
			os.Exit(1)
		}
		fmt.Println("synced")
	}
}

// syncDuration runs a child until its first sync is done, and returns
// how long that took: the kills are timed from it, so that they land
// mid-sync on a fast machine and on one loaded by the rest of the suite
// under -race alike.
func syncDuration(t *testing.T, dir, cfg string) time.Duration {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GITALOG_CRASH_CHILD="+dir, "GITALOG_CRASH_CONFIG="+cfg)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	line := make(chan bool, 1)
	go func() {
		b := make([]byte, 7)
		_, err := io.ReadFull(out, b)
		line <- err == nil && string(b) == "synced\n"
	}()
	select {
	case ok := <-line:
		if !ok {
			t.Fatalf("child failed:\n%s", stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the child's first sync took over 2 minutes")
	}
	return time.Since(start)
}

// A seed given in the environment is the one used, so a failure's logged
// seed replays it.
func TestKillSeed(t *testing.T) {
	t.Setenv(killseed.Env, "")
	if got := killseed.Seed(t, 1); got != 1 {
		t.Errorf("no %s: seed %d, want the default 1", killseed.Env, got)
	}
	t.Setenv(killseed.Env, "-1754992133")
	if got := killseed.Seed(t, 1); got != -1754992133 {
		t.Errorf("%s=-1754992133: seed %d", killseed.Env, got)
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
	rng := rand.New(rand.NewPCG(uint64(killseed.Seed(t, time.Now().UnixNano())), 2))
	d := syncDuration(t, f.dir, cfg)
	for round := 0; round < 8; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "GITALOG_CRASH_CHILD="+f.dir, "GITALOG_CRASH_CONFIG="+cfg)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Anywhere from early in the first sync to into the third.
		after := time.Duration(float64(d) * (0.15 + 2*rng.Float64()))
		t.Logf("round %d: kill after %v", round, after)
		time.Sleep(after)
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
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatalf("round %d: sync after kill -9: %v", round, err)
		}
		f.checkRepo()
		if tmp := f.git("ls-files", "--others", "--", "catalog"); tmp != "" {
			t.Fatalf("stray files under catalog/ after recovery:\n%s", tmp)
		}
	}
	if n := f.commits(); n < 5 { // init, the calibration, and three more
		t.Fatalf("only %d commits: the child never got far enough to be killed mid-sync", n)
	}
}
