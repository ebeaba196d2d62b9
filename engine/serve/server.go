package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	gosync "sync"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/go-git/go-git/v5/plumbing"
)

// Item is one fetched-item equivalent a webhook delivers: Kind is the
// mapping kind ("issue"), JSON the item as the API returns it, ID its id.
// It mirrors engine/sync's Item, which the command's Applier converts to.
type Item struct {
	Kind string
	JSON []byte
	ID   string
	// Push is a body pushed to POST /push/<Kind>, accepted at At.
	Push bool
	At   time.Time
}

// Applier applies items to the catalog as one commit, under the sync lock,
// and returns the commit (zero when nothing changed). Applying the same
// item state twice must change nothing: that is what makes a crash between
// the commit and the journal's mark harmless. An error wrapping ErrPartial
// means what was valid was committed and the rest will not get better by
// retrying: the batch is marked applied.
type Applier func(ctx context.Context, items []Item) (plumbing.Hash, error)

// Resyncer runs a full sync and returns its commit (zero when nothing
// changed).
type Resyncer func(ctx context.Context) (plumbing.Hash, error)

// ErrPartial is what an Applier or Resyncer wraps when it committed what
// was valid (the sync engine's catalog.ErrPartial).
var ErrPartial = catalog.ErrPartial

// ErrRetry is what an Applier wraps when it committed what it could but
// something may work later (a request for an issue's tags failed): the
// events stay in the journal and the batch is applied again, for up to
// Options.RetryFor.
var ErrRetry = errors.New("some of it may work later")

// Options configure a Server.
type Options struct {
	GitDir string // the journal goes in <GitDir>/gitalog-serve
	Secret []byte // the integration's client secret
	// MaxBody limits a webhook body (default DefaultMaxBody).
	MaxBody        int64
	CommitInterval time.Duration // default 10s
	ResyncInterval time.Duration // 0: no resync
	Apply          Applier
	Resync         Resyncer
	// RetryFor is how long a batch that failed in part with ErrRetry is
	// applied again before its events are let go (the next full sync
	// decides what they left); default 15 minutes.
	RetryFor time.Duration
	// MaxBatch bounds the events one commit applies (default 1000), so a
	// journal that grew during an outage drains in bounded steps.
	MaxBatch int
	// OnCommit is called after each commit a batch or a resync made, with
	// the loop's context (notifications hook in here).
	OnCommit func(ctx context.Context, commit plumbing.Hash)
	Logger   *slog.Logger
	// PushToken, when set, opens POST /push/<kind> to bearers of it;
	// PushCheck checks each pushed body before it is recorded.
	PushToken []byte
	PushCheck PushCheck
}

// MaxMaxBody is the largest --max-body: half a journal record, so an
// event's record (its issue plus a few fields) always fits.
const MaxMaxBody = maxRecord / 2

// Server is a running serve: the journal, the HTTP handlers and the batcher.
type Server struct {
	o       Options
	journal *Journal
	metrics *Metrics
	log     *slog.Logger
	mux     *http.ServeMux

	mu         gosync.Mutex
	retrySince time.Time // when the batch at the journal's head first failed with ErrRetry
	applyErr   error     // the last batch's error, nil once one succeeds
	resyncErr  error
	stopping   bool
}

