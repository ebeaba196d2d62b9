package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/notify"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/engine/sync"
)

// tcpSink is seed 002's dummy server: one message per connection.
type tcpSink struct {
	ln   net.Listener
	msgs chan string
}

func newTCPSink(t *testing.T) *tcpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &tcpSink{ln: ln, msgs: make(chan string, 100)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(c)
			c.Close()
			s.msgs <- string(b)
		}
	}()
	return s
}

func (s *tcpSink) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("the tcp sink heard nothing")
		return ""
	}
}

// hookSink is a webhook sink that records what it is sent, and can be
// down (503) or hang until released.
type hookSink struct {
	srv *httptest.Server

	mu   gosync.Mutex
	down bool
	hold chan struct{} // non-nil: requests wait for it to close
	got  []notify.Payload
	keys []string // the Idempotency-Key headers
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		down, hold := h.down, h.hold
		h.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if down {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var p notify.Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, p)
		h.keys = append(h.keys, r.Header.Get("Idempotency-Key"))
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) setDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

func (h *hookSink) received() ([]notify.Payload, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notify.Payload(nil), h.got...), append([]string(nil), h.keys...)
}

// The secret part of the hook's URL, as a Slack URL has one: it must never
// be logged.
const hookSecretPath = "/hooks/T000-s3cret-B000"

