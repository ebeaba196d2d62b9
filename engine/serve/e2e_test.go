package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/engine/sync"
)

// issueItem is the issue as the fake Sentry lists it, which is the shape a
// webhook's data.issue has.
func issueItem(t *testing.T, srv *sentrytest.Server, org, id string) json.RawMessage {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/0/organizations/"+org+"/issues/?query=", nil)
	req.Header.Set("Authorization", "Bearer "+sentrytest.Token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var items []json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&items); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		var v struct{ ID string }
		json.Unmarshal(it, &v)
		if v.ID == id {
			return it
		}
	}
	t.Fatalf("issue %s is not listed", id)
	return nil
}

// webhook is a delivery as Sentry makes it, signed with secret.
func webhook(t *testing.T, url string, secret []byte, reqID, action string, issue json.RawMessage) *http.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"action": action, "installation": map[string]string{"uuid": "inst-1"},
		"data": map[string]any{"issue": issue}, "actor": map[string]string{"type": "application", "id": "sentry", "name": "Sentry"}})
	req, _ := http.NewRequest(http.MethodPost, url+"/sentry/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sentry-Hook-Resource", "issue")
	req.Header.Set("Sentry-Hook-Timestamp", fmt.Sprint(time.Now().Unix()))
	req.Header.Set("Request-ID", reqID)
	if secret != nil {
		req.Header.Set("Sentry-Hook-Signature", Signature(secret, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// A signed webhook for a new issue: 2xx, and after the commit interval the
// issue is in the catalog, in one commit; a forged one leaves no trace.
func TestServeEndToEnd(t *testing.T) {
	data := sentrytest.Demo()
	srv := sentrytest.NewServer(data)
	defer srv.Close()
	dir := testrepo.InitPort(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))
	so := sync.Options{Dir: dir, Env: testrepo.Env(srv, data), HTTPClient: srv.Client(), Author: testrepo.Author, Logger: log}
	if _, err := sync.Run(context.Background(), so); err != nil {
		t.Fatal(err)
	}
	before := testrepo.Git(t, dir, "rev-parse", "HEAD")

	var added string
	srv.Update(func(d *sentrytest.Dataset) {
		added = d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
	})
	issue := issueItem(t, srv, data.OrgSlug(), added)

	ctx, stop := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Sync: so, Listen: "127.0.0.1:0",
			Options: Options{Secret: testSecret, CommitInterval: 50 * time.Millisecond, Logger: log},
			Ready:   func(_ *Server, a net.Addr) { addr <- a }})
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a.String()
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}

	forged := webhook(t, url, []byte("not the secret"), "forged-1", "created", issue)
	if forged.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged webhook: %d, want 401", forged.StatusCode)
	}
	start := time.Now()
	resp := webhook(t, url, testSecret, "delivery-1", "created", issue)
	t.Logf("signed webhook answered %d in %v", resp.StatusCode, time.Since(start))
	if resp.StatusCode/100 != 2 {
		t.Fatalf("signed webhook: %d", resp.StatusCode)
	}
	path := filepath.Join(dir, "catalog", "issue", added+".json")
	waitFor(t, func() bool { _, err := os.Stat(path); return err == nil }, "catalog/issue/"+added+".json")
	// Sentry redelivers: the same Request-ID changes nothing.
	if r := webhook(t, url, testSecret, "delivery-1", "created", issue); r.StatusCode/100 != 2 {
		t.Fatalf("replayed webhook: %d", r.StatusCode)
	}
	afterCreate := strings.TrimSpace(testrepo.Git(t, dir, "rev-parse", "HEAD"))
	// Resolved in Sentry: the catalog's search is is:unresolved, so the
	// webhook deletes the issue, as a resync would.
	srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(added) })
	resolved := issueItem(t, srv, data.OrgSlug(), added)
	if r := webhook(t, url, testSecret, "delivery-2", "resolved", resolved); r.StatusCode/100 != 2 {
		t.Fatalf("resolved webhook: %d", r.StatusCode)
	}
	waitFor(t, func() bool { _, err := os.Stat(path); return os.IsNotExist(err) }, "catalog/issue/"+added+".json deleted")
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run after SIGTERM-like stop: %v", err)
	}
	commits := strings.Fields(testrepo.Git(t, dir, "rev-list", strings.TrimSpace(before)+".."+afterCreate))
	if len(commits) != 1 {
		t.Fatalf("%d commits after one webhook (and a replay), want 1", len(commits))
	}
	if n := len(strings.Fields(testrepo.Git(t, dir, "rev-list", afterCreate+"..HEAD"))); n != 1 {
		t.Fatalf("%d commits for the resolved webhook, want 1", n)
	}
	testrepo.Git(t, dir, "fsck", "--strict")
	if strings.Contains(logs.String(), "forged-1") || strings.Count(logs.String(), "webhook refused") != 1 {
		t.Errorf("the forged delivery left more than one refusal line in the logs:\n%s", logs.String())
	}
	// And a full sync now agrees with what the webhook wrote.
	res, err := sync.Run(context.Background(), so)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Commit.IsZero() {
		t.Errorf("a full sync after the webhook committed %s: webhook and resync disagree", res.Commit)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
