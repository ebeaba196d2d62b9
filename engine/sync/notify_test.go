package sync

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/notify"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// notifyConfig adds sinks to the fixture's gitalog.yaml, and the issue
// count to the issue mapping (Port's default leaves it out).
func (f *fixture) notifyConfig(sinks string) {
	f.t.Helper()
	f.edit("blueprints/issue.json", `"properties": {`, `"properties": {"count": {"title": "count", "type": "string"},`)
	f.editConfig(`isUnhandled: ".isUnhandled"`, "isUnhandled: \".isUnhandled\"\n            count: .count")
	f.editConfig("deleteDependentEntities: true", "deleteDependentEntities: true\nnotify:\n"+sinks)
}

func (f *fixture) notifyOpts() Options {
	o := f.options()
	o.notifyOptions = notify.Options{Backoff: time.Millisecond, Attempts: 2}
	return o
}

// A sync that creates an issue tells seed 002's dummy server
// "{project} {title} ({n} times seen). {link}", once; the next sync,
// with nothing new, tells it nothing.
func TestSyncNotifiesNewIssueOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	msgs := make(chan string, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(c)
			c.Close()
			msgs <- string(b)
		}
	}()
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	f.notifyConfig("  - tcp: " + ln.Addr().String() + "\n    blueprints: [issue]\n")
	var id string
	f.srv.Update(func(d *sentrytest.Dataset) {
		id = d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	res, err := Run(t.Context(), f.notifyOpts())
	if err != nil {
		t.Fatal(err)
	}
	f.checkRepo()
	if res.Notified == nil || len(res.Notified.Sinks) != 1 || res.Notified.Sinks[0].Sent != 1 {
		t.Fatalf("notified: %+v", res.Notified)
	}
	got := <-msgs
	want := "payments KeyError: 'currency' (1 times seen). https://" + f.data.OrgSlug() + ".sentry.io/issues/" + id + "/"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if _, err := Run(t.Context(), f.notifyOpts()); err != nil {
		t.Fatal(err)
	}
	close(msgs)
	ln.Close()
	for m := range msgs {
		t.Errorf("sent again or more: %q", m)
	}
	sink := strings.TrimSpace(f.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/gitalog/notified/"))
	if head := strings.TrimSpace(f.git("rev-parse", "HEAD")); !strings.HasSuffix(sink, " "+head) {
		t.Fatalf("state %q, head %s", sink, head)
	}
}

type hookSink struct {
	*httptest.Server
	mu   gosync.Mutex
	down bool
	got  []notify.Payload
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.down {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		var p notify.Payload
		json.NewDecoder(r.Body).Decode(&p)
		h.got = append(h.got, p)
	}))
	t.Cleanup(h.Close)
	return h
}

// A webhook sink down during one sync and up for the next receives both
// changes, each once, in order; the first sync is partial (exit 3) but
// commits.
func TestSyncSinkDownThenUp(t *testing.T) {
	h := newHookSink(t)
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	f.notifyConfig("  - webhook: " + h.URL + "\n    name: hook\n    blueprints: [issue]\n")
	h.down = true
	var first, second string
	f.srv.Update(func(d *sentrytest.Dataset) { first = d.AddIssue("payments", "First", "a", "error") })
	res, err := Run(t.Context(), f.notifyOpts())
	if !errors.Is(err, catalog.ErrPartial) || res == nil || res.Commit.IsZero() {
		t.Fatalf("want a partial sync that committed, got %v %+v", err, res)
	}
	if !strings.Contains(err.Error(), "HTTP 502") || !strings.Contains(err.Error(), `"hook"`) {
		t.Fatalf("the error does not name the sink and its answer: %v", err)
	}
	firstCommit := res.Commit.String()
	f.checkRepo()
	h.down = false
	f.srv.Update(func(d *sentrytest.Dataset) { second = d.AddIssue("payments", "Second", "b", "error") })
	res, err = Run(t.Context(), f.notifyOpts())
	if err != nil {
		t.Fatal(err)
	}
	if len(h.got) != 2 {
		t.Fatalf("got %d events: %+v", len(h.got), h.got)
	}
	if p := h.got[0]; p.Identifier != first || p.Commit != firstCommit || p.Event != "created" {
		t.Errorf("first: %+v", p)
	}
	if p := h.got[1]; p.Identifier != second || p.Commit != res.Commit.String() || p.Event != "created" {
		t.Errorf("second: %+v", p)
	}
	if at := strings.TrimSpace(f.git("rev-parse", "refs/gitalog/notified/hook")); at != res.Commit.String() {
		t.Fatalf("state at %s, want %s", at, res.Commit)
	}
}

