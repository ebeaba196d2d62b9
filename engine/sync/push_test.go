package sync

import (
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/catalog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Other", "GIT_AUTHOR_EMAIL=o@example.com", "GIT_COMMITTER_NAME=Other", "GIT_COMMITTER_EMAIL=o@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// emptyRemote gives the fixture a bare origin with no branch yet.
func emptyRemote(t *testing.T, f *fixture) string {
	remote := filepath.Join(t.TempDir(), "origin.git")
	gitIn(t, ".", "init", "-q", "--bare", "--initial-branch=main", remote)
	f.git("remote", "add", "origin", remote)
	return remote
}

// withRemote gives the fixture a bare origin holding its main branch.
func withRemote(t *testing.T, f *fixture) string {
	remote := emptyRemote(t, f)
	f.git("push", "-q", "origin", "main")
	return remote
}

// pushOptions are the fixture's options for a sync --push.
func (f *fixture) pushOptions() Options {
	o := f.options()
	o.Push = true
	return o
}

// mustPush runs a sync with o and fails the test unless it pushed.
func mustPush(t *testing.T, o Options, what string) *Result {
	t.Helper()
	res, err := Run(t.Context(), o)
	if err != nil || !res.Pushed {
		t.Fatalf("%s: %v %+v", what, err, res)
	}
	return res
}

// wantRemoteAt fails the test unless remote's main is at want and the
// remote passes git fsck --strict.
func wantRemoteAt(t *testing.T, remote, want string) {
	t.Helper()
	if got := gitIn(t, remote, "rev-parse", "main"); got != want {
		t.Fatalf("remote main = %s, want %s", got, want)
	}
	gitIn(t, remote, "fsck", "--strict")
}

// wantPushLands runs a sync --push and fails the test unless its commit
// is the remote's main and both repositories are sound.
func wantPushLands(t *testing.T, f *fixture, remote, what string) {
	t.Helper()
	res := mustPush(t, f.pushOptions(), what)
	wantRemoteAt(t, remote, res.Commit.String())
	f.checkRepo()
}

// setPreReceive installs hook as the remote's pre-receive hook.
func setPreReceive(t *testing.T, remote, hook string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(remote, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
}

// refuseFirstPush makes the remote refuse the first push it receives, as
// a server that is down would, and accept the later ones.
func refuseFirstPush(t *testing.T, remote string) {
	refused := filepath.Join(t.TempDir(), "refused")
	setPreReceive(t, remote, fmt.Sprintf("#!/bin/sh\n[ -e %[1]s ] && exit 0\ntouch %[1]s\necho 'not today' >&2\nexit 1\n", refused))
}

// otherClone clones the remote as someone else's clone.
func otherClone(t *testing.T, remote string) string {
	t.Helper()
	other := filepath.Join(t.TempDir(), "other")
	gitIn(t, ".", "clone", "-q", remote, other)
	return other
}

// pushFile commits a new file from the clone dir and pushes it.
func pushFile(t *testing.T, dir, name, content, msg string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "add", name)
	gitIn(t, dir, "commit", "-qm", msg)
	gitIn(t, dir, "push", "-q", "origin", "main")
}

// pushNotesFrom is someone else pushing a commit ("notes", adding
// NOTES.md) from their clone.
func pushNotesFrom(t *testing.T, other string) {
	t.Helper()
	pushFile(t, other, "NOTES.md", "hello\n", "notes")
}

// pushNotes is pushNotesFrom a new clone of the remote, which it returns.
func pushNotes(t *testing.T, remote string) string {
	t.Helper()
	other := otherClone(t, remote)
	pushNotesFrom(t, other)
	return other
}

// beforePush runs fn once, between the next sync's commit and its push.
func beforePush(t *testing.T, fn func()) {
	testHookBeforePush = func() {
		testHookBeforePush = nil
		fn()
	}
	t.Cleanup(func() { testHookBeforePush = nil })
}

// wantSyncOnNotes fails the test unless the remote's history is a sync
// commit on top of pushNotes' commit on top of one more.
func wantSyncOnNotes(t *testing.T, remote string) {
	t.Helper()
	log := gitIn(t, remote, "log", "--format=%s", "main")
	if lines := strings.Split(log, "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "sync: ") || lines[1] != "notes" {
		t.Fatalf("remote history:\n%s\nwant the sync (redone) on top of the other push", log)
	}
}

// wantInError fails the test (going on) for each of wants that err's
// message lacks.
func wantInError(t *testing.T, err error, wants ...string) {
	t.Helper()
	msg := err.Error()
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("error lacks %q:\n%s", w, msg)
		}
	}
}

