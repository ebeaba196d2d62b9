package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
)

// Options tune delivery; zero values mean the defaults.
type Options struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Attempts per event before the sink is given up on for this run
	// (default 3), waiting Backoff (default 1s), then twice that, ...
	Attempts int
	Backoff  time.Duration
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration
	// MaxEvents bounds the events one sink is sent in one run (default
	// 500); the rest wait for the next run. A single commit with more
	// than that is sent as one summary message.
	MaxEvents int
	// LockWait is how long to wait for another delivery to the same
	// repository to finish (default 1m).
	LockWait time.Duration
	// MaxCommits bounds how far back from the head the recorded commit is
	// looked for (default 10000).
	MaxCommits int
	// Source, in a catalog with several sources, is the one whose commits
	// (those with the trailer Gitalog-Source: <Source>) this run delivers:
	// each source's job tells of its own changes, with its own state
	// (SourceRefPrefix(Source)+<sink>), so that jobs running side by side
	// never send an event twice nor race for one ref.
	Source string
	// Unsourced, with Source, also delivers the commits that have no
	// Gitalog-Source trailer (a hand edit of a catalog file, a merged
	// pull request): no source's job made them, so one of them (the
	// first of sources:) must tell of them, and only one.
	Unsourced bool
}

// SourceTrailer names the source of a sync's commit (see Options.Source).
const SourceTrailer = "Gitalog-Source"

// Notifier delivers the events of a repository's commits to the sinks
// of a config. It is safe for concurrent use: deliveries take a lock
// (notify.lock in the git dir) so that no event is sent twice by two
// runs at once; commits do not wait for it.
type Notifier struct {
	st  *gitstore.Store
	cfg *Config
	o   Options

	mu    gosync.Mutex
	start map[string]plumbing.Hash // for sinks without a ref, see Start
}

// New returns a Notifier for the sinks of cfg (nil or empty: no sinks).
func New(st *gitstore.Store, cfg *Config, o Options) *Notifier {
	if o.HTTPClient == nil {
		// A redirect is an answer, not a delivery: following it would
		// turn the POST into a GET without the event and count it sent.
		o.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 500
	}
	if o.LockWait <= 0 {
		o.LockWait = time.Minute
	}
	if o.MaxCommits <= 0 {
		o.MaxCommits = 10000
	}
	if cfg == nil {
		cfg = &Config{}
	}
	return &Notifier{st: st, cfg: cfg, o: o, start: map[string]plumbing.Hash{}}
}

// ref is where the delivery state of s lives.
func (n *Notifier) ref(s *Sink) plumbing.ReferenceName {
	return plumbing.ReferenceName(n.refPrefix() + s.Name)
}

// refPrefix holds this run's sinks' refs: RefPrefix, or a source's own
// namespace. A source's refs are kept out of RefPrefix because
// RefPrefix+<source>/<sink> and the ref of a sink named <source> cannot
// both exist (git stores refs as paths), and a catalog may have had that
// sink before it had that source.
func (n *Notifier) refPrefix() string {
	if n.o.Source != "" {
		return SourceRefPrefix(n.o.Source)
	}
	return RefPrefix
}

// trackingPrefix is where FetchState puts the remote's refs of
// refPrefix; a source's, again, apart from the unsourced ones.
func (n *Notifier) trackingPrefix(remote string) string {
	if n.o.Source != "" {
		return "refs/gitalog/remote-sources/" + remote + "/" + n.o.Source + "/notified/"
	}
	return "refs/gitalog/remote-notified/" + remote + "/"
}

// mine reports whether commit c is one this run tells of: any commit
// without Options.Source, else those of that source (and with
// Options.Unsourced those of none).
func (n *Notifier) mine(c plumbing.Hash) (bool, error) {
	if n.o.Source == "" {
		return true, nil
	}
	msg, err := n.st.Message(c)
	if err != nil {
		return false, err
	}
	src := commitSource(msg)
	return src == n.o.Source || n.o.Unsourced && src == "", nil
}