// With --push the state goes to the remote, and a fresh clone (a CI run)
// takes it: what an earlier run could not send (the sink was down) is sent
// by the clone's run, with what that run commits, each once.
func TestSyncPushCarriesState(t *testing.T) {
	h := newHookSink(t)
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	f.notifyConfig("  - webhook: " + h.URL + "\n    name: hook\n    blueprints: [issue]\n")
	remote := withRemote(t, f)
	base := gitIn(t, remote, "rev-parse", "main")
	h.down = true
	var first, second string
	f.srv.Update(func(d *sentrytest.Dataset) { first = d.AddIssue("payments", "First", "a", "error") })
	o := f.notifyOpts()
	o.Push = true
	res, err := Run(t.Context(), o)
	if !errors.Is(err, catalog.ErrPartial) || !res.Pushed {
		t.Fatalf("want a partial sync that pushed: %v %+v", err, res)
	}
	if got := gitIn(t, remote, "rev-parse", "refs/gitalog/notified/hook"); got != base {
		t.Fatalf("remote state %s, want the start %s", got, base)
	}
	h.down = false
	clone := filepath.Join(t.TempDir(), "clone")
	gitIn(t, ".", "clone", "-q", remote, clone)
	f.srv.Update(func(d *sentrytest.Dataset) { second = d.AddIssue("payments", "Second", "b", "error") })
	o.Dir = clone
	res = mustPush(t, o, "push from a clone")
	if len(h.got) != 2 || h.got[0].Identifier != first || h.got[0].Title() != "First" || h.got[1].Identifier != second {
		t.Fatalf("got %+v", h.got)
	}
	if got := gitIn(t, remote, "rev-parse", "refs/gitalog/notified/hook"); got != res.Commit.String() {
		t.Fatalf("remote state %s, want %s", got, res.Commit)
	}
	gitIn(t, remote, "fsck", "--strict")
}

// With --push, a commit whose push failed is not told of, and no delivery
// marker goes past what the remote holds: a redo may replace that commit
// (another job pushed first), and a marker on a commit the branch never
// got would stop every later delivery.
func TestSyncPushFailedNotifiesNothingPastTheRemote(t *testing.T) {
	hookURL, take := newEventSink(t)
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	f.notifyConfig("  - webhook: " + hookURL + "\n    blueprints: [issue]\n")
	remote := withRemote(t, f)
	o := f.notifyOpts()
	o.Push = true
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	var id string
	f.srv.Update(func(d *sentrytest.Dataset) { id = d.AddIssue("payments", "KeyError: 'x'", "x.py in f", "error") })
	setPreReceive(t, remote, "#!/bin/sh\nwhile read old new ref; do [ \"$ref\" = refs/heads/main ] && { echo 'not now' >&2; exit 1; }; done\nexit 0\n")
	if _, err := Run(t.Context(), o); !errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("want a partial sync (push refused), got %v", err)
	}
	if got := take(); len(got) != 0 {
		t.Errorf("told of a commit the remote does not hold: %q", got)
	}
	remoteHead := strings.TrimSpace(gitIn(t, remote, "rev-parse", "main"))
	for _, ref := range strings.Fields(f.git("for-each-ref", "--format=%(objectname)", "refs/gitalog/notified/")) {
		if ref != remoteHead {
			t.Errorf("a delivery marker is at %s, past the remote's %s", ref, remoteHead)
		}
	}
	setPreReceive(t, remote, "#!/bin/sh\nexit 0\n")
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if got, want := take(), []string{"created " + id}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}
