package sync

import (
	"context"
	"errors"
	"github.com/gitalog/gitalog/engine/catalog"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestSyncTimeout: a sync that reaches its Timeout (a server dripping its
// answers) fails with a plain error naming the limit and the kinds left
// unfinished, and commits and deletes nothing.
func TestSyncTimeout(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	before, commits := catalogFiles(t, f.dir), f.commits()
	f.srv.Update(func(d *sentrytest.Dataset) {
		for _, id := range d.IssueIDs("unresolved")[:3] {
			d.DeleteIssue(id)
		}
	})
	f.srv.AddFault(sentrytest.Fault{PathContains: "/issues/", Drip: time.Second})
	o := f.options()
	o.Timeout = 300 * time.Millisecond
	// Bounds the test for a sync without the limit.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err := Run(ctx, o)
	if err == nil || errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("want a plain error, got %v", err)
	}
	// Users and teams came before the issues; the project kind was fetched
	// whole for issue-tag first and is not named, whether or not it was
	// mapped in time.
	re := regexp.MustCompile(`^the sync reached its time limit \(--timeout 300ms\) with kinds not fetched completely: issue-tag, issue; nothing was committed`)
	if !re.MatchString(err.Error()) {
		t.Errorf("error does not match %s:\n%v", re, err)
	}
	if f.commits() != commits || !slices.Equal(catalogFiles(t, f.dir), before) {
		t.Error("a timed-out sync changed the catalog")
	}
	f.checkRepo()
}
