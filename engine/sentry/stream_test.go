package sentry

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestStreamMatchesFetch: streaming a kind gives exactly Fetch's items, in
// Fetch's order, for every kind.
func TestStreamMatchesFetch(t *testing.T) {
	srv := sentrytest.NewHandler(sentrytest.Demo(), sentrytest.WithPageSize(3))
	newSource := func() *Source { return pagedSource(t, srv) }
	for _, kind := range KindNames() {
		params := map[string]any{"includeMembers": true, "search": ""}
		want, err := newSource().Fetch(context.Background(), kind, params)
		if err != nil {
			t.Fatal(err)
		}
		var got []any
		batches := 0
		err = streamItems(newSource(), context.Background(), kind, params, func(items []any) error {
			batches++
			got = append(got, items...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s: Stream gave %d items, Fetch %d, or another order", kind, len(got), len(want))
		}
		if len(want) > 3 && batches < 2 {
			t.Errorf("%s: %d items came in %d batch", kind, len(want), batches)
		}
	}
}

// TestStreamReusesFetchedParents: a kind fetched whole as a parent is
// streamed from that result, identically and without new requests.
func TestStreamReusesFetchedParents(t *testing.T) {
	srv := sentrytest.NewHandler(sentrytest.Demo(), sentrytest.WithPageSize(3))
	c, err := NewClient(srv.URL, sentrytest.Token, ClientOptions{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	s := &Source{Client: c, Org: "acme-corp"}
	want, err := s.Fetch(context.Background(), "project", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := len(srv.Requests())
	var got []any
	if err := streamItems(s, context.Background(), "project", nil, func(items []any) error {
		got = append(got, items...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkReused(t, srv, before, got, want)
}

// checkReused fails unless streaming a kind already fetched gave the same
// items without a request.
func checkReused(t *testing.T, srv *sentrytest.Server, before int, got, want []any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatal("streaming a fetched kind gave other items")
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Fatalf("streaming a fetched kind made %d requests", n)
	}
}

// pagedSource is a fresh Source (no cache) on srv, three requests at a time.
func pagedSource(t *testing.T, srv *sentrytest.Server) *Source {
	t.Helper()
	c, err := NewClient(srv.URL, sentrytest.Token, ClientOptions{HTTPClient: srv.Client(), Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	return &Source{Client: c, Org: "acme-corp"}
}

// TestStreamFetchesAheadAcrossParents: while the consumer is still busy
// with the first project, the other projects' pages are fetched (up to a
// shared budget), so the concurrency is used even when each project's
// pages must follow one another. The items still arrive in project order.
func TestStreamFetchesAheadAcrossParents(t *testing.T) {
	d := sentrytest.Generate(sentrytest.GenOptions{Seed: 7, Projects: 4, Issues: 400})
	srv := sentrytest.NewHandler(d, sentrytest.WithPageSize(4))
	c, err := NewClient(srv.URL, sentrytest.Token, ClientOptions{HTTPClient: srv.Client(), Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	want, err := (&Source{Client: c, Org: d.OrgSlug()}).Fetch(context.Background(), "issue", nil)
	if err != nil {
		t.Fatal(err)
	}
	perProject := map[string]int{}
	for _, it := range want {
		perProject[asMap(t, asMap(t, it)["project"])["slug"].(string)]++
	}
	first := asMap(t, asMap(t, want[0])["project"])["slug"].(string)
	others := 0 // pages of the other projects
	for slug, n := range perProject {
		if slug != first {
			others += (n + 3) / 4
		}
	}
	if len(perProject) != 4 || others < 20 {
		t.Fatalf("dataset: %v", perProject)
	}

	srv.ResetRequests()
	src := &Source{Client: c, Org: d.OrgSlug()}
	var got []any
	waited := false
	err = streamItems(src, context.Background(), "issue", nil, func(items []any) error {
		if !waited {
			waited = true
			// Hold the first batch until every other project's pages have
			// been requested.
			deadline := time.Now().Add(10 * time.Second)
			for {
				n := 0
				for _, r := range srv.Requests() {
					if strings.HasSuffix(r.Path, "/issues/") && !strings.Contains(r.Path, "/"+first+"/") {
						n++
					}
				}
				if n >= others {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("only %d of the other projects' %d pages were fetched while the first was consumed", n, others)
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		got = append(got, items...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("Stream gave %d items, Fetch %d, or another order", len(got), len(want))
	}
}
