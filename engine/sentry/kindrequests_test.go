package sentry

import (
	"context"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestRequestsPerKind: each kind is charged the requests made while it was
// streamed (its parents' pages when it fetched them, attached objects,
// retries), exactly as the server saw them, and the kinds add up to the
// client's total.
func TestRequestsPerKind(t *testing.T) {
	for _, order := range [][]string{{"issue", "project", "team"}, {"project", "issue", "team"}} {
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
				before := len(srv.Requests())
				if err := s.Stream(context.Background(), k, params, func(Batch) error { return nil }); err != nil {
					t.Fatal(err)
				}
				seen := int64(len(srv.Requests()) - before)
				if got := s.Requests(k); got != seen {
					t.Errorf("%s: Requests = %d, the server saw %d", k, got, seen)
				}
				total += s.Requests(k)
			}
			if st := c.Stats(); total != st.Requests || st.Retries != 2 {
				t.Errorf("kinds add up to %d requests, the client counted %d (%d retries, want 2)", total, st.Requests, st.Retries)
			}
			if s.Requests(order[1]) == 0 && order[0] == "project" {
				t.Errorf("issue streamed after its parent made no request of its own")
			}
			if s.Requests("member") != 0 {
				t.Errorf("a kind never streamed has %d requests", s.Requests("member"))
			}
		})
	}
}