// New opens the journal and builds the handlers; nothing runs until Serve.
func New(o Options) (*Server, error) {
	if o.Apply == nil {
		return nil, errors.New("serve: no Applier")
	}
	if len(o.Secret) == 0 && len(o.PushToken) == 0 {
		return nil, errors.New("serve: no client secret (set SENTRY_CLIENT_SECRET or SENTRY_CLIENT_SECRET_FILE)")
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxBody > MaxMaxBody {
		// A body the journal could not hold would be acknowledged and
		// then stop the next start.
		return nil, fmt.Errorf("serve: --max-body %d is over the journal's limit of %d bytes", o.MaxBody, MaxMaxBody)
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = 10 * time.Second
	}
	if o.RetryFor <= 0 {
		o.RetryFor = 15 * time.Minute
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	j, err := OpenJournal(JournalDir(o.GitDir))
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, journal: j, log: o.Logger}
	s.metrics = newMetrics(func() float64 { return float64(j.Depth()) })
	s.mux = http.NewServeMux()
	s.mux.Handle("/sentry/webhook", &webhookHandler{secret: o.Secret, maxBody: o.MaxBody, journal: j, metrics: s.metrics, log: o.Logger})
	s.mux.Handle("/push/", s.pushHandler())
	s.mux.HandleFunc("/healthz", s.healthz)
	s.mux.Handle("/metrics", s.metrics.handler())
	return s, nil
}

// Handler is the server's HTTP handler (webhook, healthz, metrics).
func (s *Server) Handler() http.Handler { return s.mux }

// Metrics are the server's metrics, for the notify wiring to count on.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Journal is the server's journal.
func (s *Server) Journal() *Journal { return s.journal }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	applyErr, stopping := s.applyErr, s.stopping
	s.mu.Unlock()
	depth := s.journal.Depth()
	switch {
	case stopping:
		http.Error(w, "stopping", http.StatusServiceUnavailable)
	case applyErr != nil && depth > 0:
		// The journal holds events and the last batch failed: it is not
		// draining. The error is the engine's, which never carries secrets.
		http.Error(w, fmt.Sprintf("journal not draining (%d pending): %v", depth, applyErr), http.StatusServiceUnavailable)
	default:
		fmt.Fprintf(w, "ok (%d pending)\n", depth)
	}
}

// Serve answers on ln and runs the batcher until ctx is done; then it stops
// accepting, waits for the requests in flight, applies what the journal
// holds, and returns nil if that worked.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	// What the journal holds before the first request is a crashed
	// run's, applied at once; read before requests come in, since the
	// loop may start after the first of them.
	atStart := s.journal.Depth() > 0
	httpErr := make(chan error, 1)
	go func() { httpErr <- hs.Serve(ln) }()
	loopCtx, stopLoop := context.WithCancel(context.WithoutCancel(ctx))
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		s.loop(loopCtx, atStart)
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-httpErr:
		err = fmt.Errorf("serve: %w", err)
	}
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	hs.Shutdown(shutCtx)
	cancel()
	stopLoop()
	<-loopDone
	// Every request that got a 2xx is in the journal now: apply it.
	if derr := s.applyPending(context.WithoutCancel(ctx)); derr != nil && err == nil {
		err = fmt.Errorf("serve: draining the journal: %w (the events stay in the journal for the next start)", derr)
	}
	if cerr := s.journal.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// Close closes the journal of a server that was never served.
func (s *Server) Close() error { return s.journal.Close() }

func (s *Server) loop(ctx context.Context, pendingAtStart bool) {
	// What the journal held at start (events of a crashed run) goes first.
	if pendingAtStart {
		s.applyPending(ctx)
	}
	tick := time.NewTicker(s.o.CommitInterval)
	defer tick.Stop()
	var resync <-chan time.Time
	if s.o.ResyncInterval > 0 && s.o.Resync != nil {
		t := time.NewTicker(s.o.ResyncInterval)
		defer t.Stop()
		resync = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if s.journal.Depth() > 0 {
				s.applyPending(ctx)
			}
		case <-resync:
			// Pending events first, so the resync's state is the newest.
			if s.journal.Depth() > 0 {
				s.applyPending(ctx)
			}
			s.resync(ctx)
		}
	}
}

// applyPending applies the journal's pending records, in batches of at
// most MaxBatch, each one commit, and marks them applied after it.
func (s *Server) applyPending(ctx context.Context) error {
	for {
		recs := s.journal.Pending()
		if len(recs) == 0 {
			return nil
		}
		recs = recs[:min(len(recs), s.o.MaxBatch)]
		if err := s.applyBatch(ctx, recs); err != nil {
			return err
		}
	}
}