// commitSource is the value of the commit message's last Gitalog-Source
// trailer ("" when none).
func commitSource(msg string) string {
	lines := strings.Split(strings.TrimRight(msg, "\n"), "\n")
	for i := len(lines) - 1; i >= 0 && lines[i] != ""; i-- {
		if v, ok := strings.CutPrefix(lines[i], SourceTrailer+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Store is the repository delivered from.
func (n *Notifier) Store() *gitstore.Store { return n.st }

// Sinks are the configured sinks.
func (n *Notifier) Sinks() []*Sink { return n.cfg.Sinks }

// Start records since as where each sink that has no delivery state yet
// starts: the commits after it are delivered, the history before it
// never is. Call it before making the first commit to notify of (sync:
// with the head it commits on; serve: with the head at start). since may
// be zero (an unborn branch): then everything from the first commit on.
func (n *Notifier) Start(since plumbing.Hash) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range n.cfg.Sinks {
		_, ok, err := n.st.ResolveRef(n.ref(s))
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if since.IsZero() {
			n.start[s.Name] = since
			continue
		}
		if err := n.st.MoveRef(context.Background(), n.ref(s), plumbing.ZeroHash, since, "gitalog notify: start"); err != nil && !errors.Is(err, gitstore.ErrRefMoved) {
			return fmt.Errorf("%s: recording where delivery starts: %w", s.Label(), err)
		}
	}
	return nil
}

// Report is what one Deliver did.
type Report struct {
	Sinks []SinkReport
}

// SinkReport is one sink's part of a Deliver.
type SinkReport struct {
	Name    string
	Sent    int           // events delivered
	Commits int           // commits fully delivered (the ref moved past them)
	At      plumbing.Hash // the recorded commit after the run
	// Err is why the sink stopped short of the head: it failed, or more
	// events were due than MaxEvents. Its events are delivered next run.
	Err error
}

// Err wraps catalog.ErrPartial when a sink did not get all it was due;
// nil otherwise.
func (r *Report) Err() error {
	var errs []error
	for _, s := range r.Sinks {
		if s.Err != nil {
			errs = append(errs, s.Err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: notifications are pending (the next run sends them): %w", catalog.ErrPartial, errors.Join(errs...))
}

const lockFile = "gitalog-notify.lock"

// ErrMoreDue is what a SinkReport's Err wraps when the sink took all it
// was sent but more events were due than MaxEvents: not a failure, the
// next run goes on.
var ErrMoreDue = errors.New("the rest are sent by the next run")

// Deliver sends each sink the events of the commits on head's first-parent
// line after its recorded commit, oldest first, and moves its ref past
// each commit whose events it all received. A sink that fails is retried
// (Attempts, Backoff) and then left for the next run, keeping its place;
// the others go on. The error is for what stops every sink (the lock, a
// repository that cannot be read); a sink's failure is in the report.
func (n *Notifier) Deliver(ctx context.Context, head plumbing.Hash) (*Report, error) {
	rep, err := n.DeliverTo(ctx, head, nil)
	for _, sr := range rep.Sinks {
		if sr.Err != nil {
			n.o.Logger.Warn("notifications pending", "sink", sr.Name, "sent", sr.Sent, "error", sr.Err)
		} else if sr.Sent > 0 {
			n.o.Logger.Info("notifications sent", "sink", sr.Name, "sent", sr.Sent)
		}
	}
	return rep, err
}

// DeliverTo is Deliver for the sinks want accepts (nil: all), without
// logging the outcome: a caller that retries on a schedule of its own
// (serve) skips the sinks not due yet and logs when it retries.
func (n *Notifier) DeliverTo(ctx context.Context, head plumbing.Hash, want func(sink string) bool) (*Report, error) {
	rep := &Report{}
	var sinks []*Sink
	for _, s := range n.cfg.Sinks {
		if want == nil || want(s.Name) {
			sinks = append(sinks, s)
		}
	}
	if len(sinks) == 0 || head.IsZero() {
		return rep, nil
	}
	unlock, err := n.st.LockNamed(ctx, lockFile, n.o.LockWait)
	if err != nil {
		return rep, err
	}
	defer unlock()
	cache := &eventCache{st: n.st, m: map[plumbing.Hash]*cached{}}
	rep.Sinks = make([]SinkReport, len(sinks))
	var wg gosync.WaitGroup
	for i, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Sinks[i] = n.deliverSink(ctx, s, head, cache)
		}()
	}
	wg.Wait()
	return rep, nil
}

func (n *Notifier) deliverSink(ctx context.Context, s *Sink, head plumbing.Hash, cache *eventCache) SinkReport {
	sr := SinkReport{Name: s.Name}
	at, ok, err := n.st.ResolveRef(n.ref(s))
	if err != nil {
		sr.Err = fmt.Errorf("%s: %w", s.Label(), err)
		return sr
	}
	sr.At = at
	if !ok {
		n.mu.Lock()
		since, started := n.start[s.Name]
		n.mu.Unlock()
		if !started {
			// No state and no Start: begin at the head, never with the
			// whole history.
			if err := n.st.MoveRef(ctx, n.ref(s), plumbing.ZeroHash, head, "gitalog notify: start"); err != nil {
				sr.Err = fmt.Errorf("%s: %w", s.Label(), err)
			}
			sr.At = head
			return sr
		}
		at = since
	}
	todo, err := n.pending(at, head)
	if err != nil {
		sr.Err = fmt.Errorf("%s: %w", s.Label(), err)
		return sr
	}
	sent := 0
	for _, c := range todo {
		evs, err := cache.get(ctx, c)
		if err != nil {
			sr.Err = fmt.Errorf("%s: %w", s.Label(), err)
			return sr
		}
		if ok, err := n.mine(c); err != nil {
			sr.Err = fmt.Errorf("%s: %w", s.Label(), err)
			return sr
		} else if !ok {
			evs = nil // another source's: its own job tells of it
		}
		mine := n.filter(s, evs)
		if len(mine) > n.o.MaxEvents {
			mine = []Event{summary(c, mine)}
		}
		if sent > 0 && sent+len(mine) > n.o.MaxEvents {
			sr.Err = fmt.Errorf("%s: more than %d events are due; %w", s.Label(), n.o.MaxEvents, ErrMoreDue)
			return sr
		}
		for i := range mine {
			if err := n.sendRetrying(ctx, s, &mine[i]); err != nil {
				sr.Err = err
				return sr
			}
			sent++
			sr.Sent++
		}
		if err := n.st.MoveRef(ctx, n.ref(s), at, c, "gitalog notify: delivered"); err != nil {
			sr.Err = fmt.Errorf("%s: recording the delivery of %s: %w", s.Label(), c.String()[:12], err)
			return sr
		}
		at, sr.At = c, c
		sr.Commits++
	}
	return sr
}

// pending lists the commits on head's first-parent line after at, oldest
// first.
func (n *Notifier) pending(at, head plumbing.Hash) ([]plumbing.Hash, error) {
	var line []plumbing.Hash
	for c := head; c != at; {
		if c.IsZero() {
			if at.IsZero() {
				break
			}
			return nil, n.notOnLine(at, head)
		}
		if len(line) >= n.o.MaxCommits {
			return nil, fmt.Errorf("the recorded commit %s is not within the last %d commits of %s", at.String()[:12], n.o.MaxCommits, head.String()[:12])
		}
		line = append(line, c)
		ps, err := n.st.Parents(c)
		if err != nil {
			return nil, n.notOnLine(at, head)
		}
		c = plumbing.ZeroHash
		if len(ps) > 0 {
			c = ps[0]
		}
	}
	slices.Reverse(line)
	return line, nil
}

// notOnLine explains a recorded commit that head's first-parent line does
// not reach. A ref ahead of head (fetched from a remote that is further
// along) is no error: there is nothing to send.
func (n *Notifier) notOnLine(at, head plumbing.Hash) error {
	if ok, err := n.st.IsAncestor(head, at); err == nil && ok {
		return nil
	}
	return fmt.Errorf("the recorded commit %s is not in the first-parent history of %s (history was rewritten?); delete the ref to start again from the next commit", at.String()[:12], head.String()[:12])
}

func (n *Notifier) filter(s *Sink, evs []Event) []Event {
	var out []Event
	for _, e := range evs {
		if !s.wants(e.Event, e.Blueprint) {
			continue
		}
		if s.When != nil {
			outs, err := s.When.All(e.Entity)
			if err != nil {
				n.o.Logger.Warn("notify: when: skipping the event", "sink", s.Name, "entity", e.Blueprint+"/"+e.Identifier, "error", err)
				continue
			}
			if !slices.ContainsFunc(outs, func(v any) bool { return v != nil && v != false }) {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func (n *Notifier) sendRetrying(ctx context.Context, s *Sink, e *Event) error {
	wait := n.o.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = s.send(ctx, n.o.HTTPClient, n.o.Timeout, e); err == nil {
			return nil
		}
		if attempt >= n.o.Attempts || ctx.Err() != nil {
			return fmt.Errorf("%s of %s: %w (after %d attempts)", e.Event, e.Blueprint+"/"+e.Identifier, err, attempt)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		wait *= 2
	}
}

// summary stands for the events of a commit with too many to send one by
// one (the first sync of a catalog creates every entity).
func summary(c plumbing.Hash, evs []Event) Event {
	counts := map[string]int{}
	for _, e := range evs {
		counts[e.Event+" "+e.Blueprint]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	title := fmt.Sprintf("%d events in commit %s (%s); too many to send one by one: see gitalog diff %s", len(evs), c.String()[:12], strings.Join(parts, ", "), c.String()[:12])
	return Event{Event: "summary", Commit: c, Entity: map[string]any{"title": title}}
}

type cached struct {
	once gosync.Once
	evs  []Event
	err  error
}

// eventCache computes each commit's events once for all the sinks.
type eventCache struct {
	st *gitstore.Store
	mu gosync.Mutex
	m  map[plumbing.Hash]*cached
}

func (c *eventCache) get(ctx context.Context, h plumbing.Hash) ([]Event, error) {
	c.mu.Lock()
	e := c.m[h]
	if e == nil {
		e = &cached{}
		c.m[h] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.evs, e.err = Events(ctx, c.st, h) })
	return e.evs, e.err
}

// FetchState fetches the sinks' refs from remote (into
// refs/gitalog/remote-notified/<remote>/, a source's into
// refs/gitalog/remote-sources/<remote>/<source>/notified/) and takes
// each that is ahead of the local one: a fresh clone (a CI run) then
// knows what earlier runs delivered. A local ref is never moved backwards
// or aside.
func (n *Notifier) FetchState(ctx context.Context, remote string, auth gitstore.RemoteAuth) error {
	if len(n.cfg.Sinks) == 0 {
		return nil
	}
	tracking := n.trackingPrefix(remote)
	if err := n.st.FetchRefs(ctx, remote, auth, "+"+n.refPrefix()+"*:"+tracking+"*"); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range n.cfg.Sinks {
		r, ok, err := n.st.ResolveRef(plumbing.ReferenceName(tracking + s.Name))
		if err != nil || !ok {
			continue
		}
		l, lok, err := n.st.ResolveRef(n.ref(s))
		if err != nil {
			return err
		}
		if lok && (l == r || !isAncestor(n.st, l, r)) {
			continue
		}
		if err := n.st.MoveRef(ctx, n.ref(s), l, r, "gitalog notify: from "+remote); err != nil {
			return fmt.Errorf("%s: taking the delivery state of %s: %w", s.Label(), remote, err)
		}
	}
	return nil
}

func isAncestor(st *gitstore.Store, a, b plumbing.Hash) bool {
	ok, err := st.IsAncestor(a, b)
	return err == nil && ok
}

// PushState pushes the sinks' refs to remote, so that the next run, in a
// fresh clone, starts where this one stopped. A remote ref further along
// (another run delivered more) is left as it is.
func (n *Notifier) PushState(ctx context.Context, remote string, auth gitstore.RemoteAuth) error {
	var specs []string
	for _, s := range n.cfg.Sinks {
		if _, ok, err := n.st.ResolveRef(n.ref(s)); err == nil && ok {
			specs = append(specs, string(n.ref(s))+":"+string(n.ref(s)))
		}
	}
	if len(specs) == 0 {
		return nil
	}
	return n.st.PushRefs(ctx, remote, auth, specs...)
}
