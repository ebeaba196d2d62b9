package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/engine/serve"
)

// TestServeKilledAtAnyMoment runs "gitalog serve" as a process, sends it
// webhooks from several clients and kills it with SIGKILL at random moments
// (in the middle of appends, batches, commits), restarting it each time.
// At the end every acknowledged event is in the catalog, each added by
// exactly one commit, and the repository is sound.
func TestServeKilledAtAnyMoment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gitalog as a process many times")
	}
	gitalog, err := exec.LookPath("gitalog")
	if err != nil {
		t.Skip("gitalog is not on PATH (testscript.Main puts it there)")
	}
	data := sentrytest.Demo()
	srv := sentrytest.NewServer(data)
	defer srv.Close()
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o644)
	dir := filepath.Join(t.TempDir(), "catalog")
	env := append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "CI=1",
		"SENTRY_URL="+srv.URL, "SENTRY_ORG="+data.OrgSlug(), "SENTRY_AUTH_TOKEN="+sentrytest.Token,
		"SENTRY_CLIENT_SECRET=crash-secret")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run(gitalog, "init", "--dir", dir)
	run(gitalog, "sync", "--dir", dir)

	const events = 150
	ids := make([]string, events)
	srv.Update(func(d *sentrytest.Dataset) {
		for i := range ids {
			ids[i] = d.AddIssue("payments", fmt.Sprintf("KeyError: 'field%d'", i), "payments.api in charge", "error")
		}
	})
	bodies := make([][]byte, events)
	t.Logf("%d commits", len(strings.Fields(run("git", "-C", dir, "rev-list", "HEAD"))))
	for i, id := range ids {
		bodies[i], _ = json.Marshal(map[string]any{"action": "created", "installation": map[string]string{"uuid": "i"},
			"data": map[string]any{"issue": json.RawMessage(listedIssue(t, srv, data.OrgSlug(), id))}})
	}

	rng := rand.New(rand.NewPCG(16, 16))
	var mu sync.Mutex
	acked := map[int]bool{}
	next := 0
	var logs bytes.Buffer
	for round := 0; next < events || round < 3; round++ {
		port := freePort(t)
		args := []string{"serve", "--dir", dir, "--listen", "127.0.0.1:" + port, "--commit-interval", "30ms", "--resync-interval", "0", "--lock-timeout", "1m"}
		cmd := exec.Command(gitalog, args...)
		cmd.Env = env
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		base := "http://127.0.0.1:" + port
		waitListening(t, base)
		// Three clients deliver the next events. One that was not
		// acknowledged is delivered again in the next round, with the
		// events after it (some of which were: redeliveries, as Sentry
		// makes them).
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					if next >= events {
						mu.Unlock()
						return
					}
					i := next
					next++
					mu.Unlock()
					if postSigned(base, fmt.Sprint("req-", i), bodies[i]) {
						mu.Lock()
						acked[i] = true
						mu.Unlock()
					} else {
						// Never acknowledged: Sentry would retry it.
						mu.Lock()
						next = min(next, i)
						mu.Unlock()
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(rng.IntN(700)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		close(stop)
		wg.Wait()
		mu.Lock()
		t.Logf("round %d: killed after %d acknowledged events, next %d", round, len(acked), next)
		mu.Unlock()
	}
	// The last start drains what the journal holds; SIGINT ends it.
	port := freePort(t)
	cmd := exec.Command(gitalog, "serve", "--dir", dir, "--listen", "127.0.0.1:"+port, "--commit-interval", "30ms", "--resync-interval", "0")
	cmd.Env = env
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitListening(t, "http://127.0.0.1:"+port)
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGINT: %v\n%s", err, logs.String())
	}
	if len(acked) != events {
		t.Fatalf("%d of %d events acknowledged", len(acked), events)
	}
	t.Logf("%d commits", len(strings.Fields(run("git", "-C", dir, "rev-list", "HEAD"))))
	for i, id := range ids {
		added := strings.Fields(run("git", "-C", dir, "log", "--format=%H", "--diff-filter=A", "--", "catalog/sentryIssue/"+id+".json"))
		if len(added) != 1 {
			t.Errorf("event %d (issue %s): added by %d commits, want 1", i, id, len(added))
		}
	}
	run("git", "-C", dir, "fsck", "--strict")
	if st := run("git", "-C", dir, "status", "--porcelain"); st != "" {
		t.Errorf("git status after the kills:\n%s", st)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("serve logs:\n%s", logs.String())
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func waitListening(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// postSigned delivers body and says whether it was acknowledged (2xx).
func postSigned(base, reqID string, body []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/sentry/webhook", bytes.NewReader(body))
	req.Header.Set("Sentry-Hook-Resource", "issue")
	req.Header.Set("Request-ID", reqID)
	req.Header.Set("Sentry-Hook-Signature", serve.Signature([]byte("crash-secret"), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}

func listedIssue(t *testing.T, srv *sentrytest.Server, org, id string) []byte {
	t.Helper()
	// Sentry's cursors are offsets: walk the pages as a client following
	// the Link header would.
	for off := 0; ; off += 100 {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/0/organizations/%s/issues/?query=&cursor=0:%d:0", srv.URL, org, off), nil)
		req.Header.Set("Authorization", "Bearer "+sentrytest.Token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var items []json.RawMessage
		err = json.NewDecoder(resp.Body).Decode(&items)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			var v struct{ ID string }
			if json.Unmarshal(it, &v) == nil && v.ID == id {
				return it
			}
		}
		if len(items) == 0 {
			break
		}
	}
	t.Fatalf("issue %s not listed", id)
	return nil
}
