package gitstore

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// CheckedOutElsewhere returns the root of another worktree of the
// repository (the main one, or one made by git worktree add) whose HEAD
// is ref, or "" when there is none. Moving such a branch from here would
// leave that worktree's files and index describing the old commit, which
// is why git refuses to (git branch -f, git checkout).
func (s *Store) CheckedOutElsewhere(ref plumbing.ReferenceName) (string, error) {
	others := map[string]string{} // git dir -> worktree root
	if core := s.cfg.Section("core"); s.gitDir != s.commonDir && (!core.HasOption("bare") || !parseBool(core.Option("bare"))) {
		others[s.commonDir] = filepath.Dir(s.commonDir)
	}
	dirs, err := os.ReadDir(filepath.Join(s.commonDir, "worktrees"))
	if err != nil && !os.IsNotExist(err) {
		return "", err
	}
	for _, d := range dirs {
		if g := filepath.Join(s.commonDir, "worktrees", d.Name()); d.IsDir() && g != s.gitDir {
			others[g] = g
			if b, err := os.ReadFile(filepath.Join(g, "gitdir")); err == nil {
				others[g] = filepath.Dir(strings.TrimSpace(string(b)))
			}
		}
	}
	for g, root := range others {
		b, err := os.ReadFile(filepath.Join(g, "HEAD")) // none: not a worktree git knows either
		if t, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "ref:"); err == nil && ok && plumbing.ReferenceName(strings.TrimSpace(t)) == ref {
			return root, nil
		}
	}
	return "", nil
}
