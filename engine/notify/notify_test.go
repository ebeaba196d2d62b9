package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitalog/gitalog/engine/catalog"
)

// The seed's dummy server receives "{project} {title} ({n} times seen).
// {link}" for a new issue, one message per connection.
func TestTCPSeedMessage(t *testing.T) {
	r := newRepo(t)
	r.commit("base", &catalog.Entity{Identifier: "backend", Title: "Backend", Blueprint: "project", Properties: map[string]any{}})
	addr, msgs := tcpListener(t)
	n := newNotifier(r, parse(t, yamlList("  - tcp: "+addr), nil))
	if err := n.Start(r.head); err != nil {
		t.Fatal(err)
	}
	r.commit("sync", issue("42", "ZeroDivisionError: division by zero", "unresolved", 7, nil))
	rep, err := n.Deliver(context.Background(), r.head)
	if err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	// Deliver returns once each connection is closed; the listener reads
	// it to EOF, so wait for it.
	got := <-msgs
	if want := "backend ZeroDivisionError: division by zero (7 times seen). https://sentry.example/issues/42/"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if rest := drain(msgs); len(rest) != 0 {
		t.Fatalf("more messages: %q", rest)
	}
	if at := r.ref(n.Sinks()[0]); at != r.head {
		t.Fatalf("ref at %s, want head %s", at, r.head)
	}
}

// hookServer is a webhook sink that can be down (503) and records what
// it took.
type hookServer struct {
	*httptest.Server
	mu   gosync.Mutex
	down bool
	got  []Payload
	keys []string
	hits int
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.hits++
		if h.down {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var p Payload
		b, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(b, &p); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		h.got = append(h.got, p)
		h.keys = append(h.keys, req.Header.Get("Idempotency-Key"))
	}))
	t.Cleanup(h.Close)
	return h
}

// A webhook sink that is down during one change and up for the next
// receives both, each once, in order; the state is the ref.
func TestWebhookDownThenUp(t *testing.T) {
	r := newRepo(t)
	r.commit("base", issue("1", "Old", "unresolved", 1, nil))
	h := newHookServer(t)
	cfg := parse(t, yamlList("  - webhook: "+h.URL+"/hooks/catalog", "    events: [created, changed, regressed]"), nil)
	start := r.head
	n := newNotifier(r, cfg)
	if err := n.Start(start); err != nil {
		t.Fatal(err)
	}
	h.down = true
	c1 := r.commit("sync 1", issue("2", "New", "unresolved", 3, nil))
	rep, err := n.Deliver(context.Background(), r.head)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(rep.Err(), catalog.ErrPartial) {
		t.Fatalf("a down sink must make the run partial, got %v", rep.Err())
	}
	if !strings.Contains(rep.Err().Error(), "HTTP 503") {
		t.Fatalf("error does not say what the sink answered: %v", rep.Err())
	}
	if at := r.ref(cfg.Sinks[0]); at != start {
		t.Fatalf("ref moved to %s although nothing was delivered", at)
	}
	if h.hits != 2 {
		t.Fatalf("want 2 attempts (Attempts: 2), got %d", h.hits)
	}
	h.down = false
	c2 := r.commit("sync 2", issue("1", "Old", "unresolved", 2, nil))
	// A new Notifier: a later run, which knows only the ref.
	n = newNotifier(r, cfg)
	rep, err = n.Deliver(context.Background(), r.head)
	if err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	want := []struct {
		event, id string
		commit    plumbing.Hash
	}{{"created", "2", c1}, {"changed", "1", c2}}
	if len(h.got) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(h.got), len(want), h.got)
	}
	for i, w := range want {
		p := h.got[i]
		if p.Event != w.event || p.Identifier != w.id || p.Commit != w.commit.String() || p.Blueprint != "issue" {
			t.Errorf("event %d: got %s %s/%s at %s, want %s issue/%s at %s", i, p.Event, p.Blueprint, p.Identifier, p.Commit, w.event, w.id, w.commit)
		}
		if p.IdempotencyKey != h.keys[i] || p.IdempotencyKey != idempotencyKey(w.commit, "issue", w.id, w.event) {
			t.Errorf("event %d: key %q, header %q", i, p.IdempotencyKey, h.keys[i])
		}
	}
	if h.got[1].Previous["properties"].(map[string]any)["count"] != 1.0 || h.got[1].Entity["properties"].(map[string]any)["count"] != 2.0 {
		t.Errorf("changed: entity and previous not carried: %+v", h.got[1])
	}
	if h.got[0].Previous != nil {
		t.Errorf("created has a previous version: %v", h.got[0].Previous)
	}
	// Nothing new: nothing sent again.
	rep, err = newNotifier(r, cfg).Deliver(context.Background(), r.head)
	if err != nil || rep.Err() != nil || len(h.got) != 2 {
		t.Fatalf("a run with nothing new sent again: %d events, %v %v", len(h.got), err, rep.Err())
	}
	if at := r.ref(cfg.Sinks[0]); at != r.head {
		t.Fatalf("ref at %s, want head", at)
	}
}

