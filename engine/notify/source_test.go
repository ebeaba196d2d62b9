package notify

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitalog/gitalog/engine/gitstore"
)

// A source's delivery state lives beside the unsourced state of a sink
// named like the source (a catalog that had a sink "eu" before it had a
// source "eu"): both refs exist locally, both reach the remote, and a
// fresh clone takes the source's back.
func TestSourceStateBesideASinkOfItsName(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	ctx := context.Background()
	r := newRepo(t)
	r.commit("a", issue("1", "One", "unresolved", 1, nil))
	h := newHookServer(t)
	cfg := parse(t, yamlList("  - webhook: "+h.URL, "    name: eu"), nil)
	remote := filepath.Join(t.TempDir(), "remote.git")
	git(t, "", "init", "-q", "--bare", remote)
	git(t, r.st.Root(), "remote", "add", "origin", remote)

	// Before sources: the sink's own state, pushed.
	plain := newNotifier(r, cfg)
	if err := plain.Start(r.head); err != nil {
		t.Fatal(err)
	}
	r.commit("b", issue("2", "Two", "unresolved", 1, nil))
	if rep, err := plain.Deliver(ctx, r.head); err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	git(t, r.st.Root(), "push", "-q", "origin", "main")
	if err := plain.PushState(ctx, "origin", gitstore.RemoteAuth{}); err != nil {
		t.Fatal(err)
	}

	// Then the source eu's sync, with the same sink.
	src := New(r.st, cfg, Options{Source: "eu", Backoff: time.Millisecond, Attempts: 2, Logger: slog.New(slog.DiscardHandler)})
	if err := src.FetchState(ctx, "origin", gitstore.RemoteAuth{}); err != nil {
		t.Fatal(err)
	}
	if err := src.Start(r.head); err != nil {
		t.Fatal(err)
	}
	c := r.commit("sync(eu): issue +1\n\nGitalog-Source: eu\n", issue("3", "Three", "unresolved", 1, nil))
	rep, err := src.Deliver(ctx, r.head)
	if err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	if err := src.PushState(ctx, "origin", gitstore.RemoteAuth{}); err != nil {
		t.Fatalf("pushing the source's state beside the sink's: %v", err)
	}
	refs := git(t, remote, "for-each-ref", "--format=%(refname) %(objectname)", "refs/gitalog/")
	for _, want := range []string{"refs/gitalog/notified/eu ", "refs/gitalog/sources/eu/notified/eu " + c.String()} {
		if !strings.Contains(refs, want) {
			t.Errorf("the remote has no %q:\n%s", want, refs)
		}
	}

	// A fresh clone knows where the source's sink stands.
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, "", "clone", "-q", "-b", "main", remote, clone)
	st, err := gitstore.Open(clone)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{{}, {Source: "eu"}} {
		if err := New(st, cfg, o).FetchState(ctx, "origin", gitstore.RemoteAuth{}); err != nil {
			t.Fatalf("source %q: %v", o.Source, err)
		}
	}
	if at, ok, err := st.ResolveRef(plumbing.ReferenceName("refs/gitalog/sources/eu/notified/eu")); err != nil || !ok || at != c {
		t.Fatalf("the clone's source state is at %s (%v, %v), want %s", at, ok, err, c)
	}
	if at, ok, _ := st.ResolveRef(cfg.Sinks[0].Ref()); !ok || at == c {
		t.Fatalf("the clone's unsourced state is at %s (%v)", at, ok)
	}
	if out := git(t, clone, "fsck", "--strict"); strings.Contains(out, "error") {
		t.Fatal(out)
	}
}
