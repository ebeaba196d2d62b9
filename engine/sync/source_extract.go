package sync

import (
	"context"
	"fmt"
	"strings"

	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry"
)

// extractFetcher streams the items of OpsLevel extractors.
type extractFetcher struct{ s *extract.Source }

func (f extractFetcher) Stream(ctx context.Context, kind string, _ map[string]any, fn func(Page) error) error {
	return f.s.Stream(ctx, kind, func(items [][]byte, where []string) error {
		return fn(Page{Items: items, Where: where})
	})
}

// Requests, Items and Sample are what a plan shows of an extractor.
func (f extractFetcher) Requests(kind string) int64 { return f.s.Stats(kind).Requests }
func (f extractFetcher) Items(kind string) int      { return int(f.s.Stats(kind).Items) }
func (f extractFetcher) Sample(kind string) []byte  { return f.s.Sample(kind) }

// routed sends a kind an extractor defines to the extractors, any other
// to Sentry.
type routed struct {
	extractors Fetcher
	sentry     Fetcher // nil: every resource's kind is an extractor's
	isExtract  func(kind string) bool
}

func (r routed) Stream(ctx context.Context, kind string, sel map[string]any, fn func(Page) error) error {
	if r.isExtract(kind) {
		return r.extractors.Stream(ctx, kind, sel, fn)
	}
	if r.sentry == nil {
		return fmt.Errorf("no source for kind %q", kind)
	}
	return r.sentry.Stream(ctx, kind, sel, fn)
}

func (r routed) Requests(kind string) int64 {
	if rq, ok := r.pick(kind).(KindRequests); ok {
		return rq.Requests(kind)
	}
	return 0
}

func (r routed) Items(kind string) int {
	if c, ok := r.pick(kind).(KindCounter); ok {
		return c.Items(kind)
	}
	return 0
}

func (r routed) Sample(kind string) []byte {
	if sp, ok := r.pick(kind).(KindSampler); ok {
		return sp.Sample(kind)
	}
	return nil
}

func (r routed) pick(kind string) Fetcher {
	if r.isExtract(kind) {
		return r.extractors
	}
	return r.sentry
}

// extractKinds are the kinds the config's extractors define.
func extractKinds(cfg *mapping.Config) map[string]bool {
	kinds := map[string]bool{}
	if cfg.Extract != nil {
		for _, e := range cfg.Extract.Extractors {
			kinds[e.Kind] = true
		}
	}
	return kinds
}

// needsSentry reports whether a resource maps a kind no extractor defines.
func needsSentry(cfg *mapping.Config) bool {
	kinds := extractKinds(cfg)
	for _, r := range cfg.Resources {
		if !kinds[r.Kind] {
			return true
		}
	}
	return false
}

// extractSource connects the config's extractors, bounded as Sentry's
// requests are.
func (o *Options) extractSource(cfg *mapping.Config) (*extract.Source, error) {
	conc := o.Concurrency
	if conc == 0 {
		conc = cfg.Sentry.Concurrency
	}
	return extract.NewSource(cfg.Extract, extract.Options{
		HTTPClient: o.HTTPClient, Concurrency: conc, Logger: o.logger(), UserAgent: "gitalog",
		MaxAttempts: o.Retry.MaxAttempts, Backoff: o.Retry.Backoff, MaxWait: o.Retry.MaxWait,
		MaxPages: cfg.Sentry.MaxPages, MaxResponseBytes: cfg.Sentry.MaxResponseBytes,
		Timeout: cfg.Sentry.RequestTimeout,
	})
}

// sources are where a sync's items come from.
type sources struct {
	fetcher   Fetcher
	desc      string          // for the summary
	client    *sentry.Client  // nil: Sentry is not asked
	sentry    *sentry.Source  // nil: Sentry is not asked
	extractor *extract.Source // nil: no extractors
}

// openSources connects Sentry when a resource maps one of its kinds (set
// and setErr are its resolved settings) and the extractors when the
// config has any.
func (o *Options) openSources(ctx context.Context, cfg *mapping.Config, set sentry.Settings, setErr error) (*sources, error) {
	exKinds := extractKinds(cfg)
	rt := routed{isExtract: func(k string) bool { return exKinds[k] }}
	sc := &sources{}
	var descs []string
	// The extractors first: a missing secret is reported before any request
	// (the Sentry source checks its access with one).
	if cfg.Extract != nil {
		xs, err := o.extractSource(cfg)
		if err != nil {
			return nil, err
		}
		rt.extractors, sc.extractor = extractFetcher{xs}, xs
		descs = append(descs, plural(len(cfg.Extract.Extractors), "OpsLevel extractor", "OpsLevel extractors"))
	}
	if needsSentry(cfg) {
		if setErr != nil {
			return nil, setErr
		}
		s, c, err := o.sentrySource(ctx, cfg, set)
		if err != nil {
			return nil, err
		}
		rt.sentry, sc.client, sc.sentry = sentryFetcher{s}, c, s
		descs = append(descs, fmt.Sprintf("Sentry organization %s (%s)", s.Org, redactURL(c.URL("", nil))))
	}
	sc.fetcher, sc.desc = rt, strings.Join(descs, " and ")
	return sc, nil
}
