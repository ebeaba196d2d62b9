package gitstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSymlinkedDirRefused: a directory the commit writes into or deletes
// from that is a symbolic link in the worktree (untracked, so the tree
// cannot tell) would have files written or removed where it points, and
// git would then show every tracked file under it as deleted. The commit
// is refused before the ref moves, and nothing outside is touched.
func TestSymlinkedDirRefused(t *testing.T) {
	cases := []struct {
		name    string
		base    []Change
		link    string // made a symlink to an outside dir holding the same files
		changes []Change
	}{
		{"catalog", nil, "catalog", []Change{put("catalog/issue/1.json", "1\n")}},
		{"blueprint folder", []Change{put("catalog/issue/1.json", "1\n")}, "catalog/issue", []Change{put("catalog/issue/2.json", "2\n")}},
		{"deletion below", []Change{put("catalog/issue/1.json", "1\n"), put("catalog/issue/2.json", "2\n")}, "catalog/issue", []Change{del("catalog/issue/1.json")}},
		{"managed lists", []Change{put("catalog/issue/1.json", "1\n")}, ".gitalog", []Change{put(".gitalog/managed/issue.txt", "1.json\n")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newRepo(t)
			commit(t, s, "base", append(tc.base, put("README", "r\n"))...)
			outside := filepath.Join(t.TempDir(), "outside")
			link := filepath.Join(s.Root(), filepath.FromSlash(tc.link))
			if _, err := os.Lstat(link); err == nil {
				if err := os.Rename(link, outside); err != nil {
					t.Fatal(err)
				}
			} else if err := os.MkdirAll(outside, 0o777); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Dir(link), 0o777)
			if err := os.Symlink(outside, link); err != nil {
				t.Fatal(err)
			}
			before := listFiles(t, outside)
			h, _ := s.Head()
			_, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: tc.changes, Message: "m", Author: sig("A B")})
			if err == nil || !strings.Contains(err.Error(), tc.link+" is a symbolic link") {
				t.Fatalf("commit through a symlinked %s: err = %v", tc.link, err)
			}
			if after, _ := s.Head(); after.Commit != h.Commit {
				t.Fatal("the ref moved")
			}
			if after := listFiles(t, outside); after != before {
				t.Fatalf("the symlink's target changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			git(t, s.Root(), "fsck", "--strict")
			if _, err := os.Stat(filepath.Join(s.GitDir(), "index.lock")); err == nil {
				t.Fatal("index.lock left behind")
			}
		})
	}
}

// TestTrackedSymlinkReplacedByDir: a symlink the old tree tracks, which the
// commit replaces with a directory, is removed first, not refused.
func TestTrackedSymlinkReplacedByDir(t *testing.T) {
	s := newRepo(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(s.Root(), "catalog")); err != nil {
		t.Fatal(err)
	}
	git(t, s.Root(), "add", "catalog")
	git(t, s.Root(), "commit", "-qm", "link")
	commit(t, s, "dir", del("catalog"), put("catalog/issue/1.json", "1\n"))
	checkRepo(t, s)
	if fi, err := os.Lstat(filepath.Join(s.Root(), "catalog")); err != nil || !fi.IsDir() {
		t.Fatalf("catalog: %v, %v", fi, err)
	}
	if n := countFiles(t, outside); n != 0 {
		t.Fatalf("%d files written into the old link's target", n)
	}
}
