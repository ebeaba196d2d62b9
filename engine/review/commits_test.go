package review_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/go-git/go-git/v5/plumbing"
)

// Commits lists what `git log --no-merges base..HEAD -- catalog/` lists,
// in its order and with its entity files, across merges: one that brings
// in the base's line, and one (-s ours) whose side branch's catalog
// changes never reached HEAD.
func TestCommitsAsGitLog(t *testing.T) {
	r := newRepo(t)
	r.sync()
	edit := func(id, prop string) {
		t.Helper()
		k := catalog.Key{Blueprint: "project", Identifier: id}
		e := r.read(k)
		e.Properties[prop] = true
		r.write(e)
	}
	r.git("branch", "side")
	edit("payments", "a")
	a := r.commit("A: before the base")
	r.git("branch", "trunk")
	r.git("checkout", "-q", "trunk")
	edit("web-frontend", "t")
	r.commit("T: on the base's line")
	r.git("checkout", "-q", "main")
	edit("payments", "d")
	d := r.commit("D: on the branch")
	r.git("merge", "-q", "--no-edit", "trunk")
	r.git("checkout", "-q", "side")
	edit("payments", "e")
	e := r.commit("E: dropped by the merge")
	r.git("checkout", "-q", "main")
	r.git("merge", "-q", "--no-edit", "-s", "ours", "side")
	r.writeRaw("README.md", []byte("not the catalog\n"))
	r.commit("F: outside the catalog")
	r.writeRaw("catalog/project/notes.txt", []byte("not an entity\n"))
	r.commit("G: not an entity file")
	edit("payments", "h")
	h := r.commit("H: the newest")

	rp := r.open()
	from, to, err := rp.Range("", "", "trunk")
	if err != nil {
		t.Fatal(err)
	}
	if mb := strings.TrimSpace(r.git("merge-base", "trunk", "HEAD")); from.Commit.String() != mb {
		t.Fatalf("merge base %s, git's %s", from.Commit, mb)
	}
	cs, err := rp.Commits(context.Background(), from.Commit, to.Commit)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.Hash.String()+" "+strings.Join(c.Files, " "))
	}

	var want []string
	log := r.git("log", "--no-merges", "--no-renames", "--format=%x1e%H", "--name-only", from.Commit.String()+"..HEAD", "--", "catalog/")
	for _, rec := range strings.Split(log, "\x1e")[1:] {
		lines := strings.Fields(rec)
		var files []string
		for _, p := range lines[1:] {
			if rest, ok := strings.CutPrefix(p, "catalog/"); ok && strings.Count(rest, "/") == 1 && strings.HasSuffix(p, catalog.Ext) {
				files = append(files, p)
			}
		}
		if len(files) > 0 {
			slices.Sort(files)
			want = append(want, lines[0]+" "+strings.Join(files, " "))
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Commits:\n%s\ngit log:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	listed := func(h string) bool {
		return slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, h) })
	}
	for h, in := range map[string]bool{d: true, h: true, a: false, e: false} {
		if listed(h) != in {
			t.Errorf("%s listed: %v, want %v", h, !in, in)
		}
	}
	if !strings.HasPrefix(got[0], h) {
		t.Errorf("newest first: %s", got[0])
	}
}

// A range reaching past a shallow clone's boundary names the boundary.
func TestCommitsShallow(t *testing.T) {
	r := newRepo(t)
	r.sync()
	for i := range 3 {
		r.writeRaw(fmt.Sprintf("catalog/project/hand-%d.json", i), []byte(`{"identifier": "x", "blueprint": "project"}`+"\n"))
		r.commit(fmt.Sprintf("hand %d", i))
	}
	shallow := t.TempDir() + "/shallow"
	r.git("clone", "-q", "--depth", "2", "file://"+r.dir, shallow)
	rp := (&repo{t: t, dir: shallow}).open()
	head, err := rp.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := rp.Commits(context.Background(), plumbing.ZeroHash, head)
	if err != nil {
		t.Fatal(err)
	}
	// The boundary commit counts as a root, as git takes it: all its
	// entity files are new.
	if len(cs) != 2 || len(cs[0].Files) != 1 || len(cs[1].Files) < 3 {
		t.Fatalf("%d commits: %+v", len(cs), cs)
	}
}

// A config that git reads and go-git's decoder refuses (the old
// "[branch.main]" section syntax) does not stop the reader: history needs
// none of the config.
func TestOpenWithConfigGoGitRefuses(t *testing.T) {
	r := newRepo(t)
	r.sync()
	r.git("branch", "base")
	r.git("config", "branch.main.description", "x")
	f, err := os.OpenFile(filepath.Join(r.dir, ".git", "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("[branch.main]\n\tnote = old syntax\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r.git("config", "--list") // git reads it
	rp := r.open()
	from, to, err := rp.Range("", "", "base")
	if err != nil {
		t.Fatal(err)
	}
	if from.Commit != to.Commit || from.Commit.String() != r.rev("HEAD") {
		t.Fatalf("range %s..%s", from, to)
	}
}
