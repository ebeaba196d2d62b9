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

// withLinkedWorktree makes a repository with a commit on main, checked
// out, and a branch side checked out in a linked worktree at wt.
func withLinkedWorktree(t *testing.T) (s, linked *Store, wt string) {
	t.Helper()
	s = newRepo(t)
	commit(t, s, "one", put("f", "1"))
	git(t, s.Root(), "branch", "side")
	wt = filepath.Join(t.TempDir(), "wt")
	git(t, s.Root(), "worktree", "add", "-q", wt, "side")
	linked, err := Open(wt)
	if err != nil {
		t.Fatal(err)
	}
	return s, linked, wt
}

// refCase is what a Store, asked about a ref, should answer.
type refCase[T comparable] struct {
	name string
	s    *Store
	ref  plumbing.ReferenceName
	want T
}

// checkRefCases runs a table of questions about refs through one Store
// method, ask, which failures name as method.
func checkRefCases[T comparable](t *testing.T, method string, ask func(*Store, plumbing.ReferenceName) (T, error), cases []refCase[T]) {
	t.Helper()
	for _, tt := range cases {
		got, err := ask(tt.s, tt.ref)
		if err != nil || got != tt.want {
			t.Errorf("%s: %s(%q) = %#v, %v; want %#v", tt.name, method, tt.ref, got, err, tt.want)
		}
	}
}

func TestCheckedOut(t *testing.T) {
	s, linked, _ := withLinkedWorktree(t)
	bare := filepath.Join(t.TempDir(), "bare.git")
	git(t, s.Root(), "clone", "-q", "--bare", s.Root(), bare)
	b, err := Open(bare)
	if err != nil {
		t.Fatal(err)
	}
	checkRefCases(t, "CheckedOut", (*Store).CheckedOut, []refCase[bool]{
		{"HEAD's branch", s, "refs/heads/main", true},
		{"HEAD by empty name", s, "", true},
		{"HEAD by name", s, plumbing.HEAD, true},
		{"another branch", s, "refs/heads/side", false},
		{"a missing branch", s, "refs/heads/new", false},
		{"linked worktree's own branch", linked, "refs/heads/side", true},
		{"main repository's branch from a linked worktree", linked, "refs/heads/main", false},
		{"bare", b, "refs/heads/main", false},
	})
	git(t, s.Root(), "checkout", "-q", "--detach")
	for ref, want := range map[plumbing.ReferenceName]bool{"": true, plumbing.HEAD: true, "refs/heads/main": false} {
		if got, err := s.CheckedOut(ref); err != nil || got != want {
			t.Errorf("detached: CheckedOut(%q) = %v, %v; want %v", ref, got, err, want)
		}
	}
}

func TestCheckedOutElsewhere(t *testing.T) {
	s, linked, wt := withLinkedWorktree(t)
	git(t, s.Root(), "branch", "free")
	checkRefCases(t, "CheckedOutElsewhere", (*Store).CheckedOutElsewhere, []refCase[string]{
		{"the linked worktree's branch, from the main one", s, "refs/heads/side", wt},
		{"the main worktree's branch, from a linked one", linked, "refs/heads/main", s.Root()},
		{"its own branch is not elsewhere", s, "refs/heads/main", ""},
		{"nor is a linked worktree's own", linked, "refs/heads/side", ""},
		{"a branch nobody has", s, "refs/heads/free", ""},
	})
}