// notifyRepo is a synced catalog of Port's files (seed 001's issue
// blueprint, given the count), with a tcp sink "dummy" and a webhook sink
// "hook" (its URL from the environment) hearing of issues.
func notifyRepo(t *testing.T, tcp *tcpSink, hook *hookSink) (dir string, srv *sentrytest.Server, data *sentrytest.Dataset) {
	t.Helper()
	data = sentrytest.Demo()
	srv = sentrytest.NewServer(data)
	t.Cleanup(srv.Close)
	dir = testrepo.InitPort(t)
	if _, err := sync.Run(context.Background(), sync.Options{Dir: dir, Env: testrepo.Env(srv, data), HTTPClient: srv.Client(), Author: testrepo.Author}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITALOG_TEST_HOOK_URL", hook.srv.URL+hookSecretPath)
	edit := func(file, old, new string) {
		p := filepath.Join(dir, file)
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%s has no %q (%v)", file, old, err)
		}
		if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("blueprints/issue.json", `"properties": {`, `"properties": {"count": {"title": "count", "type": "string"},`)
	edit("gitalog.yaml", `isUnhandled: ".isUnhandled"`, "isUnhandled: \".isUnhandled\"\n            count: .count")
	edit("gitalog.yaml", "\nresources:", "\nnotify:\n"+
		"  - tcp: "+tcp.ln.Addr().String()+"\n    name: dummy\n    blueprints: [issue]\n"+
		"  - webhook: {env: GITALOG_TEST_HOOK_URL}\n    name: hook\n    blueprints: [issue]\nresources:")
	testrepo.Git(t, dir, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-qam", "notify the dummy server and the hook")
	return dir, srv, data
}

// running is a `gitalog serve` run in the test.
type running struct {
	url  string
	s    *Server
	stop context.CancelFunc
	done chan error
	logs *bytes.Buffer
	// stopped: shutdown took Run's result.
	stopped bool
}

func startServe(t *testing.T, c Config) *running {
	t.Helper()
	r := &running{done: make(chan error, 1), logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: r.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c.Logger, c.Sync.Logger = log, log
	c.Listen = "127.0.0.1:0"
	if c.Secret == nil {
		c.Secret = testSecret
	}
	ready := make(chan struct{})
	c.Ready = func(s *Server, a net.Addr) { r.s, r.url = s, "http://"+a.String(); close(ready) }
	ctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	go func() { r.done <- Run(ctx, c) }()
	select {
	case <-ready:
	case err := <-r.done:
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		if !r.stopped {
			stop()
			<-r.done
		}
	})
	return r
}

// shutdown is SIGTERM: Run must return nil.
func (r *running) shutdown(t *testing.T) {
	t.Helper()
	r.stop()
	r.stopped = true
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run after SIGTERM: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after SIGTERM")
	}
}

func head(t *testing.T, dir string) plumbing.Hash {
	t.Helper()
	return plumbing.NewHash(strings.TrimSpace(testrepo.Git(t, dir, "rev-parse", "HEAD")))
}

// notifiedAt is the sink's recorded commit, "" when it has none.
func notifiedAt(t *testing.T, dir, sink string) string {
	t.Helper()
	cmd := exec.Command("git", "rev-parse", "--verify", "-q", notify.RefPrefix+sink)
	cmd.Dir = dir
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

func fastNotify() NotifyOptions {
	return NotifyOptions{Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Drain: 10 * time.Second}
}

func seed002(data *sentrytest.Dataset, title, id string) string {
	return "payments " + title + " (1 times seen). https://" + data.OrgSlug() + ".sentry.io/issues/" + id + "/"
}

// Every commit a webhook batch makes is notified as a sync would: the tcp
// sink hears seed 002's message, the webhook sink the JSON with the
// idempotency key of (commit, blueprint, identifier, event). A webhook sink
// that is down for one change and up for the next receives both, in order,
// each once; the metrics count per sink; the hook's secret URL is never
// logged.
func TestServeNotifiesEachCommit(t *testing.T) {
	tcp, hook := newTCPSink(t), newHookSink(t)
	dir, srv, data := notifyRepo(t, tcp, hook)
	so := sync.Options{Dir: dir, Env: testrepo.Env(srv, data), HTTPClient: srv.Client(), Author: testrepo.Author}
	r := startServe(t, Config{Sync: so, Options: Options{CommitInterval: 50 * time.Millisecond}, Notify: fastNotify()})

	add := func(title string) string {
		var id string
		srv.Update(func(d *sentrytest.Dataset) { id = d.AddIssue("payments", title, "payments.api in charge", "error") })
		if resp := webhook(t, r.url, testSecret, "delivery-"+id, "created", issueItem(t, srv, data.OrgSlug(), id)); resp.StatusCode/100 != 2 {
			t.Fatalf("webhook: %d", resp.StatusCode)
		}
		return id
	}
	waitCommit := func(id string) plumbing.Hash {
		t.Helper()
		path := filepath.Join(dir, "catalog", "issue", id+".json")
		waitFor(t, func() bool { _, err := os.Stat(path); return err == nil }, "catalog/issue/"+id+".json")
		return head(t, dir)
	}

	a := add("KeyError: 'currency'")
	c1 := waitCommit(a)
	if got, want := tcp.next(t), seed002(data, "KeyError: 'currency'", a); got != want {
		t.Fatalf("tcp sink got  %q\nwant %q", got, want)
	}
	waitFor(t, func() bool { got, _ := hook.received(); return len(got) == 1 }, "the hook's first event")

	hook.setDown(true)
	b := add("Second")
	c2 := waitCommit(b)
	if got, want := tcp.next(t), seed002(data, "Second", b); got != want {
		t.Fatalf("tcp sink got  %q\nwant %q", got, want)
	}
	m := r.s.Metrics()
	waitFor(t, func() bool { return counter(m.NotifyFailed.WithLabelValues("hook")) >= 2 }, "the down hook retried")
	if at := notifiedAt(t, dir, "hook"); at != c1.String() {
		t.Fatalf("the down hook's state moved to %s, want %s", at, c1)
	}

	hook.setDown(false)
	c := add("Third")
	c3 := waitCommit(c)
	waitFor(t, func() bool {
		return notifiedAt(t, dir, "hook") == c3.String() && notifiedAt(t, dir, "dummy") == c3.String()
	}, "both sinks at the head")
	if got, want := tcp.next(t), seed002(data, "Third", c); got != want {
		t.Fatalf("tcp sink got  %q\nwant %q", got, want)
	}
	r.shutdown(t)

	got, keys := hook.received()
	wantIDs := []string{a, b, c}
	wantCommits := []plumbing.Hash{c1, c2, c3}
	if len(got) != len(wantIDs) {
		t.Fatalf("the hook received %d events, want 3 (each once): %+v", len(got), got)
	}
	seen := map[string]bool{}
	for i, p := range got {
		want := notify.Event{Event: notify.Created, Blueprint: "issue", Identifier: wantIDs[i], Commit: wantCommits[i]}
		if p.Event != want.Event || p.Identifier != want.Identifier || p.Commit != want.Commit.String() {
			t.Errorf("event %d: %s %s in %s, want %s %s in %s", i, p.Event, p.Identifier, p.Commit, want.Event, want.Identifier, want.Commit)
		}
		if p.IdempotencyKey != want.Key() || keys[i] != want.Key() {
			t.Errorf("event %d: idempotency key %q (header %q), want %q as sync computes it", i, p.IdempotencyKey, keys[i], want.Key())
		}
		if seen[keys[i]] {
			t.Errorf("event %d delivered twice", i)
		}
		seen[keys[i]] = true
	}
	select {
	case extra := <-tcp.msgs:
		t.Errorf("the tcp sink heard more than once: %q", extra)
	default:
	}
	if n := counter(m.NotifySent.WithLabelValues("hook")); n != 3 {
		t.Errorf("gitalog_notifications_sent_total{sink=hook} = %v, want 3", n)
	}
	if n := counter(m.NotifySent.WithLabelValues("dummy")); n != 3 {
		t.Errorf("gitalog_notifications_sent_total{sink=dummy} = %v, want 3", n)
	}
	if n := counter(m.NotifyFailed.WithLabelValues("dummy")); n != 0 {
		t.Errorf("gitalog_notifications_failed_total{sink=dummy} = %v, want 0", n)
	}
	logs := r.logs.String()
	if strings.Contains(logs, hookSecretPath) || strings.Contains(logs, "s3cret") {
		t.Errorf("the hook's secret URL is in the logs:\n%s", logs)
	}
	if !strings.Contains(logs, "HTTP 503") {
		t.Errorf("the hook's failure is not logged:\n%s", logs)
	}
	testrepo.Git(t, dir, "fsck", "--strict")
}

// A sink that hangs holds up neither the webhook answers nor the commits.
func TestServeSlowSinkBlocksNoCommit(t *testing.T) {
	tcp, hook := newTCPSink(t), newHookSink(t)
	release := make(chan struct{})
	hook.hold = release
	dir, srv, data := notifyRepo(t, tcp, hook)
	so := sync.Options{Dir: dir, Env: testrepo.Env(srv, data), HTTPClient: srv.Client(), Author: testrepo.Author}
	no := fastNotify()
	no.Delivery.Timeout = time.Minute
	r := startServe(t, Config{Sync: so, Options: Options{CommitInterval: 50 * time.Millisecond}, Notify: no})
	var ids []string
	for _, title := range []string{"One", "Two"} {
		var id string
		srv.Update(func(d *sentrytest.Dataset) { id = d.AddIssue("payments", title, "x", "error") })
		t0 := time.Now()
		if resp := webhook(t, r.url, testSecret, "d-"+id, "created", issueItem(t, srv, data.OrgSlug(), id)); resp.StatusCode/100 != 2 {
			t.Fatalf("webhook: %d", resp.StatusCode)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("webhook answered in %v while a sink hangs", d)
		}
		path := filepath.Join(dir, "catalog", "issue", id+".json")
		waitFor(t, func() bool { _, err := os.Stat(path); return err == nil }, "the commit of "+title+" while the hook hangs")
		ids = append(ids, id)
	}
	if got, _ := hook.received(); len(got) != 0 {
		t.Fatalf("the hanging hook received %d", len(got))
	}
	close(release)
	waitFor(t, func() bool { got, _ := hook.received(); return len(got) == 2 }, "the hook's two events once released")
	r.shutdown(t)
	got, _ := hook.received()
	if len(got) != 2 || got[0].Identifier != ids[0] || got[1].Identifier != ids[1] {
		t.Fatalf("the hook received %+v, want %v in order", got, ids)
	}
}

// SIGTERM: the drain's commit is notified before Run returns; what a sink
// that is down does not get stays recorded as not delivered, and the next
// sync delivers it, with the same idempotency key.
func TestServeNotifiesOnShutdownAndLeavesTheRestForSync(t *testing.T) {
	tcp, hook := newTCPSink(t), newHookSink(t)
	dir, srv, data := notifyRepo(t, tcp, hook)
	so := sync.Options{Dir: dir, Env: testrepo.Env(srv, data), HTTPClient: srv.Client(), Author: testrepo.Author}
	no := fastNotify()
	no.Drain = 2 * time.Second
	r := startServe(t, Config{Sync: so, Options: Options{CommitInterval: time.Hour}, Notify: no})
	before := head(t, dir)
	waitFor(t, func() bool { return notifiedAt(t, dir, "hook") == before.String() }, "the hook's state recorded at start")
	hook.setDown(true)
	var id string
	srv.Update(func(d *sentrytest.Dataset) { id = d.AddIssue("payments", "At shutdown", "x", "error") })
	if resp := webhook(t, r.url, testSecret, "d-"+id, "created", issueItem(t, srv, data.OrgSlug(), id)); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	t0 := time.Now()
	r.shutdown(t)
	if d := time.Since(t0); d > 15*time.Second {
		t.Errorf("shutdown took %v with a sink down (drain bound 2s)", d)
	}
	commit := head(t, dir)
	if commit == before {
		t.Fatal("the drain committed nothing")
	}
	// The tcp sink was up: it heard before Run returned.
	select {
	case m := <-tcp.msgs:
		if want := seed002(data, "At shutdown", id); m != want {
			t.Fatalf("tcp sink got %q, want %q", m, want)
		}
	default:
		t.Fatal("the drain's commit was not notified before Run returned")
	}
	if at := notifiedAt(t, dir, "dummy"); at != commit.String() {
		t.Errorf("dummy's state %s, want the head %s", at, commit)
	}
	if at := notifiedAt(t, dir, "hook"); at != before.String() {
		t.Fatalf("the down hook's state moved to %s; it must stay at %s", at, before)
	}
	// The next sync delivers it.
	hook.setDown(false)
	if _, err := sync.Run(context.Background(), so); err != nil {
		t.Fatal(err)
	}
	got, keys := hook.received()
	want := notify.Event{Event: notify.Created, Blueprint: "issue", Identifier: id, Commit: commit}
	if len(got) != 1 || got[0].Identifier != id || keys[0] != want.Key() {
		t.Fatalf("after the sync the hook has %+v (keys %v), want %s once with key %s", got, keys, id, want.Key())
	}
	select {
	case m := <-tcp.msgs:
		t.Errorf("the sync told the tcp sink again: %q", m)
	default:
	}
}

// A resync's commit is notified too.
func TestServeNotifiesResyncCommits(t *testing.T) {
	tcp, hook := newTCPSink(t), newHookSink(t)
	dir, srv, data := notifyRepo(t, tcp, hook)
	// The config change (count) is picked up by a first resync; the sinks
	// must start after it, so sync once more before serving.
	so := sync.Options{Dir: dir, Env: testrepo.Env(srv, data), HTTPClient: srv.Client(), Author: testrepo.Author, NoNotify: true}
	if _, err := sync.Run(context.Background(), so); err != nil {
		t.Fatal(err)
	}
	so.NoNotify = false
	var id string
	srv.Update(func(d *sentrytest.Dataset) { id = d.AddIssue("payments", "Seen by the resync", "x", "error") })
	r := startServe(t, Config{Sync: so, Options: Options{CommitInterval: time.Hour, ResyncInterval: 100 * time.Millisecond}, Notify: fastNotify()})
	if got, want := tcp.next(t), seed002(data, "Seen by the resync", id); got != want {
		t.Fatalf("tcp sink got %q, want %q", got, want)
	}
	r.shutdown(t)
	if got, _ := hook.received(); len(got) != 1 || got[0].Identifier != id {
		t.Fatalf("the hook received %+v, want %s once", got, id)
	}
}

func TestNotifyBackoff(t *testing.T) {
	o := NotifyOptions{Backoff: time.Second, MaxBackoff: 5 * time.Minute}
	prevMax := time.Duration(0)
	for fails := 1; fails <= 20; fails++ {
		want := time.Second << (fails - 1)
		if fails > 9 || want > 5*time.Minute {
			want = 5 * time.Minute
		}
		for range 50 {
			d := o.backoff(fails)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", fails, d, want/2, want)
			}
		}
		if want < prevMax {
			t.Fatalf("backoff shrank")
		}
		prevMax = want
	}
}

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// With --push, the sinks' state comes from the remote at start (a fresh
// container resumes where the last run stopped: the change the remote's
// state says is undelivered is sent) and is pushed after delivery.
func TestServePushesTheDeliveryState(t *testing.T) {
	tcp, hook := newTCPSink(t), newHookSink(t)
	dir, srv, data := notifyRepo(t, tcp, hook)
	remote := filepath.Join(t.TempDir(), "origin.git")
	testrepo.Git(t, dir, "init", "-q", "--bare", remote)
	testrepo.Git(t, dir, "remote", "add", "origin", remote)
	branch := strings.TrimSpace(testrepo.Git(t, dir, "symbolic-ref", "--short", "HEAD"))
	x := head(t, dir)
	// A run elsewhere delivered up to x and pushed that; then committed
	// an issue (and pushed it) without delivering it.
	testrepo.Git(t, dir, "push", "-q", "origin", branch, x.String()+":"+notify.RefPrefix+"hook", x.String()+":"+notify.RefPrefix+"dummy")
	so := sync.Options{Dir: dir, Env: testrepo.Env(srv, data), HTTPClient: srv.Client(), Author: testrepo.Author, NoNotify: true, Push: true}
	var missed string
	srv.Update(func(d *sentrytest.Dataset) { missed = d.AddIssue("payments", "Missed", "x", "error") })
	if res, err := sync.Run(context.Background(), so); err != nil || !res.Pushed {
		t.Fatalf("sync --push: %v %+v", err, res)
	}
	so.NoNotify = false
	r := startServe(t, Config{Sync: so, Options: Options{CommitInterval: 50 * time.Millisecond}, Notify: fastNotify()})
	if got, want := tcp.next(t), seed002(data, "Missed", missed); got != want {
		t.Fatalf("tcp sink got %q, want %q (the remote's state was not taken)", got, want)
	}
	var id string
	srv.Update(func(d *sentrytest.Dataset) { id = d.AddIssue("payments", "Pushed", "x", "error") })
	if resp := webhook(t, r.url, testSecret, "d-"+id, "created", issueItem(t, srv, data.OrgSlug(), id)); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	if got, want := tcp.next(t), seed002(data, "Pushed", id); got != want {
		t.Fatalf("tcp sink got %q, want %q", got, want)
	}
	remoteRef := func(ref string) string {
		cmd := exec.Command("git", "--git-dir", remote, "rev-parse", "--verify", "-q", ref)
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out))
	}
	waitFor(t, func() bool {
		h := head(t, dir).String()
		return remoteRef("refs/heads/"+branch) == h && remoteRef(notify.RefPrefix+"hook") == h && remoteRef(notify.RefPrefix+"dummy") == h
	}, "the branch and both sinks' state pushed")
	r.shutdown(t)
	if got, _ := hook.received(); len(got) != 2 || got[0].Identifier != missed || got[1].Identifier != id {
		t.Fatalf("the hook received %+v, want %s then %s", got, missed, id)
	}
}

// Two servers on one repository would share its journal (and number their
// events alike): the second waits for the first to stop, and gives up
// with an error that says so.
func TestSecondServeOnOneRepositoryIsRefused(t *testing.T) {
	tcp, hook := newTCPSink(t), newHookSink(t)
	dir, srv, data := notifyRepo(t, tcp, hook)
	so := sync.Options{Dir: dir, Env: testrepo.Env(srv, data), HTTPClient: srv.Client(), Author: testrepo.Author, LockWait: 200 * time.Millisecond}
	startServe(t, Config{Sync: so, Options: Options{CommitInterval: time.Hour}})
	err := Run(context.Background(), Config{Sync: so, Listen: "127.0.0.1:0", Options: Options{Secret: testSecret, CommitInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)}})
	if err == nil || !strings.Contains(err.Error(), "another gitalog serve") {
		t.Fatalf("second Run: %v", err)
	}
}
