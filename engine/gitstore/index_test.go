package gitstore

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestIndexCodecMatchesGit: an index git wrote, in each version and with
// extended flags, long names and conflict stages, re-encoded by gitIndex
// (go-git's codec for the entries it decodes), reads back identically in
// git (ls-files --debug shows every stat field and flag).
func TestIndexCodecMatchesGit(t *testing.T) {
	isolate(t)
	dir := filepath.Join(t.TempDir(), "repo")
	git(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	for i := 0; i < 50; i++ {
		p := filepath.Join(dir, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%02d.json", i))
		os.MkdirAll(filepath.Dir(p), 0o777)
		os.WriteFile(p, []byte(fmt.Sprintf("%d\n", i)), 0o666)
	}
	os.WriteFile(filepath.Join(dir, "exec.sh"), []byte("#!/bin/sh\n"), 0o777)
	os.Symlink("d0/f00.json", filepath.Join(dir, "link"))
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "one")
	blob := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD:d0/f00.json"))
	long := strings.Repeat("n", 200) + "/" + strings.Repeat("x", 4000) + ".json" // name over 0xfff bytes
	git(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+long)
	git(t, dir, "write-tree") // adds a TREE extension, which encode drops
	// Conflict stages 1-3 for one path.
	var in strings.Builder
	for st := 1; st <= 3; st++ {
		fmt.Fprintf(&in, "100644 %s %d\tconflict.txt\n", blob, st)
	}
	cmd := exec.Command("git", "update-index", "--index-info")
	cmd.Dir, cmd.Stdin = dir, strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, v := range []string{"2", "3", "4"} {
		t.Run("v"+v, func(t *testing.T) {
			git(t, dir, "update-index", "--index-version", v)
			if v != "2" {
				git(t, dir, "update-index", "--skip-worktree", "d1/f01.json")
				os.WriteFile(filepath.Join(dir, "new.txt"), []byte("new\n"), 0o666)
				git(t, dir, "add", "-N", "new.txt")
			}
			data, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
			if err != nil {
				t.Fatal(err)
			}
			idx, err := parseIndex(data)
			if err != nil {
				t.Fatal(err)
			}
			for i := range idx.entries {
				if i%2 == 0 && idx.entries[i].raw != nil {
					// Half the entries go through go-git's decoder and encoder.
					e, err := idx.entries[i].entry(idx.version)
					if err != nil {
						t.Fatal(err)
					}
					idx.entries[i] = decoded(e)
				}
			}
			enc, err := idx.encode()
			if err != nil {
				t.Fatal(err)
			}
			ours := filepath.Join(t.TempDir(), "index")
			if err := os.WriteFile(ours, enc, 0o644); err != nil {
				t.Fatal(err)
			}
			lsFiles := func(indexFile string, args ...string) string {
				cmd := exec.Command("git", append([]string{"ls-files", "-s", "--debug", "-t"}, args...)...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GIT_INDEX_FILE="+indexFile)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("ls-files: %v\n%s", err, out)
				}
				return string(out)
			}
			want, got := lsFiles(filepath.Join(dir, ".git", "index")), lsFiles(ours)
			if want != got {
				t.Fatalf("git reads our index differently:\n--- git's\n%s\n--- ours\n%s", want, got)
			}
			if sw := lsFiles(ours, "d1/f01.json"); v != "2" && !strings.HasPrefix(sw, "S ") {
				t.Fatalf("skip-worktree lost:\n%s", sw)
			}
			if idx2, err := parseIndex(enc); err != nil || len(idx2.entries) != len(idx.entries) {
				t.Fatalf("re-parse: %v", err)
			}
		})
	}
}

// TestIndexSplitRefused: a split index cannot be kept or dropped safely,
// so Commit refuses it with an error that names it, instead of writing an
// index without the entries the shared part held.
func TestIndexSplitRefused(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("a.txt", "a\n"))
	git(t, s.Root(), "update-index", "--split-index")
	_, err := s.Head()
	if err != nil {
		t.Fatal(err)
	}
	h, _ := s.Head()
	_, err = s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: []Change{put("b.txt", "b\n")}, Message: "two", Author: sig("A B")})
	if err == nil || !strings.Contains(err.Error(), "split index") {
		t.Fatalf("commit with a split index: %v", err)
	}
	if err := s.CheckWorktree(h.Commit, []string{"a.txt"}); err == nil || !strings.Contains(err.Error(), "split index") {
		t.Fatalf("CheckWorktree with a split index: %v", err)
	}
}