// Without Start and without state, a sink begins at the head: the
// history before is never sent.
func TestFirstRunSendsNoHistory(t *testing.T) {
	r := newRepo(t)
	r.commit("a", issue("1", "One", "unresolved", 1, nil))
	r.commit("b", issue("2", "Two", "unresolved", 1, nil))
	h := newHookServer(t)
	cfg := parse(t, yamlList("  - webhook: "+h.URL), nil)
	rep, err := newNotifier(r, cfg).Deliver(context.Background(), r.head)
	if err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	if h.hits != 0 {
		t.Fatalf("history was sent: %+v", h.got)
	}
	if at := r.ref(cfg.Sinks[0]); at != r.head {
		t.Fatalf("the starting point is not recorded: ref at %s", at)
	}
	r.commit("c", issue("3", "Three", "unresolved", 1, nil))
	if _, err := newNotifier(r, cfg).Deliver(context.Background(), r.head); err != nil {
		t.Fatal(err)
	}
	if len(h.got) != 1 || h.got[0].Identifier != "3" {
		t.Fatalf("want only issue 3, got %+v", h.got)
	}
}

// Slack's URL is a secret: from the environment, never in an error.
func TestSlackFromEnvRedacted(t *testing.T) {
	var mu gosync.Mutex
	var texts []string
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			// Slack answers 404 no_service, and some proxies echo the path.
			http.Error(w, "no_service "+req.URL.Path, http.StatusNotFound)
			return
		}
		var m map[string]string
		json.NewDecoder(req.Body).Decode(&m)
		texts = append(texts, m["text"])
	}))
	defer srv.Close()
	secret := srv.URL + "/services/T000/B000/XXXXSECRETXXXX"
	r := newRepo(t)
	r.commit("base", issue("1", "One", "resolved", 1, nil))
	cfg := parse(t, yamlList("  - slack: {env: SLACK_WEBHOOK_URL}", "    events: [regressed]"), map[string]string{"SLACK_WEBHOOK_URL": secret})
	n := newNotifier(r, cfg)
	n.Start(r.head)
	r.commit("regress", issue("1", "One", "unresolved", 9, nil))
	rep, _ := n.Deliver(context.Background(), r.head)
	err := rep.Err()
	if err == nil || strings.Contains(err.Error(), "XXXXSECRETXXXX") || strings.Contains(err.Error(), "/services/") {
		t.Fatalf("want a redacted error, got %v", err)
	}
	if !strings.Contains(err.Error(), "HTTP 404") || !strings.Contains(err.Error(), "SLACK_WEBHOOK_URL") {
		t.Fatalf("the error does not say which sink and what it answered: %v", err)
	}
	fail = false
	rep, _ = newNotifier(r, cfg).Deliver(context.Background(), r.head)
	if rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if want := []string{"Regressed: backend One (9 times seen). https://sentry.example/issues/1/"}; strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q", texts, want)
	}
	// Unset: the sink fails (its messages wait), naming the variable.
	cfg = parse(t, yamlList("  - slack: {env: SLACK_WEBHOOK_URL}", "    name: alerts"), nil)
	n = newNotifier(r, cfg)
	n.Start(r.head)
	r.commit("new", issue("5", "Five", "unresolved", 1, nil))
	rep, _ = n.Deliver(context.Background(), r.head)
	if rep.Err() == nil || !strings.Contains(rep.Err().Error(), "SLACK_WEBHOOK_URL is not set") {
		t.Fatalf("want the unset variable named, got %v", rep.Err())
	}
}

