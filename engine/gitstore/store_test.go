package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

func TestInitAndFirstCommit(t *testing.T) {
	s := newRepo(t)
	h, err := s.Head()
	if err != nil {
		t.Fatal(err)
	}
	if h.Ref != "refs/heads/main" || !h.Commit.IsZero() {
		t.Fatalf("fresh head = %+v", h)
	}
	if s.Bare() || s.GitDir() != filepath.Join(s.Root(), ".git") {
		t.Fatalf("bare=%v gitdir=%s", s.Bare(), s.GitDir())
	}
	c := commit(t, s, "first sync\n\nbody", put("README.md", "hello\n"), put("catalog/issue/1.json", `{"id":1}`), put("catalog/issue/2.json", `{"id":2}`))
	checkRepo(t, s)
	if got := git(t, s.Root(), "log", "--format=%an%n%ae%n%cn%n%s"); got != "Ada Lovelace\nada.lovelace@example.com\nGitalog Bot\nfirst sync\n" {
		t.Fatalf("git log = %q", got)
	}
	if got := git(t, s.Root(), "show", "HEAD:catalog/issue/1.json"); got != `{"id":1}` {
		t.Fatalf("show = %q", got)
	}
	if got := strings.TrimSpace(git(t, s.Root(), "rev-parse", "HEAD")); got != c.String() {
		t.Fatalf("HEAD = %s, want %s", got, c)
	}
	if got := git(t, s.Root(), "reflog", "--format=%gs"); got != "commit (initial): first sync\n" {
		t.Fatalf("reflog = %q", got)
	}
	// Opening an existing repository through Init is fine.
	if _, err := Init(s.Root(), "other"); err != nil {
		t.Fatal(err)
	}
}

func TestInitDefaultBranchFromConfig(t *testing.T) {
	isolate(t)
	home, _ := os.UserHomeDir()
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[init]\n\tdefaultBranch = trunk\n"), 0o644)
	s, err := Init(filepath.Join(t.TempDir(), "r"), "")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := s.Head(); h.Ref != "refs/heads/trunk" {
		t.Fatalf("head = %s", h.Ref)
	}
	s2, err := Init(filepath.Join(t.TempDir(), "r2"), "develop")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := s2.Head(); h.Ref != "refs/heads/develop" {
		t.Fatalf("head = %s", h.Ref)
	}
}

func TestSecondCommitNested(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one",
		put("catalog/issue/1.json", "1"), put("catalog/issue/2.json", "2"),
		put("catalog/project/p.json", "p"), put("catalog/old/x.json", "x"), put("top.txt", "t"))
	c2 := commit(t, s, "two",
		put("catalog/issue/1.json", "1b"), del("catalog/issue/2.json"), put("catalog/issue/3.json", "3"),
		del("catalog/old/x.json"), put("catalog/new/deep/er/y.json", "y"), del("missing/file"))
	checkRepo(t, s)
	if got := git(t, s.Root(), "log", "--format=%an%n%s"); got != "Ada Lovelace\ntwo\nAda Lovelace\none\n" {
		t.Fatalf("log = %q", got)
	}
	if got := git(t, s.Root(), "show", "HEAD:catalog/issue/1.json"); got != "1b" {
		t.Fatalf("show = %q", got)
	}
	files := git(t, s.Root(), "ls-tree", "-r", "--name-only", "HEAD")
	want := "catalog/issue/1.json\ncatalog/issue/3.json\ncatalog/new/deep/er/y.json\ncatalog/project/p.json\ntop.txt\n"
	if files != want {
		t.Fatalf("ls-tree = %q", files)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "catalog/old")); !os.IsNotExist(err) {
		t.Fatalf("empty dir catalog/old not removed: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.Root(), "catalog/new/deep/er/y.json")); string(b) != "y" {
		t.Fatalf("worktree y.json = %q", b)
	}
	// Unchanged subtrees keep their ids.
	if a, b := git(t, s.Root(), "rev-parse", "HEAD~1:catalog/project"), git(t, s.Root(), "rev-parse", "HEAD:catalog/project"); a != b {
		t.Fatal("unchanged subtree was rewritten")
	}

	sn, err := s.Snapshot(c2)
	if err != nil {
		t.Fatal(err)
	}
	es, err := sn.ReadDir("catalog/issue")
	if err != nil || len(es) != 2 || es[0].Name != "1.json" || es[1].Name != "3.json" || es[0].Hash != BlobHash([]byte("1b")) {
		t.Fatalf("ReadDir = %+v, %v", es, err)
	}
	if es, err := sn.ReadDir("catalog/nope"); es != nil || err != nil {
		t.Fatalf("missing dir = %v, %v", es, err)
	}
	if e, ok := sn.Lookup("catalog/new"); !ok || e.Mode != filemode.Dir {
		t.Fatalf("Lookup dir = %+v %v", e, ok)
	}
	if _, ok := sn.Lookup("catalog/issue/2.json"); ok {
		t.Fatal("deleted file still found")
	}
	if b, err := sn.ReadFile("top.txt"); err != nil || string(b) != "t" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := sn.ReadFile("nope"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadFile missing: %v", err)
	}
	if sn.TreeHash().String() != strings.TrimSpace(git(t, s.Root(), "rev-parse", "HEAD^{tree}")) {
		t.Fatal("TreeHash mismatch")
	}
	empty, _ := s.Snapshot(plumbing.ZeroHash)
	if es, err := empty.ReadDir(""); es != nil || err != nil {
		t.Fatalf("empty snapshot: %v %v", es, err)
	}
}

