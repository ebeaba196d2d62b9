package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gitalog/gitalog/engine/config"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/secretenv"
	"github.com/gitalog/gitalog/engine/sentry"
	"github.com/gitalog/gitalog/engine/sync"
	"github.com/go-git/go-git/v5/plumbing"
)

// Config is a whole `gitalog serve`: the server's options, and the sync
// options its batches and resyncs run with.
type Config struct {
	Options
	Sync   sync.Options
	Listen string
	// Notify tunes the delivery to the notify: sinks of the config.
	Notify NotifyOptions
	// Ready, if set, is called with the server and its bound address just
	// before it serves (tests listen on port 0).
	Ready func(s *Server, addr net.Addr)
}

// ServeLock is the lock file, in the git dir, a server holds while it runs.
const ServeLock = "gitalog-serve.lock"

// Run opens the repository and the journal, listens, and serves until ctx
// is done; then it drains the journal, tries once more to deliver the
// notifications (NotifyOptions.Drain at most), and returns. Each commit
// is notified from a goroutine of its own; what is not delivered stays
// recorded as such (the sinks' refs) for the next start or sync.
func Run(ctx context.Context, c Config) error {
	store, err := gitstore.Open(c.Sync.Dir)
	if err != nil {
		return err
	}
	// One server per repository: two would share the journal, number
	// their events alike and mark each other's applied. A rolling update
	// starts the next one beside the old: it waits for it to stop.
	wait := c.Sync.LockWait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	unlock, err := store.LockNamed(ctx, ServeLock, wait)
	if err != nil {
		return fmt.Errorf("serve: another gitalog serve runs on this repository: %w", err)
	}
	defer unlock()
	cfg, cfgErr := headConfig(store, c.Sync.ConfigPath)
	if cfgErr == nil {
		if err := checkSource(cfg, c.Sync.Source); err != nil {
			return err
		}
		if c.Sync.Source != "" {
			// The resources of other sources do not run here.
			cfg, cfgErr = cfg.ForSource(c.Sync.Source)
		}
	}
	c.GitDir = store.GitDir()
	if c.Logger == nil {
		c.Logger = c.Sync.Logger
	}
	// The deliverer notifies; a resync delivering inline would hold up
	// the batches behind a slow sink.
	c.Sync.NoNotify = true
	if c.Apply == nil {
		c.Apply = SyncApplier(c.Sync)
	}
	if c.Resync == nil {
		c.Resync = SyncResyncer(c.Sync)
	}
	if c.PushCheck == nil {
		c.PushCheck = SyncPushCheck(c.Sync)
	}
	d, err := newDeliverer(store, c.Sync, c.Notify, c.Logger)
	if err != nil {
		return err
	}
	onCommit := c.OnCommit
	c.OnCommit = func(ctx context.Context, h plumbing.Hash) {
		if onCommit != nil {
			onCommit(ctx, h)
		}
		d.notify()
	}
	s, err := New(c.Options)
	if err != nil {
		return err
	}
	d.metrics = s.metrics
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		s.Close()
		return fmt.Errorf("serve: %w", err)
	}
	c.Logger.Info("serving", "listen", ln.Addr().String(), "repository", c.Sync.Dir,
		"commit_interval", c.CommitInterval.String(), "resync_interval", c.ResyncInterval.String(), "pending", s.journal.Depth())
	if len(c.PushToken) == 0 {
		c.Logger.Info(PushesOff)
	}
	if why := issuesUnmapped(cfg, cfgErr); why != "" {
		c.Logger.Warn("Sentry issue webhooks will be acknowledged and ignored: " + why)
	}
	if c.Ready != nil {
		c.Ready(s, ln.Addr())
	}
	go d.run()
	err = s.Serve(ctx, ln)
	d.shutdown()
	return err
}

