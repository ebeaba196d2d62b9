package gitstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// spoolAll makes the spool take blobs from the first one.
func spoolAll(t *testing.T) {
	old := spoolMin
	spoolMin = 0
	t.Cleanup(func() { spoolMin = old })
}

func packFiles(t *testing.T, s *Store, pattern string) []string {
	t.Helper()
	ms, err := filepath.Glob(filepath.Join(s.GitDir(), "objects", "pack", pattern))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestSpool: blobs spooled during a sync are committed without their
// bytes: the commit publishes the spooled pack, writes the rest, checks
// out files from the bytes the caller kept or by reading the pack, and git
// accepts all of it. Bare or not.
func TestSpool(t *testing.T) {
	for _, bare := range []bool{false, true} {
		t.Run(fmt.Sprintf("bare=%v", bare), func(t *testing.T) {
			isolate(t)
			spoolAll(t)
			dir := filepath.Join(t.TempDir(), "repo")
			if bare {
				git(t, t.TempDir(), "init", "-q", "--bare", "-b", "main", dir)
			}
			s, err := Init(dir, "")
			if err != nil {
				t.Fatal(err)
			}
			commit(t, s, "base", put("old/a.json", "a\n"), put("old/b.json", "b\n"))
			h, _ := s.Head()
			sp := s.NewSpool()
			defer sp.Abandon()
			var changes []Change
			for i := range 600 {
				// 300 distinct contents: duplicates are spooled once.
				body := []byte(fmt.Sprintf("{\"n\": %d}\n", i%300))
				c := Change{Path: fmt.Sprintf("catalog/new/%d.json", i), Hash: BlobHash(body)}
				if i%2 == 0 {
					c.Content = body // kept for the checkout, as a sync does
				}
				if !sp.Add(c.Hash, body) {
					t.Fatal("Add refused")
				}
				changes = append(changes, c) // odd ones: no Content, the spool has it
			}
			changes = append(changes, put("old/a.json", "a2\n"), del("old/b.json"))
			if got := packFiles(t, s, "pack-*.pack"); len(got) != 0 {
				t.Fatalf("packs visible before the commit: %v", got)
			}
			c, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: changes,
				Spool: sp, Message: "spooled", Author: sig("A B")})
			if err != nil {
				t.Fatal(err)
			}
			checkRepo(t, s)
			if got := git(t, s.Root(), "cat-file", "-p", c.String()+":catalog/new/421.json"); got != "{\"n\": 121}\n" {
				t.Fatalf("catalog/new/421.json = %q", got)
			}
			if n := strings.Count(git(t, s.Root(), "verify-pack", "-v", packFiles(t, s, "pack-*.idx")[0]), " blob "); n != 300 {
				t.Fatalf("%d blobs in the spooled pack, want 300", n)
			}
			if got := packFiles(t, s, "tmp_*"); len(got) != 0 {
				t.Fatalf("temp files left: %v", got)
			}
			if !bare {
				b, err := os.ReadFile(filepath.Join(s.Root(), "catalog", "new", "599.json"))
				if err != nil || string(b) != "{\"n\": 299}\n" {
					t.Fatalf("worktree file: %q, %v", b, err)
				}
			}
		})
	}
}

// TestSpoolAbandoned: a sync that does not commit leaves no pack and no
// temp file, and a change without bytes that nobody spooled is refused.
func TestSpoolAbandoned(t *testing.T) {
	spoolAll(t)
	s := newRepo(t)
	commit(t, s, "base", put("a.txt", "a\n"))
	h, _ := s.Head()
	sp := s.NewSpool()
	body := []byte("spooled\n")
	sp.Add(BlobHash(body), body)
	if got := packFiles(t, s, tmpPackPrefix+"*"); len(got) != 1 {
		t.Fatalf("spool files: %v", got)
	}
	other := BlobHash([]byte("never spooled\n"))
	_, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Spool: sp, Message: "m", Author: sig("A B"),
		Changes: []Change{{Path: "x.json", Hash: BlobHash(body)}, {Path: "y.json", Hash: other}}})
	if err == nil || !strings.Contains(err.Error(), "y.json: no content for blob "+other.String()) {
		t.Fatalf("commit of an unspooled change without content: %v", err)
	}
	sp.Abandon()
	if got := packFiles(t, s, "*"); len(got) != 0 {
		t.Fatalf("left in objects/pack: %v", got)
	}
	if h2, _ := s.Head(); h2.Commit != h.Commit {
		t.Fatal("HEAD moved")
	}
	checkRepo(t, s)
	if sp.Add(BlobHash(body), body) {
		t.Fatal("an abandoned spool took a blob")
	}
}

// TestSpoolSurvivesRecover: a sync streaming for hours keeps its spool
// when the commit's Recover sweeps temp files an hour old.
func TestSpoolSurvivesRecover(t *testing.T) {
	spoolAll(t)
	s := newRepo(t)
	commit(t, s, "base", put("a.txt", "a\n"))
	h, _ := s.Head()
	sp := s.NewSpool()
	defer sp.Abandon()
	body := []byte("spooled long ago\n")
	sp.Add(BlobHash(body), body)
	old := time.Now().Add(-2 * time.Hour)
	for _, m := range packFiles(t, s, tmpPackPrefix+"*") {
		if err := os.Chtimes(m, old, old); err != nil {
			t.Fatal(err)
		}
	}
	// A stale temp pack of a killed run goes, ours stays.
	stale := filepath.Join(s.GitDir(), "objects", "pack", tmpPackPrefix+"killed")
	if err := os.WriteFile(stale, []byte("PACK"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(stale, old, old)
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale spool kept: %v", err)
	}
	if _, err := s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Spool: sp, Message: "m", Author: sig("A B"),
		Changes: []Change{{Path: "x.json", Hash: BlobHash(body)}}}); err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s)
}

// TestSpoolSmallSync: the first spoolMin blobs are left to the caller, so
// a small sync writes no pack of its own.
func TestSpoolSmallSync(t *testing.T) {
	s := newRepo(t)
	sp := s.NewSpool()
	defer sp.Abandon()
	for i := range spoolMin + 3 {
		body := []byte(fmt.Sprintf("%d\n", i))
		if got := sp.Add(BlobHash(body), body); got != (i >= spoolMin) {
			t.Fatalf("blob %d: Add = %v", i, got)
		}
	}
}
