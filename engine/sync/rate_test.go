package sync

import (
	"context"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

func TestWithRate(t *testing.T) {
	for _, c := range []struct {
		detail string
		rate   float64
		want   string
	}{
		{"issue-tag: 1200 items", 39.6, "issue-tag: 1200 items, 40 req/s"},
		{"issue", 2.25, "issue, 2.2 req/s"},
		{"", 0, "0 req/s"},
		{"organization acme", 120, "organization acme, 120 req/s"},
	} {
		if got := withRate(c.detail, c.rate); got != c.want {
			t.Errorf("withRate(%q, %v) = %q, want %q", c.detail, c.rate, got, c.want)
		}
	}
}

// The rate is over the last rateSpan, from given times: no clock is read.
func TestRateMeter(t *testing.T) {
	var n int64
	m := &rateMeter{count: func() int64 { return n }}
	t0 := time.Unix(1000, 0)
	if _, ok := m.perSecond(t0); ok {
		t.Fatal("a rate from one sample")
	}
	n = 40
	if r, ok := m.perSecond(t0.Add(time.Second)); !ok || r != 40 {
		t.Fatalf("after 1 s and 40 requests: %v %v", r, ok)
	}
	for i := 2; i <= 10; i++ {
		n += 40
		m.perSecond(t0.Add(time.Duration(i) * time.Second))
	}
	// A stall: no request for 3 s, the rate falls over the last 5 s.
	r, _ := m.perSecond(t0.Add(13 * time.Second))
	if r < 15 || r > 17 {
		t.Fatalf("after a 3 s stall: %v req/s, want 80 requests over 5 s", r)
	}
	if len(m.samples) > 7 {
		t.Fatalf("%d samples kept", len(m.samples))
	}
}

// A sync's progress line, while it fetches, carries the client's request
// rate.
func TestProgressShowsRequestRate(t *testing.T) {
	f := newFixture(t, sentrytest.Demo(), sentrytest.WithPageSize(5), sentrytest.WithLatency(10*time.Millisecond))
	o := f.options()
	var mu gosync.Mutex
	var lines []string
	o.Progress = func(stage, detail string) {
		mu.Lock()
		defer mu.Unlock()
		if stage == "fetch" || stage == "map" {
			lines = append(lines, detail)
		}
	}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " req/s") {
			return
		}
	}
	t.Fatalf("no progress line with a request rate in %q", lines)
}
