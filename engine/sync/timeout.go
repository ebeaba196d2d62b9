package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/gitalog/gitalog/engine/mapping"
)

// DefaultTimeout is `gitalog sync --timeout`'s default: hours more than a
// large organization takes, so that only a hung server reaches it.
const DefaultTimeout = 2 * time.Hour

var errSyncTimeout = errors.New("the sync's time limit was reached")

// fetchedKinds follows which kinds a sync has fetched whole, so that one
// stopped by its time limit can say what it had left.
type fetchedKinds struct {
	mu     gosync.Mutex
	want   []string // the config's kinds, in order
	whole  map[string]bool
	broken map[string]bool // a variant failed or did not finish
}

// track wraps src to record each kind's streams; a nil f leaves it as is.
func (f *fetchedKinds) track(src Fetcher, cfg *mapping.Config) Fetcher {
	if f == nil {
		return src
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.whole, f.broken = map[string]bool{}, map[string]bool{}
	for _, r := range cfg.Resources {
		if !slices.Contains(f.want, r.Kind) {
			f.want = append(f.want, r.Kind)
		}
	}
	return trackedFetcher{src, f}
}

type trackedFetcher struct {
	Fetcher
	f *fetchedKinds
}

func (t trackedFetcher) Stream(ctx context.Context, kind string, sel map[string]any, fn func(Page) error) error {
	var fnErr error
	err := t.Fetcher.Stream(ctx, kind, sel, func(p Page) error {
		fnErr = fn(p)
		return fnErr
	})
	t.f.mu.Lock()
	switch {
	case err == nil:
		t.f.whole[kind] = true
	case fnErr != nil && errors.Is(err, fnErr):
		// The source stopped because the sync did, not because fetching
		// failed: the limit reached while the items were being mapped
		// (a kind fetched whole as another's parent is handed over at
		// once). Named as unfinished, it would send the user looking
		// for a slow endpoint that answered in time.
		t.f.whole[kind] = true
	default:
		t.f.broken[kind] = true
	}
	t.f.mu.Unlock()
	return err
}

// timedOut is the error of a sync stopped by its time limit d.
func (f *fetchedKinds) timedOut(d time.Duration, err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var left []string
	for _, k := range f.want {
		if !f.whole[k] || f.broken[k] {
			left = append(left, k)
		}
	}
	switch {
	case len(f.want) == 0:
		return fmt.Errorf("the sync reached its time limit (--timeout %s) before fetching began; nothing was committed: %w", d, err)
	case len(left) > 0:
		return fmt.Errorf("the sync reached its time limit (--timeout %s) with kinds not fetched completely: %s; nothing was committed: %w", d, strings.Join(left, ", "), err)
	}
	return fmt.Errorf("the sync reached its time limit (--timeout %s) after fetching: %w", d, err)
}
