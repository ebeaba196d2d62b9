package gitstore

import (
	"path/filepath"
	"strings"
	"testing"
)

// A clone made with --shared (or --reference) reads its objects from the
// source's object store through objects/info/alternates, as CI systems'
// reference repositories do: its history is readable and a commit lands.
func TestSharedClone(t *testing.T) {
	src := newRepo(t)
	commit(t, src, "base", put("catalog/a.json", "{}\n"), put("b.txt", "b\n"))
	dir := filepath.Join(t.TempDir(), "shared")
	git(t, t.TempDir(), "clone", "-q", "--shared", src.Root(), dir)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Head()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(h.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := snap.ReadFile("b.txt"); err != nil || string(b) != "b\n" {
		t.Fatalf("b.txt = %q, %v", b, err)
	}
	if _, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: []Change{put("catalog/c.json", "{}\n")}, Message: "c", Author: sig("A B")}); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "fsck", "--strict")
	if st := git(t, dir, "status", "--porcelain"); strings.TrimSpace(st) != "" {
		t.Fatalf("status: %s", st)
	}
}
