package sync

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestSecondSyncWaitsThenFails: two syncs never interleave; the second
// waits for the lock for a bounded time and then fails, naming it.
func TestSecondSyncWaitsThenFails(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	store, err := gitstore.Open(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := store.Lock(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	o := f.options()
	o.LockWait = 300 * time.Millisecond
	start := time.Now()
	_, err = Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "gitalog.lock") {
		t.Fatalf("second sync: %v, want an error naming the lock", err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("the second sync did not wait for the lock")
	}
	// Once the first is done, the next sync goes through.
	unlock()
	f.mustSync()
	f.checkRepo()
}
