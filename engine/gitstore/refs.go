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
		if err := checkRefName(ref); err != nil {
			return "", err
		}
		return ref, nil
	}
	sym, _, err := s.readHEAD()
	if err != nil {
		return "", err
	}
	if sym != "" {
		return sym, nil
	}
	return plumbing.HEAD, nil
}

// checkedOut reports whether moving target changes what the worktree
// should contain.
func (s *Store) checkedOut(target plumbing.ReferenceName) bool {
	if s.bare {
		return false
	}
	if target == plumbing.HEAD {
		return true
	}
	sym, _, err := s.readHEAD()
	return err == nil && sym == target
}

// casRef moves target from old to new under git's lock-file protocol
// (see heldLock). go-git's CheckAndSetReference rewrites the ref file in
// place under flock, which git does not honour (git renames a new file
// over the ref, so an update can be lost) and which a kill -9 can leave
// empty; the lock file is atomic and excludes git commands too.
func (s *Store) casRef(target plumbing.ReferenceName, old, new plumbing.Hash, committer object.Signature, msg string) error {
	l, err := takeLock(s.commonDir, s.refFile(target))
	if err != nil {
		return fmt.Errorf("cannot lock ref %s: %w", target, err)
	}
	defer l.release()
	cur, _, err := s.resolveRef(target)
	if err != nil {
		return err
	}
	if cur != old {
		return fmt.Errorf("%w: %s is at %s, expected %s", ErrRefMoved, target, short(cur), short(old))
	}
	// Like git, log before the rename: a reflog line for an update that
	// did not land is harmless, a landed update without one is a gap.
	s.appendReflog(target, old, new, committer, msg)
	return l.commit([]byte(new.String()+"\n"), time.Time{}, true)
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
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	line := fmt.Sprintf("%s %s %s <%s> %d %s\t%s\n", old, new, sig.Name, sig.Email,
		sig.When.Unix(), sig.When.Format("-0700"), msg)
	logs := []string{logFile(s.refFile(target), s, target)}
	if target != plumbing.HEAD {
		if sym, _, err := s.readHEAD(); err == nil && sym == target {
			logs = append(logs, filepath.Join(s.gitDir, "logs", "HEAD"))
		}
	}
	for _, p := range logs {
		if _, err := os.Stat(p); err != nil {
			// git only starts a reflog by itself where logAllRefUpdates
			// applies: branches and HEAD of non-bare repositories.
			name := string(target)
			if s.bare || !(strings.HasPrefix(name, "refs/heads/") || name == "HEAD") {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
				continue
			}
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
		if err != nil {
			continue
		}
		f.WriteString(line)
		f.Close()
	}
}

func logFile(refFile string, s *Store, target plumbing.ReferenceName) string {
	base := s.commonDir
	if strings.HasPrefix(refFile, s.gitDir+string(filepath.Separator)) && s.gitDir != s.commonDir {
		base = s.gitDir
	}
	return filepath.Join(base, "logs", filepath.FromSlash(string(target)))
}
