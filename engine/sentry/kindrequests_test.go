package sentry

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestRequestsPerKind: each kind is charged its own requests (pages,
// attached objects, retries) as the server saw them, whichever kind
// fetched a shared parent first; a parent the run does not stream is
// charged to the kind that fans out over it; the kinds add up to the
// client's total.
func TestRequestsPerKind(t *testing.T) {
	// Which kind a request is for, by its path.
	kindOf := func(path string, streamed []string) string {
		switch {
		case strings.Contains(path, "/issues/"):
			return "issue"
		case strings.Contains(path, "/teams/") || strings.Contains(path, "/members/"):
			return "team"
		}
		if !slices.Contains(streamed, "project") {
			return "issue"
		}
		return "project"
	}
	for _, order := range [][]string{{"issue", "project", "team"}, {"project", "issue", "team"}, {"issue", "team"}} {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			srv, c := fake(t, sentrytest.Demo(), sentrytest.Token, fastOpts(nil), sentrytest.WithPageSize(3))
			// Two failed attempts of an issue page, retried.
			srv.AddFault(sentrytest.Fault{PathContains: "/issues/", Status: 502, AfterRequests: 1, Times: 2})
			params := map[string]any{"includeMembers": true}
			s := &Source{Client: c, Org: "acme-corp"}
			for _, k := range order {
				s.Expect(k, params)
			}
			var total int64
			for _, k := range order {
				if err := s.Stream(context.Background(), k, params, func(Batch) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[string]int64{}
			for _, r := range srv.Requests() {
				seen[kindOf(r.Path, order)]++
			}
			for _, k := range order {
				if got := s.Requests(k); got != seen[k] || got == 0 {
					t.Errorf("%s: Requests = %d, the server saw %d", k, got, seen[k])
				}
				total += s.Requests(k)
			}
			if st := c.Stats(); total != st.Requests || st.Retries != 2 {
				t.Errorf("kinds add up to %d requests, the client counted %d (%d retries, want 2)", total, st.Requests, st.Retries)
			}
			if s.Requests("member") != 0 {
				t.Errorf("a kind never streamed has %d requests", s.Requests("member"))
			}
		})
	}
}
