package gitstore

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/internal/killseed"
)

// TestKillChild is the victim process of TestKillDuringCommit: it commits
// in a loop until it is killed.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("GITSTORE_KILL_CHILD")
	if dir == "" {
		t.Skip("helper process")
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; ; round++ {
		h, err := s.Head()
		if err != nil {
			t.Fatal(err)
		}
		n := 300
		if round%2 == 0 {
			n = 100 // loose objects
		}
		chs := catalogChanges(n, round*37%500, fmt.Sprintf("r%d-%d", os.Getpid(), round))
		chs = append(chs, Change{Path: fmt.Sprintf("catalog/issue/%d.json", 700+round%50), Delete: true})
		if _, err := s.Commit(context.Background(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: chs, Message: "round " + strconv.Itoa(round), Author: sig("Victim")}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKillDuringCommit kills a committing process at random moments and
// checks that the repository is always fsck-clean and that the next run
// (Recover) leaves a clean worktree.
func TestKillDuringCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	s := newRepo(t)
	commit(t, s, "base", catalogChanges(1000, 0, "base")...)
	rng := rand.New(rand.NewSource(killseed.Seed(t, time.Now().UnixNano())))
	for i := 0; i < 12; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$")
		cmd.Env = append(os.Environ(), "GITSTORE_KILL_CHILD="+s.Root())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		after := time.Duration(100+rng.Intn(600)) * time.Millisecond
		t.Logf("kill %d after %v", i, after)
		time.Sleep(after)
		cmd.Process.Kill()
		cmd.Wait()

		git(t, s.Root(), "fsck", "--strict", "--no-dangling")
		next, err := Open(s.Root())
		if err != nil {
			t.Fatal(err)
		}
		if err := next.Recover(); err != nil {
			t.Fatalf("kill %d: recover: %v", i, err)
		}
		checkRepo(t, next)
	}
	t.Logf("history: %s", git(t, s.Root(), "rev-list", "--count", "HEAD"))
}