func TestSyncPushUpdatesRemote(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	wantPushLands(t, f, withRemote(t, f), "push")
}

func TestSyncPushRedoesOnTopOfMovedRemote(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	// Someone else pushes between our commit and our push.
	other := otherClone(t, remote)
	beforePush(t, func() { pushNotesFrom(t, other) })
	mustPush(t, f.pushOptions(), "push")
	wantSyncOnNotes(t, remote)
	// Our worktree follows: it has the other push's file and is clean.
	if _, err := os.Stat(filepath.Join(f.dir, "NOTES.md")); err != nil {
		t.Fatal("the worktree lacks the remote's new file")
	}
	f.checkRepo()
	if n := strings.Count(f.git("ls-tree", "-r", "--name-only", "HEAD", "catalog/issue"), "\n"); n == 0 {
		t.Fatal("the redone sync lost its entities")
	}
}

func TestSyncOnNewBranchLeavesWorktree(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	o := f.options()
	o.Branch = "gitalog/sync"
	res, err := Run(t.Context(), o)
	if err != nil || res.Commit.IsZero() {
		t.Fatalf("sync on branch: %v", err)
	}
	if got := f.git("rev-parse", "gitalog/sync"); strings.TrimSpace(got) != res.Commit.String() {
		t.Fatalf("branch at %s, want %s", got, res.Commit)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "catalog")); !os.IsNotExist(err) {
		t.Fatal("a sync on another branch wrote the checked-out worktree")
	}
	if head := strings.TrimSpace(f.git("rev-parse", "--abbrev-ref", "HEAD")); head != "main" {
		t.Fatalf("HEAD moved to %s", head)
	}
	f.checkRepo()
	// A second sync on the branch finds nothing to do.
	res2, err := Run(t.Context(), o)
	if err != nil || !res2.NoChange {
		t.Fatalf("resync on branch: %v %+v", err, res2)
	}
}

// pushBarrier makes the remote hold each of the first n pushes after it
// received their objects and before it updates the ref, until all n have
// arrived: every one of them then read the same old ref value, and all but
// one lose the ref's compare-and-swap ("failed to update ref"), which is
// the race two clones pushing at once run into.
func pushBarrier(t *testing.T, remote string, n int) {
	dir := filepath.Join(t.TempDir(), "arrived")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The wait is bounded only so that a broken test fails instead of
	// hanging; nothing asserts on time.
	setPreReceive(t, remote, fmt.Sprintf(`#!/bin/sh
mktemp %[1]s/push.XXXXXX >/dev/null
i=0
while [ "$(ls %[1]s | wc -l)" -lt %[2]d ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
`, dir, n))
}

// cloneFixture clones remote and syncs the clone from its own fake Sentry.
func cloneFixture(t *testing.T, remote string, data *sentrytest.Dataset) *fixture {
	dir := filepath.Join(t.TempDir(), "clone")
	gitIn(t, ".", "clone", "-q", remote, dir)
	return &fixture{t: t, dir: dir, srv: sentrytest.NewHandler(data), data: data}
}

// racingClones are two clones of one remote whose Sentries differ (one
// issue is resolved in b's), so that each sync has its own change, and
// whose remote holds their pushes until both arrived.
func racingClones(t *testing.T) (a, b *fixture, remote string) {
	a = newFixture(t, sentrytest.Demo())
	remote = withRemote(t, a)
	other := sentrytest.Demo()
	other.ResolveIssue(other.IssueIDs("")[0])
	b = cloneFixture(t, remote, other)
	pushBarrier(t, remote, 2)
	return a, b, remote
}