// TestCommitKeepsIndexFlags: entries a commit does not touch keep their
// bytes, skip-worktree flag included, in v3 and (through go-git) v4.
func TestCommitKeepsIndexFlags(t *testing.T) {
	for _, v := range []string{"3", "4"} {
		t.Run("v"+v, func(t *testing.T) {
			s := newRepo(t)
			commit(t, s, "one", put("a.txt", "a\n"), put("keep/b.txt", "b\n"))
			git(t, s.Root(), "update-index", "--index-version", v)
			git(t, s.Root(), "update-index", "--skip-worktree", "keep/b.txt")
			commit(t, s, "two", put("a.txt", "a2\n"), put("c.txt", "c\n"))
			if out := git(t, s.Root(), "ls-files", "-t", "keep/b.txt"); out != "S keep/b.txt\n" {
				t.Fatalf("skip-worktree lost: %q", out)
			}
			if b, _ := os.ReadFile(filepath.Join(s.GitDir(), "index")); len(b) < 8 || fmt.Sprint(b[7]) != v {
				t.Fatalf("index version changed, want %s", v)
			}
			git(t, s.Root(), "update-index", "--no-skip-worktree", "keep/b.txt")
			checkRepo(t, s)
		})
	}
}

// TestCheckWorktreeMissingDirs: paths under a directory that does not
// exist are absent without an lstat each, and that still catches a
// tracked directory removed by hand, while untracked files in directories
// that do exist are refused as before.
func TestCheckWorktreeMissingDirs(t *testing.T) {
	s := newRepo(t)
	c := commit(t, s, "one", put("gone/a.json", "a"), put("file", "f"))
	os.RemoveAll(filepath.Join(s.Root(), "gone"))
	os.MkdirAll(filepath.Join(s.Root(), "hand"), 0o777)
	os.WriteFile(filepath.Join(s.Root(), "hand", "x.json"), []byte("x"), 0o644)
	paths := []string{"new/1.json", "new/2.json", "new/deeper/3.json", "gone/a.json", "gone/b.json", "file/under", "hand/x.json", "hand/y.json"}
	err := s.CheckWorktree(c, paths)
	var de *DirtyError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	if want := []string{"gone/a.json", "hand/x.json"}; !reflect.DeepEqual(de.Paths, want) {
		t.Fatalf("dirty = %v, want %v", de.Paths, want)
	}
}

// TestRacyEntrySmudged: an entry the old index could only trust as
// "racily clean" (not older than that index) must not become clean by
// being copied into a newer index when its file changed: its size is
// zeroed, as git does, so readers compare content. Unchanged entries keep
// their stat data.
func TestRacyEntrySmudged(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "zero", put("c.txt", "cccc\n"))
	time.Sleep(20 * time.Millisecond)
	commit(t, s, "one", put("a.txt", "aaaa\n"), put("b.txt", "bbbb\n"), put("d.txt", "dddd\n"))
	a := filepath.Join(s.Root(), "a.txt")
	fi, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	// As if the index had been written in a.txt's timestamp tick, and a.txt
	// then changed within that tick: same size, same mtime.
	if err := os.WriteFile(a, []byte("AAAA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, filepath.Join(s.GitDir(), "index")} {
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, s, "two", put("b.txt", "BBBB\n"))
	size := func(name string) string {
		out := git(t, s.Root(), "ls-files", "--debug", name)
		i := strings.Index(out, "size: ")
		if i < 0 {
			t.Fatalf("no size in %q", out)
		}
		return strings.Fields(out[i+len("size: "):])[0]
	}
	if got := size("a.txt"); got != "0" {
		t.Errorf("racy a.txt kept size %s in the new index, want 0", got)
	}
	for _, name := range []string{"c.txt", "d.txt"} { // older than the index; racy but unchanged
		if got := size(name); got != "5" {
			t.Errorf("%s has size %s in the new index, want 5", name, got)
		}
	}
	if out := git(t, s.Root(), "status", "--porcelain"); out != " M a.txt\n" {
		t.Fatalf("git status after the sync = %q, want a.txt modified", out)
	}
}

