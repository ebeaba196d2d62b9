package gitstore

import (
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// "" names HEAD wherever a ref is passed, detached or not; read as a
// missing branch it once made a sync "create" a branch from nothing.
func TestResolveRefEmptyIsHEAD(t *testing.T) {
	s := newRepo(t)
	c1 := commit(t, s, "one", put("f", "1"))
	for _, detach := range []bool{false, true} {
		if detach {
			git(t, s.Root(), "checkout", "-q", "--detach")
		}
		h, ok, err := s.ResolveRef("")
		if err != nil || !ok || h != c1 {
			t.Fatalf("detached=%v: ResolveRef(\"\") = %s, %v, %v; want %s", detach, h, ok, err, c1)
		}
	}
}

func TestCheckedOut(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("f", "1"))
	git(t, s.Root(), "branch", "side")
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, s.Root(), "worktree", "add", "-q", wt, "side")
	linked, err := Open(wt)
	if err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "bare.git")
	git(t, s.Root(), "clone", "-q", "--bare", s.Root(), bare)
	b, err := Open(bare)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    *Store
		ref  plumbing.ReferenceName
		want bool
	}{
		{"HEAD's branch", s, "refs/heads/main", true},
		{"HEAD by empty name", s, "", true},
		{"HEAD by name", s, plumbing.HEAD, true},
		{"another branch", s, "refs/heads/side", false},
		{"a missing branch", s, "refs/heads/new", false},
		{"linked worktree's own branch", linked, "refs/heads/side", true},
		{"main repository's branch from a linked worktree", linked, "refs/heads/main", false},
		{"bare", b, "refs/heads/main", false},
	}
	for _, tt := range tests {
		got, err := tt.s.CheckedOut(tt.ref)
		if err != nil || got != tt.want {
			t.Errorf("%s: CheckedOut(%q) = %v, %v; want %v", tt.name, tt.ref, got, err, tt.want)
		}
	}
	git(t, s.Root(), "checkout", "-q", "--detach")
	for ref, want := range map[plumbing.ReferenceName]bool{"": true, plumbing.HEAD: true, "refs/heads/main": false} {
		if got, err := s.CheckedOut(ref); err != nil || got != want {
			t.Errorf("detached: CheckedOut(%q) = %v, %v; want %v", ref, got, err, want)
		}
	}
}

func TestCheckedOutElsewhere(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("f", "1"))
	git(t, s.Root(), "branch", "side")
	git(t, s.Root(), "branch", "free")
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, s.Root(), "worktree", "add", "-q", wt, "side")
	linked, err := Open(wt)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    *Store
		ref  plumbing.ReferenceName
		want string
	}{
		{"the linked worktree's branch, from the main one", s, "refs/heads/side", wt},
		{"the main worktree's branch, from a linked one", linked, "refs/heads/main", s.Root()},
		{"its own branch is not elsewhere", s, "refs/heads/main", ""},
		{"nor is a linked worktree's own", linked, "refs/heads/side", ""},
		{"a branch nobody has", s, "refs/heads/free", ""},
	}
	for _, tt := range tests {
		got, err := tt.s.CheckedOutElsewhere(tt.ref)
		if err != nil || got != tt.want {
			t.Errorf("%s: CheckedOutElsewhere(%q) = %q, %v; want %q", tt.name, tt.ref, got, err, tt.want)
		}
	}
}
