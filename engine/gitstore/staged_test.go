package gitstore

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCheckWorktreeStaged: a path whose index entries differ from the
// parent tree holds a change the user staged, which replacing its entry
// would throw away even when the worktree file matches the tree again:
// such a path is dirty, as git checkout refuses it. Staged changes to
// paths the sync does not touch, and an index that does not exist yet,
// do not stop it.
func TestCheckWorktreeStaged(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, s *Store)
		dirty []string
	}{
		{"staged edit, worktree restored (MM)", func(t *testing.T, s *Store) {
			f := filepath.Join(s.Root(), "cat/a.json")
			os.WriteFile(f, []byte(`{"my":"staged edit"}`), 0o644)
			git(t, s.Root(), "add", "cat/a.json")
			os.WriteFile(f, []byte("a\n"), 0o644)
		}, []string{"cat/a.json"}},
		{"staged removal (D )", func(t *testing.T, s *Store) {
			git(t, s.Root(), "rm", "-q", "--cached", "cat/a.json")
		}, []string{"cat/a.json"}},
		{"staged mode change", func(t *testing.T, s *Store) {
			git(t, s.Root(), "update-index", "--chmod=+x", "cat/a.json")
		}, []string{"cat/a.json"}},
		{"conflict stages", func(t *testing.T, s *Store) {
			blob := strings.TrimSpace(git(t, s.Root(), "rev-parse", "HEAD:cat/a.json"))
			info := "0 0000000000000000000000000000000000000000\tcat/a.json\n"
			for _, st := range []string{"1", "2", "3"} {
				info += "100644 " + blob + " " + st + "\tcat/a.json\n"
			}
			gitStdin(t, s.Root(), info, "update-index", "--index-info")
		}, []string{"cat/a.json"}},
		{"staged new file, worktree file gone (AD)", func(t *testing.T, s *Store) {
			f := filepath.Join(s.Root(), "cat/new.json")
			os.WriteFile(f, []byte("staged\n"), 0o644)
			git(t, s.Root(), "add", "cat/new.json")
			os.Remove(f)
		}, []string{"cat/new.json"}},
		{"staged new file in a directory the tree lacks", func(t *testing.T, s *Store) {
			os.MkdirAll(filepath.Join(s.Root(), "fresh"), 0o777)
			f := filepath.Join(s.Root(), "fresh/x.json")
			os.WriteFile(f, []byte("staged\n"), 0o644)
			git(t, s.Root(), "add", "fresh/x.json")
			os.RemoveAll(filepath.Join(s.Root(), "fresh"))
		}, []string{"fresh/x.json"}},
		{"staged changes elsewhere only", func(t *testing.T, s *Store) {
			os.WriteFile(filepath.Join(s.Root(), "other.txt"), []byte("mine\n"), 0o644)
			git(t, s.Root(), "add", "other.txt")
			os.WriteFile(filepath.Join(s.Root(), "cat/ita.json"), []byte("later\n"), 0o644)
			git(t, s.Root(), "add", "-N", "cat/ita.json")
			git(t, s.Root(), "rm", "-q", "--cached", "cat/b.json")
		}, nil},
		{"no index", func(t *testing.T, s *Store) {
			os.Remove(filepath.Join(s.GitDir(), "index"))
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRepo(t)
			c := commit(t, s, "one", put("cat/a.json", "a\n"), put("cat/b.json", "b\n"))
			tc.setup(t, s)
			paths := []string{"cat/a.json", "cat/new.json", "fresh/x.json", "fresh/y.json", "new/z.json"}
			err := s.CheckWorktree(c, paths)
			var de *DirtyError
			if tc.dirty == nil {
				if err != nil {
					t.Fatalf("CheckWorktree: %v", err)
				}
				return
			}
			if !errors.As(err, &de) || !errors.Is(err, ErrDirty) {
				t.Fatalf("err = %v, want a DirtyError", err)
			}
			if !reflect.DeepEqual(de.Paths, tc.dirty) {
				t.Fatalf("dirty = %v, want %v", de.Paths, tc.dirty)
			}
		})
	}
}

func gitStdin(t testing.TB, dir, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Stdin = dir, strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
