package sync

import (
	"context"
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/config"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/dump"
	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/notify"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/sentry"
	"github.com/gitalog/gitalog/schema"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Options configure a sync.
type Options struct {
	Dir            string // the repository (worktree root or bare)
	ConfigPath     string // default: <Dir>/gitalog.yaml
	BlueprintsPath string // default: <Dir>/blueprints
	DryRun         bool
	// Plan is a dry run that also fills Result.Plan: per kind, the items,
	// requests, a sample and what it maps to; every entity that would be
	// created, updated or deleted. Like DryRun it writes nothing: no
	// object, ref, index, worktree file or item cache, and takes no lock.
	Plan   bool
	Replay string // a dump folder to read instead of Sentry
	Author *object.Signature
	// DeleteThreshold overrides the config's entityDeletionThreshold.
	DeleteThreshold *float64
	LockWait        time.Duration
	// Timeout bounds the whole sync (0: no limit): one that reaches it
	// fails, naming the kinds it had not fetched, and deletes nothing.
	Timeout time.Duration
	// NoCache maps every item, ignoring what the item cache says the same
	// bytes mapped to last time (see itemcache); the cache is rewritten.
	NoCache bool
	// Full asks Sentry for every fan-out child again, as the automatic
	// full refresh (sentry.fullRefresh) does, instead of reusing the
	// results of parents whose fields are unchanged (see package fanout).
	Full bool
	// now is the clock of the full refresh and of expires_after_days
	// (tests); nil: time.Now.
	now func() time.Time

	Env         sentry.Env   // environment lookup (os.Getenv)
	HTTPClient  *http.Client // for tests and the demo
	Concurrency int
	// Retry tunes the client's retries; zero values mean its defaults.
	Retry RetryOptions

	// Branch commits on this branch (created from HEAD if missing)
	// instead of HEAD's.
	Branch string
	// Push pushes the branch to Remote (default origin) after the sync;
	// when the remote moved meanwhile, the sync's change is redone on top
	// of it, up to PushAttempts times (default 3).
	Push         bool
	Remote       string
	RemoteAuth   gitstore.RemoteAuth
	PushAttempts int

	// Source syncs one source of a config with several (sources:); ""
	// syncs them all, side by side, one commit each.
	Source string
	// scope is whose state the sync keeps (the source's), live the
	// configured sources: set by run from Source and the config.
	scope catalog.Scope
	live  []string
	// shared is set on each source's sync when run syncs them all.
	shared *sharedRun
	// reread: the sync started again after the branch moved to a commit
	// with another config (see errReread).
	reread bool

	clock   *stageClock
	rate    *rateMeter    // the Sentry client's requests, for the progress line
	fetched *fetchedKinds // with Timeout: which kinds were fetched whole
	planSrc Fetcher       // with Plan: the source, for its per-kind counts
	runs    *kindRuns     // with Plan: each kind's first item

	// push, set by ApplyPush, are the bodies a push batch records; no
	// source is polled then.
	push []PushItem

	// NoNotify leaves the notify: sinks to the caller: gitalog serve
	// delivers in the background, so that a slow sink never holds up its
	// next batch.
	NoNotify bool
	// notifyOptions tune the delivery of notifications (tests).
	notifyOptions notify.Options

	Logger   *slog.Logger
	Progress func(stage, detail string)
}

// RetryOptions tune retries of 429s, 5xx and network errors.
type RetryOptions struct {
	MaxAttempts int
	Backoff     time.Duration
	MaxWait     time.Duration
}

func (o *Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o *Options) progress(stage, detail string) {
	if o.clock != nil {
		o.clock.enter(o.logger(), stage)
	}
	if o.Progress != nil {
		if o.rate != nil && (stage == "fetch" || stage == "map") {
			if r, ok := o.rate.perSecond(time.Now()); ok {
				detail = withRate(detail, r)
			}
		}
		o.Progress(stage, detail)
	}
}

// stageClock logs (at debug level) how long each stage of a sync took, to
// see where the time goes on a user's catalog.
type stageClock struct {
	mu    gosync.Mutex
	start time.Time
	stage string
	since time.Time
}

func (c *stageClock) enter(log *slog.Logger, stage string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if stage == c.stage {
		return
	}
	if c.stage != "" {
		log.Debug("stage done", "stage", c.stage, "ms", now.Sub(c.since).Milliseconds(), "total_ms", now.Sub(c.start).Milliseconds())
	}
	c.stage, c.since = stage, now
}

// Run runs one sync. A returned Result is valid even with an error that
// wraps catalog.ErrPartial.
func Run(ctx context.Context, o Options) (*Result, error) {
	res, err := runTimed(ctx, o)
	if res != nil && res.notify != nil {
		// Outside the sync's lock and its timeout: a slow sink holds up
		// neither the next sync nor this one's commit.
		err = res.notify.deliver(ctx, &o, res, err)
	}
	return res, err
}

// errReread asks run to start again: the config it read is not the one
// of the commit it would build on.
var errReread = errors.New("the config changed under the sync")

// runAgain is run, started once more when the branch's move brought
// another config.
func runAgain(ctx context.Context, o Options) (*Result, error) {
	res, err := run(ctx, o)
	if errors.Is(err, errReread) {
		o.reread = true
		o.logger().Info("the remote's gitalog.yaml or blueprints differ from the ones read; reading them again")
		return run(ctx, o)
	}
	return res, err
}

func runTimed(ctx context.Context, o Options) (*Result, error) {
	if o.Timeout <= 0 {
		return runAgain(ctx, o)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, o.Timeout, errSyncTimeout)
	defer cancel()
	o.fetched = &fetchedKinds{}
	res, err := runAgain(ctx, o)
	if err != nil && context.Cause(ctx) == errSyncTimeout && (res == nil || len(res.Sources) == 0) {
		// (Each source's sync says for itself what it had not fetched.)
		err = o.fetched.timedOut(o.Timeout, err)
	}
	return res, err
}

func run(ctx context.Context, o Options) (*Result, error) {
	if o.Plan {
		o.DryRun = true
	}
	start, err := o.begin()
	if err != nil {
		return nil, err
	}
	defer o.progress("done", "")
	go exeDigest() // read and hashed while the repository opens
	log := o.logger()
	rp, err := o.openRepo(ctx)
	if err != nil {
		return nil, err
	}
	defer rp.unlock()
	store, head, cfg, set, setErr, bps := rp.store, rp.head, rp.cfg, rp.set, rp.setErr, rp.bps
	if o.shared == nil {
		// Said once: each source's config repeats the file's warnings.
		for _, w := range cfg.Warnings {
			log.Warn(w)
		}
		for _, w := range bps.Warnings() {
			log.Warn(w)
		}
	}
	if len(cfg.Sources) > 0 && o.Source == "" {
		return o.runAll(ctx, rp)
	}
	if err := checkTransforms(cfg, bps); err != nil {
		return nil, err
	}

	res := &Result{DryRun: o.DryRun, Items: map[string]int{}, SourceName: string(o.scope)}
	var src Fetcher
	var client *sentry.Client
	var extractor *extract.Source
	var sentrySrc *sentry.Source
	ps := newPushSource(&o, cfg)
	var tsnap *gitstore.Snapshot
	if o.push != nil {
		res.Source = pushSourceLine(o.push)
		for _, err := range ps.dropped {
			log.Warn("pushed body dropped", "error", err)
		}
		res.FetchErrors = append(res.FetchErrors, ps.dropped...)
	} else if o.Replay != "" {
		r, err := dump.Open(o.Replay)
		if err != nil {
			return nil, err
		}
		if err := o.checkReplaySource(r, cfg); err != nil {
			return nil, err
		}
		src, res.Source = replayFetcher{r}, "replay of "+o.Replay
	} else {
		sc, err := o.openSources(ctx, cfg, set, setErr)
		if err != nil {
			return nil, err
		}
		src, res.Source, client, extractor, sentrySrc = sc.fetcher, sc.desc, sc.client, sc.extractor, sc.sentry
	}
	if ps != nil && o.Replay == "" {
		// Pushed items come from the record at the target, whichever
		// source the rest comes from.
		src = pushRoute{ps: ps, snap: func() *gitstore.Snapshot { return tsnap }, next: src}
	}
	if o.Plan {
		res.Plan = &Plan{}
		// Asked of the source itself: the tracking wrapper below does not
		// pass on what else it implements.
		o.planSrc, o.runs = src, newKindRuns(cfg)
	}
	src = o.fetched.track(src, cfg)
	exKinds := extractKinds(cfg)
	for _, r := range cfg.Resources {
		if o.Replay == "" && sentry.Kinds[r.Kind] == nil && !exKinds[r.Kind] {
			return nil, fmt.Errorf("%s:%d: %s: unknown kind %q (known: %s)", cfg.File, r.Line, r.Label(), r.Kind, strings.Join(sentry.KindNames(), ", "))
		}
	}
	// Where to commit, settled before the long fetch so that a bad
	// --branch or an unreachable remote fails fast.
	tgt, err := o.sharedTarget(ctx, store, head)
	if err != nil {
		return nil, err
	}
	if !o.reread && tgt.ref == head.Ref && tgt.commit != head.Commit && o.configMoved(store, head.Commit, tgt.commit) != "" {
		// The branch the config was read from moved to the remote's head
		// (a fast-forward, an unpushed sync redone on top), whose config
		// is another: the sync starts again with it, once. (A --branch
		// other than HEAD's takes its config from HEAD whatever it holds:
		// comparing them would restart every such sync for nothing.)
		return nil, errReread
	}
	if !o.DryRun && !o.NoNotify && o.push == nil && cfg.Notify != nil && len(cfg.Notify.Sinks) > 0 {
		res.notify = o.startNotify(ctx, store, cfg.Notify, tgt)
	}

	tsnap, err = store.Snapshot(tgt.commit)
	if err != nil {
		return nil, err
	}
	fo, err := o.openFanout(tsnap, cfg, sentrySrc, extractor, res)
	if err != nil {
		return nil, err
	}
	// The catalog at the target (100k tree entries and managed names) is
	// read while the first pages stream in; workers wait for it only when
	// they compare their first blob.
	pl := &pipeline{bps: bps, hold: holdTargets(cfg, bps), catReady: make(chan struct{}), store: store, ol: newOpslevel(cfg, bps)}
	if !o.DryRun {
		// The commit writes the new files into the worktree from their
		// bytes, not by reading back the pack.
		pl.checkout, _ = store.CheckedOut(tgt.ref)
		// New files' blobs go into a pack as they are encoded instead of
		// staying in memory until the commit.
		pl.spool = store.NewSpool()
		defer pl.spool.Abandon()
	}
	if o.push == nil {
		pl.ic = openItemCache(&o, store, tsnap, cfg, bps, pl.ol)
	}
	var catErr error
	go func() {
		defer close(pl.catReady)
		if pl.ic != nil {
			// The workers need the item cache first; the catalog only
			// for the entries it cannot vouch for, and at the end.
			<-pl.ic.ready
		}
		pl.cat, catErr = catalog.ReadStateOf(tsnap, o.scope, o.live)
		if catErr != nil {
			pl.cat = catalog.NewStateOf(o.scope, o.live)
		}
		if pl.ol != nil {
			pl.ol.readHandWritten(pl)
		}
	}()
	coll, fetchErrs := pl.collect(ctx, &o, cfg, src, res)
	if !o.DryRun && coll.changed > 0 {
		// Files will change: the index (27 MB at 300k) is parsed while
		// the relations are checked. An unchanged sync never reads it.
		go store.WarmIndex()
	}
	<-pl.catReady
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if catErr != nil {
		return nil, fmt.Errorf("reading the catalog at %s: %w", tgt.commit, catErr)
	}
	cat := pl.cat
	if client != nil {
		st := client.Stats()
		res.Requests, res.Retries = st.Requests, st.Retries
		res.Endpoints = sentrySrc.Endpoints()
		o.logEndpoints(res.Endpoints)
	}
	fo.settle(&o, fetchErrs)
	if extractor != nil {
		for _, e := range cfg.Extract.Extractors {
			res.Requests += extractor.Stats(e.Kind).Requests
		}
	}
	if res.Plan != nil {
		res.Plan.Kinds = o.runs.kinds(o.planSrc, res.Items)
	}
	res.FetchErrors = fetchErrs
	res.Doubts = coll.doubts
	res.Duplicates = coll.dups
	threshold := 0.9
	if cfg.EntityDeletionThreshold != nil {
		threshold = *cfg.EntityDeletionThreshold
	}
	if o.DeleteThreshold != nil {
		threshold = *o.DeleteThreshold
	}
	doubt := holds(res.Doubts)
	var unpushed map[string]bool
	if o.push != nil {
		// What a push batch holds because it was not fetched is no doubt
		// about what the catalog holds: rule relations are stated over
		// it (the kept entities), as a sync states them.
		coll.ruleHolds, coll.pushBatch = holds(res.Doubts), true
		if doubt == nil {
			doubt = catalog.NewHolds()
		}
		unpushed = ps.holdUnpushed(cfg, doubt)
	}
	o.progress("validate", fmt.Sprintf("%d entities", len(coll.slots)))
	if err := pl.finish(coll, res, doubt, threshold); err != nil {
		return nil, err
	}
	plan := func(snap *gitstore.Snapshot) (*catalog.Plan, error) {
		start := cat
		cat, trustSame := cat, true
		if snap.Commit() != cat.Commit {
			var err error
			if cat, err = catalog.ReadStateOf(snap, o.scope, o.live); err != nil {
				return nil, err
			}
			trustSame = false
			// What another writer listed since (a push batch of serve, a
			// job of this source) this sync never fetched: it stays.
			cat.Arrived = func(dir, stem string) bool { return !start.Managed[dir].Has(stem) }
			if err := coll.ol.restateRules(store, coll, cat); err != nil {
				return nil, err
			}
		}
		p, err := catalog.MakePlan(store, cat, coll, doubt, threshold, trustSame)
		if err != nil {
			return nil, err
		}
		if coll.ol != nil {
			if err := coll.ol.extend(p, snap, cat, coll, doubt, threshold); err != nil {
				return nil, err
			}
			// A push race plans again: the problems of the earlier plan go.
			if coll.problems < 0 {
				coll.problems = len(res.Problems)
			}
			res.Problems = append(res.Problems[:coll.problems:coll.problems], coll.patchProblems...)
			res.Suggested, res.Skipped = suggestedRefs(coll.suggested), coll.skipped
			if res.Plan != nil {
				res.Plan.Suggest = suggestChanges(coll.suggested)
			}
		}
		if unpushed != nil {
			// Not fetched, so not gone: nothing to say about them.
			p.Kept = slices.DeleteFunc(p.Kept, func(k catalog.Kept) bool { return unpushed[k.Blueprint] })
		}
		if ps != nil && o.Replay == "" {
			if err := ps.changes(p, snap); err != nil {
				return nil, err
			}
		}
		if err := fo.addChanges(p, snap); err != nil {
			return nil, fmt.Errorf("the fan-out state: %w", err)
		}
		return p, nil
	}
	first := func() { pl.ic.prepare(coll) }
	saved := func(committed plumbing.Hash) { pl.ic.save(&o, store, committed) }
	return o.commitAndPush(ctx, store, tgt, res, start, plan, first, saved, pl.spool)
}

// commitAndPush commits the change plan makes, and pushes it with o.Push,
// redoing it on top of a remote that moved meanwhile. first, when set, is
// called once the first plan is made; saved after the first commit
// (which may be no commit: the target's commit).
func (o *Options) commitAndPush(ctx context.Context, store *gitstore.Store, tgt *syncTarget, res *Result, start time.Time, plan func(*gitstore.Snapshot) (*catalog.Plan, error), first func(), saved func(plumbing.Hash), spool *gitstore.Spool) (*Result, error) {
	log := o.logger()
	author := store.DefaultSignature()
	if o.Author != nil {
		author = *o.Author
	}
	if !o.DryRun {
		unlock, err := o.settleShared(store, tgt)
		if err != nil {
			return res, err
		}
		defer unlock()
	}
	configBase := tgt.commit // where the config the sync mapped with was read
	var gaveUp error         // the last refused push, once the attempts are spent
	for attempt := 1; ; attempt++ {
		var planned func()
		if attempt == 1 && !o.DryRun {
			planned = first
		}
		committed, err := o.commitOn(ctx, store, tgt, plan, author, res, planned, spool)
		if err == nil && attempt == 1 && !o.DryRun && saved != nil {
			saved(committed)
		}
		if err != nil || o.DryRun || !o.Push {
			res.Duration = time.Since(start)
			if errors.Is(err, catalog.ErrPartial) {
				// What else was left undone still needs saying.
				return res, errors.Join(err, res.Err())
			}
			if err != nil {
				return res, err
			}
			return res, res.Err()
		}
		if !res.Commit.IsZero() {
			// Until a push lands it, the commit is the sync's own to redo
			// (see redoUnpushed).
			if err := markUnpushed(store, tgt.ref, res.Commit); err != nil {
				log.Debug("cannot record the commit as unpushed", "error", err)
			}
		}
		// A push that fails after this sync committed leaves the commit
		// on the branch: exit 1 would say nothing was committed.
		pushFailed := func(err error) error {
			res.Duration = time.Since(start)
			if res.Commit.IsZero() {
				return fmt.Errorf("the push failed; the commit is kept locally on %s and the next sync --push pushes it: %w", tgt.branch, err)
			}
			err = fmt.Errorf("%w: committed %s on %s, but the push failed; the commit is kept locally on %s and the next sync --push pushes it: %w", catalog.ErrPartial, res.Commit.String()[:12], tgt.branch, tgt.branch, err)
			if more := res.Err(); more != nil {
				err = errors.Join(err, more)
			}
			return err
		}
		if gaveUp != nil {
			res.Duration = time.Since(start)
			return res, pushFailed(fmt.Errorf("%w; out of push attempts (%d): the change is on top of %s/%s", gaveUp, attempt-1, tgt.remote, tgt.branch))
		}
		if tgt.remoteHas && committed == tgt.remoteCommit {
			// The remote has it all already (nothing changed, nothing
			// left unpushed): there is nothing to push, so none is made.
			clearUnpushed(store)
			res.PushedUpToDate = tgt.remote + "/" + tgt.branch
			res.Duration = time.Since(start)
			return res, res.Err()
		}
		o.progress("push", tgt.remote+" "+tgt.branch)
		if testHookBeforePush != nil {
			testHookBeforePush()
		}
		perr := store.Push(ctx, tgt.remote, tgt.branch, o.RemoteAuth)
		if perr == nil {
			clearUnpushed(store)
			res.Pushed = true
			res.Duration = time.Since(start)
			return res, res.Err()
		}
		if !errors.Is(perr, gitstore.ErrRejected) {
			return res, pushFailed(perr)
		}
		// Someone pushed first: take their head and redo this sync's
		// change on top of it, from the entities already mapped. Even
		// when no attempt is left, so that the branch is ahead of the
		// remote, never beside it: a diverged branch stops every later
		// sync until someone resets it by hand.
		remoteHead, ok, err := store.Fetch(ctx, tgt.remote, tgt.branch, o.RemoteAuth)
		if err != nil {
			return res, pushFailed(fmt.Errorf("%v; fetching it again: %w", perr, err))
		}
		if !ok {
			// Deleted between the refusal and the fetch: there is no head
			// to redo the change on.
			return res, pushFailed(fmt.Errorf("%v; fetching it again: %s has no branch %s any more", perr, tgt.remote, tgt.branch))
		}
		if remoteHead == tgt.commit {
			// A refusal worded like a lost race, but the remote is where
			// it was: something else refused it, and redoing cannot help.
			return res, pushFailed(fmt.Errorf("%w; %s/%s has not moved, so the refusal has another cause", perr, tgt.remote, tgt.branch))
		}
		if attempt >= o.pushAttempts() {
			gaveUp = perr
		} else {
			// Writers that lost the race together would race again at
			// once: each waits a random share of a growing window first.
			wait := pushBackoff(attempt)
			log.Info("the remote moved; redoing the sync on top of it", "attempt", attempt+1, "after", wait.Round(time.Millisecond).String())
			select {
			case <-ctx.Done():
				return res, pushFailed(context.Cause(ctx))
			case <-time.After(wait):
			}
		}
		if err := store.MoveRef(ctx, tgt.ref, committed, remoteHead, "gitalog: reset to "+tgt.remote+"/"+tgt.branch+" to redo the sync"); err != nil {
			res.Duration = time.Since(start)
			if lag := worktreeLag(err, fmt.Sprintf("%v; %s was reset to %s/%s (%s) to redo the sync on top, so its change is not committed", perr, tgt.branch, tgt.remote, tgt.branch, remoteHead.String()[:12])); lag != nil {
				clearUnpushed(store)
				res.Commit = plumbing.ZeroHash
				return res, lag
			}
			return res, pushFailed(fmt.Errorf("%v; resetting %s to %s/%s to redo the sync: %w", perr, tgt.branch, tgt.remote, tgt.branch, err))
		}
		if changed := o.configMoved(store, configBase, remoteHead); changed != "" {
			// The entities were mapped with the config this sync read:
			// redone on top of another, they would revert it.
			clearUnpushed(store)
			res.Commit = plumbing.ZeroHash
			res.Duration = time.Since(start)
			return res, fmt.Errorf("%v; %s changed on %s/%s while this sync ran, so its change, mapped with the old one, is not redone on top; %s is now at %s/%s (%s) and the next sync applies the new config", perr, changed, tgt.remote, tgt.branch, tgt.branch, tgt.remote, tgt.branch, remoteHead.String()[:12])
		}
		tgt.commit, tgt.remoteCommit, tgt.remoteHas = remoteHead, remoteHead, true
		res.Commit = plumbing.ZeroHash
	}
}

// configMoved names what of the config (gitalog.yaml, blueprints/) differs
// between the commits from and to, "" when nothing does or the config is
// not read from the repository (--config, --blueprints).
func (o *Options) configMoved(store *gitstore.Store, from, to plumbing.Hash) string {
	a, err1 := store.Snapshot(from)
	b, err2 := store.Snapshot(to)
	if err1 != nil || err2 != nil || from.IsZero() {
		return ""
	}
	var moved []string
	for _, p := range []struct{ path, flag string }{{config.ConfigFile, o.ConfigPath}, {config.BlueprintsDir, o.BlueprintsPath}} {
		if p.flag != "" {
			continue
		}
		x, okx := a.Lookup(p.path)
		y, oky := b.Lookup(p.path)
		if okx != oky || x.Hash != y.Hash {
			moved = append(moved, p.path)
		}
	}
	return strings.Join(moved, " and ")
}

// begin checks the branch's name, starts the stage clock and says the
// repository is being opened: the start of a sync and of a batch.
func (o *Options) begin() (time.Time, error) {
	if o.Branch != "" {
		ref, err := config.BranchRef(o.Branch)
		if err != nil {
			return time.Time{}, err
		}
		o.Branch = ref.Short()
	}
	start := time.Now()
	o.clock = &stageClock{start: start}
	o.progress("open", "")
	return start, nil
}

// repo is what a sync and a batch start from: the repository (locked,
// unless a dry run), HEAD, and the config and blueprints there.
type repo struct {
	store    *gitstore.Store
	unlock   func()
	head     gitstore.Head
	headSnap *gitstore.Snapshot
	cfg      *mapping.Config
	// The Sentry settings, resolved once (they read SENTRY_AUTH_TOKEN_FILE
	// and .sentryclirc): the refusal of secrets in the config reads their
	// token, the source connects with it. setErr matters only when
	// Sentry is asked.
	set    sentry.Settings
	setErr error
	bps    *schema.Set
}

func (o *Options) openRepo(ctx context.Context) (*repo, error) {
	store, err := gitstore.Open(o.Dir)
	if err != nil {
		return nil, err
	}
	rp := &repo{store: store, unlock: func() {}}
	if !o.DryRun && o.shared == nil {
		wait := o.LockWait
		if wait == 0 {
			wait = 30 * time.Second
		}
		if rp.unlock, err = store.LockAndRecover(ctx, wait); err != nil {
			return nil, err
		}
	}
	ok := false
	defer func() {
		if !ok {
			rp.unlock()
		}
	}()
	if rp.head, err = store.Head(); err != nil {
		return nil, err
	}
	if rp.headSnap, err = store.Snapshot(rp.head.Commit); err != nil {
		return nil, err
	}
	if rp.cfg, err = config.Load(store, rp.headSnap, o.ConfigPath); err != nil {
		return nil, err
	}
	rp.set, rp.setErr = o.sentrySettings(rp.cfg)
	if err := o.bindSource(rp); err != nil {
		return nil, err
	}
	if err := refuseSecrets(rp.cfg, rp.set, o.env(), o.RemoteAuth.Token); err != nil {
		return nil, err
	}
	if rp.bps, err = config.Blueprints(store, rp.headSnap, o.BlueprintsPath); err != nil {
		return nil, err
	}
	ok = true
	return rp, nil
}

// BranchName names a branch in messages; "" is a detached HEAD.
func BranchName(b string) string {
	if b == "" {
		return "detached HEAD"
	}
	return b
}

// worktreeLag reports a gitstore.WorktreeError from Commit or MoveRef: the
// branch moved (did says how), only the files and the index lag behind,
// and the journal brings them up to date (or they are files the user
// made meanwhile, kept as local changes). Exit 1 would say nothing
// happened, so it is a partial result. Any other error gives nil.
func worktreeLag(err error, did string) error {
	var wterr *gitstore.WorktreeError
	if !errors.As(err, &wterr) {
		return nil
	}
	next := "the next sync (or any gitalog command that writes) brings it up to date"
	if errors.Is(wterr.Err, gitstore.ErrDirty) {
		// Files the user made while the commit ran: theirs to keep.
		next = "commit, stash or discard those changes"
	}
	return fmt.Errorf("%w: %s, but the worktree could not be updated: %w; %s", catalog.ErrPartial, did, wterr.Err, next)
}

// testHookBeforePush lets tests move the remote between commit and push.
var testHookBeforePush func()

// syncTarget is the branch a sync commits on.
type syncTarget struct {
	ref    plumbing.ReferenceName // "" for a detached HEAD
	commit plumbing.Hash
	branch string
	remote string
	// With --push: the remote branch's commit when last fetched.
	remoteCommit plumbing.Hash
	remoteHas    bool
}

// pushAttempts bounds the redos of a push that lost a race. Each source
// of a catalog may have a job pushing at the same time, so the default
// grows with their number: with n writers, one that keeps losing still
// lands after about n rounds.
func (o *Options) pushAttempts() int {
	if o.PushAttempts > 0 {
		return o.PushAttempts
	}
	return 3 + 2*len(o.live)
}

// pushBackoff is the wait before the redo after the attempt-th refused
// push: full jitter over a window that doubles from 200 ms up to 5 s.
func pushBackoff(attempt int) time.Duration {
	window := 200 * time.Millisecond << min(attempt-1, 5)
	window = min(window, 5*time.Second)
	return time.Duration(rand.Int64N(int64(window)) + 1)
}

// target settles the branch to commit on: --branch (created from HEAD, or
// from the remote's branch when pushing), else HEAD's. With --push it
// fetches first and fast-forwards to the remote, so the sync builds on
// the latest catalog.
func (o *Options) target(ctx context.Context, store *gitstore.Store, head gitstore.Head) (*syncTarget, error) {
	t := &syncTarget{ref: head.Ref, commit: head.Commit, branch: head.Ref.Short(), remote: o.Remote}
	if t.remote == "" {
		t.remote = "origin"
	}
	if o.Branch != "" {
		t.ref = plumbing.NewBranchReferenceName(o.Branch)
		t.branch = o.Branch
	}
	if t.ref == "" && o.Push {
		return nil, fmt.Errorf("HEAD is detached; pass --branch to say which branch to commit on and push")
	}
	if o.DryRun {
		if o.Branch != "" {
			if c, ok, err := store.ResolveRef(t.ref); err != nil {
				return nil, err
			} else if ok {
				t.commit = c
			}
		}
		return t, nil
	}
	if other, err := store.CheckedOutElsewhere(t.ref); err != nil {
		return nil, err
	} else if other != "" {
		return nil, fmt.Errorf("branch %s is checked out in the worktree at %s, which a commit from here would leave behind; run the sync there, or pick another --branch", t.branch, other)
	}
	var remoteHead plumbing.Hash
	remoteOK := false
	if o.Push {
		var err error
		o.progress("fetch", t.remote+" "+t.branch)
		if remoteHead, remoteOK, err = store.Fetch(ctx, t.remote, t.branch, o.RemoteAuth); err != nil {
			return nil, err
		}
	}
	local, localOK, err := store.ResolveRef(t.ref)
	if err != nil {
		return nil, err
	}
	switch {
	case !localOK:
		base := head.Commit
		if remoteOK {
			base = remoteHead
		}
		if base.IsZero() {
			break // an unborn branch: the first commit creates it
		}
		if err := store.MoveRef(ctx, t.ref, plumbing.ZeroHash, base, "branch: created by gitalog sync"); err != nil {
			if lag := worktreeLag(err, fmt.Sprintf("created branch %s at %s", t.branch, base.String()[:12])); lag != nil {
				return nil, lag
			}
			return nil, fmt.Errorf("creating branch %s: %w", t.branch, err)
		}
		local = base
	case remoteOK && local != remoteHead:
		behind, err := store.IsAncestor(local, remoteHead)
		if err != nil {
			return nil, err
		}
		if behind {
			if err := store.MoveRef(ctx, t.ref, local, remoteHead, "gitalog: fast-forward to "+t.remote+"/"+t.branch); err != nil {
				if lag := worktreeLag(err, fmt.Sprintf("fast-forwarded %s to %s/%s (%s)", t.branch, t.remote, t.branch, remoteHead.String()[:12])); lag != nil {
					return nil, lag
				}
				return nil, fmt.Errorf("fast-forwarding %s to %s/%s: %w", t.branch, t.remote, t.branch, err)
			}
			local = remoteHead
			break
		}
		ahead, err := store.IsAncestor(remoteHead, local)
		if err != nil {
			return nil, err
		}
		if ahead {
			break
		}
		if redone, err := redoUnpushed(ctx, store, t, local, remoteHead); err != nil {
			return nil, err
		} else if redone {
			o.logger().Info("the remote moved since the last sync failed to push; redoing its change on top", "remote", t.remote+"/"+t.branch)
			local = remoteHead
			break
		}
		return nil, fmt.Errorf("branch %s and %s/%s have diverged; merge or reset it before syncing", t.branch, t.remote, t.branch)
	}
	t.commit = local
	t.remoteCommit, t.remoteHas = remoteHead, remoteOK
	return t, nil
}

// commitOn plans the change against the target's commit and commits it.
// It returns the new commit, or the target's when nothing changed. plan
// makes the change against a snapshot of the target: the catalog the
// stream compared with, or another when the target moved since (a redo
// after a push race). planned, when set, is called once the plan is made.
func (o *Options) commitOn(ctx context.Context, store *gitstore.Store, tgt *syncTarget, plan func(*gitstore.Snapshot) (*catalog.Plan, error), author object.Signature, res *Result, planned func(), spool *gitstore.Spool) (plumbing.Hash, error) {
	snap, err := store.Snapshot(tgt.commit)
	if err != nil {
		return tgt.commit, err
	}
	o.progress("plan", "")
	p, err := plan(snap)
	if err != nil {
		return tgt.commit, err
	}
	if planned != nil {
		planned()
	}
	for i := range p.Deleted {
		p.Deleted[i].Title = oldTitle(snap, catalog.Path(p.Deleted[i].Key))
	}
	res.apply(p)
	if res.Plan != nil {
		res.Plan.changes(p, snap)
	}
	for i := range min(len(p.Changed), MaxListed) {
		old, err1 := snap.ReadFile(catalog.Path(p.Changed[i].Key))
		if err1 != nil {
			continue
		}
		oe, err1 := catalog.Decode(old)
		ne, err2 := catalog.Decode(p.Changed[i].Data)
		if err1 == nil && err2 == nil {
			res.Changed[i].Fields = review.FieldChanges(oe, ne)
		}
	}
	res.Branch = tgt.branch
	res.Parent = tgt.commit
	stateOnly := onlyFanout(p.Changes, o.scope)
	if stateOnly && len(p.Changes) > 0 {
		res.Subject = "sync: fan-out state (no entity changes)"
		if res.SourceName != "" {
			res.Subject = "sync(" + res.SourceName + "): fan-out state (no entity changes)"
		}
	}
	if o.DryRun || len(p.Changes) == 0 {
		// A dry run that would only update the fan-out state (a full
		// refresh's time, results of moved parents) changes no entity.
		res.NoChange = stateOnly
		return tgt.commit, nil
	}
	// A branch that is not checked out is committed on without looking at
	// the worktree, which holds another commit's files.
	if wt, err := store.CheckedOut(tgt.ref); err != nil {
		return tgt.commit, err
	} else if wt {
		var dirty *gitstore.DirtyError
		if err := store.CheckWorktree(tgt.commit, p.Paths()); errors.As(err, &dirty) {
			return tgt.commit, overwriteError{dirty}
		} else if err != nil {
			return tgt.commit, err
		}
	}
	author.When = time.Now()
	o.progress("commit", fmt.Sprintf("%d files", len(p.Changes)))
	hash, err := store.Commit(ctx, gitstore.CommitRequest{
		Parent: tgt.commit, Ref: tgt.ref, Changes: p.Changes, Spool: spool,
		Message: commitMessage(res, p), Author: author, Committer: author,
	})
	if errors.Is(err, gitstore.ErrNoChanges) {
		res.NoChange = true
		return tgt.commit, nil
	}
	var wterr *gitstore.WorktreeError
	if errors.As(err, &wterr) {
		res.Commit, res.NoChange = wterr.Commit, false
		return wterr.Commit, worktreeLag(err, fmt.Sprintf("committed %s on %s", wterr.Commit.String()[:12], BranchName(tgt.branch)))
	}
	// The commit checks the worktree again under index.lock: what changed
	// while the sync ran is reported as the check above reports it.
	var dirty *gitstore.DirtyError
	if errors.As(err, &dirty) {
		return tgt.commit, overwriteError{dirty}
	}
	if err != nil {
		return tgt.commit, fmt.Errorf("committing: %w", err)
	}
	res.Commit = hash
	res.NoChange = false
	o.logger().Info("committed", "commit", hash.String()[:12], "subject", res.Subject)
	return hash, nil
}

// env is the environment the sync reads; nil Env is an empty one.
func (o *Options) env() sentry.Env {
	if o.Env == nil {
		return func(string) string { return "" }
	}
	return o.Env
}

// sentrySettings resolves the Sentry URL, organization and token for cfg.
func (o *Options) sentrySettings(cfg *mapping.Config) (sentry.Settings, error) {
	return sentry.ResolveSettings(o.env(), o.Dir, cfg.Sentry.URL, cfg.Sentry.Org, cfg.File)
}

// sentrySource connects to Sentry with the resolved settings set.
func (o *Options) sentrySource(ctx context.Context, cfg *mapping.Config, set sentry.Settings) (*sentry.Source, *sentry.Client, error) {
	if err := set.Check(); err != nil {
		return nil, nil, err
	}
	conc := o.Concurrency
	if conc == 0 {
		conc = cfg.Sentry.Concurrency
	}
	c, err := sentry.NewClient(set.URL, set.Token, sentry.ClientOptions{
		HTTPClient: o.HTTPClient, Concurrency: conc, Logger: o.logger(), UserAgent: "gitalog",
		MaxAttempts: o.Retry.MaxAttempts, Backoff: o.Retry.Backoff, MaxWait: o.Retry.MaxWait,
		MaxPages: cfg.Sentry.MaxPages, MaxResponseBytes: cfg.Sentry.MaxResponseBytes,
		Timeout: cfg.Sentry.RequestTimeout, SetURL: set.SetURLHint(),
	})
	if err != nil {
		return nil, nil, err
	}
	s := &sentry.Source{Client: c, Org: set.Org}
	o.rate = &rateMeter{count: func() int64 { return c.Stats().Requests }}
	// A kind that one resource maps and another fans out over is then
	// fetched once for both.
	for _, r := range cfg.Resources {
		s.Expect(r.Kind, r.Params)
	}
	s.Progress = func(kind string, n int) { o.progress("fetch", fmt.Sprintf("%s: %d items", kind, n)) }
	o.progress("fetch", "organization "+set.Org)
	if err := s.CheckAccess(ctx, set); err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

// oldTitle reads the title of a file about to be deleted, for messages.
func oldTitle(snap *gitstore.Snapshot, path string) string {
	data, err := snap.ReadFile(path)
	if err != nil {
		return ""
	}
	e, err := catalog.Decode(data)
	if err != nil {
		return ""
	}
	t, _ := e.Title.(string)
	return t
}

// redactURL drops any user:password part and the /api/0 suffix from a URL
// before it is shown.
func redactURL(u string) string {
	return strings.TrimSuffix(gitstore.RedactURL(u), "/api/0")
}

func hasError(ps []schema.Problem) bool {
	for _, p := range ps {
		if !p.Warning {
			return true
		}
	}
	return false
}

// overwriteError is local changes in files a sync would write: said once,
// with the sync's advice (stash too), not gitstore's after it.
type overwriteError struct{ *gitstore.DirtyError }

func (e overwriteError) Error() string {
	const show = 10
	p, more := e.Paths, ""
	if len(p) > show {
		p, more = p[:show], fmt.Sprintf(" (and %d more)", len(p)-show)
	}
	return fmt.Sprintf("%v: the sync would overwrite %s%s; commit, stash or discard those changes first", gitstore.ErrDirty, strings.Join(p, ", "), more)
}

func (e overwriteError) Unwrap() error { return e.DirtyError }
