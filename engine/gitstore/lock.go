package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const lockName = "gitalog.lock"

// Lock takes the repository's exclusive gitalog lock, waiting up to wait
// for another holder to finish. The returned unlock is idempotent. The
// lock is an OS file lock, so it is released if the process dies.
func (s *Store) Lock(ctx context.Context, wait time.Duration) (func(), error) {
	// One lock for all worktrees: they share refs, and a stranded ref lock
	// is removed on the strength of holding this one.
	return s.lockFile(ctx, lockName, wait)
}

// LockNamed takes another exclusive lock of the repository, the file name
// in the common git dir, as Lock does: for work that must not run twice
// at once but must not hold up syncs either (delivering notifications).
func (s *Store) LockNamed(ctx context.Context, name string, wait time.Duration) (func(), error) {
	if name == lockName || strings.ContainsAny(name, `/\`) || !strings.HasSuffix(name, ".lock") {
		return nil, fmt.Errorf("invalid lock name %q", name)
	}
	return s.lockFile(ctx, name, wait)
}

func (s *Store) lockFile(ctx context.Context, name string, wait time.Duration) (func(), error) {
	p := filepath.Join(s.commonDir, name)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	deadline := time.Now().Add(wait)
	delay := 10 * time.Millisecond
	for {
		held, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", p, err)
		}
		if held {
			break
		}
		if !time.Now().Before(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w: %s is held%s; gave up after %s", ErrLocked, p, holder(p), wait)
		}
		t := time.NewTimer(min(delay, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for %s: %w", p, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
	// The pid is informational only, for the error another waiter prints.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// The file is left in place: removing it would let a waiter
			// lock an unlinked inode while a newcomer locks a fresh one.
			unlockFile(f)
			f.Close()
		})
	}, nil
}

// LockAndRecover takes the lock, as Lock does, and then finishes a
// worktree update an interrupted gitalog left (Recover), as a writer must
// before it reads the branch.
func (s *Store) LockAndRecover(ctx context.Context, wait time.Duration) (func(), error) {
	unlock, err := s.Lock(ctx, wait)
	if err != nil {
		return nil, err
	}
	if err := s.Recover(); err != nil {
		unlock()
		return nil, fmt.Errorf("finishing an interrupted sync: %w", err)
	}
	return unlock, nil
}

func holder(p string) string {
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) != "" {
		return " by pid " + strings.TrimSpace(string(b))
	}
	return ""
}

var errLockUnsupported = errors.New("file locking is not supported on this platform")
