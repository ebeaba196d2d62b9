package serve

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitalog/gitalog/engine/config"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/notify"
	"github.com/gitalog/gitalog/engine/sync"
)

// NotifyOptions tune how serve delivers to the notify: sinks of
// gitalog.yaml; zero values mean the defaults.
type NotifyOptions struct {
	// Backoff is the wait before a failed sink is tried again (default
	// 1s); it doubles at each failure up to MaxBackoff (default 5m), and
	// each wait is drawn from its upper half.
	Backoff, MaxBackoff time.Duration
	// Drain bounds the last delivery at shutdown (default 10s): what it
	// does not deliver stays recorded as not delivered.
	Drain time.Duration
	// Delivery tunes the attempts (HTTP client, timeout, events per run).
	// Its Attempts is 1: serve retries on its own schedule.
	Delivery notify.Options
}

func (o NotifyOptions) withDefaults() NotifyOptions {
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	o.MaxBackoff = max(o.MaxBackoff, o.Backoff)
	if o.Drain <= 0 {
		o.Drain = 10 * time.Second
	}
	o.Delivery.Attempts = 1
	return o
}

// backoff is the wait after the fails-th failure in a row.
func (o NotifyOptions) backoff(fails int) time.Duration {
	d := o.Backoff
	for i := 1; i < fails && d < o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.MaxBackoff)
	// Jittered, so that sinks that failed together (one outage) and
	// several servers are not retried in lockstep.
	return d/2 + rand.N(d/2+1)
}

// retry is where one sink (or the delivery as a whole) stands after
// failures: tried again at next.
type retry struct {
	fails int
	next  time.Time
}

func (r *retry) failed(o NotifyOptions, now time.Time) time.Duration {
	r.fails++
	wait := o.backoff(r.fails)
	r.next = now.Add(wait)
	return wait
}

// deliverer sends the events of serve's commits to the notify: sinks in a
// goroutine of its own, so that a slow or dead sink holds up no commit and
// no webhook answer. Delivery state is the notify engine's (a ref per
// sink), the same as sync's: what one does not deliver the other does.
type deliverer struct {
	o       NotifyOptions
	sync    sync.Options // Dir, ConfigPath, Push, Remote, RemoteAuth, Source
	store   *gitstore.Store
	ref     plumbing.ReferenceName // the branch serve commits on; "" is HEAD
	metrics *Metrics
	log     *slog.Logger

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	// ctx is every delivery's: canceled when the drain's time is up.
	ctx    context.Context
	cancel context.CancelFunc

	// Only run's goroutine touches the rest.
	base    plumbing.Hash // sinks without state start after it
	sinks   map[string]*retry
	all     retry // the config, the repository or the remote failed
	pushDue bool  // with --push: a ref moved since the last push
	push    retry
}

// newDeliverer reads where serve commits and where sinks without delivery
// state start: at the head now, so that a first start sends what serve
// commits and never the history.
func newDeliverer(store *gitstore.Store, so sync.Options, o NotifyOptions, log *slog.Logger) (*deliverer, error) {
	d := &deliverer{o: o.withDefaults(), sync: so, store: store, log: log,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), sinks: map[string]*retry{}}
	if d.sync.Remote == "" {
		d.sync.Remote = "origin"
	}
	head, err := store.Head()
	if err != nil {
		return nil, err
	}
	d.ref, d.base = head.Ref, head.Commit
	if so.Branch != "" {
		if d.ref, err = config.BranchRef(so.Branch); err != nil {
			return nil, err
		}
		c, ok, err := store.ResolveRef(d.ref)
		if err != nil {
			return nil, err
		}
		if ok {
			d.base = c
		} // else the first commit creates the branch from HEAD
	}
	if d.o.Delivery.Logger == nil {
		d.o.Delivery.Logger = log
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d, nil
}

// notify asks for a delivery (after a commit); it never waits.
func (d *deliverer) notify() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// run delivers at start (what earlier runs left undelivered), after each
// commit, and when a failed sink is due again, until shutdown.
func (d *deliverer) run() {
	defer close(d.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-d.stop:
			d.round(true)
			return
		case <-d.kick:
		case <-timer.C:
		}
		wait, again := d.round(false)
		timer.Stop()
		if again {
			timer.Reset(wait)
		}
	}
}

// shutdown makes one last delivery, of every sink, failed ones included,
// and waits for it, Drain at most.
func (d *deliverer) shutdown() {
	close(d.stop)
	t := time.AfterFunc(d.o.Drain, d.cancel)
	<-d.done
	t.Stop()
	d.cancel()
	var pending []string
	for name, r := range d.sinks {
		if r.fails > 0 {
			pending = append(pending, name)
		}
	}
	if len(pending) > 0 || d.all.fails > 0 {
		slices.Sort(pending)
		d.log.Warn("notifications pending at shutdown; the next start or sync sends them", "sinks", pending)
	}
}

