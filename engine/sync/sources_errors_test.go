package sync

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// A sync of every source says which source each error is of, once (the
// messages of a source's settings already start with its name, those of
// its fetch do not), one source a line.
func TestSourcesErrorsNameTheirSourceOnce(t *testing.T) {
	f := newSourcesFixture(t, "eu", "evil", "gone")
	f.srv["gone"].Close()
	own := map[string]string{
		"SENTRY_AUTH_TOKEN_EU":   sentrytest.Token,
		"SENTRY_AUTH_TOKEN_GONE": sentrytest.Token,
	}
	for _, tc := range []struct {
		name   string
		shared map[string]string // beside each source's own token
		want   []string          // one line each
	}{
		{"no token for evil", nil, []string{
			"Sentry source evil is not configured: missing an auth token (set SENTRY_AUTH_TOKEN_EVIL",
			"source gone: cannot reach Sentry at " + f.srv["gone"].URL,
		}},
		{"the shared token pinned to another host", map[string]string{"SENTRY_AUTH_TOKEN": sentrytest.Token, "SENTRY_URL": f.srv["eu"].URL}, []string{
			"source evil: its url " + f.srv["evil"].URL,
			"source gone: cannot reach Sentry at " + f.srv["gone"].URL,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := f.options("")
			o.Env = func(k string) string {
				if v, ok := own[k]; ok {
					return v
				}
				return tc.shared[k]
			}
			_, err := Run(context.Background(), o)
			if !errors.Is(err, catalog.ErrPartial) {
				t.Fatalf("want a partial sync (eu commits), got %v", err)
			}
			msg := err.Error()
			// One source a line, under the line that says what it means.
			lines := strings.Split(msg, "\n")
			if len(lines) != 3 || lines[0] != "the sync was incomplete for 2 of 3 sources:" ||
				!strings.HasPrefix(lines[1], "  ") || !strings.HasPrefix(lines[2], "  ") {
				t.Errorf("layout:\n%s", msg)
			}
			for _, n := range []string{"evil", "gone"} {
				if c := strings.Count(msg, "source "+n); c != 1 {
					t.Errorf("%q named %d times, want once:\n%s", "source "+n, c, msg)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("no %q in:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "source eu") {
				t.Errorf("the source that synced is in the error:\n%s", msg)
			}
		})
	}
}
