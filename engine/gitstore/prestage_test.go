package gitstore

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// newPrestage returns a repository with one commit on its checked-out
// branch, and a prestage for the next commit there.
func newPrestage(t *testing.T) (*Store, *Prestage) {
	t.Helper()
	s := newRepo(t)
	commit(t, s, "base", put("a.txt", "a\n"))
	h, _ := s.Head()
	pre, err := s.NewPrestage(h.Ref, h.Commit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pre.Abandon)
	return s, pre
}

func TestPrestage(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "base", put("a.txt", "a\n"), put("old/x.json", "x\n"))
	h, _ := s.Head()
	pre, err := s.NewPrestage(h.Ref, h.Commit)
	if err != nil {
		t.Fatal(err)
	}
	defer pre.Abandon()
	write := func(name, content string) {
		pre.Write(name, []byte(content), BlobHash([]byte(content)))
	}
	write("catalog/new/0.json", "replaced by a later write\n")
	for i := range 40 {
		content := fmt.Sprintf("%d\n", i)
		if i >= 30 && i < 35 {
			content = "not what the commit has\n"
		}
		write(fmt.Sprintf("catalog/new/%d.json", i), content)
	}
	write("old/y.json", "y\n") // old/ exists: left to the commit
	pre.wait()
	staged, _ := pre.claim(filepath.Join(s.Root(), "catalog", "new"))
	pre.dirs["catalog/new"].claimed = false // looked at, not taken
	ino := inode(t, filepath.Join(staged, "7.json"))
	if _, err := os.Lstat(filepath.Join(s.Root(), "catalog")); !os.IsNotExist(err) {
		t.Fatalf("prestaged files visible in the worktree: %v", err)
	}

	var changes []Change
	for i := range 45 { // 35-39 were prestaged but are not committed; 40-44 were not prestaged
		if i >= 35 && i < 40 {
			continue
		}
		changes = append(changes, put(fmt.Sprintf("catalog/new/%d.json", i), fmt.Sprintf("%d\n", i)))
	}
	changes = append(changes, put("old/y.json", "y\n"))
	h, _ = s.Head()
	if _, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: changes, Prestage: pre, Message: "m", Author: sig("A B")}); err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s)
	if got := inode(t, filepath.Join(s.Root(), "catalog", "new", "7.json")); got != ino {
		t.Fatal("the prestaged file was not used: written again")
	}
	if n := countFiles(t, filepath.Join(s.Root(), "catalog", "new")); n != 40 {
		t.Fatalf("catalog/new holds %d files, want 40", n)
	}
	for _, c := range changes {
		got, err := os.ReadFile(filepath.Join(s.Root(), c.Path))
		if err != nil || string(got) != string(c.Content) {
			t.Fatalf("%s = %q, %v; want %q", c.Path, got, err, c.Content)
		}
	}

	// Used once: a later commit writes its files itself.
	h, _ = s.Head()
	if _, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: []Change{put("catalog/new/0.json", "zero\n")}, Prestage: pre, Message: "m2", Author: sig("A B")}); err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s)
	pre.Abandon()
	if _, err := os.Lstat(filepath.Join(s.GitDir(), prestageDir)); !os.IsNotExist(err) {
		t.Fatalf("prestage dir left: %v", err)
	}
}

func TestPrestageAbandoned(t *testing.T) {
	s, pre := newPrestage(t)
	for i := range 20 {
		pre.Write(fmt.Sprintf("catalog/new/%d.json", i), []byte("x\n"), BlobHash([]byte("x\n")))
	}
	pre.Abandon()
	pre.Write("catalog/new/late.json", []byte("x\n"), BlobHash([]byte("x\n"))) // ignored
	if _, err := os.Lstat(filepath.Join(s.GitDir(), prestageDir)); !os.IsNotExist(err) {
		t.Fatalf("prestage dir left: %v", err)
	}
	// A commit of the same files after all writes them itself.
	var changes []Change
	for i := range 20 {
		changes = append(changes, put(fmt.Sprintf("catalog/new/%d.json", i), "x\n"))
	}
	h, _ := s.Head()
	if _, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: changes, Prestage: pre, Message: "m", Author: sig("A B")}); err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s)

	// A bare repository has no files to prestage.
	dir := filepath.Join(t.TempDir(), "b.git")
	git(t, t.TempDir(), "init", "-q", "--bare", dir)
	bare, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := bare.NewPrestage("", plumbing.ZeroHash); p != nil || err != nil {
		t.Fatalf("bare: %v, %v", p, err)
	}
	// Nor does a branch that is not checked out.
	if p, err := s.NewPrestage("refs/heads/elsewhere", plumbing.ZeroHash); p != nil || err != nil {
		t.Fatalf("other branch: %v, %v", p, err)
	}
	var none *Prestage
	none.Write("catalog/x/1.json", nil, plumbing.ZeroHash)
	none.Abandon()
}

// A sync that streams for over an hour keeps what it prestaged: the
// stale-staging sweep (in Recover, which Commit runs) leaves it alone.
func TestPrestageSurvivesRecover(t *testing.T) {
	s, pre := newPrestage(t)
	var changes []Change
	for i := range 20 {
		c := put(fmt.Sprintf("catalog/new/%d.json", i), fmt.Sprintf("%d\n", i))
		changes = append(changes, c)
		pre.Write(c.Path, c.Content, BlobHash(c.Content))
	}
	pre.wait()
	old := time.Now().Add(-2 * time.Hour)
	root := filepath.Join(s.GitDir(), prestageDir)
	if err := os.Chtimes(root, old, old); err != nil {
		t.Fatal(err)
	}
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	h, _ := s.Head()
	if _, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: changes, Prestage: pre, Message: "m", Author: sig("A B")}); err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s)
	if n := countFiles(t, filepath.Join(s.Root(), "catalog", "new")); n != 20 {
		t.Fatalf("catalog/new holds %d files, want 20", n)
	}
}

// With several writers, a file written more than once ends with its last
// content: one path always goes to the same writer, in order.
func TestPrestageWritersKeepOrder(t *testing.T) {
	defer func(n int) { prestageWriters = n }(prestageWriters)
	prestageWriters = 3
	s, pre := newPrestage(t)
	for i := range 500 { // a path's writes back to back: the likeliest to race
		for round := range 3 {
			c := []byte(fmt.Sprintf("%d %d\n", i, round))
			pre.Write(fmt.Sprintf("catalog/many/%d.json", i), c, BlobHash(c))
		}
	}
	files, ok := pre.written(filepath.Join(s.Root(), "catalog", "many"))
	if !ok || len(files) != 500 {
		t.Fatalf("written: %d files, ok %v", len(files), ok)
	}
	staged, _ := pre.claim(filepath.Join(s.Root(), "catalog", "many"))
	for i := range 500 {
		name := fmt.Sprintf("%d.json", i)
		want := fmt.Sprintf("%d 2\n", i)
		got, err := os.ReadFile(filepath.Join(staged, name))
		if err != nil || string(got) != want || files[name].hash != BlobHash([]byte(want)) {
			t.Fatalf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
}
