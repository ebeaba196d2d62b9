package sync

import (
	"context"
	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/scaffold"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestSyncSpoolsLargeSync: a sync with more new files than the spool's
// threshold (1024) stores their blobs through it: one pack with them all,
// no temp pack left, the worktree complete, git content. A resync that
// changes a few files does not spool.
func TestSyncSpoolsLargeSync(t *testing.T) {
	for _, bare := range []bool{false, true} {
		name := map[bool]string{false: "worktree", true: "bare"}[bare]
		t.Run(name, func(t *testing.T) {
			data := sentrytest.Generate(sentrytest.GenOptions{Seed: 3, Projects: 3, Issues: 8000})
			f := newFixture(t, data)
			if bare {
				f.dir = filepath.Join(t.TempDir(), "catalog.git")
				if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", f.dir).CombinedOutput(); err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: f.dir, Author: testAuthor, Extra: testrepo.PortFiles()}); err != nil {
					t.Fatal(err)
				}
			}
			o := f.options()
			o.ConfigPath = issueConfig(t)
			// Items encoded before the target's catalog is read keep
			// their bytes (nothing says yet that they are new); without
			// the item cache to load first, those are the first few.
			o.NoCache = true
			res, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			n := res.Counts["issue"].Created
			if n < 4000 {
				t.Fatalf("only %d issues created", n)
			}
			f.git("fsck", "--strict", "--no-dangling")
			packs, _ := filepath.Glob(filepath.Join(gitDirOf(t, f.dir), "objects", "pack", "*"))
			var idx []string
			for _, p := range packs {
				switch {
				case strings.HasSuffix(p, ".idx"):
					idx = append(idx, p)
				case strings.Contains(filepath.Base(p), "tmp_"):
					t.Fatalf("temp file left: %s", p)
				}
			}
			// The spooled pack, and the commit's own with the first 1024
			// blobs, the trees and the commit.
			if len(idx) != 2 {
				t.Fatalf("%d packs after the first sync, want 2", len(idx))
			}
			blobs := 0
			for _, p := range idx {
				blobs += strings.Count(f.git("verify-pack", "-v", p), " blob ")
			}
			if blobs < n {
				t.Fatalf("%d blobs in packs for %d new files", blobs, n)
			}
			files := strings.Count(f.git("ls-tree", "-r", "--name-only", "HEAD", "catalog/issue"), "\n")
			if files != n {
				t.Fatalf("HEAD has %d issue files, want %d", files, n)
			}
			if !bare {
				f.checkRepo()
				ents, err := os.ReadDir(filepath.Join(f.dir, "catalog", "issue"))
				if err != nil || len(ents) != n {
					t.Fatalf("worktree holds %d issue files (%v), want %d", len(ents), err, n)
				}
			}

			// A small change: no new pack.
			f.srv.Update(func(d *sentrytest.Dataset) {
				d.AddIssue(d.Projects[0].Slug, "KeyError: 'x'", "app in f", "error")
			})
			before := len(idx)
			if _, err := Run(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			after, _ := filepath.Glob(filepath.Join(gitDirOf(t, f.dir), "objects", "pack", "*.idx"))
			if len(after) != before {
				t.Fatalf("a one-issue resync added a pack: %d -> %d", before, len(after))
			}
			f.git("fsck", "--strict", "--no-dangling")
		})
	}
}

func gitDirOf(t *testing.T, dir string) string {
	if fi, err := os.Stat(filepath.Join(dir, ".git")); err == nil && fi.IsDir() {
		return filepath.Join(dir, ".git")
	}
	return dir
}
