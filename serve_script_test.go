package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/engine/serve"
	"github.com/rogpeppe/go-internal/testscript"
)

// freeport sets $PORT to a TCP port that was free a moment ago, for a
// background "gitalog serve".
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: freeport")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Setenv("PORT", fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
	ts.Check(ln.Close())
}

// webhook sends a Sentry issue webhook for the fake Sentry's issue ID to
// the serve at ADDR, signed with $SENTRY_CLIENT_SECRET (or a wrong secret
// with -forge), and prints the HTTP status. It waits for the server to
// listen.
//
//	webhook [-forge] ADDR REQUEST-ID ACTION ISSUE-ID
func cmdWebhook(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! webhook")
	}
	secret := []byte(ts.Getenv("SENTRY_CLIENT_SECRET"))
	if len(args) > 0 && args[0] == "-forge" {
		secret, args = []byte("forged"), args[1:]
	}
	if len(args) != 4 {
		ts.Fatalf("usage: webhook [-forge] ADDR REQUEST-ID ACTION ISSUE-ID")
	}
	addr, reqID, action, id := args[0], args[1], args[2], args[3]
	srv := server(ts)
	issue := scriptIssue(ts, srv, id)
	body, err := json.Marshal(map[string]any{"action": action, "installation": map[string]string{"uuid": "inst-1"},
		"data": map[string]any{"issue": issue}, "actor": map[string]string{"type": "application", "id": "sentry", "name": "Sentry"}})
	ts.Check(err)
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/sentry/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sentry-Hook-Resource", "issue")
		req.Header.Set("Request-ID", reqID)
		req.Header.Set("Sentry-Hook-Signature", serve.Signature(secret, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			if time.Now().After(deadline) {
				ts.Fatalf("webhook: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Fprintln(ts.Stdout(), resp.StatusCode)
		return
	}
}

// scriptIssue is the issue as the fake Sentry lists it: the shape of a
// webhook's data.issue.
func scriptIssue(ts *testscript.TestScript, srv *sentrytest.Server, id string) json.RawMessage {
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/0/organizations/"+ts.Getenv("SENTRY_ORG")+"/issues/?query=", nil)
	req.Header.Set("Authorization", "Bearer "+sentrytest.Token)
	resp, err := srv.Client().Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	var items []json.RawMessage
	ts.Check(json.NewDecoder(resp.Body).Decode(&items))
	for _, it := range items {
		var v struct{ ID string }
		if json.Unmarshal(it, &v) == nil && v.ID == id {
			return it
		}
	}
	ts.Fatalf("webhook: the fake Sentry lists no issue %s", id)
	return nil
}
