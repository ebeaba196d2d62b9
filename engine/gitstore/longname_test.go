package gitstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// git checks out and updates any name the filesystem allows (255 bytes);
// the temp name ".<name>.gitalog-tmp" is 13 bytes longer.
func TestLongNameChange(t *testing.T) {
	s := newRepo(t)
	name := "docs/" + strings.Repeat("x", 240) + ".md" // 243-byte file name: fine for git
	commit(t, s, "base", put(name, "v1\n"))
	h, _ := s.Head()
	_, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: []Change{put(name, "v2\n")}, Message: "change", Author: sig("A B")})
	if err != nil {
		t.Fatalf("change: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(s.Root(), name)); err != nil || string(b) != "v2\n" {
		t.Fatalf("%s holds %q (%v), want v2", name, b, err)
	}
	h2, _ := s.Head()
	_, err = s.Commit(t.Context(), CommitRequest{Parent: h2.Commit, Ref: h2.Ref, Changes: []Change{put("other.txt", "o\n")}, Message: "next", Author: sig("A B")})
	if err != nil {
		t.Errorf("repository stuck after a change to a long name: %v", err)
	}
}