func TestFileDirSwapsAndModes(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("a", "file"), put("d/x", "x"), put("d/y", "y"), put("bin/run", "#!/bin/sh\n"))
	git(t, s.Root(), "update-index", "--chmod=+x", "bin/run")
	os.Chmod(filepath.Join(s.Root(), "bin/run"), 0o755)
	git(t, s.Root(), "commit", "-qm", "exec")
	commit(t, s, "swap", del("a"), put("a/b", "now a dir"), put("bin/run", "#!/bin/sh\necho\n"), del("d/x"), del("d/y"))
	checkRepo(t, s)
	commit(t, s, "swap back", del("a"), put("d", "now a file"))
	checkRepo(t, s)
	if got := git(t, s.Root(), "ls-tree", "-r", "HEAD"); !strings.Contains(got, "100755 blob") {
		t.Fatalf("executable bit lost:\n%s", got)
	}
	// Conflicting change sets are refused up front.
	h, _ := s.Head()
	for _, chs := range [][]Change{
		{put("bin", "x")},                  // bin is a directory
		{put("d/z", "x")},                  // d is a file
		{put("n", "1"), put("n/m", "2")},   // both
		{put("dup", "1"), put("dup", "2")}, // twice
		{put("../x", "1")},
		{put(".git/config", "1")},
		{put("x/.GIT/y", "1")},
		{put("/abs", "1")},
	} {
		if _, err := s.Commit(context.Background(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: chs, Author: sig("A")}); err == nil {
			t.Errorf("commit of %v succeeded", chs)
		}
	}
}

func TestTreeOrder(t *testing.T) {
	s := newRepo(t)
	var chs []Change
	for _, p := range []string{"a.b", "a-b", "a/x", "a0", "ab", "a b", "a_", "b.c/d", "b-c", "b/c", "bc", "é", "Z", "z/z", "z.z", "z-z"} {
		chs = append(chs, put(p, p))
	}
	commit(t, s, "order", chs...)
	checkRepo(t, s)
	// Modify into the middle of the ordering to exercise the merge path.
	commit(t, s, "order2", put("a,", "x"), put("a/y", "y"), put("a.c/q", "q"), del("a0"))
	checkRepo(t, s)
	sn, _ := s.Snapshot(mustHead(t, s))
	for _, p := range []string{"a", "a.b", "a-b", "a/x", "a/y", "a.c/q", "z.z", "z/z"} {
		if _, ok := sn.Lookup(p); !ok {
			t.Errorf("Lookup(%q) failed", p)
		}
	}
}

