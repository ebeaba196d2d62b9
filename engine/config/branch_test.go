package config

import (
	"os/exec"
	"testing"
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
		got, err := BranchRef(tc.name)
		if tc.want == "" {
			if err == nil {
				t.Errorf("BranchRef(%q) = %s, want an error", tc.name, got)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("BranchRef(%q) = %s, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}

// git itself must agree on every name it takes as a branch: what it
// refuses, BranchRef refuses (refs/heads/x aside, which git would nest,
// and "@", which git expands to the checked-out branch).
func TestBranchRefAgreesWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	for _, name := range []string{"main", "a/b", "HEAD", "-x", "a..b", "a b", "x.lock", ".x", "x/", "a@{1}", "x.", "a:b", "a?b", "a*b", "a[b"} {
		cmd := exec.Command("git", "check-ref-format", "--branch", name)
		cmd.Dir = t.TempDir()
		gitOK := cmd.Run() == nil
		_, err := BranchRef(name)
		if gitOK != (err == nil) {
			t.Errorf("%q: git accepts it: %v, BranchRef: %v", name, gitOK, err)
		}
	}
}
