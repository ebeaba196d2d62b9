package gitstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// With eol=crlf in .gitattributes (or core.autocrlf, as Git for Windows
// sets it), git checks text files out with CRLF and calls them clean; the
// worktree check compares them as git adds them, with LF. Without such a
// setting a file whose line endings changed is a local change.
func TestWorktreeCRLFCheckout(t *testing.T) {
	for _, attrs := range []bool{true, false} {
		s := newRepo(t)
		changes := []Change{put("c/a.txt", "one\ntwo\n")}
		if attrs {
			changes = append(changes, put(".gitattributes", "*.txt text eol=crlf\n"))
		}
		commit(t, s, "base", changes...)
		full := filepath.Join(s.Root(), "c", "a.txt")
		if attrs {
			os.Remove(full)
			git(t, s.Root(), "checkout", "--", "c/a.txt")
		} else {
			os.WriteFile(full, []byte("one\r\ntwo\r\n"), 0o644)
		}
		if b, _ := os.ReadFile(full); string(b) != "one\r\ntwo\r\n" {
			t.Fatalf("checkout wrote %q", b)
		}
		later := time.Now().Add(2 * time.Second)
		os.Chtimes(full, later, later) // stale stat data: the content is compared
		if st := git(t, s.Root(), "status", "--porcelain"); attrs != (st == "") {
			t.Fatalf("eol setting %v: git status = %q", attrs, st)
		}
		h, _ := s.Head()
		_, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: []Change{put("c/a.txt", "three\n")}, Message: "c", Author: sig("A B")})
		switch {
		case attrs && err != nil:
			t.Errorf("eol=crlf: a CRLF checkout git calls clean was refused: %v", err)
		case !attrs && !errors.Is(err, ErrDirty):
			t.Errorf("no eol setting: CRLF line endings are a local change, err = %v", err)
		}
	}
}