func mustHead(t testing.TB, s *Store) plumbing.Hash {
	h, err := s.Head()
	if err != nil {
		t.Fatal(err)
	}
	return h.Commit
}

func TestBareRepository(t *testing.T) {
	isolate(t)
	dir := filepath.Join(t.TempDir(), "bare.git")
	git(t, t.TempDir(), "init", "-q", "--bare", "-b", "main", dir)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Bare() || s.Root() != dir || s.GitDir() != dir {
		t.Fatalf("bare=%v root=%s", s.Bare(), s.Root())
	}
	commit(t, s, "bare one", put("catalog/issue/1.json", "1"))
	commit(t, s, "bare two", put("catalog/issue/2.json", "2"))
	checkRepo(t, s)
	if got := git(t, dir, "log", "--format=%s", "main"); got != "bare two\nbare one\n" {
		t.Fatalf("log = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "index")); err == nil {
		t.Fatal("bare repo got an index")
	}
}

func TestRefMoved(t *testing.T) {
	s := newRepo(t)
	c1 := commit(t, s, "one", put("f", "1"))
	git(t, s.Root(), "commit", "-q", "--allow-empty", "-m", "someone else")
	_, err := s.Commit(context.Background(), CommitRequest{Parent: c1, Ref: "refs/heads/main", Changes: []Change{put("f", "2")}, Author: sig("A")})
	if !errors.Is(err, ErrRefMoved) {
		t.Fatalf("err = %v, want ErrRefMoved", err)
	}
	// Unborn parent against an existing branch.
	_, err = s.Commit(context.Background(), CommitRequest{Ref: "refs/heads/main", Changes: []Change{put("f", "2")}, Author: sig("A")})
	if !errors.Is(err, ErrRefMoved) {
		t.Fatalf("err = %v, want ErrRefMoved", err)
	}
	checkRepo(t, s)
	if b, _ := os.ReadFile(filepath.Join(s.Root(), "f")); string(b) != "1" {
		t.Fatalf("worktree touched by failed commit: %q", b)
	}
}

func TestRefMovedUnderLock(t *testing.T) {
	// The early check passes but the CAS must still catch a move that
	// happens while objects are written.
	s := newRepo(t)
	c1 := commit(t, s, "one", put("f", "1"))
	c2 := commit(t, s, "two", put("f", "2"))
	if err := s.casRef("refs/heads/main", c1, c2, sig("A"), "x"); !errors.Is(err, ErrRefMoved) {
		t.Fatalf("cas err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.GitDir(), "refs/heads/main.lock")); err == nil {
		t.Fatal("ref lock left behind")
	}
}

func TestNoChanges(t *testing.T) {
	s := newRepo(t)
	if _, err := s.Commit(context.Background(), CommitRequest{Ref: "refs/heads/main", Author: sig("A")}); !errors.Is(err, ErrNoChanges) {
		t.Fatalf("empty unborn commit: %v", err)
	}
	c := commit(t, s, "one", put("f", "1"), put("d/g", "2"))
	for _, chs := range [][]Change{nil, {put("f", "1")}, {del("nope")}, {put("d/g", "2"), del("d/h")}} {
		_, err := s.Commit(context.Background(), CommitRequest{Parent: c, Ref: "refs/heads/main", Changes: chs, Author: sig("A")})
		if !errors.Is(err, ErrNoChanges) {
			t.Fatalf("%v: err = %v", chs, err)
		}
	}
	checkRepo(t, s)
}

func TestDeleteEverything(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("a/b", "1"))
	commit(t, s, "gone", del("a"))
	checkRepo(t, s)
	if got := strings.TrimSpace(git(t, s.Root(), "rev-parse", "HEAD^{tree}")); got != emptyTree.String() {
		t.Fatalf("tree = %s", got)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "a")); !os.IsNotExist(err) {
		t.Fatal("a not removed")
	}
}

