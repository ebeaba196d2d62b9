package gitstore

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// isolate keeps the user's git config out of the tests, for both real git
// and the config lookups in this package.
func isolate(t testing.TB) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"GIT_CONFIG_GLOBAL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Real Git", "GIT_AUTHOR_EMAIL=real@git",
		"GIT_COMMITTER_NAME=Real Git", "GIT_COMMITTER_EMAIL=real@git")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkRepo asserts what every commit must leave behind: a repository git
// fsck --strict accepts, a clean status, and an index that git turns back
// into exactly the committed tree.
func checkRepo(t testing.TB, s *Store) {
	t.Helper()
	git(t, s.Root(), "fsck", "--strict", "--no-dangling")
	if s.Bare() {
		return
	}
	// Before anything refreshes the index: git must find our stat data
	// matching, or diff-files lists the entry.
	if d := git(t, s.Root(), "diff-files", "--name-only"); d != "" {
		t.Fatalf("git diff-files (stat data) reports:\n%s", d)
	}
	if st := git(t, s.Root(), "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Fatalf("git status not clean:\n%s", st)
	}
	tree := strings.TrimSpace(git(t, s.Root(), "rev-parse", "HEAD^{tree}"))
	if wt := strings.TrimSpace(git(t, s.Root(), "write-tree")); wt != tree {
		t.Fatalf("git write-tree = %s, HEAD^{tree} = %s", wt, tree)
	}
	if _, err := os.Stat(filepath.Join(s.GitDir(), journalName)); err == nil {
		t.Fatalf("journal left behind")
	}
}

func sig(name string) object.Signature {
	return object.Signature{Name: name, Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com", When: time.Unix(1700000000, 0).UTC()}
}

func commit(t testing.TB, s *Store, msg string, changes ...Change) plumbing.Hash {
	t.Helper()
	h, err := s.Head()
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Commit(context.Background(), CommitRequest{
		Parent: h.Commit, Ref: h.Ref, Changes: changes, Message: msg,
		Author: sig("Ada Lovelace"), Committer: sig("Gitalog Bot"),
	})
	if err != nil {
		t.Fatalf("commit %q: %v", msg, err)
	}
	return c
}

func put(p, content string) Change { return Change{Path: p, Content: []byte(content)} }
func del(p string) Change          { return Change{Path: p, Delete: true} }

func newRepo(t testing.TB) *Store {
	t.Helper()
	isolate(t)
	s, err := Init(filepath.Join(t.TempDir(), "repo"), "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TreeHash is the id of the snapshot's root tree.
func (sn *Snapshot) TreeHash() plumbing.Hash { return sn.tree }
