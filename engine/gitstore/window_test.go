package gitstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommitRechecksWorktree: files edited or created after the caller's
// CheckWorktree, while the commit builds its trees and writes its objects,
// are found by the check Commit repeats under index.lock: the ref does
// not move and the files stay as the user left them.
func TestCommitRechecksWorktree(t *testing.T) {
	s := newRepo(t)
	c := commit(t, s, "base", put("a.txt", "a\n"), put("b.txt", "b\n"))
	h, _ := s.Head()
	if err := s.CheckWorktree(c, []string{"new.txt", "b.txt"}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Root(), "new.txt"), []byte("user's notes\n"), 0o644)
	os.WriteFile(filepath.Join(s.Root(), "b.txt"), []byte("user's edit\n"), 0o644)
	_, err := s.Commit(t.Context(), CommitRequest{Parent: c, Ref: h.Ref, Changes: []Change{put("new.txt", "from gitalog\n"), put("b.txt", "b from gitalog\n")}, Message: "m", Author: sig("A B")})
	var de *DirtyError
	if !errors.As(err, &de) || strings.Join(de.Paths, " ") != "b.txt new.txt" {
		t.Fatalf("err = %v, want a DirtyError for b.txt and new.txt", err)
	}
	if mustHead(t, s) != c {
		t.Fatal("the ref moved")
	}
	for p, want := range map[string]string{"new.txt": "user's notes\n", "b.txt": "user's edit\n"} {
		if b, _ := os.ReadFile(filepath.Join(s.Root(), p)); string(b) != want {
			t.Errorf("%s = %q, want %q", p, b, want)
		}
	}
	if _, err := os.Stat(filepath.Join(s.GitDir(), journalName)); err == nil {
		t.Fatal("journal left behind")
	}
}

// TestCommitKeepsStaged: a commit over a path with a staged change is
// refused before the ref moves, and the staged change stays in the index.
func TestCommitKeepsStaged(t *testing.T) {
	s := newRepo(t)
	c := commit(t, s, "one", put("cat/a.json", "a\n"))
	f := filepath.Join(s.Root(), "cat/a.json")
	os.WriteFile(f, []byte(`{"my":"staged edit"}`), 0o644)
	git(t, s.Root(), "add", "cat/a.json")
	os.WriteFile(f, []byte("a\n"), 0o644)
	staged := git(t, s.Root(), "ls-files", "-s")
	h, _ := s.Head()
	_, err := s.Commit(t.Context(), CommitRequest{Parent: c, Ref: h.Ref, Changes: []Change{put("cat/a.json", "from sentry\n")}, Message: "m", Author: sig("A B")})
	if !errors.Is(err, ErrDirty) {
		t.Fatalf("err = %v, want ErrDirty", err)
	}
	if mustHead(t, s) != c {
		t.Fatal("the ref moved")
	}
	if got := git(t, s.Root(), "ls-files", "-s"); got != staged {
		t.Fatalf("index changed:\n%s\nwas:\n%s", got, staged)
	}
	if st := git(t, s.Root(), "status", "--porcelain"); st != "MM cat/a.json\n" {
		t.Fatalf("status:\n%s", st)
	}
}

// TestUserFileInWindow: a file that appears where the commit creates
// one after the last check (here, just before the ref moves) is never
// overwritten: the same content is kept as the checkout; a different one
// is left as it is, named in the WorktreeError, and shown by git as a
// modification of the committed file. Recover does not overwrite it later.
func TestUserFileInWindow(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		kept          bool
	}{
		{"differs", "user's precious untracked notes\n", true},
		{"same", "from gitalog\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRepo(t)
			commit(t, s, "base", put("a.txt", "a\n"), put("b.txt", "b\n"))
			h, _ := s.Head()
			changes := []Change{put("new.txt", "from gitalog\n"), put("b.txt", "b from gitalog\n")}
			if err := s.CheckWorktree(h.Commit, []string{"new.txt", "b.txt"}); err != nil {
				t.Fatal(err)
			}
			defer func() { testHookBeforeCAS = nil }()
			testHookBeforeCAS = func() error {
				return os.WriteFile(filepath.Join(s.Root(), "new.txt"), []byte(tc.content), 0o644)
			}
			_, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: changes, Message: "m", Author: sig("A B")})
			testHookBeforeCAS = nil
			if nb, _ := os.ReadFile(filepath.Join(s.Root(), "new.txt")); string(nb) != tc.content {
				t.Fatalf("new.txt = %q, want %q (err = %v)", nb, tc.content, err)
			}
			if !tc.kept {
				if err != nil {
					t.Fatal(err)
				}
				checkRepo(t, s)
				return
			}
			var wterr *WorktreeError
			if !errors.As(err, &wterr) || !errors.Is(err, ErrDirty) || !strings.Contains(err.Error(), "new.txt") {
				t.Fatalf("err = %v, want a WorktreeError naming new.txt", err)
			}
			if mustHead(t, s) != wterr.Commit {
				t.Fatal("the ref did not move to the commit")
			}
			if st := git(t, s.Root(), "status", "--porcelain"); st != " M new.txt\n" {
				t.Fatalf("status:\n%s", st)
			}
			if err := s.Recover(); err != nil {
				t.Fatal(err)
			}
			commit(t, s, "next", put("c.txt", "c\n"))
			if nb, _ := os.ReadFile(filepath.Join(s.Root(), "new.txt")); string(nb) != tc.content {
				t.Fatalf("new.txt overwritten later: %q", nb)
			}
			if st := git(t, s.Root(), "status", "--porcelain"); st != " M new.txt\n" {
				t.Fatalf("status after the next commit:\n%s", st)
			}
		})
	}
}
