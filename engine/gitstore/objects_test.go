package gitstore

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestReadObjectMatchesGit reads large trees and blobs, loose and then
// deltified by git repack, through readObject (go-git's object storage)
// and the tree cache, and compares them with git cat-file. (go-git's LargeObjectThreshold fails
// this on the deltified trees, which is why the Store does not set it.)
func TestReadObjectMatchesGit(t *testing.T) {
	isolate(t)
	dir := filepath.Join(t.TempDir(), "repo")
	git(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)

	hashIn := func(content string) string {
		cmd := exec.Command("git", "hash-object", "-w", "--stdin")
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(content)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	mktree := func(lines []string) string {
		cmd := exec.Command("git", "mktree")
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	var big strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&big, "line %d of a large blob\n", i)
	}
	blobs := []string{hashIn(big.String()), hashIn(big.String() + "one more line\n"), hashIn("small\n")}
	var trees []string
	for v := 0; v < 3; v++ {
		var lines []string
		for i := 0; i < 3000; i++ {
			b := blobs[2]
			if i%1000 == v {
				b = blobs[v%2]
			}
			lines = append(lines, fmt.Sprintf("100644 blob %s\t%08d.json", b, i))
		}
		trees = append(trees, mktree(lines))
	}
	all := append(append([]string{}, blobs...), trees...)

	check := func(stage string) {
		t.Helper()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, hx := range all {
			want := git(t, dir, "cat-file", "-p", hx)
			typ := strings.TrimSpace(git(t, dir, "cat-file", "-t", hx))
			raw, err := exec.Command("git", "-C", dir, "cat-file", typ, hx).Output()
			if err != nil {
				t.Fatal(err)
			}
			gotTyp, got, err := s.readObject(plumbing.NewHash(hx))
			if err != nil {
				t.Fatalf("%s: %s: %v", stage, hx, err)
			}
			if gotTyp.String() != typ || !bytes.Equal(got, raw) {
				for i := range got {
					if got[i] != raw[i] {
						t.Logf("first diff at %d: %q vs %q", i, got[max(0, i-40):i+40], raw[max(0, i-40):i+40])
						break
					}
				}
				t.Fatalf("%s: %s differs from git cat-file (%s, %d vs %d bytes)", stage, hx, gotTyp, len(got), len(raw))
			}
			if typ == "tree" {
				es, err := s.readTree(plumbing.NewHash(hx))
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				for _, e := range es {
					fmt.Fprintf(&b, "%06o blob %s\t%s\n", uint32(e.Mode), e.Hash, e.Name)
				}
				if b.String() != want {
					t.Fatalf("%s: tree %s parses differently from git cat-file -p", stage, hx)
				}
			}
		}
	}
	check("loose")
	parent := ""
	for _, tr := range trees {
		args := []string{"commit-tree", tr, "-m", "v"}
		if parent != "" {
			args = append(args, "-p", parent)
		}
		parent = strings.TrimSpace(git(t, dir, args...))
	}
	git(t, dir, "update-ref", "refs/heads/main", parent)
	git(t, dir, "repack", "-adf", "--depth=10", "--window=10")
	if out := git(t, dir, "count-objects", "-v"); !strings.Contains(out, "count: 0") {
		t.Fatalf("objects left loose after repack:\n%s", out)
	}
	// The pack must hold deltas, or this test does not test them.
	idx, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	vp := git(t, dir, "verify-pack", "-v", idx[0])
	if !strings.Contains(vp, "chain length = 1") {
		t.Fatalf("repack made no deltas:\n%s", vp)
	}
	check("packed, offset deltas")
	// Deltas naming their base by id, as packs from some servers do.
	git(t, dir, "-c", "repack.useDeltaBaseOffset=false", "repack", "-adf", "--depth=10", "--window=10")
	idx, _ = filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	if vp := git(t, dir, "verify-pack", "-v", idx[0]); !strings.Contains(vp, "chain length = 1") {
		t.Fatalf("repack made no deltas:\n%s", vp)
	}
	check("packed, ref deltas")

	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.readObject(plumbing.Hash{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("a missing object: %v", err)
	}
}

func TestTreeCacheBudget(t *testing.T) {
	defer func(v int) { treeCacheBudget = v }(treeCacheBudget)
	treeCacheBudget = 10
	var c treeCache
	h := func(i byte) plumbing.Hash { return plumbing.Hash{i} }
	c.put(h(1), make([]Entry, 4))
	c.put(h(2), make([]Entry, 4))
	if _, ok := c.get(h(1)); !ok { // 1 is now the most recent
		t.Fatal("tree 1 missing")
	}
	c.put(h(3), make([]Entry, 3)) // evicts 2, the least recent
	if _, ok := c.get(h(2)); ok {
		t.Fatal("tree 2 should have been evicted")
	}
	if _, ok := c.get(h(1)); !ok {
		t.Fatal("tree 1 evicted")
	}
	c.put(h(4), make([]Entry, 20)) // over the whole budget: not cached
	if _, ok := c.get(h(4)); ok || c.entries > treeCacheBudget {
		t.Fatalf("budget exceeded: %d entries", c.entries)
	}
}

// TestDiffTreesUnsorted: a tree out of canonical order (git fsck flags it,
// but it can exist) is paired by name like a sorted one.
func TestDiffTreesUnsorted(t *testing.T) {
	a := []Entry{{Name: "b", Hash: plumbing.Hash{1}, Mode: 0o100644}, {Name: "a", Hash: plumbing.Hash{2}, Mode: 0o100644}}
	b := []Entry{{Name: "a", Hash: plumbing.Hash{2}, Mode: 0o100644}, {Name: "b", Hash: plumbing.Hash{3}, Mode: 0o100644}}
	trees := map[plumbing.Hash][]Entry{{0xa}: a, {0xb}: b}
	read := func(h plumbing.Hash) ([]Entry, error) { return trees[h], nil }
	for _, sorted := range []bool{false, true} {
		if sorted {
			sortEntries(a)
		}
		var ops []fileOp
		if err := diffTrees(read, plumbing.Hash{0xa}, plumbing.Hash{0xb}, "", &ops); err != nil {
			t.Fatal(err)
		}
		if len(ops) != 1 || ops[0].Path != "b" || ops[0].Old.Hash != (plumbing.Hash{1}) || ops[0].New.Hash != (plumbing.Hash{3}) {
			t.Fatalf("sorted=%v: ops = %+v", sorted, ops)
		}
	}
}
