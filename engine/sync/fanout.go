package sync

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/fanout"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry"
)

// A sync's fan-out state: the children of each fan-out parent as the last
// sync got them, committed under .gitalog/fanout/ so that a fresh clone
// (every CI run) reuses them too. See package fanout.
type fanoutRun struct {
	state  *fanout.State
	update fanout.Update
	full   bool
}

// openFanout reads the fan-out state at the target and hands it to the
// Sentry source and the extractors, as their Memo; nil when neither is
// asked.
func (o *Options) openFanout(snap *gitstore.Snapshot, cfg *mapping.Config, src *sentry.Source, xs *extract.Source, res *Result) (*fanoutRun, error) {
	if xs != nil && len(cfg.Extract.MemoNames()) == 0 {
		// No extractor keeps anything: a sync of extractors alone
		// commits no fan-out state.
		xs = nil
	}
	if src == nil && xs == nil {
		return nil, nil
	}
	dir := o.scope.Sub("fanout")
	st, err := fanout.ReadAt(snap, dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	for _, p := range st.Problems {
		o.logger().Debug("fan-out state ignored", "reason", p)
	}
	now := time.Now
	if o.now != nil {
		now = o.now
	}
	period := cfg.Sentry.FullRefresh
	if period <= 0 {
		period = fanout.DefaultFullRefresh
	}
	f := &fanoutRun{state: st, update: fanout.Update{Used: map[string]bool{}}}
	for _, r := range cfg.Resources {
		for _, n := range sentry.MemoNames(r.Kind, r.Params) {
			f.update.Used[n] = true
		}
	}
	if cfg.Extract != nil {
		for _, n := range cfg.Extract.MemoNames() {
			f.update.Used[n] = true
		}
	}
	switch {
	case o.Full:
		f.full, res.FullRefresh = true, "--full"
	case st.Due(now(), period):
		f.full = true
		if !st.LastFull.IsZero() {
			res.FullRefresh = fmt.Sprintf("the last full refresh was %s ago (sentry.fullRefresh: %s)", now().Sub(st.LastFull).Round(time.Minute), period)
		}
	}
	st.Full = f.full
	if f.full {
		// Recorded only once everything was fetched: see settle.
		f.update.FullAt = now()
	}
	if src != nil {
		src.Memo = st
	}
	if xs != nil {
		xs.Memo = st
	}
	return f, nil
}

// settle decides, once everything was fetched, what the commit may do to
// the state: drop the entries of parents no longer listed, and record a
// full refresh, only when no fetch failed.
func (f *fanoutRun) settle(o *Options, fetchErrs []error) {
	if f == nil {
		return
	}
	clean := len(fetchErrs) == 0
	f.update.Prune = clean
	if !clean {
		f.update.FullAt = time.Time{}
	}
	o.logger().Debug("fan-out state", "reused", f.state.Reused, "stored", f.state.Stored, "full", f.full, "prune", clean)
}

// addChanges adds the state's changes to the plan.
func (f *fanoutRun) addChanges(p *catalog.Plan, snap *gitstore.Snapshot) error {
	if f == nil {
		return nil
	}
	u := f.update
	// Entities the plan kept (a doubt, the deletion threshold) keep their
	// parents' results too: a refused deletion commits nothing.
	u.Prune = u.Prune && len(p.Kept) == 0
	ch, err := f.state.Changes(snap, u)
	if err != nil || len(ch) == 0 {
		return err
	}
	p.Changes = append(p.Changes, ch...)
	slices.SortFunc(p.Changes, func(a, b gitstore.Change) int { return strings.Compare(a.Path, b.Path) })
	return nil
}

// logEndpoints logs the requests of each endpoint (at info, shown by -v).
func (o *Options) logEndpoints(eps []sentry.EndpointStat) {
	for _, e := range eps {
		o.logger().Info("requests", "endpoint", e.Endpoint, "made", e.Requests, "skipped", e.Skipped, "429", e.TooMany, "waited", e.Wait.Round(time.Millisecond).String())
	}
}

// onlyFanout reports whether every change is to the fan-out state (true
// for none).
func onlyFanout(ch []gitstore.Change, scope catalog.Scope) bool {
	for _, c := range ch {
		if !strings.HasPrefix(c.Path, scope.Sub("fanout")+"/") {
			return false
		}
	}
	return true
}