func TestCheckWorktree(t *testing.T) {
	s := newRepo(t)
	c := commit(t, s, "one", put("catalog/issue/1.json", "1"), put("catalog/issue/2.json", "2"), put("catalog/issue/3.json", "3"))
	paths := []string{"catalog/issue/1.json", "catalog/issue/2.json", "catalog/issue/3.json", "catalog/issue/4.json"}
	if err := s.CheckWorktree(c, paths); err != nil {
		t.Fatalf("clean worktree: %v", err)
	}
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(filepath.Join(s.Root(), "catalog/issue/1.json"), []byte("hand edit"), 0o644)
	os.Remove(filepath.Join(s.Root(), "catalog/issue/2.json"))
	os.WriteFile(filepath.Join(s.Root(), "catalog/issue/4.json"), []byte("new"), 0o644)
	err := s.CheckWorktree(c, paths)
	var de *DirtyError
	if !errors.Is(err, ErrDirty) || !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	if want := []string{"catalog/issue/1.json", "catalog/issue/2.json", "catalog/issue/4.json"}; !reflect.DeepEqual(de.Paths, want) {
		t.Fatalf("dirty = %v", de.Paths)
	}
	if !strings.Contains(err.Error(), "catalog/issue/1.json") {
		t.Fatalf("message = %v", err)
	}
	// Same size, same mtime second: only content (or ctime) can tell.
	os.WriteFile(filepath.Join(s.Root(), "catalog/issue/3.json"), []byte("X"), 0o644)
	if err := s.CheckWorktree(c, []string{"catalog/issue/3.json"}); !errors.Is(err, ErrDirty) {
		t.Fatalf("same-size edit not caught: %v", err)
	}
	// Restoring the content makes it clean again even though stat changed.
	os.WriteFile(filepath.Join(s.Root(), "catalog/issue/3.json"), []byte("3"), 0o644)
	if err := s.CheckWorktree(c, []string{"catalog/issue/3.json"}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckWorktreeUsesStat(t *testing.T) {
	s := newRepo(t)
	c := commit(t, s, "one", put("f", "1"), put("d/g", "2"))
	// The stat data gitstore wrote into the index must match what lstat
	// reports, or every check would rehash.
	before := testHashCount.Load()
	if err := s.CheckWorktree(c, []string{"f", "d/g"}); err != nil {
		t.Fatal(err)
	}
	if n := testHashCount.Load() - before; n != 0 {
		t.Fatalf("hashed %d files despite matching stat data", n)
	}
	os.WriteFile(filepath.Join(s.Root(), "f"), []byte("2"), 0o644)
	if err := s.CheckWorktree(c, []string{"f", "d/g"}); !errors.Is(err, ErrDirty) {
		t.Fatalf("err = %v", err)
	}
	if n := testHashCount.Load() - before; n != 1 {
		t.Fatalf("hashed %d files, want only the touched one", n)
	}
}

func TestRecoverAfterCrash(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("catalog/issue/1.json", "1"), put("catalog/issue/2.json", "2"), put("gone/x", "x"))
	crash := errors.New("simulated crash")
	testHookAfterCAS = func() error { return crash }
	h, _ := s.Head()
	c2, err := s.Commit(context.Background(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Author: sig("A"),
		Changes: []Change{put("catalog/issue/1.json", "1b"), del("catalog/issue/2.json"), put("catalog/issue/3.json", "3"), del("gone/x")}})
	testHookAfterCAS = nil
	if !errors.Is(err, crash) {
		t.Fatal(err)
	}
	// The repository is consistent even now; only the worktree lags.
	git(t, s.Root(), "fsck", "--strict", "--no-dangling")
	if st := git(t, s.Root(), "status", "--porcelain"); st == "" {
		t.Fatal("expected a stale worktree before Recover")
	}
	// Leave a torn temp file behind, as a kill during a write would.
	os.WriteFile(filepath.Join(s.Root(), "catalog/issue/.3.json.gitalog-tmp"), []byte("tor"), 0o644)
	s2, err := Open(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Recover(); err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s2)
	if mustHead(t, s2) != c2 {
		t.Fatal("head moved")
	}
	if err := s2.Recover(); err != nil { // nothing pending
		t.Fatal(err)
	}

	// A journal for a CAS that never happened is dropped without effect.
	s2.writeJournal(journal{old: c2, new: plumbing.NewHash("1111111111111111111111111111111111111111")})
	if err := s2.Recover(); err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s2)
}

