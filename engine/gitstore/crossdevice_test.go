package gitstore

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// newDirChanges adds n files to each of dirs, which the base commit lacks,
// so the commit stages (and may prestage) them.
func newDirChanges(tag string, n int, dirs ...string) []Change {
	var chs []Change
	for _, d := range dirs {
		for i := range n {
			chs = append(chs, put(fmt.Sprintf("%s/%d.json", d, i), fmt.Sprintf("%s %s %d\n", tag, d, i)))
		}
	}
	return chs
}

// checkFiles asserts that every change is in the worktree as committed.
func checkFiles(t *testing.T, s *Store, chs []Change) {
	t.Helper()
	for _, c := range chs {
		b, err := os.ReadFile(filepath.Join(s.Root(), filepath.FromSlash(c.Path)))
		if err != nil || string(b) != string(c.Content) {
			t.Fatalf("%s = %q, %v; want %q", c.Path, b, err, c.Content)
		}
	}
}

// exdev makes every rename of a staged directory into the worktree fail
// as it does when the git dir is on another filesystem, and counts them.
func exdev(t *testing.T) *int {
	n := new(int)
	testHookPlaceDir = func(string) error { *n++; return syscall.EXDEV }
	t.Cleanup(func() { testHookPlaceDir = nil })
	return n
}

// TestCommitAcrossDevices: when a staged or prestaged directory cannot be
// renamed into the worktree (EXDEV), the commit writes its files in place
// from the objects instead of failing after the ref moved.
func TestCommitAcrossDevices(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "base", put("a.txt", "a\n"))
	h, _ := s.Head()
	pre, err := s.NewPrestage(h.Ref, h.Commit)
	if err != nil {
		t.Fatal(err)
	}
	defer pre.Abandon()
	chs := newDirChanges("one", 20, "catalog/issue", "catalog/project", "catalog/project/sub")
	for _, c := range chs[:30] {
		pre.Write(c.Path, c.Content, BlobHash(c.Content))
	}
	renames := exdev(t)
	if _, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: chs, Prestage: pre, Message: "m", Author: sig("A B")}); err != nil {
		t.Fatal(err)
	}
	if *renames == 0 {
		t.Fatal("no staged directory was placed: the test tests nothing")
	}
	pre.Abandon()
	checkRepo(t, s)
	checkFiles(t, s, chs)
	for _, d := range []string{stageDir, prestageDir} {
		if _, err := os.Lstat(filepath.Join(s.GitDir(), d)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left in the git dir: %v", d, err)
		}
	}
}

// TestRecoverAcrossDevices: a journal whose update stages directories that
// cannot be renamed into the worktree (a repository stuck by an older
// gitalog on a worktree on another filesystem) is finished by Recover.
func TestRecoverAcrossDevices(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "base", put("a.txt", "a\n"))
	chs := newDirChanges("one", 20, "catalog/issue", "catalog/project")
	crash := errors.New("simulated crash")
	testHookAfterCAS = func() error { return crash }
	h, _ := s.Head()
	_, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: chs, Message: "m", Author: sig("A B")})
	testHookAfterCAS = nil
	if !errors.Is(err, crash) {
		t.Fatal(err)
	}
	renames := exdev(t)
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	if *renames == 0 {
		t.Fatal("Recover placed no staged directory: the test tests nothing")
	}
	checkRepo(t, s)
	checkFiles(t, s, chs)
}

