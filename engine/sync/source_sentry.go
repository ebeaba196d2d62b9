package sync

import (
	"context"

	"github.com/gitalog/gitalog/engine/sentry"
)

// sentryFetcher streams items from the Sentry API, as the JSON of each for
// the workers to decode in parallel.
type sentryFetcher struct{ s *sentry.Source }

func (f sentryFetcher) Stream(ctx context.Context, kind string, sel map[string]any, fn func(Page) error) error {
	return f.s.Stream(ctx, kind, sel, func(b sentry.Batch) error {
		return fn(Page{Items: b.Items, Where: b.Where})
	})
}

// Requests counts the requests made for kind, for a plan.
func (f sentryFetcher) Requests(kind string) int64 { return f.s.Requests(kind) }