func (s *Server) applyBatch(ctx context.Context, recs []Record) error {
	items := batchItems(recs)
	last := recs[len(recs)-1].Seq
	commit, err := s.o.Apply(ctx, items)
	if err != nil && ctx.Err() != nil {
		// Cut short by the shutdown: what it fetched may be missing, so
		// the events stay for the drain (applying them again after a
		// commit changes nothing).
		s.log.Info("batch interrupted by the shutdown; the drain applies it", "events", len(recs))
		return err
	}
	s.metrics.LastSync.WithLabelValues("batch").SetToCurrentTime()
	if !commit.IsZero() {
		s.metrics.Commits.Inc()
		if s.o.OnCommit != nil {
			defer s.o.OnCommit(ctx, commit)
		}
	}
	if errors.Is(err, ErrRetry) {
		s.metrics.ApplyErrors.Inc()
		s.metrics.LastSyncOK.WithLabelValues("batch").Set(0)
		s.mu.Lock()
		if s.retrySince.IsZero() {
			s.retrySince = time.Now()
		}
		since := s.retrySince
		s.mu.Unlock()
		if time.Since(since) < s.o.RetryFor {
			s.setApplyErr(err)
			s.log.Warn("events (webhooks, pushes) applied in part; they stay in the journal and are applied again", "events", len(recs), "commit", shortHash(commit), "retrying_for", time.Since(since).Round(time.Second).String(), "error", err)
			return err
		}
		s.log.Warn("events (webhooks, pushes) applied in part, and retried long enough; the next full sync decides the rest", "events", len(recs), "retried_for", s.o.RetryFor.String(), "error", err)
	} else if err != nil && !errors.Is(err, ErrPartial) {
		s.metrics.ApplyErrors.Inc()
		s.metrics.LastSyncOK.WithLabelValues("batch").Set(0)
		s.setApplyErr(err)
		s.log.Error("applying events (webhooks, pushes) failed; they stay in the journal", "events", len(recs), "error", err)
		return err
	} else if err != nil {
		s.log.Warn("events (webhooks, pushes) applied in part", "events", len(recs), "error", err)
	}
	s.mu.Lock()
	s.retrySince = time.Time{}
	s.mu.Unlock()
	if !errors.Is(err, ErrRetry) {
		s.metrics.LastSyncOK.WithLabelValues("batch").Set(1)
	}
	if merr := s.journal.MarkApplied(last); merr != nil {
		// The commit is made; the next batch applies these again, which
		// changes nothing.
		s.setApplyErr(merr)
		s.log.Error("marking events applied", "error", merr)
		return merr
	}
	s.setApplyErr(nil)
	s.log.Info("events (webhooks, pushes) applied", "events", len(recs), "items", len(items), "commit", shortHash(commit))
	return nil
}

func (s *Server) resync(ctx context.Context) {
	commit, err := s.o.Resync(ctx)
	s.metrics.LastSync.WithLabelValues("resync").SetToCurrentTime()
	s.mu.Lock()
	s.resyncErr = err
	s.mu.Unlock()
	if err != nil && !errors.Is(err, ErrPartial) {
		s.metrics.ApplyErrors.Inc()
		s.metrics.LastSyncOK.WithLabelValues("resync").Set(0)
		s.log.Error("resync failed", "error", err)
		return
	}
	s.metrics.LastSyncOK.WithLabelValues("resync").Set(1)
	if !commit.IsZero() {
		s.metrics.Commits.Inc()
	}
	s.log.Info("resync done", "commit", shortHash(commit))
	if !commit.IsZero() && s.o.OnCommit != nil {
		s.o.OnCommit(ctx, commit)
	}
}

func (s *Server) setApplyErr(err error) {
	s.mu.Lock()
	s.applyErr = err
	s.mu.Unlock()
}

// batchItems turns records into items, one per issue: the last state of an
// issue in the batch is the one that counts, as it would be for a sync
// that fetched it now.
func batchItems(recs []Record) []Item {
	idx := map[string]int{}
	var items []Item
	for _, r := range recs {
		key := r.Resource + "\x00" + r.Kind + "\x00" + r.ID
		it := Item{Kind: r.Kind, JSON: []byte(r.JSON), ID: r.ID, Push: r.Resource == PushResource, At: r.At}
		if i, ok := idx[key]; ok {
			items[i] = it
			continue
		}
		idx[key] = len(items)
		items = append(items, it)
	}
	return items
}

func shortHash(h plumbing.Hash) string {
	if h.IsZero() {
		return "none"
	}
	return h.String()[:12]
}