// addBesideIndexUpdate runs op with a git add of name made while op holds
// the index between reading and writing it. An add that failed at the
// held index.lock is run again, as its user would; any other failure
// fails the test. It reports whether the first add succeeded.
func addBesideIndexUpdate(t *testing.T, s *Store, name string, op func()) bool {
	t.Helper()
	var ran bool
	var addOut []byte
	var addErr error
	testHookIndexRead = func() {
		ran = true
		cmd := exec.Command("git", "add", name)
		cmd.Dir = s.Root()
		addOut, addErr = cmd.CombinedOutput()
	}
	defer func() { testHookIndexRead = nil }()
	op()
	testHookIndexRead = nil
	if !ran {
		t.Fatal("the hook between reading and writing the index did not run")
	}
	if addErr != nil {
		if !strings.Contains(string(addOut), "index.lock") {
			t.Fatalf("git add failed for another reason than the held lock: %v\n%s", addErr, addOut)
		}
		git(t, s.Root(), "add", name) // the user's rerun
	}
	return addErr == nil
}

// TestGitAddBesideCommit: a git add that runs while a commit updates the
// index is never lost. Either it lands before gitalog reads the index, or
// it finds index.lock taken and fails loudly (as beside any git command),
// so a rerun lands after; what it must not do is succeed and then be
// overwritten by an index gitalog built from an older read.
func TestGitAddBesideCommit(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("catalog/a.json", "a\n"))
	if err := os.WriteFile(filepath.Join(s.Root(), "notes.txt"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	added := addBesideIndexUpdate(t, s, "notes.txt", func() {
		commit(t, s, "two", put("catalog/b.json", "b\n"))
	})
	if got := git(t, s.Root(), "diff", "--cached", "--name-only"); got != "notes.txt\n" {
		t.Fatalf("staged after the commit: %q, want notes.txt (git add succeeded: %v)", got, added)
	}
	if got := git(t, s.Root(), "status", "--porcelain"); got != "A  notes.txt\n" {
		t.Fatalf("git status = %q", got)
	}
}

// TestRecoverRemovesStrandedIndexLock: a gitalog killed while holding
// index.lock (taken before its ref move, held through the worktree
// update) must not leave the user's git add failing until the next sync
// that commits: Recover, which every writing command runs, removes it.
func TestRecoverRemovesStrandedIndexLock(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("f", "1"))
	l, err := takeLock(s.GitDir(), s.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	l.f.Close() // the process dies: nothing is released
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Root(), "g"), []byte("g\n"), 0o644)
	git(t, s.Root(), "add", "g")
}

// TestIndexSkipHash: an index git wrote with index.skipHash (an all-zero
// trailer, which feature.manyFiles turns on) is read, not refused as
// corrupt by go-git's checksum check.
func TestIndexSkipHash(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("a.txt", "a\n"))
	p := filepath.Join(s.GitDir(), "index")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	copy(data[len(data)-20:], make([]byte, 20))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	commit(t, s, "two", put("b.txt", "b\n"))
	checkRepo(t, s)
}