func TestCommitToOtherBranchLeavesWorktree(t *testing.T) {
	s := newRepo(t)
	c1 := commit(t, s, "one", put("f", "1"))
	git(t, s.Root(), "branch", "side")
	_, err := s.Commit(context.Background(), CommitRequest{Parent: c1, Ref: "refs/heads/side", Changes: []Change{put("f", "side")}, Author: sig("A")})
	if err != nil {
		t.Fatal(err)
	}
	checkRepo(t, s)
	if got := git(t, s.Root(), "show", "side:f"); got != "side" {
		t.Fatalf("side:f = %q", got)
	}
}

func TestDetachedHead(t *testing.T) {
	s := newRepo(t)
	c1 := commit(t, s, "one", put("f", "1"))
	git(t, s.Root(), "checkout", "-q", "--detach")
	h, _ := s.Head()
	if h.Ref != "" || h.Commit != c1 {
		t.Fatalf("head = %+v", h)
	}
	c2 := commit(t, s, "two", put("f", "2"))
	checkRepo(t, s)
	if got := strings.TrimSpace(git(t, s.Root(), "rev-parse", "HEAD")); got != c2.String() {
		t.Fatal("detached HEAD not moved")
	}
	if got := strings.TrimSpace(git(t, s.Root(), "rev-parse", "main")); got != c1.String() {
		t.Fatal("main moved")
	}
}

func TestLinkedWorktree(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("f", "1"))
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, s.Root(), "worktree", "add", "-q", "-b", "feature", wt)
	w, err := Open(wt)
	if err != nil {
		t.Fatal(err)
	}
	if w.Bare() || w.Root() != wt {
		t.Fatalf("worktree store: %+v", w)
	}
	h, _ := w.Head()
	if h.Ref != "refs/heads/feature" {
		t.Fatalf("head = %+v", h)
	}
	commit(t, w, "in worktree", put("g/h", "2"))
	checkRepo(t, w)
	checkRepo(t, s)
	if got := git(t, s.Root(), "log", "--format=%s", "feature"); got != "in worktree\none\n" {
		t.Fatalf("log = %q", got)
	}
}

func TestOpenErrors(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	_, err := Open(dir)
	if !errors.Is(err, ErrNotRepository) {
		t.Fatalf("err = %v", err)
	}
	if want := `"` + dir + `" is not a git repository (run "gitalog init")`; err.Error() != want {
		t.Fatalf("message = %q", err)
	}
	s, err := Init(filepath.Join(dir, "r"), "")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(s.Root(), "sub/dir"), 0o755)
	_, err = Open(filepath.Join(s.Root(), "sub/dir"))
	if !errors.Is(err, ErrNotRoot) || !strings.Contains(err.Error(), s.Root()) {
		t.Fatalf("subdir err = %v", err)
	}
	if _, err := Open(s.GitDir()); !errors.Is(err, ErrNotRoot) {
		t.Fatalf(".git err = %v", err)
	}
}

func TestSignatures(t *testing.T) {
	s := newRepo(t)
	if got := s.DefaultSignature(); got.Name != "gitalog" || got.Email != "gitalog@localhost" || got.When.IsZero() {
		t.Fatalf("fallback = %+v", got)
	}
	home, _ := os.UserHomeDir()
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[user]\n\tname = Global Name\n\temail = global@x\n"), 0o644)
	if got := s.DefaultSignature(); got.Name != "Global Name" || got.Email != "global@x" {
		t.Fatalf("global = %+v", got)
	}
	git(t, s.Root(), "config", "user.name", "Repo Name")
	if got := s.DefaultSignature(); got.Name != "Repo Name" || got.Email != "global@x" {
		t.Fatalf("repo = %+v", got)
	}
	t.Setenv("GIT_AUTHOR_NAME", "Env Name")
	t.Setenv("GIT_AUTHOR_EMAIL", "env@x")
	if got := s.DefaultSignature(); got.Name != "Env Name" || got.Email != "env@x" {
		t.Fatalf("env = %+v", got)
	}
	sg, err := ParseSignature("  Grace Hopper <grace@navy.mil> ")
	if err != nil || sg.Name != "Grace Hopper" || sg.Email != "grace@navy.mil" {
		t.Fatalf("parse = %+v %v", sg, err)
	}
	for _, bad := range []string{"", "no email", "<only@email>", "a <b> <c>", "x <y"} {
		if _, err := ParseSignature(bad); err == nil {
			t.Errorf("ParseSignature(%q) succeeded", bad)
		}
	}
}

