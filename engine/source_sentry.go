package engine

import (
	"context"

	"github.com/gitalog/gitalog/engine/sentry"
)

// sentryFetcher streams items from the Sentry API.
type sentryFetcher struct{ s *sentry.Source }

func (f sentryFetcher) Stream(ctx context.Context, kind string, sel map[string]any, fn func(Page) error) error {
	return f.s.Stream(ctx, kind, sel, func(items []any) error { return fn(Page{Items: items}) })
}
