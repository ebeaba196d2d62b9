package serve

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gitalog/gitalog/engine/jsonx"
)

// DefaultMaxBody is the default limit on a webhook body.
const DefaultMaxBody = 1 << 20

// issueActions are the issue webhook actions that carry an issue state the
// catalog takes; Sentry sends ignored also as archived.
var issueActions = map[string]bool{
	"created": true, "resolved": true, "assigned": true,
	"ignored": true, "archived": true, "unresolved": true,
}

// webhookHandler takes Sentry Integration Platform webhooks.
type webhookHandler struct {
	secret  []byte
	maxBody int64
	journal *Journal
	metrics *Metrics
	log     *slog.Logger
}

// Signature is Sentry's Sentry-Hook-Signature for body: the lowercase hex
// HMAC-SHA256 of the raw body keyed with the integration's client secret.
func Signature(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// validSignature compares in constant time, on the decoded MAC, so that a
// forged header learns nothing from the timing.
func validSignature(secret, body []byte, header string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) != sha256.Size || len(secret) == 0 {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

func (h *webhookHandler) refuse(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	h.metrics.Rejected.WithLabelValues(reason).Inc()
	// Nothing from the request but its address: a forged delivery leaves
	// this one line and no other trace.
	h.log.Warn("webhook refused", "reason", reason, "status", status, "remote", r.RemoteAddr)
	http.Error(w, msg, status)
}

// readBody reads a request's body up to max bytes; over it, or when the
// read fails, it refuses the request (413, 400) and says so.
func readBody(w http.ResponseWriter, r *http.Request, max int64, refuse func(http.ResponseWriter, *http.Request, int, string, string)) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			refuse(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", max))
			return nil, false
		}
		refuse(w, r, http.StatusBadRequest, "read", "reading the body failed")
		return nil, false
	}
	return body, true
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, r, http.StatusMethodNotAllowed, "method", "POST only")
		return
	}
	body, ok := readBody(w, r, h.maxBody, h.refuse)
	if !ok {
		return
	}
	if !validSignature(h.secret, body, r.Header.Get("Sentry-Hook-Signature")) {
		h.refuse(w, r, http.StatusUnauthorized, "signature", "missing or wrong Sentry-Hook-Signature")
		return
	}
	resource := r.Header.Get("Sentry-Hook-Resource")
	reqID := r.Header.Get("Request-ID")
	log := h.log.With("resource", resource, "request_id", reqID)
	var msg struct {
		Action string `json:"action"`
		Data   struct {
			Issue json.RawMessage `json:"issue"`
		} `json:"data"`
	}
	// The sync's own decoder first: a body it would refuse (nested deeper
	// than it takes) must be refused here, not acknowledged and then fail
	// every batch it is in.
	v, err := jsonx.Decode(body)
	if err == nil {
		if _, ok := v.(map[string]any); !ok {
			err = errors.New("not a JSON object")
		}
	}
	if err == nil {
		err = json.Unmarshal(body, &msg)
	}
	if err == nil && resource == "issue" && msg.Action == "" {
		err = errors.New("no action")
	}
	if err != nil {
		h.metrics.Rejected.WithLabelValues("bad_json").Inc()
		log.Warn("webhook refused", "reason", "bad_json", "status", http.StatusBadRequest, "error", err)
		http.Error(w, "body is not a webhook JSON object: "+err.Error(), http.StatusBadRequest)
		return
	}
	h.metrics.Received.WithLabelValues(resource).Inc()
	log = log.With("action", msg.Action)
	if resource != "issue" || !issueActions[msg.Action] {
		log.Info("webhook acknowledged, nothing to apply")
		w.WriteHeader(http.StatusOK)
		return
	}
	var issue struct {
		ID json.RawMessage `json:"id"`
	}
	if len(msg.Data.Issue) == 0 || json.Unmarshal(msg.Data.Issue, &issue) != nil || idString(issue.ID) == "" {
		h.metrics.Rejected.WithLabelValues("bad_json").Inc()
		log.Warn("webhook refused", "reason", "bad_json", "status", http.StatusBadRequest, "error", "data.issue is not an issue with an id")
		http.Error(w, "data.issue is not an issue object with an id", http.StatusBadRequest)
		return
	}
	id := idString(issue.ID)
	seq, dup, err := h.journal.Append(Record{RequestID: reqID, Resource: resource, Action: msg.Action, Kind: "issue", ID: id, JSON: msg.Data.Issue})
	if err != nil {
		// Sentry retries a failed delivery; nothing was acknowledged.
		h.metrics.Rejected.WithLabelValues("journal").Inc()
		log.Error("webhook not recorded", "issue", id, "error", err)
		http.Error(w, "could not record the event", http.StatusServiceUnavailable)
		return
	}
	if dup {
		h.metrics.Rejected.WithLabelValues("replay").Inc()
		log.Info("webhook replayed, already recorded", "issue", id, "seq", seq)
		w.WriteHeader(http.StatusOK)
		return
	}
	log.Info("webhook recorded", "issue", id, "seq", seq)
	w.WriteHeader(http.StatusAccepted)
}

// idString reads an id that Sentry sends as a string (and some senders as
// a number).
func idString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