func TestLockContention(t *testing.T) {
	s := newRepo(t)
	ctx := context.Background()
	unlock, err := s.Lock(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var err2 error
	go func() {
		defer wg.Done()
		_, err2 = s.Lock(ctx, 100*time.Millisecond)
	}()
	wg.Wait()
	if !errors.Is(err2, ErrLocked) || !strings.Contains(err2.Error(), filepath.Join(s.commonDir, lockName)) {
		t.Fatalf("second lock: %v", err2)
	}

	// A waiter gets the lock once the holder lets go, and only then.
	var order []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	wg.Add(1)
	go func() {
		defer wg.Done()
		u, err := s.Lock(ctx, 5*time.Second)
		if err != nil {
			t.Error(err)
			return
		}
		note("second")
		u()
	}()
	time.Sleep(50 * time.Millisecond)
	note("first done")
	unlock()
	unlock() // idempotent
	wg.Wait()
	if !reflect.DeepEqual(order, []string{"first done", "second"}) {
		t.Fatalf("order = %v", order)
	}

	cctx, cancel := context.WithCancel(ctx)
	u, _ := s.Lock(ctx, time.Second)
	defer u()
	cancel()
	if _, err := s.Lock(cctx, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

// TestStagedDirWithSubdir: a new directory with enough files to be staged
// and a subdirectory too small to be: the subdirectory's file, written in
// place, must not create the staged directory before its rename.
func TestStagedDirWithSubdir(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "base", put("a.txt", "a\n"))
	var files []Change
	for i := 0; i < 20; i++ {
		files = append(files, put(fmt.Sprintf("catalog/new/%d.json", i), "x\n"))
	}
	for i := 0; i < 20; i++ {
		files = append(files, put(fmt.Sprintf("catalog/new/big/%d.json", i), "y\n"))
	}
	files = append(files, put("catalog/new/sub/deep/y.json", "y\n"))
	commit(t, s, "new", files...)
	checkRepo(t, s)
}

// A gitalog killed between taking the index's lock and renaming it into
// place leaves the lock and the temp file it is a link of: the next commit
// removes both. A lock that is not such a link (git's own) still blocks.
func TestStrandedIndexLock(t *testing.T) {
	s := newRepo(t)
	commit(t, s, "one", put("f", "1"))
	lock := filepath.Join(s.GitDir(), "index.lock")
	tmp, err := os.CreateTemp(s.GitDir(), tmpPrefix)
	if err != nil {
		t.Fatal(err)
	}
	tmp.WriteString("half an index")
	tmp.Close()
	if err := os.Link(tmp.Name(), lock); err != nil {
		t.Fatal(err)
	}
	// Hours later: the sweep of old temp files must keep this one.
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(tmp.Name(), old, old); err != nil {
		t.Fatal(err)
	}
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	commit(t, s, "two", put("f", "2"))
	checkRepo(t, s)
	for _, p := range []string{lock, tmp.Name()} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Fatalf("%s left: %v", p, err)
		}
	}

	if err := os.WriteFile(lock, nil, 0o644); err != nil { // git's
		t.Fatal(err)
	}
	h, _ := s.Head()
	_, err = s.Commit(t.Context(), CommitRequest{Parent: h.Commit, Ref: h.Ref, Changes: []Change{put("f", "3")}, Message: "three", Author: sig("A")})
	if !errors.Is(err, errLockExists) || !strings.Contains(err.Error(), "index.lock") {
		t.Fatalf("commit with git's index.lock: %v", err)
	}
	if _, err := os.Lstat(lock); err != nil {
		t.Fatalf("git's lock removed: %v", err)
	}
}