// pushAtOnce runs a sync --push in each fixture at the same time, with
// the options edit makes, and returns their results and errors in order.
func pushAtOnce(t *testing.T, fs []*fixture, edit func(*Options)) ([]*Result, []error) {
	results := make([]*Result, len(fs))
	errs := make([]error, len(fs))
	var wg gosync.WaitGroup
	for i, f := range fs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := f.pushOptions()
			edit(&o)
			results[i], errs[i] = Run(t.Context(), o)
		}()
	}
	wg.Wait()
	return results, errs
}

func TestSyncConcurrentPushesBothLand(t *testing.T) {
	a, b, remote := racingClones(t)
	results, errs := pushAtOnce(t, []*fixture{a, b}, func(*Options) {})
	for i, err := range errs {
		if err != nil || !results[i].Pushed {
			t.Fatalf("clone %d: %v", i, err)
		}
	}
	log := gitIn(t, remote, "log", "--format=%s", "main")
	if lines := strings.Split(log, "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "sync: ") || !strings.HasPrefix(lines[1], "sync: ") {
		t.Fatalf("remote history:\n%s\nwant both syncs, one on top of the other", log)
	}
	gitIn(t, remote, "fsck", "--strict")
	for _, f := range []*fixture{a, b} {
		f.checkRepo()
		// Neither clone is left behind or diverged: the next sync of each
		// builds on the remote's head.
		if got, want := strings.TrimSpace(f.git("rev-parse", "main")), gitIn(t, remote, "rev-parse", "main"); got != want && !isAncestor(t, remote, got, want) {
			t.Fatalf("%s: main at %s, remote at %s", f.dir, got, want)
		}
		if _, err := Run(t.Context(), f.pushOptions()); err != nil {
			t.Fatalf("%s: the next sync: %v", f.dir, err)
		}
	}
}

func isAncestor(t *testing.T, dir, a, b string) bool {
	cmd := exec.Command("git", "merge-base", "--is-ancestor", a, b)
	cmd.Dir = dir
	return cmd.Run() == nil
}

// A sync that runs out of push attempts leaves its branch ahead of the
// remote, redone on top of it, so that the next sync pushes it instead of
// finding the branch diverged.
func TestSyncOutOfPushAttemptsIsAheadNotDiverged(t *testing.T) {
	a, b, remote := racingClones(t)
	_, errs := pushAtOnce(t, []*fixture{a, b}, func(o *Options) { o.PushAttempts = 1 })
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("want one push to land and one to give up, got %v and %v", errs[0], errs[1])
	}
	loser, lerr := a, errs[0]
	if errs[1] != nil {
		loser, lerr = b, errs[1]
	}
	if !errors.Is(lerr, gitstore.ErrRejected) || !strings.Contains(lerr.Error(), "out of push attempts (1)") {
		t.Fatalf("the loser's error: %v", lerr)
	}
	remoteHead := gitIn(t, remote, "rev-parse", "main")
	local := strings.TrimSpace(loser.git("rev-parse", "main"))
	if parent := strings.TrimSpace(loser.git("rev-parse", "main^")); parent != remoteHead {
		t.Fatalf("the loser's main (%s) is not one commit on top of the remote's (%s) but on %s", local, remoteHead, parent)
	}
	loser.checkRepo()
	// The next sync pushes that commit as it is. When the loser is the
	// one whose fetch missed an issue the winner wrote, its redo kept
	// that issue (it never fetched it: see TestSyncRedoKeepsWhatArrived-
	// SinceTheFetch), and the next sync, which fetches, deletes it in a
	// commit of its own on top.
	mustPush(t, loser.pushOptions(), "the next sync")
	if got := gitIn(t, remote, "rev-parse", "main"); got != local {
		gitIn(t, remote, "merge-base", "--is-ancestor", local, "main")
		if parent := gitIn(t, remote, "rev-parse", "main^"); parent != local {
			t.Fatalf("remote main %s is not the loser's commit %s or one commit on it", got, local)
		}
	}
	gitIn(t, remote, "fsck", "--strict")
}

