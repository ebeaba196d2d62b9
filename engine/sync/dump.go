package sync

import (
	"context"
	"fmt"
	"github.com/gitalog/gitalog/engine/config"
	"os"

	"github.com/gitalog/gitalog/engine/dump"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry"
)

// DumpResult counts what Dump wrote.
type DumpResult struct {
	Items map[string]int
	Files int
}

// Dump fetches the raw items of every kind the config uses and writes them
// to out/<kind>.jsonl, one item a line, exactly as the mapping sees them:
// as Sentry sent them where the client changes nothing in them.
func Dump(ctx context.Context, o Options, out string) (*DumpResult, error) {
	var cfg *mapping.Config
	var err error
	if o.ConfigPath != "" {
		cfg, err = mapping.Load(o.ConfigPath)
	} else {
		var store *gitstore.Store
		if store, err = gitstore.Open(o.Dir); err != nil {
			return nil, err
		}
		var head gitstore.Head
		if head, err = store.Head(); err != nil {
			return nil, err
		}
		var snap *gitstore.Snapshot
		if snap, err = store.Snapshot(head.Commit); err != nil {
			return nil, err
		}
		cfg, err = config.Load(store, snap, "")
	}
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		o.logger().Warn(w)
	}
	rp := &repo{cfg: cfg}
	rp.set, rp.setErr = o.sentrySettings(cfg)
	if err := o.bindSource(rp); err != nil {
		return nil, err
	}
	if len(cfg.Sources) > 0 && o.Source == "" {
		return nil, fmt.Errorf("%s has sources:; a dump is of one source: pass --source NAME", cfg.File)
	}
	cfg = rp.cfg
	sc, err := o.openSources(ctx, cfg, rp.set, rp.setErr)
	if err != nil {
		return nil, err
	}
	exKinds := extractKinds(cfg)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	w := &dump.Writer{Dir: out, Source: string(o.scope)}
	res := &DumpResult{Items: map[string]int{}}
	done := map[string]bool{}
	for _, r := range cfg.Resources {
		if sentry.Kinds[r.Kind] == nil && !exKinds[r.Kind] {
			return nil, fmt.Errorf("%s:%d: %s: unknown kind %q", cfg.File, r.Line, r.Label(), r.Kind)
		}
		key, sel := sentry.Variant(r.Kind, r.Params)
		if done[key] {
			continue
		}
		done[key] = true
		o.progress("fetch", r.Kind)
		kw, err := w.Begin(r.Kind, sel)
		if err != nil {
			return nil, err
		}
		err = sc.fetcher.Stream(ctx, r.Kind, sel, func(b Page) error {
			res.Items[r.Kind] += len(b.Items)
			return kw.Write(b.Items)
		})
		if err != nil {
			kw.Abort()
			return nil, err
		}
		if err := kw.Close(); err != nil {
			return nil, err
		}
		res.Files++
	}
	return res, w.Close()
}
