package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/gitstore"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/sync"
	"github.com/go-git/go-git/v5/plumbing"
)

var testPushToken = []byte("push-token-for-tests-0123456789")

// fakePushCheck takes pushes to kyverno_issues whose body is a JSON object.
func fakePushCheck(kind string, body []byte) (int, int, error) {
	switch kind {
	case "kyverno_issues":
	case "sentry_issue":
		return 0, 0, fmt.Errorf("%w: extractor %q (#1) has http_polling: its items are polled, not pushed", ErrNoPushKind, kind)
	default:
		return 0, 0, fmt.Errorf("%w: no extractor has external_kind %q", ErrNoPushKind, kind)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return 0, 0, fmt.Errorf("the body is not JSON: %w", err)
	}
	return 1, 0, nil
}

func newPushServer(t *testing.T, token []byte, secret ...byte) (*Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	apply := func(context.Context, []Item) (plumbing.Hash, error) { return plumbing.ZeroHash, nil }
	s, err := New(Options{GitDir: t.TempDir(), Secret: secret, PushToken: token, PushCheck: fakePushCheck, MaxBody: 4096, Apply: apply,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, &logs
}

func pushReq(kind, auth, body string, header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/push/"+kind, strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestPushRefusals: each refusal has its status and records nothing; the
// token never reaches the logs.
func TestPushRefusals(t *testing.T) {
	s, logs := newPushServer(t, testPushToken)
	h := s.Handler()
	good := "Bearer " + string(testPushToken)
	cases := []struct {
		name string
		req  *http.Request
		want int
		msg  string
	}{
		{"no token", pushReq("kyverno_issues", "", `{}`), 401, "token"},
		{"wrong token", pushReq("kyverno_issues", "Bearer "+string(testPushToken)+"x", `{}`), 401, "token"},
		{"basic", pushReq("kyverno_issues", "Basic "+string(testPushToken), `{}`), 401, "token"},
		{"unknown kind", pushReq("nothing", good, `{}`), 404, `no extractor has external_kind`},
		{"polling kind", pushReq("sentry_issue", good, `{}`), 404, "http_polling"},
		{"no kind", pushReq("", good, `{}`), 404, "external_kind"},
		{"too large", pushReq("kyverno_issues", good, `{"a":"`+strings.Repeat("x", 5000)+`"}`), 413, "body over 4096 bytes"},
		{"bad json", pushReq("kyverno_issues", good, `{"a":`), 400, "not JSON"},
		{"get", httptest.NewRequest(http.MethodGet, "/push/kyverno_issues", nil), 405, "POST only"},
	}
	for _, c := range cases {
		w := do(h, c.req)
		if w.Code != c.want || !strings.Contains(w.Body.String(), c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, w.Code, w.Body.String(), c.want, c.msg)
		}
	}
	if d := s.journal.Depth(); d != 0 {
		t.Errorf("refused pushes were recorded: %d", d)
	}
	if strings.Contains(logs.String(), string(testPushToken)) {
		t.Errorf("the token is in the logs:\n%s", logs.String())
	}
}

// TestPushOff: without a token the endpoint answers 403 and says so (Run
// says it at start: script serve_push.txtar).
func TestPushOff(t *testing.T) {
	s, logs := newPushServer(t, nil, testSecret...)
	w := do(s.Handler(), pushReq("kyverno_issues", "Bearer anything", `{}`))
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "GITALOG_PUSH_TOKEN") {
		t.Errorf("push with pushes off: %d %s", w.Code, w.Body.String())
	}
	if !strings.Contains(logs.String(), "push refused") || !strings.Contains(logs.String(), "reason=off") {
		t.Errorf("the refusal is not logged:\n%s", logs.String())
	}
}

// TestPushRecordedOnce: an accepted push is journaled before the 202; the
// same Idempotency-Key, or the same body the same day without one, is a
// replay (200) and recorded once.
func TestPushRecordedOnce(t *testing.T) {
	s, _ := newPushServer(t, testPushToken)
	h := s.Handler()
	good := "Bearer " + string(testPushToken)
	if w := do(h, pushReq("kyverno_issues", good, `{"a":1}`, "Idempotency-Key", "k1")); w.Code != http.StatusAccepted {
		t.Fatalf("push: %d %s", w.Code, w.Body.String())
	}
	if w := do(h, pushReq("kyverno_issues", good, `{"a":2}`, "Idempotency-Key", "k1")); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"replay":true`) {
		t.Fatalf("replayed key: %d %s", w.Code, w.Body.String())
	}
	if w := do(h, pushReq("kyverno_issues", good, `{"b":1}`)); w.Code != http.StatusAccepted {
		t.Fatalf("push without a key: %d", w.Code)
	}
	// Without a key nothing is a replay: fail, pass, fail is a state
	// that came back, and must win (applying an unchanged body again
	// changes nothing).
	if w := do(h, pushReq("kyverno_issues", good, `{"b":2}`)); w.Code != http.StatusAccepted {
		t.Fatalf("another body: %d", w.Code)
	}
	if w := do(h, pushReq("kyverno_issues", good, `{"b":1}`)); w.Code != http.StatusAccepted {
		t.Fatalf("the first body again: %d %s", w.Code, w.Body.String())
	}
	recs := s.journal.Pending()
	if len(recs) != 4 {
		t.Fatalf("journal holds %d records, want 4", len(recs))
	}
	for _, r := range recs {
		if r.Resource != PushResource || r.Kind != "kyverno_issues" || r.At.IsZero() {
			t.Errorf("record %+v", r)
		}
	}
	items := batchItems(recs)
	if len(items) != 4 || !items[0].Push || string(items[0].JSON) != `{"a":1}` || items[0].ID != "k1" || string(items[3].JSON) != `{"b":1}` {
		t.Errorf("batch items: %+v", items)
	}
}

const kyvernoGuide = "../../examples/opslevel/kyverno-two-transforms.yaml"

// kyvernoRepo is a catalog configured with the Kyverno guide.
func kyvernoRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	t.Setenv("HOME", t.TempDir())
	if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: testrepo.Author, OpsLevel: true}); err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile(kyvernoGuide)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"gitalog.yaml":                  string(guide),
		"blueprints/kyverno_issue.json": `{"identifier": "kyverno_issue", "schema": {"properties": {"summary": {"type": "string"}, "status": {"type": "string"}, "namespace": {"type": "string"}}}}`,
		"blueprints/namespace.json":     `{"identifier": "namespace", "schema": {"properties": {}}}`,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testrepo.Git(t, dir, "add", "-A")
	testrepo.Git(t, dir, "-c", "user.name=Person", "-c", "user.email=person@example.com", "commit", "-qm", "the Kyverno guide")
	return dir
}

func kyverno(name, ns, rule string) string {
	b, _ := json.Marshal(map[string]any{"policy": "require-labels", "rule": rule, "status": "fail", "message": name + " breaks " + rule,
		"resource": map[string]any{"name": name, "namespace": ns, "kind": "Pod"}})
	return string(b)
}

// TestPushEndToEnd: pushes through a running server, in one commit per
// batch; the entities are those sync.ApplyPush writes (engine/sync's tests
// hold them to a polled sync's); a kind that polls is 404; a full sync
// afterwards agrees.
func TestPushEndToEnd(t *testing.T) {
	dir := kyvernoRepo(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))
	so := sync.Options{Dir: dir, Author: testrepo.Author, Logger: log, Env: func(string) string { return "" }}
	before := strings.TrimSpace(testrepo.Git(t, dir, "rev-parse", "HEAD"))
	ctx, stop := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Sync: so, Listen: "127.0.0.1:0",
			Options: Options{PushToken: testPushToken, CommitInterval: time.Hour, Logger: log},
			Ready:   func(_ *Server, a net.Addr) { addr <- a }})
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a.String()
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	send := func(kind, body string) int {
		req, _ := http.NewRequest(http.MethodPost, url+"/push/"+kind, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+string(testPushToken))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, b := range []string{kyverno("nginx", "default", "check-for-application-label"), kyverno("redis", "cache", "run-as-non-root-user"), kyverno("nginx", "default", "other-rule")} {
		if code := send("kyverno_issues", b); code != http.StatusAccepted {
			t.Fatalf("push: %d", code)
		}
	}
	if code := send("kyverno_issues", `[`); code != http.StatusBadRequest {
		t.Errorf("malformed push: %d", code)
	}
	if code := send("namespace", `{}`); code != http.StatusNotFound {
		t.Errorf("push to a blueprint, not an extractor: %d", code)
	}
	stop() // the drain applies the journal, as one batch
	if err := <-done; err != nil {
		t.Fatalf("Run: %v\n%s", err, logs.String())
	}
	if n := len(strings.Fields(testrepo.Git(t, dir, "rev-list", before+"..HEAD"))); n != 1 {
		t.Fatalf("%d commits for one batch, want 1", n)
	}
	for _, f := range []string{"kyverno_issue/nginx-check-for-application-label.json", "kyverno_issue/redis-run-as-non-root-user.json", "namespace/default.json", "namespace/cache.json"} {
		if _, err := os.Stat(filepath.Join(dir, "catalog", f)); err != nil {
			t.Errorf("catalog/%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "catalog", "kyverno_issue", "nginx-other-rule.json")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the excluded item was written")
	}
	testrepo.Git(t, dir, "fsck", "--strict")
	res, err := sync.Run(context.Background(), so)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Commit.IsZero() {
		t.Errorf("a full sync after the pushes committed %s", res.Commit)
	}
}

func TestValidToken(t *testing.T) {
	want := []byte("tok-123")
	for h, ok := range map[string]bool{
		"Bearer tok-123": true, "bearer tok-123": true, "BEARER  tok-123": true, " Bearer tok-123 ": true,
		"Bearer tok-12": false, "Basic tok-123": false, "tok-123": false, "": false, "Bearer": false,
	} {
		if validToken(want, h) != ok {
			t.Errorf("validToken(%q) = %v, want %v", h, !ok, ok)
		}
	}
}

// A config that maps no Sentry issue (an OpsLevel-only one) makes the
// webhook endpoint a no-op: the start says so.
func TestIssuesUnmappedIsSaid(t *testing.T) {
	for dir, want := range map[string]bool{kyvernoRepo(t): true, testrepo.Init(t): false} {
		st, err := gitstore.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := issuesUnmapped(headConfig(st, "")); (got != "") != want {
			t.Errorf("%s: %q, want a reason %v", dir, got, want)
		}
	}
}
