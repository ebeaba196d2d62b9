package sentry

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// Against sentry.io's limiter (40 requests a second and 25 in flight per
// endpoint), fetching every issue, while another endpoint is fetched
// beside it, is answered 429 at most once in a hundred requests: the
// client paces each endpoint by its own headers. Counts, not timing.
func TestRateLimitedFakeFewTooMany(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 3 s of rate-limit windows")
	}
	d := sentrytest.Generate(sentrytest.GenOptions{Seed: 7, Projects: 5, Issues: 1200, Teams: 4, Members: 300})
	srv := sentrytest.NewServer(d, sentrytest.WithEndpointRateLimit(40, time.Second, 25), sentrytest.WithPageSize(10))
	defer srv.Close()
	c, err := NewClient(srv.URL, sentrytest.Token, ClientOptions{HTTPClient: srv.Client(), Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	src := &Source{Client: c, Org: d.OrgSlug()}
	var wg sync.WaitGroup
	counts := map[string]int{}
	var mu sync.Mutex
	for _, kind := range []string{"issue", "user"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			err := src.Stream(context.Background(), kind, map[string]any{"search": ""}, func(b Batch) error {
				n += len(b.Items)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			counts[kind] = n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts["issue"] != d.NumIssues() {
		t.Fatalf("fetched %d issues, want %d", counts["issue"], d.NumIssues())
	}
	total, tooMany := 0, 0
	for _, r := range srv.Requests() {
		total++
		if r.Status == 429 {
			tooMany++
		}
	}
	if total < 120 {
		t.Fatalf("only %d requests: the fake's pages are not small enough to test pacing", total)
	}
	if tooMany*100 > total {
		t.Fatalf("%d of %d requests answered 429, want at most 1%%", tooMany, total)
	}
	t.Logf("%d requests (%d users), %d answered 429", total, counts["user"], tooMany)
}

// Once an endpoint's X-Sentry-Rate-Limit-ConcurrentLimit is known, the
// client keeps no more of its requests in flight, whatever its own
// concurrency: only the first burst, sent before any answer told the
// limit (one request per project's list), can go over.
func TestConcurrentLimitPerEndpoint(t *testing.T) {
	d := sentrytest.Generate(sentrytest.GenOptions{Seed: 7, Projects: 12, Issues: 600, Teams: 2, Members: 5})
	srv := sentrytest.NewServer(d, sentrytest.WithEndpointRateLimit(100000, time.Second, 2),
		sentrytest.WithPageSize(10), sentrytest.WithLatency(5*time.Millisecond))
	defer srv.Close()
	c, err := NewClient(srv.URL, sentrytest.Token, ClientOptions{HTTPClient: srv.Client(), Concurrency: 8, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src := &Source{Client: c, Org: d.OrgSlug()}
	if err := src.Stream(context.Background(), "issue", map[string]any{"search": ""}, func(Batch) error { return nil }); err != nil {
		t.Fatal(err)
	}
	tooMany := 0
	for _, r := range srv.Requests() {
		if r.Status == 429 {
			tooMany++
		}
	}
	if tooMany > 12 {
		for _, r := range srv.Requests() {
			t.Log(r.Time.Format("05.000"), r.Status, r.Path, r.RawQuery)
		}
		t.Fatalf("%d requests answered 429 for the concurrent limit of 2, want at most the first burst of 12", tooMany)
	}
}
