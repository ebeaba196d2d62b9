package review_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/go-git/go-git/v5/plumbing"
)

func gitAt(t *testing.T, dir, date string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=H", "GIT_AUTHOR_EMAIL=h@x", "GIT_COMMITTER_NAME=H", "GIT_COMMITTER_EMAIL=h@x",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// X, then Y on top of X with a clock behind X's; two merges of (Y, X).
// Their best common ancestor is Y (X is Y's parent): git merge-base says Y.
func TestMergeBaseClockSkew(t *testing.T) {
	r := newRepo(t)
	r.sync()
	edit := func(id, prop string) {
		e := r.read(catalog.Key{Blueprint: "project", Identifier: id})
		e.Properties[prop] = true
		r.write(e)
	}
	edit("payments", "x")
	gitAt(t, r.dir, "2026-01-01T00:10:00Z", "commit", "-q", "-m", "X")
	x := r.rev("HEAD")
	edit("payments", "y")
	gitAt(t, r.dir, "2026-01-01T00:01:00Z", "commit", "-q", "-m", "Y, clock behind")
	y := r.rev("HEAD")
	b := gitAt(t, r.dir, "2026-01-01T01:00:00Z", "commit-tree", y+"^{tree}", "-p", y, "-p", x, "-m", "base merge")
	a := gitAt(t, r.dir, "2026-01-01T01:00:00Z", "commit-tree", y+"^{tree}", "-p", y, "-p", x, "-m", "head merge")
	want := gitAt(t, r.dir, "2026-01-01T01:00:00Z", "merge-base", b, a)
	got, err := r.open().MergeBase(plumbing.NewHash(b), plumbing.NewHash(a))
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != want {
		t.Errorf("MergeBase = %s, git merge-base = %s (Y = %s, X = %s)", got, want, y, x)
	}
}

// A merge whose catalog equals the merge base's (here: -s ours of a side
// branch) hides the side branch from git log base..HEAD -- catalog/, as
// the merge base is the walk's bottom.
func TestCommitsMergeSameAsBase(t *testing.T) {
	r := newRepo(t)
	r.sync()
	base := r.rev("HEAD")
	r.git("checkout", "-q", "-b", "side")
	e := r.read(catalog.Key{Blueprint: "project", Identifier: "payments"})
	e.Properties["s"] = true
	r.write(e)
	r.commit("S: hand edit on a side branch")
	r.git("checkout", "-q", "main")
	r.git("merge", "-q", "--no-edit", "-s", "ours", "side")
	gitLog := strings.TrimSpace(r.git("log", "--no-merges", "--format=%H", base+"..HEAD", "--", "catalog/"))
	cs, err := r.open().Commits(context.Background(), plumbing.NewHash(base), plumbing.NewHash(r.rev("HEAD")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.Hash.String())
	}
	if strings.Join(got, "\n") != gitLog {
		t.Errorf("Commits = %q, git log = %q", got, gitLog)
	}
}

// A tag of a tag (git tag -a t2 t1) resolves to the commit at its end, as
// git rev-parse t2^{commit} does.
func TestResolveNestedTag(t *testing.T) {
	r := newRepo(t)
	r.sync()
	r.git("tag", "-a", "-m", "t1", "t1")
	r.git("tag", "-a", "-m", "t2", "t2", "t1")
	h, err := r.open().Resolve("t2")
	if err != nil || h.String() != r.rev("HEAD") {
		t.Fatalf("Resolve(t2) = %s, %v; want %s", h, err, r.rev("HEAD"))
	}
}

// X^{tree} names a tree, not a commit: refused, as git log refuses it,
// rather than read as X.
func TestResolveRefusesTree(t *testing.T) {
	r := newRepo(t)
	r.sync()
	rp := r.open()
	for _, rev := range []string{"HEAD^{tree}", "HEAD^{blob}"} {
		if h, err := rp.Resolve(rev); err == nil {
			t.Errorf("Resolve(%s) = %s, want an error", rev, h)
		}
	}
	for _, rev := range []string{"HEAD^{commit}", "HEAD^{}"} {
		if h, err := rp.Resolve(rev); err != nil || h.String() != r.rev("HEAD") {
			t.Errorf("Resolve(%s) = %s, %v", rev, h, err)
		}
	}
}
