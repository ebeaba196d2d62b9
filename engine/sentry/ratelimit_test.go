package sentry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock replaces the client's clock and sleep: waits are recorded
// and pass at once.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (f *fakeClock) install(c *Client) {
	f.now = time.Now()
	c.now = func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	c.sleep = func(ctx context.Context, d time.Duration) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.waits = append(f.waits, d)
		f.now = f.now.Add(d)
		return ctx.Err()
	}
}

func (f *fakeClock) total() (sum time.Duration, longest time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.waits {
		sum += w
		longest = max(longest, w)
	}
	return sum, longest
}

// A server whose every response says the window is used up until a day
// from now stalls a sync for no more than one window, and says so once.
func TestFarRateLimitResetCapped(t *testing.T) {
	srv := pagesServer(t, 10, func(r *http.Request, next int, more bool) string {
		return fmt.Sprintf(`<http://%s%s?per_page=1&cursor=0:%d:0>; rel="next"; results="%t"`, r.Host, r.URL.Path, next, more)
	})
	far := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Sentry-Rate-Limit-Remaining", "0")
		w.Header().Set("X-Sentry-Rate-Limit-Reset", strconv.FormatInt(time.Now().Unix()+99999, 10))
		srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer far.Close()
	var log logBuf
	o := ClientOptions{Logger: slog.New(slog.NewTextHandler(&log, nil))}
	c, err := NewClient(far.URL, safetyToken, o)
	if err != nil {
		t.Fatal(err)
	}
	var clock fakeClock
	clock.install(c)
	ids, err := listIDs(t, c, "/organizations/o/members/", url.Values{"per_page": {"1"}})
	if err != nil || len(ids) != 10 {
		t.Fatalf("ids %v, err %v", ids, err)
	}
	sum, longest := clock.total()
	if longest > time.Minute+time.Second || sum > 2*time.Minute {
		t.Fatalf("waited %s in all (longest %s) for 10 requests", sum, longest)
	}
	if n := strings.Count(log.String(), "level=WARN"); n != 1 || !strings.Contains(log.String(), "X-Sentry-Rate-Limit-Reset") {
		t.Fatalf("want one warning naming the header, got:\n%s", log.String())
	}
}

// Retry-After: 99999 on a 429 waits one window per attempt at most.
func TestFarRetryAfterCapped(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 3 {
			w.Header().Set("Retry-After", "99999")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`"slow down"`))
			return
		}
		w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	var log logBuf
	c, err := NewClient(srv.URL, safetyToken, ClientOptions{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var clock fakeClock
	clock.install(c)
	if _, err := listIDs(t, c, "/organizations/o/members/", nil); err != nil {
		t.Fatal(err)
	}
	if _, longest := clock.total(); longest > time.Minute {
		t.Fatalf("waited %s for one Retry-After", longest)
	}
	if n := strings.Count(log.String(), "level=WARN"); n != 1 || !strings.Contains(log.String(), "Retry-After") {
		t.Fatalf("want one warning naming Retry-After, got:\n%s", log.String())
	}
}

// Sentry's rate limits are per endpoint: one endpoint's window used up
// holds up that endpoint's requests, not another's.
func TestPacingPerEndpoint(t *testing.T) {
	reset := strconv.FormatInt(time.Now().Unix()+30, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Sentry-Rate-Limit-Limit", "40")
		w.Header().Set("X-Sentry-Rate-Limit-Reset", reset)
		if strings.Contains(r.URL.Path, "/members/") {
			w.Header().Set("X-Sentry-Rate-Limit-Remaining", "0")
		} else {
			w.Header().Set("X-Sentry-Rate-Limit-Remaining", "39")
		}
		w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, safetyToken, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var clock fakeClock
	clock.install(c)
	ctx := context.Background()
	get := func(endpoint, path string) {
		t.Helper()
		err := c.List(WithEndpoint(ctx, endpoint), path, nil, "", func([][]byte, string) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	get("/teams/{org}/{slug}/members/", "/teams/o/backend/members/")
	get("/organizations/{org}/teams/", "/organizations/o/teams/")
	get("/organizations/{org}/teams/", "/organizations/o/teams/")
	if sum, _ := clock.total(); sum != 0 {
		t.Fatalf("the teams list waited %s for the members endpoint's window", sum)
	}
	// The same endpoint for another team is the same bucket: it waits.
	get("/teams/{org}/{slug}/members/", "/teams/o/frontend/members/")
	if sum, _ := clock.total(); sum < 20*time.Second {
		t.Fatalf("a used-up endpoint's next request waited %s, want until its reset", sum)
	}
}
