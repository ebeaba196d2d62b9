package gitstore

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gogit "github.com/go-git/go-git/v5"
)

func TestRemoteMoved(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{gogit.ErrNonFastForwardUpdate, true},
		{fmt.Errorf("wrapped: %w", gogit.ErrNonFastForwardUpdate), true},
		// git-receive-pack's statuses, as go-git reports them.
		{errors.New("command error on refs/heads/main: failed to update ref"), true},
		{errors.New("command error on refs/heads/main: cannot lock ref 'refs/heads/main': is at 1111111111111111111111111111111111111111 but expected 2222222222222222222222222222222222222222"), true},
		{errors.New("command error on refs/heads/main: Cannot lock ref 'refs/heads/main': reference already exists"), true},
		{errors.New("command error on refs/heads/main: stale info"), true},
		{errors.New("! [rejected] main -> main (fetch first)"), true},
		{errors.New("! [rejected] main -> main (non-fast-forward)"), true},
		{errors.New("command error on refs/heads/main: protected branch hook declined"), false},
		{errors.New("authentication required"), false},
		{errors.New("unpack error: index-pack abnormal exit"), false},
	}
	for _, tt := range tests {
		if got := remoteMoved(tt.err); got != tt.want {
			t.Errorf("remoteMoved(%q) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// pushRepos makes a repository with one commit and a bare remote "origin"
// whose URL only the user's global git config resolves
// (url.<path>.insteadOf), which go-git does not read.
func pushRepos(t *testing.T) (*Store, string) {
	s := newRepo(t)
	commit(t, s, "one", put("a.txt", "a\n"))
	remote := filepath.Join(t.TempDir(), "remote.git")
	git(t, t.TempDir(), "init", "-q", "--bare", "-b", "main", remote)
	global := filepath.Join(t.TempDir(), "gitconfig")
	t.Setenv("GIT_CONFIG_GLOBAL", global)
	git(t, s.Root(), "config", "--file", global, "url."+remote+".insteadOf", "gitalog-test:")
	git(t, s.Root(), "remote", "add", "origin", "gitalog-test:")
	return s, remote
}

// TestPushThroughUsersGit: pushes and fetches run the user's git, so what
// their config says about a remote (here insteadOf; credential helpers
// and http.extraheader alike) applies; a push the moved remote refuses is
// ErrRejected, and a fetch then sees the remote's commit.
func TestPushThroughUsersGit(t *testing.T) {
	s, remote := pushRepos(t)
	if err := s.Push(t.Context(), "origin", "main", RemoteAuth{}); err != nil {
		t.Fatal(err)
	}
	head, _ := s.Head()
	if got := strings.TrimSpace(git(t, remote, "rev-parse", "main")); got != head.Commit.String() {
		t.Fatalf("remote main = %s, want %s", got, head.Commit)
	}
	other := pushFromElsewhere(t, remote) // someone else pushes first
	commit(t, s, "two", put("c.txt", "c\n"))
	err := s.Push(t.Context(), "origin", "main", RemoteAuth{Token: "s3cret-token"})
	if !errors.Is(err, ErrRejected) || strings.Contains(err.Error(), "s3cret-token") {
		t.Fatalf("push onto a moved remote: %v", err)
	}
	h, ok, err := s.Fetch(t.Context(), "origin", "main", RemoteAuth{})
	if err != nil || !ok || h.String() != strings.TrimSpace(git(t, other, "rev-parse", "HEAD")) {
		t.Fatalf("fetch = %s, %v, %v", h, ok, err)
	}
	if _, ok, err := s.Fetch(t.Context(), "origin", "nope", RemoteAuth{}); ok || err != nil {
		t.Fatalf("fetch of a missing branch: %v, %v", ok, err)
	}
}

// TestPushWithoutGit: without git installed, go-git's transport pushes.
func TestPushWithoutGit(t *testing.T) {
	defer func(f func() (string, error)) { lookGit = f }(lookGit)
	lookGit = func() (string, error) { return "", exec.ErrNotFound }
	s, remote := pushRepos(t)
	git(t, s.Root(), "remote", "set-url", "origin", remote)
	if err := s.Push(t.Context(), "origin", "main", RemoteAuth{}); err != nil {
		t.Fatal(err)
	}
	head, _ := s.Head()
	if got := strings.TrimSpace(git(t, remote, "rev-parse", "main")); got != head.Commit.String() {
		t.Fatalf("remote main = %s, want %s", got, head.Commit)
	}
	if h, ok, err := s.Fetch(t.Context(), "origin", "main", RemoteAuth{}); err != nil || !ok || h != head.Commit {
		t.Fatalf("fetch = %s, %v, %v", h, ok, err)
	}
}

// TestGitEnvOffersToken: a token given to gitalog reaches git as the
// credential for any http remote, in place of the user's own helpers,
// and appears nowhere on a command line.
func TestGitEnvOffersToken(t *testing.T) {
	isolate(t)
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "credential.helper")
	t.Setenv("GIT_CONFIG_VALUE_0", "!echo password=users-own #")
	cmd := exec.Command("git", "credential", "fill")
	cmd.Env = gitEnv(RemoteAuth{Token: "tok-123"})
	cmd.Stdin = strings.NewReader("protocol=https\nhost=example.com\n\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := "username=x-access-token\npassword=tok-123\n"; !strings.Contains(string(out), want) {
		t.Fatalf("git credential fill = %q, want it to contain %q", out, want)
	}
	if strings.Contains(strings.Join(cmd.Args, " "), "tok-123") {
		t.Fatal("the token is on the command line")
	}
}

// bothRoutes runs f once through the user's git and once through
// go-git's transport, as on a machine without git.
func bothRoutes(t *testing.T, f func(t *testing.T)) {
	t.Run("git", f)
	t.Run("go-git", func(t *testing.T) {
		defer func(f func() (string, error)) { lookGit = f }(lookGit)
		lookGit = func() (string, error) { return "", exec.ErrNotFound }
		f(t)
	})
}

// TestPushShowsWhatRemoteSaid: a push a hook refuses is no moved remote,
// and its error carries what the hook printed, on either route.
func TestPushShowsWhatRemoteSaid(t *testing.T) {
	bothRoutes(t, func(t *testing.T) {
		s, remote := pushRepos(t)
		git(t, s.Root(), "remote", "set-url", "origin", remote)
		hook := "#!/bin/sh\necho 'not today' >&2\nexit 1\n"
		if err := os.WriteFile(filepath.Join(remote, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
			t.Fatal(err)
		}
		err := s.Push(t.Context(), "origin", "main", RemoteAuth{})
		if err == nil || errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "remote: not today") {
			t.Fatalf("push refused by a hook: %v", err)
		}
	})
}

// TestPushFromShallowCloneOntoMovedRemote: in a depth-1 clone, a remote
// moved to a commit the clone lacks is ErrRejected (the caller fetches
// and redoes), on either route, not "object not found".
func TestPushFromShallowCloneOntoMovedRemote(t *testing.T) {
	bothRoutes(t, func(t *testing.T) {
		s, remote := pushRepos(t)
		commit(t, s, "two", put("b.txt", "b\n"))
		git(t, s.Root(), "push", "-q", remote, "main")
		shallow := filepath.Join(t.TempDir(), "shallow")
		git(t, t.TempDir(), "clone", "-q", "--depth", "1", "file://"+remote, shallow)
		other := filepath.Join(t.TempDir(), "other")
		git(t, t.TempDir(), "clone", "-q", remote, other)
		git(t, other, "commit", "-q", "--allow-empty", "-m", "theirs")
		git(t, other, "push", "-q", "origin", "main")
		sh, err := Open(shallow)
		if err != nil {
			t.Fatal(err)
		}
		commit(t, sh, "mine", put("c.txt", "c\n"))
		if err := sh.Push(t.Context(), "origin", "main", RemoteAuth{}); !errors.Is(err, ErrRejected) {
			t.Fatalf("push from a shallow clone onto a moved remote: %v", err)
		}
	})
}

// git's messages are read for what they say (a missing remote branch, a
// refused update), so they must not come translated: a German git
// reports both in German.
func TestRemoteMessagesUntranslated(t *testing.T) {
	t.Setenv("LANGUAGE", "de")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("LC_ALL", "")
	s, remote := pushRepos(t)
	if _, ok, err := s.Fetch(t.Context(), "origin", "nope", RemoteAuth{}); ok || err != nil {
		t.Fatalf("fetch of a missing branch: %v, %v", ok, err)
	}
	if err := s.Push(t.Context(), "origin", "main", RemoteAuth{}); err != nil {
		t.Fatal(err)
	}
	pushFromElsewhere(t, remote)
	commit(t, s, "two", put("c.txt", "c\n"))
	if err := s.Push(t.Context(), "origin", "main", RemoteAuth{}); !errors.Is(err, ErrRejected) {
		t.Fatalf("push onto a moved remote: %v", err)
	}
}

// What a user's git reads through an include (a remote, the identity)
// gitalog reads too.
func TestConfigIncludes(t *testing.T) {
	s, remote := pushRepos(t)
	git(t, s.Root(), "remote", "remove", "origin")
	inc := filepath.Join(t.TempDir(), "inc.gitconfig")
	os.WriteFile(inc, []byte("[user]\n\tname = Included Person\n\temail = inc@x\n"), 0o644)
	git(t, s.Root(), "config", "--file", os.Getenv("GIT_CONFIG_GLOBAL"), "include.path", inc)
	rinc := filepath.Join(t.TempDir(), "remote.gitconfig")
	os.WriteFile(rinc, []byte("[remote \"origin\"]\n\turl = "+remote+"\n"), 0o644)
	git(t, s.Root(), "config", "include.path", rinc)
	if got := s.DefaultSignature(); got.Name != "Included Person" || got.Email != "inc@x" {
		t.Errorf("identity = %+v", got)
	}
	if u, err := s.RemoteURL("origin"); err != nil || u != remote {
		t.Errorf("RemoteURL = %q, %v", u, err)
	}
	if err := s.Push(t.Context(), "origin", "main", RemoteAuth{}); err != nil {
		t.Fatal(err)
	}
}

// pushFromElsewhere pushes a commit to remote's main from another clone,
// which it returns.
func pushFromElsewhere(t *testing.T, remote string) string {
	t.Helper()
	other := filepath.Join(t.TempDir(), "other")
	git(t, t.TempDir(), "clone", "-q", remote, other)
	os.WriteFile(filepath.Join(other, "b.txt"), []byte("b\n"), 0o644)
	git(t, other, "add", "b.txt")
	git(t, other, "commit", "-qm", "theirs")
	git(t, other, "push", "-q", "origin", "main")
	return other
}
