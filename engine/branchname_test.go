package engine

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

func TestBranchRef(t *testing.T) {
	for _, tc := range []struct {
		name, want string // want "" means refused
	}{
		{"main", "refs/heads/main"},
		{"catalog/sentry", "refs/heads/catalog/sentry"},
		{"refs/heads/x", "refs/heads/x"},
		{"HEAD", ""},
		{"refs/heads/HEAD", ""},
		{"-x", ""},
		{"", ""},
		{"refs/tags/v1", ""},
		{"a..b", ""},
		{"a b", ""},
		{"a~1", ""},
		{"x.lock", ""},
		{".x", ""},
		{"x/", ""},
		{"x//y", ""},
		{"@", ""},
		{"a@{1}", ""},
		{"x.", ""},
		{`a\b`, ""},
	} {
		got, err := branchRef(tc.name)
		if tc.want == "" {
			if err == nil {
				t.Errorf("branchRef(%q) = %s, want an error", tc.name, got)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("branchRef(%q) = %s, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}

// git itself must agree on every name it takes as a branch: what it
// refuses, branchRef refuses (refs/heads/x aside, which git would nest,
// and "@", which git expands to the checked-out branch).
func TestBranchRefAgreesWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	for _, name := range []string{"main", "a/b", "HEAD", "-x", "a..b", "a b", "x.lock", ".x", "x/", "a@{1}", "x.", "a:b", "a?b", "a*b", "a[b"} {
		cmd := exec.Command("git", "check-ref-format", "--branch", name)
		cmd.Dir = t.TempDir()
		gitOK := cmd.Run() == nil
		_, err := branchRef(name)
		if gitOK != (err == nil) {
			t.Errorf("%q: git accepts it: %v, branchRef: %v", name, gitOK, err)
		}
	}
}

// A refused --branch fails before Sentry is asked anything and leaves no
// ref behind; refs/heads/x commits on x.
func TestSyncRefusesBadBranch(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	for _, name := range []string{"HEAD", "-x", "a..b"} {
		o := f.options()
		o.Branch = name
		_, err := Sync(t.Context(), o)
		if err == nil || !strings.Contains(err.Error(), "not a valid branch name") {
			t.Errorf("--branch %q: %v, want a refusal", name, err)
		}
	}
	if refs := f.git("for-each-ref", "--format=%(refname)", "refs/heads/"); strings.TrimSpace(refs) != "refs/heads/main" {
		t.Fatalf("refs after refused branches:\n%s", refs)
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests to Sentry before the refusal", n)
	}
	o := f.options()
	o.Branch = "refs/heads/x"
	res, err := Sync(t.Context(), o)
	if err != nil || res.Branch != "x" {
		t.Fatalf("--branch refs/heads/x: %v, branch %q", err, res.Branch)
	}
	f.git("rev-parse", "--verify", "refs/heads/x")
	if out, err := exec.Command("git", "-C", f.dir, "rev-parse", "--verify", "-q", "refs/heads/refs/heads/x").Output(); err == nil {
		t.Fatalf("refs/heads/refs/heads/x exists: %s", out)
	}
}

func TestInitRefusesBadBranch(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(t.Context(), InitOptions{Dir: dir, Branch: "HEAD", Author: testAuthor}); err == nil || !strings.Contains(err.Error(), "not a valid branch name") {
		t.Fatalf("init --branch HEAD: %v, want a refusal", err)
	}
}