// SyncApplier applies webhook items with the sync engine (sync.Apply) under
// o, and pushed bodies with sync.ApplyPush: a batch that holds both makes
// a commit for each, the pushes' first.
func SyncApplier(o sync.Options) Applier {
	return func(ctx context.Context, items []Item) (plumbing.Hash, error) {
		var batch []sync.Item
		var pushes []sync.PushItem
		for _, it := range items {
			if it.Push {
				pushes = append(pushes, sync.PushItem{Kind: it.Kind, Body: it.JSON, ID: it.ID, At: it.At})
				continue
			}
			batch = append(batch, sync.Item{Kind: it.Kind, JSON: it.JSON, ID: it.ID})
		}
		var commit plumbing.Hash
		var pushErr error
		if len(pushes) > 0 {
			commit, pushErr = commitOf(sync.ApplyPush(ctx, o, pushes))
			if pushErr != nil && !errors.Is(pushErr, ErrPartial) {
				return commit, pushErr
			}
		}
		if len(batch) == 0 {
			return commit, pushErr
		}
		res, err := sync.Apply(ctx, o, batch)
		if res != nil && len(res.Undecided) > 0 && o.Logger != nil {
			// Not an error: the next full sync decides about these.
			o.Logger.Info("webhook items left for the next resync", "undecided", len(res.Undecided))
		}
		if res != nil && len(res.FetchErrors) > 0 && (err == nil || errors.Is(err, ErrPartial)) {
			// A request for what an item needs (its tags) failed: Sentry
			// may answer it later, so the batch is applied again (the
			// pushes' commit, made already, then changes nothing).
			err = fmt.Errorf("%w: %w", ErrRetry, errors.Join(res.FetchErrors...))
		}
		h, err := commitOf(res, err)
		if h.IsZero() {
			h = commit
		}
		return h, errors.Join(pushErr, err)
	}
}

// SyncPushCheck checks pushed bodies against the config at HEAD
// (sync.PushChecker), in the errors the push handler answers with.
func SyncPushCheck(o sync.Options) PushCheck {
	check := sync.PushChecker(o)
	return func(kind string, body []byte) (int, int, error) {
		kept, excluded, err := check(kind, body)
		switch {
		case errors.Is(err, sync.ErrNotPush):
			return 0, 0, classed{err, ErrNoPushKind}
		case errors.Is(err, sync.ErrConfig):
			return 0, 0, classed{err, ErrPushUnavailable}
		}
		return kept, excluded, err
	}
}

// classed is an error that also is class, without saying it twice.
type classed struct {
	error
	class error
}

func (c classed) Is(target error) bool { return target == c.class }
func (c classed) Unwrap() error        { return c.error }

// SyncResyncer runs a full sync under o.
func SyncResyncer(o sync.Options) Resyncer {
	return func(ctx context.Context) (plumbing.Hash, error) { return commitOf(sync.Run(ctx, o)) }
}

func commitOf(res *sync.Result, err error) (plumbing.Hash, error) {
	var h plumbing.Hash
	if res != nil {
		h = res.Commit
	}
	return h, err
}

// ClientSecret reads the integration's client secret from
// SENTRY_CLIENT_SECRET, else from the file SENTRY_CLIENT_SECRET_FILE names
// (a trailing newline is not part of it).
func ClientSecret(getenv func(string) string) ([]byte, error) {
	if v := getenv(secretenv.SentryClientSecret); v != "" {
		return []byte(v), nil
	}
	f := getenv(secretenv.SentryClientSecretFile)
	if f == "" {
		return nil, errors.New("no client secret: set SENTRY_CLIENT_SECRET or SENTRY_CLIENT_SECRET_FILE to the Sentry integration's client secret")
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", secretenv.SentryClientSecretFile, err)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: %s is empty", secretenv.SentryClientSecretFile, f)
	}
	return b, nil
}

// headConfig is the config at start, as the first batch reads it. What
// is wrong with it is left for that batch to say (the config may be
// mended before it runs); serve only checks what it can.
func headConfig(store *gitstore.Store, configPath string) (*mapping.Config, error) {
	head, err := store.Head()
	if err != nil {
		return nil, err
	}
	snap, err := store.Snapshot(head.Commit)
	if err != nil {
		return nil, err
	}
	return config.Load(store, snap, configPath)
}

// checkSource refuses a serve whose every batch would fail for want of a
// source: a config with sources: is synced one source at a time (each
// with its own token and state), so serve takes webhooks for the one
// --source names; the sync engine cannot choose for it.
func checkSource(cfg *mapping.Config, source string) error {
	if _, _, err := cfg.LookupSource(source); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if names := cfg.SourceNames(); len(names) > 0 && source == "" {
		return fmt.Errorf("serve: %s has sources: (%s), and a gitalog serve takes the webhooks and pushes of one of them: pass --source NAME (one serve per source)", cfg.File, strings.Join(names, ", "))
	}
	return nil
}

// issuesUnmapped says why no resource of the config at start takes a
// webhook's issue (an OpsLevel-only config, say), or "" when one does.
func issuesUnmapped(cfg *mapping.Config, err error) string {
	if err != nil {
		return "" // the first batch says what is wrong with it
	}
	for _, r := range cfg.Resources {
		if r.OpsLevel != nil {
			continue
		}
		if k := sentry.Kinds[r.Kind]; r.Kind == "issue" || k != nil && k.Parent == "issue" {
			return ""
		}
	}
	return "no resource of the config maps kind issue (or a kind built on it, such as issue-tag)"
}
