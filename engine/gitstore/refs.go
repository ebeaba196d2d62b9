package gitstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// checkRefName is git check-ref-format (go-git's Validate) for refs
// under refs/, the only ones gitstore moves besides HEAD.
func checkRefName(n plumbing.ReferenceName) error {
	if !strings.HasPrefix(string(n), "refs/") || n.Validate() != nil {
		return fmt.Errorf("invalid ref name %q", string(n))
	}
	return nil
}

// targetRef turns a CommitRequest ref into the ref file that will change:
// "" means HEAD, which is followed when it is symbolic, as git commit does.
func (s *Store) targetRef(ref plumbing.ReferenceName) (plumbing.ReferenceName, error) {
	if ref != "" && ref != plumbing.HEAD {
		return ref, checkRefName(ref)
	}
	sym, _, err := s.readHEAD()
	if err != nil || sym != "" {
		return sym, err
	}
	return plumbing.HEAD, nil
}

// checkedOut reports whether moving target changes what the worktree
// should contain.
func (s *Store) checkedOut(target plumbing.ReferenceName) bool {
	if s.bare || target == plumbing.HEAD {
		return !s.bare
	}
	sym, _, err := s.readHEAD()
	return err == nil && sym == target
}

// refDir is where a ref's file and log live: HEAD and a few namespaces
// are per worktree, everything else is shared via the common dir.
func (s *Store) refDir(name plumbing.ReferenceName) string {
	for _, p := range []string{"HEAD", "refs/worktree/", "refs/bisect/", "refs/rewritten/"} {
		if strings.HasPrefix(string(name), p) {
			return s.gitDir
		}
	}
	return s.commonDir
}

// casRef moves target from old to new under git's lock-file protocol
// (see heldLock). go-git's CheckAndSetReference rewrites the ref file in
// place under flock, which git does not honour (git renames a new file
// over the ref, so an update can be lost) and which a kill -9 can leave
// empty; the lock file is atomic and excludes git commands too.
func (s *Store) casRef(target plumbing.ReferenceName, old, new plumbing.Hash, committer object.Signature, msg string) error {
	l, err := takeLock(s.commonDir, filepath.Join(s.refDir(target), filepath.FromSlash(string(target))))
	if err != nil {
		return fmt.Errorf("cannot lock ref %s: %w", target, err)
	}
	defer l.release()
	if err := s.expectRef(target, old); err != nil {
		return err
	}
	// Like git, log before the rename: a reflog line for an update that
	// did not land is harmless, a landed update without one is a gap.
	s.appendReflog(target, old, new, committer, msg)
	return l.commit([]byte(new.String()+"\n"), time.Time{}, true)
}

// expectRef fails with ErrRefMoved unless target is at old.
func (s *Store) expectRef(target plumbing.ReferenceName, old plumbing.Hash) error {
	cur, _, err := s.resolveRef(target)
	if err == nil && cur != old {
		err = fmt.Errorf("%w: %s is at %s, expected %s", ErrRefMoved, target, short(cur), short(old))
	}
	return err
}

func short(h plumbing.Hash) string {
	if h.IsZero() {
		return "(unborn)"
	}
	return h.String()[:12]
}

// appendReflog is best effort: a missing reflog loses history but never
// correctness, so its errors do not fail the commit.
func (s *Store) appendReflog(target plumbing.ReferenceName, old, new plumbing.Hash, sig object.Signature, msg string) {
	msg, _, _ = strings.Cut(msg, "\n")
	line := fmt.Sprintf("%s %s %s <%s> %d %s\t%s\n", old, new, sig.Name, sig.Email, sig.When.Unix(), sig.When.Format("-0700"), msg)
	logs := []string{filepath.Join(s.refDir(target), "logs", filepath.FromSlash(string(target)))}
	if sym, _, err := s.readHEAD(); target != plumbing.HEAD && err == nil && sym == target {
		logs = append(logs, filepath.Join(s.gitDir, "logs", "HEAD"))
	}
	for _, p := range logs {
		if _, err := os.Stat(p); err != nil {
			// git only starts a reflog by itself where logAllRefUpdates
			// applies: branches and HEAD of non-bare repositories.
			if s.bare || !(strings.HasPrefix(string(target), "refs/heads/") || target == plumbing.HEAD) || os.MkdirAll(filepath.Dir(p), 0o777) != nil {
				continue
			}
		}
		if f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666); err == nil {
			f.WriteString(line)
			f.Close()
		}
	}
}