// round delivers to the sinks that are due (all of them if final) and
// says when the next failed sink is due again.
func (d *deliverer) round(final bool) (wait time.Duration, again bool) {
	ctx := d.ctx
	if ctx.Err() != nil {
		return 0, false
	}
	now := time.Now()
	if !final && now.Before(d.all.next) {
		return d.all.next.Sub(now), true
	}
	fail := func(what string, err error) (time.Duration, bool) {
		wait := d.all.failed(d.o, now)
		if final {
			d.log.Warn("notifications: "+what+"; they stay pending for the next start or sync", "error", err)
		} else {
			d.log.Warn("notifications: "+what+"; retrying", "retry_in", wait.Round(time.Millisecond).String(), "error", err)
		}
		return wait, true
	}
	// The config is read each time, as a batch reads it: sinks added or
	// removed take effect without a restart.
	head, err := d.store.Head()
	if err != nil {
		return fail("reading HEAD", err)
	}
	snap, err := d.store.Snapshot(head.Commit)
	if err != nil {
		return fail("reading HEAD", err)
	}
	cfg, err := config.Load(d.store, snap, d.sync.ConfigPath)
	if err != nil {
		return fail("reading the config", err)
	}
	opts := d.o.Delivery
	if d.sync.Source != "" {
		// As sync --source: the source's commits (the first source's
		// also those no source made), its own state, its $source.
		first := len(cfg.Sources) > 0 && cfg.Sources[0].Name == d.sync.Source
		if cfg, err = cfg.ForSource(d.sync.Source); err != nil {
			return fail("reading the config", err)
		}
		opts.Source, opts.Unsourced = d.sync.Source, first
	}
	if cfg.Notify == nil || len(cfg.Notify.Sinks) == 0 {
		d.all = retry{}
		return 0, false
	}
	n := notify.New(d.store, cfg.Notify, opts)
	if d.sync.Push {
		// A fresh clone (a new container) starts where the last run
		// stopped, not at its own head; and a sync elsewhere may have
		// delivered the commits this server's last push redid its change
		// on: the remote's state is taken before every round, and until
		// it is known nothing is sent.
		if err := n.FetchState(ctx, d.sync.Remote, d.sync.RemoteAuth); err != nil {
			return fail("reading the delivery state from "+d.sync.Remote, err)
		}
	}
	if err := n.Start(d.base); err != nil {
		return fail("recording where delivery starts", err)
	}
	tip, ok, err := d.store.ResolveRef(d.ref)
	if err != nil {
		return fail("reading the branch", err)
	}
	if ok && d.sync.Push && d.ref != "" {
		// Only what the remote holds: a commit whose push failed may
		// yet be redone differently, and no marker may go past it.
		remote, rok, err := d.store.Fetch(ctx, d.sync.Remote, d.ref.Short(), d.sync.RemoteAuth)
		if err != nil {
			return fail("reading "+d.sync.Remote+"'s branch", err)
		}
		tip, ok = sync.DeliverableTip(d.store, tip, remote, rok)
	}
	d.all = retry{}
	if ok {
		due := func(sink string) bool {
			r := d.sinks[sink]
			return final || r == nil || !now.Before(r.next)
		}
		rep, err := n.DeliverTo(ctx, tip, due)
		if err != nil {
			return fail("delivering", err)
		}
		d.record(rep, now, final)
		d.base = tip
	}
	if d.sync.Push && d.pushDue && (final || !now.Before(d.push.next)) {
		if err := n.PushState(ctx, d.sync.Remote, d.sync.RemoteAuth); err != nil {
			w := d.push.failed(d.o, now)
			d.log.Warn("notifications: pushing the delivery state failed", "remote", d.sync.Remote, "retry_in", w.Round(time.Millisecond).String(), "error", err)
		} else {
			d.pushDue, d.push = false, retry{}
		}
	}
	var next []time.Time
	for _, s := range cfg.Notify.Sinks {
		if r := d.sinks[s.Name]; r != nil && !r.next.IsZero() {
			next = append(next, r.next)
		}
	}
	if d.pushDue {
		next = append(next, d.push.next)
	}
	if len(next) == 0 {
		return 0, false
	}
	return max(0, time.Until(slices.MinFunc(next, time.Time.Compare))), true
}

// record counts and logs what each sink got, and schedules the retries.
func (d *deliverer) record(rep *notify.Report, now time.Time, final bool) {
	for _, sr := range rep.Sinks {
		if sr.Sent > 0 {
			d.metrics.NotifySent.WithLabelValues(sr.Name).Add(float64(sr.Sent))
		}
		if sr.Commits > 0 {
			d.pushDue = true
		}
		r := d.sinks[sr.Name]
		if r == nil {
			r = &retry{}
			d.sinks[sr.Name] = r
		}
		switch {
		case sr.Err == nil:
			*r = retry{}
			if sr.Sent > 0 {
				d.log.Info("notifications sent", "sink", sr.Name, "sent", sr.Sent)
			}
		case errors.Is(sr.Err, notify.ErrMoreDue):
			// Not a failure: the rest go in the next round, now.
			*r = retry{next: now}
			d.log.Info("notifications sent; more are due", "sink", sr.Name, "sent", sr.Sent)
		default:
			// The error names the sink by its label, never its URL.
			d.metrics.NotifyFailed.WithLabelValues(sr.Name).Inc()
			wait := r.failed(d.o, now)
			if final {
				d.log.Warn("notify sink failed at shutdown; its events stay pending for the next start or sync", "sink", sr.Name, "sent", sr.Sent, "error", sr.Err)
			} else {
				d.log.Warn("notify sink failed; retrying", "sink", sr.Name, "sent", sr.Sent, "failures", r.fails, "retry_in", wait.Round(time.Millisecond).String(), "error", sr.Err)
			}
		}
	}
}
