package gitstore

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

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
	chs := newDirChanges("one", 20, "catalog/issue", "catalog/project")
	commit(t, s, "one", chs...)
	checkRepo(t, s)
	checkFiles(t, s, chs)
}

// sameDevice reports whether a and b are on one filesystem.
func sameDevice(a, b string) bool {
	var sa, sb syscall.Stat_t
	if syscall.Stat(a, &sa) != nil || syscall.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev
}
