package sync

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/dump"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry"
)

// A config with sources: (several Sentry organizations, or the same
// extractors against each) is synced one source at a time, each with its
// own $source, Sentry settings and state under .gitalog/sources/<name>/:
// a source creates, updates and deletes only what it wrote, so its
// failure or its refused deletion touches no other source's entities, and
// jobs syncing different sources side by side (a CI matrix) never write
// the same state file.

// sharedRun is what the syncs of every source in one process share: the
// repository's lock (held by the caller) and the branch, which they settle
// and commit on one at a time.
type sharedRun struct {
	mu         gosync.Mutex // the branch: target, commit, push
	progressMu gosync.Mutex
}

// bindSource settles which source the sync is of: with sources: in the
// config, --source names one (its mapping, settings and state), or none
// (run syncs them all, see runAll).
func (o *Options) bindSource(rp *repo) error {
	cfg := rp.cfg
	src, ok, err := cfg.LookupSource(o.Source)
	if err != nil {
		return err
	}
	o.live = cfg.SourceNames()
	if !ok {
		return nil
	}
	bound, err := cfg.ForSource(src.Name)
	if err != nil {
		return err
	}
	rp.cfg = bound
	o.scope = catalog.Scope(src.Name)
	rp.set, rp.setErr = sentry.ResolveSourceSettings(o.env(), o.Dir, src.Name, src.URL, src.Org, cfg.File)
	return nil
}

// checkReplaySource refuses a dump made for another source than the
// sync's: its items, mapped with this source's $source and written under
// its ownership, would replace this source's entities with another's.
// A dump naming no source (a config without sources:, or made before
// dumps recorded theirs) is one of no source.
func (o *Options) checkReplaySource(r *dump.Reader, cfg *mapping.Config) error {
	got, want := r.Source(), string(o.scope)
	if got == want {
		return nil
	}
	manifest := filepath.Join(o.Replay, dump.ManifestFile)
	switch {
	case want == "":
		return fmt.Errorf("--replay %s: the dump is of source %s (%s), this sync of no source (%s has no sources:)", o.Replay, got, manifest, cfg.File)
	case got == "":
		return fmt.Errorf("--replay %s: the dump names no source (made for a config without sources:, or before dumps recorded theirs), this sync is of source %s: make it again with `gitalog dump --source %s`", o.Replay, want, want)
	}
	return fmt.Errorf("--replay %s: the dump is of source %s (%s), this sync of source %s: replay it with --source %s", o.Replay, got, manifest, want, got)
}

// runAll syncs every source of the config side by side, each with its own
// client (and so its own rate-limit window), one commit per source that
// changed something. The caller holds the repository's lock.
func (o *Options) runAll(ctx context.Context, rp *repo) (*Result, error) {
	switch {
	case o.Replay != "":
		return nil, fmt.Errorf("--replay: %s has sources:; pass --source NAME to say whose items the dump holds", rp.cfg.File)
	case o.push != nil:
		return nil, fmt.Errorf("%s has sources:; pass --source NAME to say whose items are pushed", rp.cfg.File)
	}
	if entries, err := rp.headSnap.ReadDir(catalog.SourcesDir); err == nil {
		for _, e := range entries {
			if !slices.Contains(o.live, e.Name) {
				o.logger().Warn("a source is no longer in sources:; the entities it wrote stay, owned by none, until a source that produces them takes them over or you delete them (README: Scaling)", "source", e.Name, "state", catalog.Scope(e.Name).Root())
			}
		}
	}
	sh := &sharedRun{}
	n := len(rp.cfg.Sources)
	results, errs := make([]*Result, n), make([]error, n)
	var wg gosync.WaitGroup
	for i, s := range rp.cfg.Sources {
		oc := *o
		oc.Source, oc.shared = s.Name, sh
		oc.clock, oc.rate, oc.fetched, oc.planSrc, oc.runs = nil, nil, nil, nil, nil
		oc.Logger = o.logger().With("source", s.Name)
		if o.Progress != nil {
			name := s.Name
			oc.Progress = func(stage, detail string) {
				sh.progressMu.Lock()
				defer sh.progressMu.Unlock()
				if stage == "done" {
					return // the whole run's end is the caller's
				}
				o.Progress(stage, "["+name+"] "+detail)
			}
		}
		wg.Go(func() { results[i], errs[i] = Run(ctx, oc) })
	}
	wg.Wait()
	res := &Result{DryRun: o.DryRun, Items: map[string]int{}, Sources: results}
	var failed []error
	partial := false
	for i, err := range errs {
		if err == nil {
			continue
		}
		failed = append(failed, namedSourceErr(rp.cfg.Sources[i].Name, err))
		if errors.Is(err, catalog.ErrPartial) || results[i] != nil && !results[i].Commit.IsZero() {
			partial = true
		}
	}
	res.NoChange = true
	for _, r := range results {
		res.NoChange = res.NoChange && r != nil && r.NoChange
		if r != nil && !r.Commit.IsZero() {
			res.Commit, res.Branch = r.Commit, r.Branch
		}
		if r != nil {
			res.Duration = max(res.Duration, r.Duration)
			res.Pushed = res.Pushed || r.Pushed
		}
	}
	if len(failed) == 0 {
		return res, nil
	}
	var err error = sourceErrs(failed)
	switch {
	case len(failed) < n || partial:
		// Some sources did their part: exit 3, not 1.
		err = fmt.Errorf("%w for %d of %d sources:\n%w", catalog.ErrPartial, len(failed), n, err)
	case n == 1:
		err = failed[0]
	default:
		err = fmt.Errorf("all %d sources failed:\n%w", n, err)
	}
	return res, err
}

// namedSourceErr is err of a source's sync, saying whose it is once: the
// errors of the source's settings already name it.
func namedSourceErr(name string, err error) error {
	if se := (*sentry.SourceError)(nil); errors.As(err, &se) && se.Source == name {
		return err
	}
	return fmt.Errorf("source %s: %w", name, err)
}

// sourceErrs are the errors of several sources' syncs, one a line,
// indented under the line that introduces them (a source's own
// multi-line error indented once more).
type sourceErrs []error

func (e sourceErrs) Error() string {
	var b strings.Builder
	for i, err := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("  " + strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return b.String()
}

func (e sourceErrs) Unwrap() []error { return e }

// settleShared, for one of several sources synced in one process, waits
// for the branch and takes its commit as it now is: a sibling may have
// committed since this sync settled its target. It returns the unlock.
func (o *Options) settleShared(store *gitstore.Store, tgt *syncTarget) (func(), error) {
	if o.shared == nil {
		return func() {}, nil
	}
	o.shared.mu.Lock()
	if tgt.ref == "" {
		h, err := store.Head()
		if err != nil {
			o.shared.mu.Unlock()
			return nil, err
		}
		tgt.commit = h.Commit
	} else if c, ok, err := store.ResolveRef(tgt.ref); err != nil {
		o.shared.mu.Unlock()
		return nil, err
	} else if ok {
		tgt.commit = c
	}
	return o.shared.mu.Unlock, nil
}

// sharedTarget is target, one source at a time when several are synced
// in one process: it fetches and moves the branch.
func (o *Options) sharedTarget(ctx context.Context, store *gitstore.Store, head gitstore.Head) (*syncTarget, error) {
	if o.shared != nil {
		o.shared.mu.Lock()
		defer o.shared.mu.Unlock()
		// A sibling may have committed since the repository was opened.
		if h, err := store.Head(); err == nil {
			head = h
		}
	}
	return o.target(ctx, store, head)
}
