package serve

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

var testSecret = []byte("s3cret-client-secret")

// newTestServer builds a Server over a temp git dir with a fake Applier,
// and a log buffer.
func newTestServer(t *testing.T, apply Applier) (*Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	if apply == nil {
		apply = func(context.Context, []Item) (plumbing.Hash, error) { return plumbing.ZeroHash, nil }
	}
	s, err := New(Options{GitDir: t.TempDir(), Secret: testSecret, MaxBody: 4096, Apply: apply,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, &logs
}

// lockedWriter lets handlers log from the server's goroutines under -race.
type lockedWriter struct {
	mu gosync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// issueBody is a delivery as Sentry sends it; the issue's status follows
// the action so that two deliveries of one issue differ.
func issueBody(id, action string) string {
	status := map[string]string{"resolved": "resolved", "ignored": "ignored", "archived": "ignored"}[action]
	if status == "" {
		status = "unresolved"
	}
	return fmt.Sprintf(`{"action":%q,"installation":{"uuid":"u-1"},"data":{"issue":{"id":%q,"title":"TypeError: boom","status":%q}},"actor":{"type":"application","id":"sentry","name":"Sentry"}}`, action, id, status)
}

type delivery struct {
	resource, reqID, body, sig string
	unsigned                   bool
}

func (d delivery) request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/sentry/webhook", strings.NewReader(d.body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Sentry-Hook-Resource", d.resource)
	if d.reqID != "" {
		r.Header.Set("Request-ID", d.reqID)
	}
	switch {
	case d.sig != "":
		r.Header.Set("Sentry-Hook-Signature", d.sig)
	case !d.unsigned:
		r.Header.Set("Sentry-Hook-Signature", Signature(testSecret, []byte(d.body)))
	}
	return r
}

func TestWebhookHandler(t *testing.T) {
	good := issueBody("42", "created")
	// Re-serialising the body changes its bytes: the signature is of the raw body.
	reformatted := strings.ReplaceAll(good, ",", ", ")
	tests := []struct {
		name     string
		d        delivery
		status   int
		recorded bool
		reason   string // the rejection counter that moves
	}{
		{"signed issue created", delivery{resource: "issue", reqID: "r1", body: good}, 202, true, ""},
		{"each issue action", delivery{resource: "issue", reqID: "r2", body: issueBody("42", "archived")}, 202, true, ""},
		{"unsigned", delivery{resource: "issue", reqID: "r3", body: good, unsigned: true}, 401, false, "signature"},
		{"wrong secret", delivery{resource: "issue", reqID: "r4", body: good, sig: Signature([]byte("other"), []byte(good))}, 401, false, "signature"},
		{"not hex", delivery{resource: "issue", reqID: "r5", body: good, sig: "zz" + Signature(testSecret, []byte(good))[2:]}, 401, false, "signature"},
		{"signature of another body", delivery{resource: "issue", reqID: "r6", body: reformatted, sig: Signature(testSecret, []byte(good))}, 401, false, "signature"},
		{"too large", delivery{resource: "issue", reqID: "r7", body: `{"action":"created","pad":"` + strings.Repeat("x", 5000) + `"}`}, 413, false, "too_large"},
		{"bad json, good signature", delivery{resource: "issue", reqID: "r8", body: `{"action":`}, 400, false, "bad_json"},
		{"issue without id", delivery{resource: "issue", reqID: "r9", body: `{"action":"created","data":{"issue":{"title":"x"}}}`}, 400, false, "bad_json"},
		{"issue nested deeper than a sync takes", delivery{resource: "issue", reqID: "r13", body: `{"action":"created","data":{"issue":{"id":"1","deep":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}}}`}, 400, false, "bad_json"},
		{"null body", delivery{resource: "issue", reqID: "r14", body: `null`}, 400, false, "bad_json"},
		{"array body", delivery{resource: "installation", reqID: "r15", body: `[]`}, 400, false, "bad_json"},
		{"issue without action", delivery{resource: "issue", reqID: "r16", body: `{"data":{"issue":{"id":"1"}}}`}, 400, false, "bad_json"},
		{"issue not an object", delivery{resource: "issue", reqID: "r17", body: `{"action":"created","data":{"issue":[{"id":"1"}]}}`}, 400, false, "bad_json"},
		{"installation", delivery{resource: "installation", reqID: "r10", body: `{"action":"created","data":{"installation":{"uuid":"u"}}}`}, 200, false, ""},
		{"error resource", delivery{resource: "error", reqID: "r11", body: `{"action":"created","data":{"error":{}}}`}, 200, false, ""},
		{"issue comment action", delivery{resource: "issue", reqID: "r12", body: issueBody("42", "commented")}, 200, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, logs := newTestServer(t, nil)
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, tt.d.request())
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if got := s.journal.Depth(); got != map[bool]int{true: 1}[tt.recorded] {
				t.Errorf("journal depth %d, recorded want %v", got, tt.recorded)
			}
			if tt.reason != "" {
				if v := counterValue(t, s, "gitalog_webhook_events_rejected_total", `reason="`+tt.reason+`"`); v != 1 {
					t.Errorf("rejected{reason=%s} = %v, want 1", tt.reason, v)
				}
			}
			if tt.status == 401 || tt.status == 413 {
				// A refused delivery leaves one log line and nothing of its content.
				if n := strings.Count(logs.String(), "\n"); n != 1 || strings.Contains(logs.String(), "boom") || strings.Contains(logs.String(), tt.d.reqID) {
					t.Errorf("logs of a refused delivery:\n%s", logs)
				}
				if fi, err := os.Stat(filepath.Join(JournalDir(s.o.GitDir), journalName)); err != nil || fi.Size() != 0 {
					t.Errorf("journal file after a refused delivery: %v %v", fi, err)
				}
			}
		})
	}
}

func TestWebhookReplayRecordedOnce(t *testing.T) {
	s, _ := newTestServer(t, nil)
	d := delivery{resource: "issue", reqID: "same", body: issueBody("7", "resolved")}
	for i, want := range []int{202, 200, 200} {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, d.request())
		if w.Code != want {
			t.Fatalf("delivery %d: status %d, want %d", i, w.Code, want)
		}
	}
	if s.journal.Depth() != 1 {
		t.Fatalf("journal depth %d after three deliveries of one Request-ID, want 1", s.journal.Depth())
	}
	// After a restart (a new journal over the same dir) too.
	s.Close()
	j, err := OpenJournal(JournalDir(s.o.GitDir))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, dup, _ := j.Append(Record{RequestID: "same", Kind: "issue", ID: "7"}); !dup {
		t.Error("a replay after restart is not recognised")
	}
}

func TestWebhookWrongMethod(t *testing.T) {
	s, _ := newTestServer(t, nil)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/sentry/webhook", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", w.Code)
	}
}

// counterValue reads one sample from /metrics.
func counterValue(t *testing.T, s *Server, name, label string) float64 {
	t.Helper()
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if strings.HasPrefix(line, name) && (label == "" || strings.Contains(line, label)) {
			var v float64
			fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &v)
			return v
		}
	}
	return 0
}