// events, blueprints, when and template select and shape the messages.
func TestFiltersAndTemplate(t *testing.T) {
	r := newRepo(t)
	r.commit("base", &catalog.Entity{Identifier: "backend", Title: "Backend", Blueprint: "project", Properties: map[string]any{}})
	addr, msgs := tcpListener(t)
	cfg := parse(t, yamlList(
		"  - tcp: "+addr,
		"    blueprints: [issue]",
		"    events: [created, deleted]",
		`    when: .properties.level == "fatal"`,
		`    template: "{{ event }} {{ blueprint }}/{{ identifier }} in {{ project }}: {{ title }} ({{ count }} times seen, {{ properties.level }}) {{ commit | slice: 0, 7 }}"`,
	), nil)
	n := newNotifier(r, cfg)
	n.Start(r.head)
	c := r.commit("sync",
		issue("1", "Fatal one", "unresolved", 2, map[string]any{"level": "fatal"}),
		issue("2", "Just an error", "unresolved", 2, map[string]any{"level": "error"}),
		&catalog.Entity{Identifier: "frontend", Title: "Frontend", Blueprint: "project", Properties: map[string]any{"level": "fatal"}},
	)
	if rep, err := n.Deliver(context.Background(), r.head); err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	got := <-msgs
	if want := "created issue/1 in backend: Fatal one (2 times seen, fatal) " + c.String()[:7]; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if rest := drain(msgs); len(rest) != 0 {
		t.Fatalf("filtered events were sent: %q", rest)
	}
}

// A commit with more events than a run may send is one summary message;
// a run stops before a commit that would go over the bound.
func TestMaxEvents(t *testing.T) {
	r := newRepo(t)
	r.commit("base", issue("0", "Zero", "unresolved", 1, nil))
	h := newHookServer(t)
	cfg := parse(t, yamlList("  - webhook: "+h.URL), nil)
	n := New(r.st, cfg, Options{MaxEvents: 2})
	n.Start(r.head)
	r.commit("many", issue("1", "a", "unresolved", 1, nil), issue("2", "b", "unresolved", 1, nil), issue("3", "c", "unresolved", 1, nil))
	r.commit("one", issue("4", "d", "unresolved", 1, nil))
	r.commit("two", issue("5", "e", "unresolved", 1, nil), issue("6", "f", "unresolved", 1, nil))
	rep, _ := n.Deliver(context.Background(), r.head)
	if len(h.got) != 2 || h.got[0].Event != "summary" || !strings.Contains(h.got[0].Message, "3 events") || h.got[1].Identifier != "4" {
		t.Fatalf("got %+v", h.got)
	}
	if !errors.Is(rep.Err(), catalog.ErrPartial) {
		t.Fatalf("events left for the next run must be said: %v", rep.Err())
	}
	rep, _ = New(r.st, cfg, Options{MaxEvents: 2}).Deliver(context.Background(), r.head)
	if rep.Err() != nil || len(h.got) != 4 || h.got[3].Identifier != "6" {
		t.Fatalf("next run: %v, %+v", rep.Err(), h.got)
	}
}

// A webhook sink that answers with a redirect has not taken the event
// (a client following it would drop the body and POST): it is a failure,
// retried later, and the ref stays.
func TestWebhookRedirectIsNotDelivery(t *testing.T) {
	r := newRepo(t)
	r.commit("base", issue("1", "Old", "unresolved", 1, nil))
	var finals int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/final" {
			finals++
			return
		}
		http.Redirect(w, req, "/final", http.StatusMovedPermanently)
	}))
	defer srv.Close()
	cfg := parse(t, yamlList("  - webhook: "+srv.URL+"/hook"), nil)
	start := r.head
	n := newNotifier(r, cfg)
	if err := n.Start(start); err != nil {
		t.Fatal(err)
	}
	r.commit("sync 1", issue("2", "New", "unresolved", 3, nil))
	rep, err := n.Deliver(context.Background(), r.head)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Err() == nil || !strings.Contains(rep.Err().Error(), "HTTP 301") {
		t.Fatalf("a redirect was taken as delivery: %v", rep.Err())
	}
	if finals != 0 {
		t.Errorf("the redirect was followed %d times", finals)
	}
	if at := r.ref(cfg.Sinks[0]); at != start {
		t.Fatalf("ref moved although nothing was delivered")
	}
}