// syncRefusedPush runs a sync --push whose push the remote refuses for
// another reason than having moved, so that its commit stays unpushed; it
// returns the options to sync again with.
func syncRefusedPush(t *testing.T, f *fixture, remote string) (Options, *Result, error) {
	t.Helper()
	refuseFirstPush(t, remote)
	o := f.pushOptions()
	res, err := Run(t.Context(), o)
	if err == nil || errors.Is(err, gitstore.ErrRejected) {
		t.Fatalf("first sync: %v, want a refused push", err)
	}
	return o, res, err
}

// A sync whose push failed for another reason than a moved remote keeps
// its commit; when the remote then moves, the next sync redoes that
// commit's change on top instead of stopping at a diverged branch.
func TestSyncRedoesUnpushedCommitAfterRemoteMoved(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	o, res, err := syncRefusedPush(t, f, remote)
	if !strings.Contains(err.Error(), "kept locally") {
		t.Fatalf("first sync: %v, want a push error that keeps the commit", err)
	}
	unpushed := res.Commit.String()

	// Someone else pushes meanwhile.
	other := pushNotes(t, remote)

	mustPush(t, o, "the next sync")
	wantSyncOnNotes(t, remote)
	if strings.Contains(gitIn(t, remote, "rev-list", "main"), unpushed) {
		t.Fatal("the unpushed commit itself reached the remote")
	}
	f.checkRepo()
	gitIn(t, remote, "fsck", "--strict")

	// A commit made by hand is never dropped: that is a real divergence.
	os.WriteFile(filepath.Join(f.dir, "MINE.md"), []byte("mine\n"), 0o644)
	f.git("add", "MINE.md")
	f.git("-c", "user.name=Me", "-c", "user.email=me@example.com", "commit", "-qm", "mine")
	gitIn(t, other, "pull", "-q", "--ff-only")
	pushFile(t, other, "MORE.md", "more\n", "more")
	if _, err := Run(t.Context(), o); err == nil || !strings.Contains(err.Error(), "have diverged") {
		t.Fatalf("a hand commit beside the remote: %v, want diverged", err)
	}
}

// A push refused because the remote moved, whose branch is then gone when
// the sync fetches it again, says so (not "%!w(<nil>)") and keeps the
// commit on the local branch.
func TestSyncPushRemoteBranchDeleted(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	// The remote deletes its branch while the push is under way, so the
	// push loses the ref update and the fetch after it finds no branch.
	setPreReceive(t, remote, "#!/bin/sh\nunset GIT_QUARANTINE_PATH\ngit update-ref -d refs/heads/main\n")
	res, err := Run(t.Context(), f.pushOptions())
	if err == nil || res == nil || res.Pushed {
		t.Fatalf("push: %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "%!") {
		t.Fatalf("the error is misformatted: %s", msg)
	}
	wantInError(t, err, "pushing main to "+remote+": the remote branch moved", "fetching it again: origin has no branch main any more", "the commit is kept locally on main")
	if head := strings.TrimSpace(f.git("rev-parse", "main")); head != res.Commit.String() {
		t.Fatalf("main at %s, want the sync's commit %s", head, res.Commit)
	}
	f.checkRepo()
}

// The first sync --push into a new, empty remote creates its branch: an
// empty remote has no branch yet, which is not a fetch error.
func TestSyncPushIntoEmptyRemote(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	wantPushLands(t, f, emptyRemote(t, f), "push into an empty remote")
}

// TestSyncPushNothingToPush: a sync that changes nothing, on a branch the
// remote has, pushes nothing and does not say "Pushed main."; a commit
// left unpushed by an earlier sync is pushed, and said so.
func TestSyncPushNothingToPush(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	o := f.options()
	o.Push = true
	if res, err := Run(t.Context(), o); err != nil || !res.Pushed {
		t.Fatalf("first sync: %v", err)
	}
	res, err := Run(t.Context(), o)
	if err != nil || !res.NoChange {
		t.Fatalf("second sync: %v %+v", err, res)
	}
	var b strings.Builder
	writeSummary(&b, res, Normal)
	if res.Pushed || strings.Contains(b.String(), "Pushed") || !strings.Contains(b.String(), "origin/main is up to date; nothing to push.") {
		t.Fatalf("nothing was pushed, but the summary says:\n%s", b.String())
	}

	// An unpushed commit (the push was refused) is pushed by a sync that
	// changes nothing itself.
	hook := filepath.Join(remote, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(d.IssueIDs("")[0]) })
	if _, err := Run(t.Context(), o); err == nil {
		t.Fatal("the refused push succeeded")
	}
	os.Remove(hook)
	res, err = Run(t.Context(), o)
	if err != nil || !res.NoChange || !res.Pushed {
		t.Fatalf("sync after the refusal: %v, pushed %v", err, res.Pushed)
	}
	if got, want := gitIn(t, remote, "rev-parse", "main"), strings.TrimSpace(f.git("rev-parse", "main")); got != want {
		t.Fatalf("remote at %s, local at %s", got, want)
	}
}

