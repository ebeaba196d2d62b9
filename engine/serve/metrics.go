package serve

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are serve's Prometheus metrics, on a registry of their own (not
// the global one) so that two servers in one process, as in tests, do not
// collide.
type Metrics struct {
	Registry *prometheus.Registry

	Received     *prometheus.CounterVec // by resource
	Rejected     *prometheus.CounterVec // by reason
	Commits      prometheus.Counter
	ApplyErrors  prometheus.Counter
	JournalDepth prometheus.GaugeFunc
	LastSync     *prometheus.GaugeVec // unix time the last batch or resync ended, by kind (batch, resync)
	LastSyncOK   *prometheus.GaugeVec // 1 if it succeeded, 0 if it failed, by kind
	// NotifySent and NotifyFailed count notifications per sink; the notify
	// wiring increments them.
	NotifySent   *prometheus.CounterVec
	NotifyFailed *prometheus.CounterVec
}

func newMetrics(depth func() float64) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitalog_webhook_events_received_total",
			Help: "Webhook deliveries accepted (signature good), by Sentry-Hook-Resource.",
		}, []string{"resource"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitalog_webhook_events_rejected_total",
			Help: "Webhook deliveries refused or not recorded, by reason (signature, too_large, bad_json, method, replay, journal).",
		}, []string{"reason"}),
		Commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gitalog_commits_total",
			Help: "Commits made by webhook batches and resyncs.",
		}),
		ApplyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gitalog_apply_errors_total",
			Help: "Batches or resyncs that failed (their events stay in the journal).",
		}),
		JournalDepth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gitalog_journal_depth",
			Help: "Accepted events not yet applied to the catalog.",
		}, depth),
		LastSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitalog_last_sync_timestamp_seconds",
			Help: "When the last webhook batch or full resync ended, by kind (batch, resync).",
		}, []string{"kind"}),
		LastSyncOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitalog_last_sync_success",
			Help: "1 if the last webhook batch or full resync succeeded, 0 if it failed, by kind.",
		}, []string{"kind"}),
		NotifySent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitalog_notifications_sent_total",
			Help: "Notifications delivered, by sink.",
		}, []string{"sink"}),
		NotifyFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitalog_notifications_failed_total",
			Help: "Notification deliveries that failed (and will be retried), by sink.",
		}, []string{"sink"}),
	}
	m.Registry.MustRegister(m.Received, m.Rejected, m.Commits, m.ApplyErrors, m.JournalDepth, m.LastSync, m.LastSyncOK, m.NotifySent, m.NotifyFailed)
	return m
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
