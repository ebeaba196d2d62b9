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
	type wt struct{ gitDir, root string }
	var others []wt
	if s.gitDir != s.commonDir {
		if core := s.cfg.Section("core"); !core.HasOption("bare") || !parseBool(core.Option("bare")) {
			others = append(others, wt{s.commonDir, filepath.Dir(s.commonDir)})
		}
	}
	dirs, err := os.ReadDir(filepath.Join(s.commonDir, "worktrees"))
	if err != nil && !os.IsNotExist(err) {
		return "", err
	}
	for _, d := range dirs {
		g := filepath.Join(s.commonDir, "worktrees", d.Name())
		if !d.IsDir() || g == s.gitDir {
			continue
		}
		root := g
		if b, err := os.ReadFile(filepath.Join(g, "gitdir")); err == nil {
			root = filepath.Dir(strings.TrimSpace(string(b)))
		}
		others = append(others, wt{g, root})
	}
	for _, w := range others {
		b, err := os.ReadFile(filepath.Join(w.gitDir, "HEAD"))
		if err != nil {
			continue // not a worktree git knows either
		}
		if t, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "ref:"); ok && plumbing.ReferenceName(strings.TrimSpace(t)) == ref {
			return w.root, nil
		}
	}
	return "", nil
}
