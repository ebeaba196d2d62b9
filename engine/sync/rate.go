package sync

import (
	"fmt"
	gosync "sync"
	"time"
)

// rateMeter turns a running count of requests into requests a second
// over the last few seconds, for the progress line: a sync against
// Sentry is bound by its rate limit, and the rate shows whether it is
// (about 40 a second per endpoint on sentry.io) or is waiting.
type rateMeter struct {
	count   func() int64
	mu      gosync.Mutex
	samples []rateSample
}

type rateSample struct {
	at time.Time
	n  int64
}

// rateSpan is how far back the rate looks: long enough to smooth the
// one-second windows of a rate limit, short enough to show a stall.
const rateSpan = 5 * time.Second

// perSecond records the count at now and returns the rate since the
// oldest sample within rateSpan; ok is false until the samples span a
// tenth of a second.
func (m *rateMeter) perSecond(now time.Time) (rate float64, ok bool) {
	n := m.count()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = append(m.samples, rateSample{now, n})
	// Keep one sample older than the span, so the rate covers all of it.
	i := 0
	for i+1 < len(m.samples) && now.Sub(m.samples[i+1].at) >= rateSpan {
		i++
	}
	m.samples = m.samples[i:]
	first := m.samples[0]
	el := now.Sub(first.at)
	if el < 100*time.Millisecond {
		return 0, false
	}
	return float64(n-first.n) / el.Seconds(), true
}

// withRate appends the request rate to a progress line's detail.
func withRate(detail string, rate float64) string {
	r := fmt.Sprintf("%.0f req/s", rate)
	if rate > 0 && rate < 10 {
		r = fmt.Sprintf("%.1f req/s", rate)
	}
	if detail == "" {
		return r
	}
	return detail + ", " + r
}
