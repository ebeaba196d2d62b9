package gitstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// ErrRejected is a push the remote refused because its branch moved.
var ErrRejected = errors.New("the remote branch moved")

// ResolveRef returns the commit a ref points at; exists is false when the
// ref is missing. "" means HEAD, as in CommitRequest and MoveRef.
func (s *Store) ResolveRef(name plumbing.ReferenceName) (plumbing.Hash, bool, error) {
	return s.resolveRef(cmp.Or(name, plumbing.HEAD))
}

// CheckedOut reports whether moving ref (as a CommitRequest or MoveRef
// names it) changes what the worktree and index should hold: only then
// must they be checked for local changes and updated.
func (s *Store) CheckedOut(ref plumbing.ReferenceName) (bool, error) {
	target, err := s.targetRef(ref)
	if err != nil {
		return false, err
	}
	return s.checkedOut(target), nil
}

// MoveRef moves ref from old to new by compare-and-swap and, when ref is
// checked out, brings the worktree and index along by the same protocol
// as Commit (see land); files that would change must not have local
// modifications.
//
// A ref nothing is checked out on (a notify state ref) moves without
// Recover: its callers hold no sync lock, and Recover would take a commit
// in flight in another goroutine or process (its index.lock, its worktree
// journal) for one a crash stranded.
func (s *Store) MoveRef(ctx context.Context, ref plumbing.ReferenceName, old, new plumbing.Hash, msg string) error {
	target, err := s.targetRef(ref)
	if err != nil {
		return err
	}
	checkedOut := s.checkedOut(target)
	if checkedOut {
		if err := s.Recover(); err != nil {
			return err
		}
	}
	if old == new {
		return nil
	}
	var upd *update
	if checkedOut {
		// Planned before the ref moves, as for a commit: what can refuse
		// the update (a symlinked directory, a file where a directory
		// goes, hand edits) refuses the move.
		if upd, err = s.planMove(old, new, nil); err != nil {
			return err
		}
	}
	_, err = s.land(target, old, new, upd, s.DefaultSignature(), msg)
	return err
}

