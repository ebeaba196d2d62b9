package gitstore

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnsupportedFormatRefused checks that repositories whose format
// gitstore cannot write are refused at Open, before anything is written,
// and that git still accepts them afterwards.
func TestUnsupportedFormatRefused(t *testing.T) {
	isolate(t)
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{"sha256 empty", func(t *testing.T, dir string) {
			git(t, dir, "init", "-q", "--object-format=sha256", "r")
		}, []string{"is a SHA-256 repository (extensions.objectFormat = sha256)", "SHA-1 repositories only"}},
		{"sha256 with a commit", func(t *testing.T, dir string) {
			git(t, dir, "init", "-q", "--object-format=sha256", "r")
			os.WriteFile(filepath.Join(dir, "r", "a"), []byte("a\n"), 0o644)
			git(t, filepath.Join(dir, "r"), "add", "a")
			git(t, filepath.Join(dir, "r"), "commit", "-qm", "a")
		}, []string{"is a SHA-256 repository"}},
		{"bare sha256", func(t *testing.T, dir string) {
			git(t, dir, "init", "-q", "--bare", "--object-format=sha256", "r")
		}, []string{"is a SHA-256 repository"}},
		{"reftable", func(t *testing.T, dir string) {
			git(t, dir, "init", "-q", "r")
			git(t, filepath.Join(dir, "r"), "config", "core.repositoryformatversion", "1")
			git(t, filepath.Join(dir, "r"), "config", "extensions.refStorage", "reftable")
		}, []string{"extensions.refStorage = reftable", "reftable"}},
		{"unknown extension", func(t *testing.T, dir string) {
			git(t, dir, "init", "-q", "r")
			git(t, filepath.Join(dir, "r"), "config", "core.repositoryformatversion", "1")
			git(t, filepath.Join(dir, "r"), "config", "extensions.frobnicate", "true")
		}, []string{"extensions.frobnicate", "does not support"}},
		{"future format version", func(t *testing.T, dir string) {
			git(t, dir, "init", "-q", "r")
			git(t, filepath.Join(dir, "r"), "config", "core.repositoryformatversion", "2")
		}, []string{"core.repositoryformatversion = 2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			r := filepath.Join(dir, "r")
			before := listFiles(t, r)
			_, err := Open(r)
			if !errors.Is(err, ErrUnsupportedFormat) {
				t.Fatalf("Open: err = %v, want ErrUnsupportedFormat", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open: %q lacks %q", err, w)
				}
			}
			if _, err := Init(r, ""); !errors.Is(err, ErrUnsupportedFormat) {
				t.Fatalf("Init: err = %v, want ErrUnsupportedFormat", err)
			}
			if after := listFiles(t, r); after != before {
				t.Fatalf("files changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if !strings.Contains(tc.name, "reftable") && !strings.Contains(tc.name, "unknown") && !strings.Contains(tc.name, "future") {
				git(t, r, "fsck", "--strict")
			}
		})
	}
}

// TestSupportedFormatsOpen keeps the extensions gitstore does handle
// working: they must not be refused along with the others.
func TestSupportedFormatsOpen(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	git(t, dir, "init", "-q", "--object-format=sha1", "r")
	r := filepath.Join(dir, "r")
	git(t, r, "config", "core.repositoryformatversion", "1")
	for _, kv := range [][2]string{{"extensions.objectFormat", "sha1"}, {"extensions.preciousObjects", "true"}, {"extensions.worktreeConfig", "true"}, {"extensions.noop", "x"}, {"extensions.partialClone", "origin"}} {
		git(t, r, "config", kv[0], kv[1])
	}
	s, err := Open(r)
	if err != nil {
		t.Fatal(err)
	}
	commit(t, s, "one", put("a", "1\n"))
	checkRepo(t, s)
}

// listFiles lists every file under dir with its size, to see that a
// refused repository was left exactly as it was.
func listFiles(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b.WriteString(rel)
		if !fi.IsDir() {
			b.WriteString(" " + fi.ModTime().String())
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}

// TestUnreadableConfigRefused: a repository config that cannot be read
// (git refuses these too) is refused at Open, with its path, before
// anything is written, since whether a write would be safe is unknown.
func TestUnreadableConfigRefused(t *testing.T) {
	isolate(t)
	for _, bad := range []string{"[core\n", "[core]\n\tk = \"open\n", "[core]\n\t=v\n"} {
		dir := t.TempDir()
		git(t, dir, "init", "-q", "r")
		r := filepath.Join(dir, "r")
		p := filepath.Join(r, ".git", "config")
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("git", "config", "--file", p, "--list").CombinedOutput(); err == nil {
			t.Errorf("%q: git accepts it: %s", bad, out)
		}
		before := listFiles(t, r)
		if _, err := Open(r); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: Open: err = %v, want one naming %s", bad, err, p)
		}
		if _, err := Init(r, ""); err == nil {
			t.Errorf("%q: Init: no error", bad)
		}
		if after := listFiles(t, r); after != before {
			t.Errorf("%q: files changed", bad)
		}
	}
}

// A config git reads and go-git's decoder refuses (the old "[branch.main]"
// header, a byte-order mark) is read through git, extensions included: a
// sha256 repository written that way is still refused, a SHA-1 one opens.
func TestConfigGitAcceptsGoGitRefuses(t *testing.T) {
	isolate(t)
	for _, c := range []struct{ name, prefix, suffix string }{
		{"old section header", "", "[branch.main]\n\tnote = old syntax\n"},
		{"byte-order mark", "\ufeff", ""},
	} {
		for _, sha256 := range []bool{false, true} {
			dir := t.TempDir()
			args := []string{"init", "-q", "r"}
			if sha256 {
				args = []string{"init", "-q", "--object-format=sha256", "r"}
			}
			git(t, dir, args...)
			r := filepath.Join(dir, "r")
			p := filepath.Join(r, ".git", "config")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(c.prefix+string(b)+c.suffix), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("git", "config", "--file", p, "--list").CombinedOutput(); err != nil {
				t.Fatalf("%s: git refuses it: %s", c.name, out)
			}
			_, err = Open(r)
			switch {
			case sha256 && !errors.Is(err, ErrUnsupportedFormat):
				t.Errorf("%s, sha256: Open: err = %v, want the format refused", c.name, err)
			case !sha256 && err != nil:
				t.Errorf("%s: Open: %v", c.name, err)
			}
		}
	}
}

// A sparse checkout (git sparse-checkout set) is refused before the
// branch moves: writing the catalog's files would undo it, and leaving
// them out would make every later sync see them as deleted.
func TestSparseCheckoutRefused(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "base", put("keep/a.txt", "a\n"), put("catalog/b.txt", "b\n"))
	git(t, s.Root(), "sparse-checkout", "set", "keep")
	h, _ := s.Head()
	_, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: []Change{put("catalog/c.txt", "c\n")}, Message: "c", Author: sig("A B")})
	if err == nil || !strings.Contains(err.Error(), "sparse checkout") || !strings.Contains(err.Error(), "git sparse-checkout disable") {
		t.Fatalf("Commit in a sparse checkout: err = %v", err)
	}
	if h2, _ := s.Head(); h2.Commit != h.Commit {
		t.Fatal("the branch moved")
	}
	git(t, s.Root(), "fsck", "--strict")
	if out := git(t, s.Root(), "status", "--porcelain"); out != "" {
		t.Fatalf("status: %s", out)
	}
}
