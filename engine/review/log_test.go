package review_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

func TestLog(t *testing.T) {
	s := newScenario(t)
	key := s.edited
	// Deleted by a hand commit, then created again by a sync.
	s.git("rm", "-q", "--", catalog.Path(key))
	s.commits["RM"] = s.commit("remove it")
	s.sync()
	s.commits["SYNC3"] = s.rev("HEAD")
	// A commit that touches another blueprint only, and one that touches
	// another entity of the same blueprint: both skipped.
	other := catalog.Key{Blueprint: "project", Identifier: "web-frontend"}
	e := s.read(other)
	e.Properties["x"] = 1
	s.write(e)
	s.commit("other blueprint")
	s.srv.Update(func(d *sentrytest.Dataset) { d.AddIssue("payments", "Another", "x", "error") })
	s.sync()

	rp := s.open()
	h, err := rp.Log(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	entries := h.Entries
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s %s", e.Commit, e.Change.Change))
	}
	want := []string{
		s.commits["SYNC3"] + " created",
		s.commits["RM"] + " deleted",
		s.commits["HAND2"] + " changed",
		s.commits["HAND"] + " changed",
		s.commits["SYNC1"] + " created",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if entries[3].Subject != "hand edits" || entries[3].Author != "Hand" || entries[3].When.Year() != 2024 {
		t.Errorf("commit metadata: %+v", entries[3])
	}
	var b bytes.Buffer
	if err := review.RenderLog(&b, key, h); err != nil {
		t.Fatal(err)
	}
	golden(t, "log.txt", s.normalize(b.String()))

	// The hostile identifier's path is found through catalog.Path.
	if h, err := rp.Log(context.Background(), s.hostile); err != nil || len(h.Entries) != 1 || h.Entries[0].Change.Change != review.Created {
		t.Errorf("hostile entity: %v %+v", err, h)
	}

	// Never existed: an error naming the path.
	_, err = rp.Log(context.Background(), catalog.Key{Blueprint: "issue", Identifier: "nonesuch"})
	if !errors.Is(err, review.ErrNoHistory) || !strings.Contains(err.Error(), "catalog/issue/nonesuch.json") {
		t.Errorf("unknown entity: %v", err)
	}
	_, err = rp.Log(context.Background(), catalog.Key{Blueprint: "nobp", Identifier: "x"})
	if !errors.Is(err, review.ErrNoHistory) {
		t.Errorf("unknown blueprint: %v", err)
	}
}