// IsAncestor reports whether a is reachable from b. In a shallow clone
// the commits at the boundary (.git/shallow) count as having no parents,
// as git's own merge-base --is-ancestor takes them: their parents were
// never fetched.
func (s *Store) IsAncestor(a, b plumbing.Hash) (bool, error) {
	shallow, err := s.st.Shallow()
	seen := map[plumbing.Hash]bool{b: true}
	for _, h := range shallow {
		seen[h] = true
	}
	for queue := []plumbing.Hash{b}; len(queue) > 0 && err == nil && a != b; queue = queue[1:] {
		if slices.Contains(shallow, queue[0]) {
			continue
		}
		var ps []plumbing.Hash
		ps, err = s.Parents(queue[0])
		for _, p := range ps {
			if p == a {
				return true, nil
			}
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return a == b, err
}

// Parents returns a commit's parents, first parent first.
func (s *Store) Parents(h plumbing.Hash) ([]plumbing.Hash, error) {
	c, err := s.commit(h)
	if err != nil {
		return nil, err
	}
	return c.ParentHashes, nil
}

// Message returns a commit's message.
func (s *Store) Message(h plumbing.Hash) (string, error) {
	c, err := s.commit(h)
	if err != nil {
		return "", err
	}
	return c.Message, nil
}

// RemoteAuth is what push and fetch authenticate with: Token is offered
// for http(s) remotes. ssh remotes use the user's git setup, or, through
// go-git, the ssh agent.
type RemoteAuth struct {
	Username string // default "x-access-token" (GitHub's convention for tokens)
	Token    string
}

// RemoteURL returns the URL of a named remote, as git config gives it
// (includes followed when git is installed).
func (s *Store) RemoteURL(remote string) (string, error) {
	if u := s.configGetter(`^remote\..*\.url$`)("remote." + remote + ".url"); u != "" {
		return u, nil
	}
	return "", fmt.Errorf("remote %q: %w", remote, gogit.ErrRemoteNotFound)
}

// lookGit finds the user's git; tests replace it to take go-git's path.
var lookGit = func() (string, error) { return exec.LookPath("git") }

// transfer runs a fetch or push through the user's git when there is one,
// so that what they set up for their remotes (credential helpers, the
// http.extraheader actions/checkout writes, insteadOf, ssh commands)
// applies; it never prompts, and a token given to gitalog is offered by a
// credential helper that reads it from the environment, never from the
// command line. Without git, go-git's transport runs goGit. Errors are
// redacted; what the remote said is in them.
func (s *Store) transfer(ctx context.Context, u string, auth RemoteAuth, args []string, goGit func(*gogit.Repository, transport.AuthMethod, io.Writer) error) error {
	if gitPath, err := lookGit(); err == nil {
		cmd := exec.CommandContext(ctx, gitPath, append([]string{"-C", s.root}, args...)...)
		cmd.Env = gitEnv(auth)
		out, err := cmd.CombinedOutput()
		s.reindex() // a fetch may have added a pack
		if err != nil {
			return redact(fmt.Errorf("git %s: %s", args[0], cmp.Or(strings.TrimSpace(string(out)), err.Error())), auth.Token)
		}
		return nil
	}
	repo, err := gogit.Open(s.st, nil)
	if err != nil {
		return err
	}
	var am transport.AuthMethod
	if ep, err := transport.NewEndpoint(u); err == nil && auth.Token != "" && (ep.Protocol == "http" || ep.Protocol == "https") {
		am = &githttp.BasicAuth{Username: cmp.Or(auth.Username, "x-access-token"), Password: auth.Token}
	}
	// go-git passes what the remote says (a hook's stderr: why it
	// refused) only to a progress writer.
	var said bytes.Buffer
	s.mu.Lock()
	err = goGit(repo, am, &said)
	s.mu.Unlock()
	var nm gogit.NoMatchingRefSpecError
	switch {
	case err == nil, errors.Is(err, gogit.NoErrAlreadyUpToDate):
		return nil
	case errors.As(err, &nm), errors.Is(err, transport.ErrEmptyRemoteRepository), errors.Is(err, gogit.ErrNonFastForwardUpdate):
		return err // classified by the caller; these hold no secrets
	}
	if m := remoteMessages(said.Bytes()); m != "" {
		err = fmt.Errorf("%w\n%s", err, m)
	}
	return redact(err, auth.Token)
}

func gitEnv(auth RemoteAuth) []string {
	// LC_ALL=C: git's messages are read for what they say (a missing
	// remote branch, a refused update), so they must come untranslated.
	env := append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	if auth.Token == "" {
		return env
	}
	n, _ := strconv.Atoi(os.Getenv("GIT_CONFIG_COUNT"))
	return append(env, "GITALOG_GIT_USER="+cmp.Or(auth.Username, "x-access-token"), "GITALOG_GIT_TOKEN="+auth.Token,
		fmt.Sprintf("GIT_CONFIG_COUNT=%d", n+2),
		fmt.Sprintf("GIT_CONFIG_KEY_%d=credential.helper", n), fmt.Sprintf("GIT_CONFIG_VALUE_%d=", n),
		fmt.Sprintf("GIT_CONFIG_KEY_%d=credential.helper", n+1),
		fmt.Sprintf(`GIT_CONFIG_VALUE_%d=!f() { test "$1" = get && printf 'username=%%s\npassword=%%s\n' "$GITALOG_GIT_USER" "$GITALOG_GIT_TOKEN"; }; f`, n+1))
}

// Fetch fetches branch from remote into refs/remotes/<remote>/<branch> and
// returns its commit; exists is false when the remote has no such branch.
func (s *Store) Fetch(ctx context.Context, remote, branch string, auth RemoteAuth) (plumbing.Hash, bool, error) {
	u, err := s.RemoteURL(remote)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	tracking := plumbing.NewRemoteReferenceName(remote, branch)
	spec := fmt.Sprintf("+refs/heads/%s:%s", branch, tracking)
	err = s.transfer(ctx, u, auth, []string{"fetch", "--no-tags", remote, spec}, func(repo *gogit.Repository, am transport.AuthMethod, _ io.Writer) error {
		return repo.FetchContext(ctx, &gogit.FetchOptions{RemoteName: remote, RefSpecs: []config.RefSpec{config.RefSpec(spec)}, Auth: am})
	})
	// A remote without the branch, including an empty one (a new
	// repository, or one whose last branch was deleted), is not an error:
	// the push creates the branch.
	var nm gogit.NoMatchingRefSpecError
	if errors.As(err, &nm) || errors.Is(err, transport.ErrEmptyRemoteRepository) || err != nil && strings.Contains(err.Error(), "couldn't find remote ref") {
		return plumbing.ZeroHash, false, nil
	}
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("fetching %s from %s: %w", branch, RedactURL(u), err)
	}
	h, ok, err := s.resolveRef(tracking)
	return h, ok && err == nil, nil
}

// FetchRefs fetches refspecs (src:dst, globs allowed) from remote. A glob
// that matches nothing is not an error.
func (s *Store) FetchRefs(ctx context.Context, remote string, auth RemoteAuth, specs ...string) error {
	u, err := s.RemoteURL(remote)
	if err != nil {
		return err
	}
	refSpecs := make([]config.RefSpec, len(specs))
	for i, sp := range specs {
		refSpecs[i] = config.RefSpec(sp)
	}
	err = s.transfer(ctx, u, auth, append([]string{"fetch", "--no-tags", remote}, specs...), func(repo *gogit.Repository, am transport.AuthMethod, _ io.Writer) error {
		return repo.FetchContext(ctx, &gogit.FetchOptions{RemoteName: remote, RefSpecs: refSpecs, Auth: am})
	})
	var nm gogit.NoMatchingRefSpecError
	if errors.As(err, &nm) || errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fetching %s from %s: %w", strings.Join(specs, " "), RedactURL(u), err)
	}
	return nil
}

