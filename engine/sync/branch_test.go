package sync

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// A refused --branch fails before Sentry is asked anything and leaves no
// ref behind; refs/heads/x commits on x.
func TestSyncRefusesBadBranch(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	for _, name := range []string{"HEAD", "-x", "a..b"} {
		o := f.options()
		o.Branch = name
		_, err := Run(t.Context(), o)
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
	res, err := Run(t.Context(), o)
	if err != nil || res.Branch != "x" {
		t.Fatalf("--branch refs/heads/x: %v, branch %q", err, res.Branch)
	}
	f.git("rev-parse", "--verify", "refs/heads/x")
	if out, err := exec.Command("git", "-C", f.dir, "rev-parse", "--verify", "-q", "refs/heads/refs/heads/x").Output(); err == nil {
		t.Fatalf("refs/heads/refs/heads/x exists: %s", out)
	}
}
