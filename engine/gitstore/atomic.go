package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// errLockExists marks a git lock file that someone else holds (or that a
// crashed process left behind).
var errLockExists = errors.New("lock file exists")

const tmpPrefix = "gitalog-tmp-"

func lockExists(lock string) error {
	return fmt.Errorf("%w: %s; another git process seems to be running (if not, remove the file)", errLockExists, lock)
}

// heldLock is git's lock-file protocol, the one way gitstore replaces a
// file git also writes (the index, refs): final.lock is created
// exclusively before final is read, so what is read under it is still
// current when commit renames the new content into place. The lock is a
// hard link of a temp file, so removeStranded can tell one a killed
// gitalog left behind from git's.
type heldLock struct {
	f           *os.File
	tmp         string // the temp file the lock is a link of; "" without hard links
	lock, final string
	done        bool
}

func takeLock(tmpDir, final string) (*heldLock, error) {
	lock := final + ".lock"
	if err := os.MkdirAll(filepath.Dir(final), 0o777); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(tmpDir, tmpPrefix)
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	err = os.Link(tmp, lock)
	if errors.Is(err, os.ErrExist) && removeStranded(tmpDir, lock) {
		err = os.Link(tmp, lock)
	}
	if err == nil {
		return &heldLock{f: f, tmp: tmp, lock: lock, final: final}, nil
	}
	f.Close()
	os.Remove(tmp)
	if errors.Is(err, os.ErrExist) {
		return nil, lockExists(lock)
	}
	// No hard links here: take the lock by exclusive create instead.
	lf, lerr := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(lerr, os.ErrExist) {
		return nil, lockExists(lock)
	}
	if lerr != nil {
		return nil, lerr
	}
	return &heldLock{f: lf, lock: lock, final: final}, nil
}

// commit writes data into the lock and renames it over the final file,
// releasing the lock either way. A non-zero newerThan holds the file back
// until its mtime is later (waitNewer); durable syncs it first, as git
// does for refs but not for the index.
func (l *heldLock) commit(data []byte, newerThan time.Time, durable bool) error {
	if l.done {
		return errors.New("lock " + l.lock + " already released")
	}
	_, err := l.f.Write(data)
	if err == nil && !newerThan.IsZero() && len(data) > 0 {
		waitNewer(l.f, data[len(data)-1:], int64(len(data)-1), newerThan)
	}
	if err == nil && durable {
		err = l.f.Sync()
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.done = true
	if err == nil {
		err = os.Rename(l.lock, l.final)
	}
	if err != nil {
		os.Remove(l.lock)
	}
	if l.tmp != "" {
		os.Remove(l.tmp)
	}
	return err
}

// release gives the lock up without touching the final file; it is a
// no-op after commit.
func (l *heldLock) release() {
	if l == nil || l.done {
		return
	}
	l.done = true
	l.f.Close()
	os.Remove(l.lock)
	if l.tmp != "" {
		os.Remove(l.tmp)
	}
}

// removeStranded removes lock if a killed gitalog left it (a CI job
// cancelled mid-sync): then it is the same file as one of tmpDir's temp
// files, which git never makes, and the caller holds the repository's
// gitalog lock, so no live gitalog holds it. It reports whether the lock
// is gone.
func removeStranded(tmpDir, lock string) bool {
	fi, err := os.Lstat(lock)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	ms, _ := filepath.Glob(filepath.Join(tmpDir, tmpPrefix+"*"))
	for _, m := range ms {
		if mi, err := os.Lstat(m); err == nil && os.SameFile(fi, mi) {
			err := os.Remove(lock)
			os.Remove(m)
			return err == nil || errors.Is(err, os.ErrNotExist)
		}
	}
	return false
}

// sweepTemp removes temp files that a killed process left behind. Only
// old ones are touched, so a concurrent writer's live temp file survives.
func sweepTemp(keep func(string) bool, dirs ...string) {
	cutoff := time.Now().Add(-time.Hour)
	for _, d := range dirs {
		for _, pat := range []string{tmpPrefix + "*", "tmp_pack_gitalog_*", "tmp_idx_gitalog_*"} {
			ms, _ := filepath.Glob(filepath.Join(d, pat))
			for _, m := range ms {
				// A temp file with a second name is a stranded lock's
				// twin: removeStranded needs it to know the lock.
				if fi, err := os.Lstat(m); err == nil && fi.ModTime().Before(cutoff) && !keep(m) && !linked(fi) {
					os.Remove(m)
				}
			}
		}
	}
}

// waitNewer rewrites the file's last byte until its mtime is after t: git
// rehashes on every status the index entries whose mtime is not older
// than the index ("racily clean"), and files just written share the
// index's timestamp tick. Giving up after a second costs only speed.
func waitNewer(f *os.File, last []byte, off int64, t time.Time) {
	deadline := time.Now().Add(time.Second)
	delay := time.Millisecond
	for {
		fi, err := f.Stat()
		if err != nil || fi.ModTime().After(t) || time.Now().After(deadline) {
			return
		}
		time.Sleep(delay)
		delay = min(delay*2, 50*time.Millisecond)
		if _, err := f.WriteAt(last, off); err != nil {
			return
		}
	}
}