// PushRefs pushes refspecs (src:dst, globs allowed) to remote; a ref the
// remote refuses to move (not a fast-forward) is ErrRejected.
func (s *Store) PushRefs(ctx context.Context, remote string, auth RemoteAuth, specs ...string) error {
	u, err := s.RemoteURL(remote)
	if err != nil {
		return err
	}
	refSpecs := make([]config.RefSpec, len(specs))
	for i, sp := range specs {
		refSpecs[i] = config.RefSpec(sp)
	}
	err = s.transfer(ctx, u, auth, append([]string{"push", remote}, specs...), func(repo *gogit.Repository, am transport.AuthMethod, said io.Writer) error {
		return repo.PushContext(ctx, &gogit.PushOptions{RemoteName: remote, RefSpecs: refSpecs, Auth: am, Progress: said})
	})
	var nm gogit.NoMatchingRefSpecError
	switch {
	case err == nil, errors.As(err, &nm):
		return nil
	case remoteMoved(err):
		return fmt.Errorf("pushing %s to %s: %w (%s)", strings.Join(specs, " "), RedactURL(u), ErrRejected, err)
	}
	return fmt.Errorf("pushing %s to %s: %w", strings.Join(specs, " "), RedactURL(u), err)
}

// Push pushes branch to the same branch on remote. A refusal that a
// remote moved by someone else explains (non-fast-forward, a lost ref
// update) is ErrRejected.
func (s *Store) Push(ctx context.Context, remote, branch string, auth RemoteAuth) error {
	u, err := s.RemoteURL(remote)
	if err != nil {
		return err
	}
	spec := fmt.Sprintf("refs/heads/%s:refs/heads/%s", branch, branch)
	err = s.transfer(ctx, u, auth, []string{"push", remote, spec}, func(repo *gogit.Repository, am transport.AuthMethod, said io.Writer) error {
		return repo.PushContext(ctx, &gogit.PushOptions{RemoteName: remote, RefSpecs: []config.RefSpec{config.RefSpec(spec)}, Auth: am, Progress: said})
	})
	switch {
	case err == nil:
		return nil
	case remoteMoved(err):
		return fmt.Errorf("pushing %s to %s: %w (%s)", branch, RedactURL(u), ErrRejected, err)
	case errors.Is(err, plumbing.ErrObjectNotFound) && s.isShallow():
		// go-git checks a fast-forward by walking from our commit to the
		// remote's; when the remote moved to a commit we do not have,
		// the walk runs into the shallow boundary. The caller fetches
		// and sees whether it moved.
		return fmt.Errorf("pushing %s to %s: %w (its head is not in this shallow clone: %v)", branch, RedactURL(u), ErrRejected, err)
	}
	return fmt.Errorf("pushing %s to %s: %w", branch, RedactURL(u), err)
}

func (s *Store) isShallow() bool {
	sh, err := s.st.Shallow()
	return err == nil && len(sh) > 0
}

// remoteMessages are the last lines a remote sent on the side band,
// without its progress meters (lines redrawn with \r).
func remoteMessages(said []byte) string {
	var lines []string
	for _, l := range strings.Split(string(said), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "\r") {
			lines = append(lines, "remote: "+l)
		}
	}
	return strings.Join(lines[max(len(lines)-10, 0):], "\n")
}

// movedReasons are how remotes word a refused update that a concurrent
// push explains: a remote that moved before the push started is
// non-fast-forward; one that moves while the push is under way loses the
// remote's compare-and-swap, which git-receive-pack reports as "failed to
// update ref" or "cannot lock ref", a create as "reference already
// exists", and a lease as "stale info". The caller fetches to see whether
// the remote really moved.
var movedReasons = []string{
	"non-fast-forward", "fetch first", "failed to update ref", "cannot lock ref",
	"stale info", "incorrect old value", "reference already exists",
}

func remoteMoved(err error) bool {
	msg := strings.ToLower(err.Error())
	return errors.Is(err, gogit.ErrNonFastForwardUpdate) || slices.ContainsFunc(movedReasons, func(r string) bool { return strings.Contains(msg, r) })
}

var userinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/@\s]+@`)

// RedactURL hides any user:password part of a URL.
func RedactURL(u string) string {
	if pu, err := url.Parse(u); err == nil && pu.User != nil {
		pu.User = nil
		return pu.String()
	}
	return u
}

// redact removes a token and URL credentials from an error's text: go-git
// errors may quote the remote URL.
func redact(err error, token string) error {
	if err == nil {
		return nil
	}
	msg := userinfo.ReplaceAllString(err.Error(), "$1")
	if token != "" {
		msg = strings.ReplaceAll(msg, token, "[redacted]")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
