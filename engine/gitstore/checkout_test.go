//go:build unix

package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)

	// A staged file: created exclusively, stat data as lstat reports it.
	p := filepath.Join(dir, "new.json")
	var ie index.Entry
	if err := writeFile(p, "", []byte("data"), 0o777, &ie); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v, want 0755 (0777 less the umask)", fi.Mode())
	}
	var want index.Entry
	fillStat(&want, fi)
	if ie != want {
		t.Fatalf("stat data %+v, lstat says %+v", ie, want)
	}
	if err := writeFile(p, "", []byte("again"), 0o666, &ie); err == nil {
		t.Fatal("staged write over an existing file succeeded")
	}
	if b, _ := os.ReadFile(p); string(b) != "data" {
		t.Fatalf("existing file changed to %q", b)
	}

	// Through a temp name (a stale one is replaced) and a rename: the stat
	// data, ctime included, is the final file's.
	final := filepath.Join(dir, "f.json")
	tmp := tmpName(final)
	os.WriteFile(tmp, []byte("stale and longer"), 0o644)
	if err := writeFile(tmp, final, []byte("v2"), 0o666, &ie); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temp file left: %v", err)
	}
	fi, _ = os.Lstat(final)
	fillStat(&want, fi)
	if ie != want || fi.Mode().Perm() != 0o644 {
		t.Fatalf("stat data %+v, lstat says %+v (mode %v)", ie, want, fi.Mode())
	}
	if b, _ := os.ReadFile(final); string(b) != "v2" {
		t.Fatalf("content %q", b)
	}

	// A failed rename leaves no temp file behind.
	os.Mkdir(filepath.Join(dir, "isdir"), 0o777)
	os.WriteFile(filepath.Join(dir, "isdir", "x"), nil, 0o644)
	bad := filepath.Join(dir, "isdir")
	if err := writeFile(tmpName(bad), bad, []byte("x"), 0o666, &ie); err == nil {
		t.Fatal("rename over a non-empty directory succeeded")
	}
	if _, err := os.Lstat(tmpName(bad)); !os.IsNotExist(err) {
		t.Fatalf("temp file left after a failed rename: %v", err)
	}
}

// TestStagedBeforeCAS: no file of a commit is visible before its ref
// moves. If the ref move fails, or the process dies there, the next
// commit neither shows nor trips over them.
func TestStagedBeforeCAS(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "base", put("a.txt", "a\n"))
	var files []Change
	for i := 0; i < 40; i++ {
		files = append(files, put(fmt.Sprintf("catalog/new/%d.json", i), fmt.Sprintf("%d\n", i)))
	}
	defer func() { testHookBeforeCAS = nil }()

	// The ref moves under us: CAS fails, nothing staged survives.
	testHookBeforeCAS = func() error {
		if _, err := os.Lstat(filepath.Join(s.Root(), "catalog")); !os.IsNotExist(err) {
			t.Errorf("catalog visible before the ref move: %v", err)
		}
		// Through the ref only: git commit would find index.lock held,
		// as it does beside git's own commands.
		c := strings.TrimSpace(git(t, s.Root(), "commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "someone else"))
		git(t, s.Root(), "update-ref", "HEAD", c)
		return nil
	}
	h, _ := s.Head()
	_, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: files, Message: "m", Author: sig("A B")})
	if !errors.Is(err, ErrRefMoved) {
		t.Fatalf("err = %v, want ErrRefMoved", err)
	}
	if _, err := os.Lstat(filepath.Join(s.Root(), "catalog")); !os.IsNotExist(err) {
		t.Fatalf("files left after a failed ref move: %v", err)
	}
	checkRepo(t, s)

	// A crash before the ref move: the next commit (to other paths) must
	// not write the crashed commit's files.
	testHookBeforeCAS = func() error { return errors.New("simulated crash") }
	h, _ = s.Head()
	if _, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: files, Message: "m", Author: sig("A B")}); err == nil {
		t.Fatal("hook did not stop the commit")
	}
	testHookBeforeCAS = nil
	var other []Change
	for i := 0; i < 20; i++ {
		other = append(other, put(fmt.Sprintf("catalog/other/%d.json", i), "x\n"))
	}
	commit(t, s, "other", other...)
	if _, err := os.Lstat(filepath.Join(s.Root(), "catalog", "new")); !os.IsNotExist(err) {
		t.Fatalf("files of the crashed commit appeared: %v", err)
	}
	checkRepo(t, s)
	commit(t, s, "new", files...)
	checkRepo(t, s)
}

func countFiles(t *testing.T, root string) int {
	n := 0
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// TestRecoverRemovesOldStaging: the staging dirs an older gitalog killed
// mid-commit left in the git dir are removed, not kept forever.
func TestRecoverRemovesOldStaging(t *testing.T) {
	s := newRepo(t)
	for _, d := range []string{"gitalog-stage", "gitalog-prestage"} {
		p := filepath.Join(s.GitDir(), d, "1", "x.json")
		os.MkdirAll(filepath.Dir(p), 0o777)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"gitalog-stage", "gitalog-prestage"} {
		if _, err := os.Lstat(filepath.Join(s.GitDir(), d)); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", d, err)
		}
	}
}
