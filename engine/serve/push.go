package serve

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gitalog/gitalog/engine/secretenv"
)

// OpsLevel's push integrations: POST /push/<external_kind> takes a JSON
// body for an extractor without http_polling. It is checked (token,
// size, kind, JSON, the extractor's iterator and external_id) before it
// is recorded, recorded in the journal and fsynced before the 2xx, and
// applied with the batch, as the webhooks are.

// PushResource is the journal's Resource of a pushed body.
const PushResource = "push"

// PushCheck says whether kind takes pushes and body is one its extractor
// can take, at the repository's current config: an error wrapping
// ErrNoPushKind is a kind that takes none (404), ErrPushUnavailable a
// config that cannot be read (503), any other a body it refuses (400).
// kept and excluded count the body's items.
type PushCheck func(kind string, body []byte) (kept, excluded int, err error)

var (
	// ErrNoPushKind: no extractor of that kind, or one that polls.
	ErrNoPushKind = errors.New("no push extractor")
	// ErrPushUnavailable: the server cannot tell (the config is unreadable).
	ErrPushUnavailable = errors.New("cannot check pushes now")
)

// PushToken reads the token pushes must bear from GITALOG_PUSH_TOKEN, else
// from the file GITALOG_PUSH_TOKEN_FILE names; nil when neither is set
// (pushes are then refused).
func PushToken(getenv func(string) string) ([]byte, error) {
	if v := getenv(secretenv.ServePushToken); v != "" {
		return []byte(v), nil
	}
	f := getenv(secretenv.ServePushTokenFile)
	if f == "" {
		return nil, nil
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", secretenv.ServePushTokenFile, err)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: %s is empty", secretenv.ServePushTokenFile, f)
	}
	return b, nil
}

type pushHandler struct {
	token   []byte // nil: pushes are off
	check   PushCheck
	maxBody int64
	journal *Journal
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time
}

// validToken compares digests in constant time: neither the token's bytes
// nor its length leak through the timing.
func validToken(want []byte, header string) bool {
	// The scheme is case-insensitive (RFC 7235: "bearer" is "Bearer").
	scheme, got, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(want) == 0 {
		return false
	}
	a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256(want)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (h *pushHandler) refuse(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	h.metrics.Rejected.WithLabelValues("push_" + reason).Inc()
	// The path names the kind, never a secret; the body is not logged.
	h.log.Warn("push refused", "reason", reason, "status", status, "path", r.URL.Path, "remote", r.RemoteAddr, "error", msg)
	writeJSON(w, status, map[string]any{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (h *pushHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, r, http.StatusMethodNotAllowed, "method", "POST only")
		return
	}
	if len(h.token) == 0 {
		h.refuse(w, r, http.StatusForbidden, "off", "pushes are off on this server: it was started without "+secretenv.ServePushToken+" or "+secretenv.ServePushTokenFile)
		return
	}
	if !validToken(h.token, r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gitalog push"`)
		h.refuse(w, r, http.StatusUnauthorized, "token", "missing or wrong token (Authorization: Bearer <token>)")
		return
	}
	kind := strings.TrimPrefix(r.URL.Path, "/push/")
	if kind == "" || strings.Contains(kind, "/") {
		h.refuse(w, r, http.StatusNotFound, "kind", "POST /push/<external_kind>, the external_kind of an extractor without http_polling")
		return
	}
	body, ok := readBody(w, r, h.maxBody, h.refuse)
	if !ok {
		return
	}
	kept, excluded, err := h.check(kind, body)
	switch {
	case errors.Is(err, ErrNoPushKind):
		h.refuse(w, r, http.StatusNotFound, "kind", err.Error())
		return
	case errors.Is(err, ErrPushUnavailable):
		h.refuse(w, r, http.StatusServiceUnavailable, "config", err.Error())
		return
	case err != nil:
		h.refuse(w, r, http.StatusBadRequest, "bad_body", err.Error())
		return
	}
	now := h.now()
	reqID := r.Header.Get("Idempotency-Key")
	if reqID == "" {
		reqID = r.Header.Get("Request-ID")
	}
	// Per kind, so that one sender's keys cannot collide with another
	// kind's or with Sentry's Request-IDs. A push without a key is not
	// deduplicated: the same body again may be a state that came back
	// (fail, pass, fail), and applying an unchanged one changes nothing.
	journalID := "push/" + kind + "/" + reqID
	if reqID == "" {
		reqID, journalID = PushRequestID(kind, body, now), ""
	}
	log := h.log.With("kind", kind, "request_id", reqID)
	h.metrics.Received.WithLabelValues(PushResource).Inc()
	seq, dup, err := h.journal.Append(Record{RequestID: journalID, Resource: PushResource, Kind: kind, ID: reqID, JSON: body, At: now.UTC()})
	if err != nil {
		h.metrics.Rejected.WithLabelValues("push_journal").Inc()
		log.Error("push not recorded", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "could not record the push; send it again"})
		return
	}
	if dup {
		log.Info("push replayed, already recorded", "seq", seq)
		writeJSON(w, http.StatusOK, map[string]any{"request_id": reqID, "replay": true})
		return
	}
	log.Info("push recorded", "seq", seq, "items", kept, "excluded", excluded)
	writeJSON(w, http.StatusAccepted, map[string]any{"request_id": reqID, "items": kept, "excluded": excluded})
}

// PushRequestID names, in logs and answers, a push without an
// Idempotency-Key or Request-ID header: a hash of the kind, the time and
// the body.
func PushRequestID(kind string, body []byte, at time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", kind, at.UTC().Format(time.RFC3339Nano))
	h.Write(body)
	return fmt.Sprintf("sha256-%x", h.Sum(nil)[:16])
}

// PushesOff is what the start logs when pushes are off.
const PushesOff = "POST /push/<kind> is off (403): set " + secretenv.ServePushToken + " or " + secretenv.ServePushTokenFile + " to take OpsLevel-style pushes"

func (s *Server) pushHandler() http.Handler {
	check := s.o.PushCheck
	if check == nil {
		check = func(string, []byte) (int, int, error) { return 0, 0, ErrNoPushKind }
	}
	return &pushHandler{token: s.o.PushToken, check: check, maxBody: s.o.MaxBody, journal: s.journal, metrics: s.metrics, log: s.log, now: time.Now}
}