// TestMissingCountsStagedDirs: when writing files fails after the ref
// moved, the count of files not written includes those of new directories
// that were staged and so never placed.
func TestMissingCountsStagedDirs(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "base", newDirChanges("old", 10, "catalog/old")...)
	chs := append(newDirChanges("new", 10, "catalog/old"), newDirChanges("new", 30, "catalog/new")...)
	TestHookWriteFile = func(p string) error {
		if strings.HasPrefix(p, "catalog/old/") {
			return syscall.ENOSPC
		}
		return nil
	}
	defer func() { TestHookWriteFile = nil }()
	h, _ := s.Head()
	_, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: chs, Message: "m", Author: sig("A B")})
	TestHookWriteFile = nil
	var we *WorktreeError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a WorktreeError", err)
	}
	missing := 0
	for _, c := range chs {
		if b, err := os.ReadFile(filepath.Join(s.Root(), filepath.FromSlash(c.Path))); err != nil || string(b) != string(c.Content) {
			missing++
		}
	}
	if want := fmt.Sprintf("(%d of %d files not written)", missing, len(chs)); !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q in: %v", want, err)
	}
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s)
	checkFiles(t, s, chs)
}

// TestNoStagingAcrossDevices: with the git dir on another filesystem than
// the worktree, nothing is prestaged or staged; the files are written in
// place, and no rename across the two is tried.
func TestNoStagingAcrossDevices(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "base", put("a.txt", "a\n"))
	testHookCrossDevice = true
	defer func() { testHookCrossDevice = false }()
	renames := exdev(t)
	h, _ := s.Head()
	pre, err := s.NewPrestage(h.Ref, h.Commit)
	if err != nil || pre != nil {
		t.Fatalf("NewPrestage prestages: %v (err %v); want nothing to prestage into", pre != nil, err)
	}
	chs := newDirChanges("one", 20, "catalog/issue", "catalog/project")
	commit(t, s, "one", chs...)
	if *renames != 0 {
		t.Fatalf("%d staged directories renamed across filesystems", *renames)
	}
	checkRepo(t, s)
	checkFiles(t, s, chs)
}

// TestRealCrossDevice runs a commit with the worktree on a tmpfs and the
// git dir (git init --separate-git-dir) elsewhere, in a private mount
// namespace (unshare -m) that vanishes with the child process. It is
// skipped where that is not allowed (not root, no unshare).
func TestRealCrossDevice(t *testing.T) {
	if mnt := os.Getenv("GITSTORE_XDEV_MNT"); mnt != "" {
		crossDeviceChild(t, mnt, os.Getenv("GITSTORE_XDEV_GITDIR"))
		return
	}
	if out, err := exec.Command("unshare", "-m", "true").CombinedOutput(); err != nil {
		t.Skipf("no private mount namespace: %v %s", err, out)
	}
	mnt, gitDir := t.TempDir(), filepath.Join(t.TempDir(), "git")
	cmd := exec.Command("unshare", "-m", "sh", "-c",
		`mount -t tmpfs -o size=16m tmpfs "$1" || exit 99; exec "$2" -test.run='^TestRealCrossDevice$' -test.v`,
		"sh", mnt, os.Args[0])
	cmd.Env = append(os.Environ(), "GITSTORE_XDEV_MNT="+mnt, "GITSTORE_XDEV_GITDIR="+gitDir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 99 {
		t.Skipf("cannot mount a tmpfs: %s", out)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRealCrossDevice") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func crossDeviceChild(t *testing.T, mnt, gitDir string) {
	isolate(t)
	wt := filepath.Join(mnt, "wt")
	git(t, mnt, "init", "-q", "--separate-git-dir", gitDir, wt)
	if sameDevice(gitDir, wt) {
		t.Fatalf("%s and %s are on one filesystem: the test tests nothing", gitDir, wt)
	}
	s, err := Open(wt)
	if err != nil {
		t.Fatal(err)
	}
	commit(t, s, "base", put("a.txt", "a\n"))
	h, _ := s.Head()
	pre, err := s.NewPrestage(h.Ref, h.Commit)
	if err != nil {
		t.Fatal(err)
	}
	chs := newDirChanges("one", 20, "catalog/issue", "catalog/project")
	for _, c := range chs {
		pre.Write(c.Path, c.Content, BlobHash(c.Content))
	}
	if _, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: chs, Prestage: pre, Message: "m", Author: sig("A B")}); err != nil {
		t.Fatal(err)
	}
	pre.Abandon()
	checkRepo(t, s)
	checkFiles(t, s, chs)
}
