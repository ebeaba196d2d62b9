package sync

import (
	"errors"
	"github.com/gitalog/gitalog/engine/catalog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// teamOf reads the team relation of every sentryProject file at HEAD.
func (f *fixture) teamOf() map[string]any {
	f.t.Helper()
	out := map[string]any{}
	for _, p := range f.tracked("catalog/sentryProject/") {
		e := readEntity(f.t, f.dir+"/"+p)
		rels, _ := e["relations"].(map[string]any)
		out[e["identifier"].(string)] = rels["team"]
	}
	return out
}

// TestDoubtedTargetKeepsSearchRelations: when the entities a search
// relation points at are kept because their blueprint is doubted (their
// kind failed to fetch, or their items failed to map) or their deletion
// is over the threshold, the search is
// resolved against them as they stay in the catalog: the entities that
// relate to them are not rewritten with the relation cleared.
func TestDoubtedTargetKeepsSearchRelations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		doubt func(f *fixture)
	}{
		{"teams fail to fetch", func(f *fixture) {
			f.srv.AddFault(sentrytest.Fault{PathContains: "/organizations/acme-corp/teams/", Status: 500})
		}},
		{"team identifier typo", func(f *fixture) {
			f.editConfig("identifier: .slug", "identifier: .slgu")
		}},
		// No doubt, but the threshold keeps the teams all the same.
		{"every team gone", func(f *fixture) {
			f.srv.AddFault(sentrytest.Fault{PathContains: "/organizations/acme-corp/teams/", Status: 200, Body: "[]"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, sentrytest.Demo())
			f.mustSync()
			before := f.teamOf()
			if before["backend-api-production"] != "platform" || before["ios-app-production"] != "mobile" {
				t.Fatalf("the first sync did not relate the projects to their teams: %v", before)
			}
			head := strings.TrimSpace(f.git("rev-parse", "HEAD"))
			tc.doubt(f)
			o := f.options()
			o.Retry = RetryOptions{MaxAttempts: 2, Backoff: time.Millisecond, MaxWait: 10 * time.Millisecond}
			res, err := Run(t.Context(), o)
			if !errors.Is(err, catalog.ErrPartial) {
				t.Fatalf("want a partial sync, got %v", err)
			}
			if !slices.ContainsFunc(res.Doubts, func(d Doubt) bool { return d.touches("sentryTeam") }) &&
				!slices.ContainsFunc(res.Kept, func(k catalog.Kept) bool { return k.Blueprint == "sentryTeam" }) {
				t.Fatalf("the teams were not kept: doubts %+v, kept %+v", res.Doubts, res.Kept)
			}
			if st := f.git("diff", "--stat", head, "HEAD", "--", "catalog/sentryProject/", "catalog/sentryTeam/"); st != "" {
				t.Errorf("the sync changed entities it could not vouch for:\n%s", st)
			}
			for _, p := range res.Problems {
				if strings.Contains(p.Reason, "matched no sentryTeam") {
					t.Errorf("problem against the kept teams: %s", p)
				}
			}
			f.checkRepo()
		})
	}
}

// TestGoneTargetClearsSearchRelations: a team really gone upstream, with
// nothing in doubt, is deleted and the projects' search relation to it
// is cleared, as before.
func TestGoneTargetClearsSearchRelations(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	f.srv.Update(func(d *sentrytest.Dataset) {
		d.Teams = slices.DeleteFunc(d.Teams, func(t *sentrytest.Team) bool { return t.Slug == "mobile" })
		for _, p := range d.Projects {
			p.Teams = slices.DeleteFunc(p.Teams, func(s string) bool { return s == "mobile" })
		}
		for _, m := range d.Members {
			delete(m.Teams, "mobile")
		}
	})
	res, err := f.sync()
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if len(res.Doubts) > 0 {
		t.Fatalf("doubts: %+v", res.Doubts)
	}
	if slices.Contains(f.tracked("catalog/sentryTeam/"), "catalog/sentryTeam/mobile.json") {
		t.Errorf("the team gone upstream was kept")
	}
	after := f.teamOf()
	for id, team := range after {
		switch {
		case strings.HasPrefix(id, "ios-app-") || strings.HasPrefix(id, "android-app-"):
			if team != nil {
				t.Errorf("%s still relates to team %v", id, team)
			}
		case strings.HasPrefix(id, "backend-api-"):
			if team != "platform" {
				t.Errorf("%s relates to team %v, want platform", id, team)
			}
		}
	}
	warned := false
	for _, p := range res.Problems {
		warned = warned || strings.Contains(p.Identifier, "ios-app-") && strings.Contains(p.Reason, "matched no sentryTeam")
	}
	if !warned {
		t.Errorf("no warning that ios-app's team matched nothing: %v", res.Problems)
	}
	f.checkRepo()
}

// TestRelationToDeletedEntityWarns: the relation checks see the catalog
// the commit leaves, so an issue still assigned to a member who left the
// organization (whose sentryUser entity the sync deletes) is reported, as
// a relation to an entity that is not in the catalog.
func TestRelationToDeletedEntityWarns(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	const left = "james.chen@acme-corp.example"
	f.srv.Update(func(d *sentrytest.Dataset) {
		d.Members = slices.DeleteFunc(d.Members, func(m *sentrytest.Member) bool { return m.Email == left })
	})
	res, err := f.sync()
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if slices.Contains(f.tracked("catalog/sentryUser/"), "catalog/sentryUser/"+left+".json") {
		t.Fatalf("the member who left was kept")
	}
	warned := 0
	for _, p := range res.Problems {
		if p.Blueprint == "issue" || p.Blueprint == "sentryIssue" {
			if strings.Contains(p.Reason, `no sentryUser entity "`+left+`" in the catalog`) && p.Warning {
				warned++
			}
		}
	}
	if warned == 0 {
		t.Errorf("no warning about the issues assigned to %s:\n%v", left, res.Problems)
	}
	f.checkRepo()
}