// TestSyncPushRefusedAfterCommitIsPartial: a push the remote refuses (a
// hook) after the sync committed is exit 3, not 1 ("nothing was
// committed"): the error says what was committed, that the push failed,
// and what the remote said.
func TestSyncPushRefusedAfterCommitIsPartial(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	hook := "#!/bin/sh\necho 'not today' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(remote, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	o := f.options()
	o.Push = true
	res, err := Run(t.Context(), o)
	if !errors.Is(err, catalog.ErrPartial) || res == nil || res.Commit.IsZero() {
		t.Fatalf("want a partial result with a commit, got %v", err)
	}
	for _, w := range []string{"committed " + res.Commit.String()[:12] + " on main", "push", "declined", "remote: not today", "next sync --push"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if got := strings.TrimSpace(f.git("rev-parse", "main")); got != res.Commit.String() {
		t.Fatalf("main at %s, want the commit %s kept", got, res.Commit)
	}
}

// Another writer (a push batch of serve, a job of the same source) adds a
// managed entity while a sync runs: the sync's push is refused and it is
// redone on top, and the entity it never fetched stays, in the catalog
// and in the managed list; the sync deletes only what it saw.
func TestSyncRedoKeepsWhatArrivedSinceTheFetch(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	remote := withRemote(t, f)
	mustPush(t, f.pushOptions(), "first")
	other := otherClone(t, remote)
	names := strings.Fields(gitIn(t, other, "ls-tree", "--name-only", "HEAD", "catalog/issue/"))
	if len(names) == 0 {
		t.Fatal("no issue files")
	}
	some := names[0]
	id := strings.TrimSuffix(path.Base(some), ".json")
	data, err := os.ReadFile(filepath.Join(other, some))
	if err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(other, ".gitalog", "managed", "issue.txt")
	managed, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	lines := append(strings.Fields(string(managed)), "9999999999")
	slices.Sort(lines)
	beforePush(t, func() {
		if err := os.WriteFile(list, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		gitIn(t, other, "add", ".gitalog/managed/issue.txt")
		pushFile(t, other, "catalog/issue/9999999999.json", strings.ReplaceAll(string(data), id, "9999999999"), "another writer's issue")
	})
	f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(id) })
	res := mustPush(t, f.pushOptions(), "racing")
	if slices.ContainsFunc(res.Deleted, func(e EntityRef) bool { return e.Identifier == "9999999999" }) {
		t.Errorf("the redo deleted the entity another writer added: %v", res.Deleted)
	}
	files := gitIn(t, remote, "ls-tree", "-r", "--name-only", "main", "catalog/issue/")
	if !strings.Contains(files, "catalog/issue/9999999999.json") {
		t.Error("the other writer's entity is gone from the remote")
	}
	if strings.Contains(files, "catalog/issue/"+id+".json") {
		t.Errorf("the resolved issue %s was not deleted", id)
	}
	if !strings.Contains(gitIn(t, remote, "show", "main:.gitalog/managed/issue.txt"), "9999999999") {
		t.Errorf("the other writer's entity left the managed list:\n%s\n%s", gitIn(t, remote, "show", "main:.gitalog/managed/issue.txt"), gitIn(t, remote, "log", "--stat", "-3", "main"))
	}
}
