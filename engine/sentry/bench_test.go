package sentry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

var (
	benchDataOnce sync.Once
	benchData     *sentrytest.Dataset
)

// benchDataset is 20k issues over 50 projects: 200+ pages of 100 issues.
func benchDataset() *sentrytest.Dataset {
	benchDataOnce.Do(func() {
		benchData = sentrytest.Generate(sentrytest.GenOptions{Seed: 1, Projects: 50, Issues: 20000, Teams: 8, Members: 40})
	})
	return benchData
}

// busyHandler sums the time spent inside the fake's handler, so the
// benchmark can tell how many cores the server side keeps busy.
type busyHandler struct {
	h    http.Handler
	busy atomic.Int64
}

func (b *busyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	b.h.ServeHTTP(w, r)
	b.busy.Add(int64(time.Since(t0)))
}

// BenchmarkFetchIssues streams every issue of the fake Sentry over a real
// loopback listener, 100-item pages, with 1, 4 and 8 requests in flight.
// Metrics: pages/s and issues/s (client view), and server-busy-cores: the
// time the fake spent answering divided by the elapsed time (about 1 means
// the fake keeps one core busy answering; with 2 cores, what is left is the
// client's).
func BenchmarkFetchIssues(b *testing.B) {
	d := benchDataset()
	for _, conc := range []int{1, 4, 8} {
		b.Run("concurrency="+strconv.Itoa(conc), func(b *testing.B) {
			bh := &busyHandler{h: sentrytest.NewHandler(d)}
			ts := httptest.NewServer(bh)
			defer ts.Close()
			hc := ts.Client()
			hc.Transport.(*http.Transport).MaxIdleConnsPerHost = conc
			var pages, items int64
			bh.busy.Store(0)
			start := time.Now()
			for b.Loop() {
				c, err := NewClient(ts.URL, sentrytest.Token, ClientOptions{HTTPClient: hc, Concurrency: conc})
				if err != nil {
					b.Fatal(err)
				}
				src := &Source{Client: c, Org: d.OrgSlug()}
				n := 0
				err = streamItems(src, context.Background(), "issue", map[string]any{"search": ""}, func(batch []any) error {
					n += len(batch)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if n != d.NumIssues() {
					b.Fatalf("streamed %d issues, want %d", n, d.NumIssues())
				}
				items += int64(n)
				pages += c.Stats().Pages
			}
			el := time.Since(start).Seconds()
			b.ReportMetric(float64(pages)/el, "pages/s")
			b.ReportMetric(float64(items)/el, "issues/s")
			b.ReportMetric(float64(bh.busy.Load())/1e9/el, "server-busy-cores")
		})
	}
}

// BenchmarkFetchIssuesRateLimited fetches the 20k issues from a fake with
// sentry.io's limits (40 requests a second and 25 in flight per
// endpoint, fixed windows aligned to the second) at the default
// concurrency of 4 and at 8. The limit-bound floor is pages/40 seconds;
// metrics: the wall time per fetch, the floor, their ratio (issue 17's
// target: at most 1.25) and the share of requests answered 429 (at most
// 1%). Run with -benchtime=1x: one fetch takes about 5 s.
func BenchmarkFetchIssuesRateLimited(b *testing.B) {
	d := benchDataset()
	for _, conc := range []int{4, 8} {
		b.Run("concurrency="+strconv.Itoa(conc), func(b *testing.B) {
			srv := sentrytest.NewServer(d, sentrytest.WithEndpointRateLimit(40, time.Second, 25))
			defer srv.Close()
			var wall time.Duration
			var pages, requests, tooMany int64
			for b.Loop() {
				srv.ResetRequests()
				c, err := NewClient(srv.URL, sentrytest.Token, ClientOptions{HTTPClient: srv.Client(), Concurrency: conc})
				if err != nil {
					b.Fatal(err)
				}
				src := &Source{Client: c, Org: d.OrgSlug()}
				n := 0
				start := time.Now()
				err = src.Stream(context.Background(), "issue", map[string]any{"search": ""}, func(bt Batch) error {
					n += len(bt.Items)
					return nil
				})
				wall += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if n != d.NumIssues() {
					b.Fatalf("streamed %d issues, want %d", n, d.NumIssues())
				}
				for _, e := range c.Endpoints() {
					if e.Endpoint == "/organizations/{org}/issues/" {
						pages += e.Requests - e.TooMany
					}
					requests += e.Requests
					tooMany += e.TooMany
				}
			}
			floor := float64(pages) / 40
			b.ReportMetric(wall.Seconds()/float64(b.N), "s/fetch")
			b.ReportMetric(floor/float64(b.N), "floor-s/fetch")
			b.ReportMetric(wall.Seconds()/floor, "x-floor")
			b.ReportMetric(float64(pages)/float64(b.N), "pages/fetch")
			b.ReportMetric(100*float64(tooMany)/float64(requests), "%429")
		})
	}
}
