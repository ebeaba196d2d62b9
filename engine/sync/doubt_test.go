package sync

import (
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/config"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// editConfig replaces old with new in the catalog's gitalog.yaml and
// commits it, as a user changing the mapping would.
func (f *fixture) editConfig(old, new string) {
	f.t.Helper()
	p := filepath.Join(f.dir, config.ConfigFile)
	data, err := os.ReadFile(p)
	if err != nil {
		f.t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		f.t.Fatalf("gitalog.yaml lacks %q", old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "edit the mapping")
}

// tracked lists the files git has under catalog/ at HEAD.
func (f *fixture) tracked(prefix string) []string {
	f.t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(f.git("ls-tree", "-r", "--name-only", "HEAD", "catalog/")), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// missing returns the files of before that after lacks.
func missing(before, after []string) []string {
	var out []string
	for _, p := range before {
		if !slices.Contains(after, p) {
			out = append(out, p)
		}
	}
	return out
}

// TestMappingTypoDeletesNothing: a one-character typo in a field the
// identity depends on makes items fail to map; the entities they gave
// before are kept, the sync says which resource and why, exits partial,
// and the deletions no doubt touches still happen.
func TestMappingTypoDeletesNothing(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		// kept: the blueprints whose files must all stay; nil: every one.
		kept []string
		want []string // in the error
		// setup, when set, changes the catalog before the first sync.
		setup func(*fixture)
	}{
		{"identifier path", "identifier: .email", "identifier: .emial", []string{"sentryUser"},
			[]string{`deletions skipped for sentryUser: resource #1 (kind "user") failed to map 10 items: port.entity.mappings.identifier: identifier must be a non-empty string, got null`}, nil},
		{"identifier jq error", "identifier: .email", "identifier: .email.x", []string{"sentryUser"},
			[]string{`deletions skipped for sentryUser: resource #1 (kind "user") failed to map 10 items`}, nil},
		{"identifier a number", `identifier: ".id"`, `identifier: ".id | tonumber"`, []string{"issue"},
			[]string{`deletions skipped for issue: resource #6 (kind "issue") failed to map`, "identifier must be a non-empty string, got 46"}, nil},
		{"misspelled blueprint", `blueprint: '"sentryUser"'`, `blueprint: '"sentryUsers"'`, nil,
			[]string{`deletions skipped for every blueprint: resource #1 (kind "user") failed to map 10 items: port.entity.mappings.blueprint: unknown blueprint "sentryUsers"`}, nil},
		{"blueprint not a string", `blueprint: '"sentryUser"'`, `blueprint: '.sentryUser'`, nil,
			[]string{`deletions skipped for every blueprint: resource #1 (kind "user") failed to map 10 items: port.entity.mappings.blueprint: blueprint must be a non-empty string, got null`}, nil},
		{"selector null", "query: 'true'", "query: .user.isActve", []string{"sentryUser"},
			[]string{`deletions skipped for sentryUser: resource #1 (kind "user") failed to map 10 items: selector.query: must yield true or false, got null`}, nil},
		// member is fed by two resources: the typo in one loses less
		// than the threshold of the blueprint.
		{"itemsToParse path", "itemsToParse: .__members", "itemsToParse: .__membrs", []string{"member"},
			[]string{`deletions skipped for member: resource #7 (kind "team") failed to map 4 items: port.itemsToParse: null for every item, so none gave an entity (write .x // [] if that is expected)`}, memberSetup},
		{"identifier in a concatenation", `identifier: '"u:" + .email'`, `identifier: '"u:" + .emial'`, []string{"member"},
			[]string{`deletions skipped for member: resource #8 (kind "user") gave one entity for several items: 10 items gave 1 entity, member/u: (10 items)`}, memberSetup},
		// A resource that gives no entity from any of its items: an
		// empty filter result, which may be data, but more often a typo.
		{"selector false", "selector: {query: 'true'}", "selector: {query: '.user.isActiv == true'}", []string{"member"},
			[]string{`deletions skipped for member: resource #8 (kind "user") gave no entity from its 10 items (selector.query was false for all of them); rerun with --delete-threshold 1 if this is intended`}, memberSetup},
		{"selector has", "selector: {query: 'true'}", `selector: {query: '.user | has("isActiv")'}`, []string{"member"},
			[]string{`deletions skipped for member: resource #8 (kind "user") gave no entity from its 10 items (selector.query was false for all of them); rerun with --delete-threshold 1 if this is intended`}, memberSetup},
		{"itemsToParse empty", "itemsToParse: .__members", "itemsToParse: '.__membrs // []'", []string{"member"},
			[]string{`deletions skipped for member: resource #7 (kind "team") gave no entity from its 4 items (port.itemsToParse gave an empty array for all of them); rerun with --delete-threshold 1 if this is intended`}, memberSetup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, sentrytest.Demo())
			if tc.setup != nil {
				tc.setup(f)
			}
			f.mustSync()
			before := f.tracked("")
			var gone string
			f.srv.Update(func(d *sentrytest.Dataset) {
				gone = d.IssueIDs("unresolved")[0]
				d.DeleteIssue(gone)
			})
			f.editConfig(tc.old, tc.new)
			commits := f.commits()
			res, err := f.sync()
			if !errors.Is(err, catalog.ErrPartial) {
				t.Fatalf("want a partial sync, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			f.checkRepo()
			lost := missing(before, f.tracked(""))
			for _, p := range lost {
				bp := strings.Split(p, "/")[1]
				if tc.kept == nil || slices.Contains(tc.kept, bp) || !strings.HasSuffix(p, "/"+gone+".json") {
					t.Errorf("%s was deleted", p)
				}
			}
			if tc.kept != nil {
				// The issue gone upstream is still deleted where no doubt
				// reaches: the blueprints are judged one by one.
				if !slices.Contains(lost, "catalog/sentryIssue/"+gone+".json") {
					t.Errorf("catalog/sentryIssue/%s.json, gone upstream, was kept", gone)
				}
				if f.commits() != commits+1 {
					t.Errorf("no commit")
				}
			}
			var out strings.Builder
			writeSummary(&out, res, Normal)
			if !strings.Contains(out.String(), "not deleted: ") {
				t.Errorf("the summary does not say what was kept:\n%s", out.String())
			}
			// Again, with the item cache holding what the typo gave: the
			// same doubt, nothing more deleted.
			before = f.tracked("")
			res, err = f.sync()
			if !errors.Is(err, catalog.ErrPartial) {
				t.Fatalf("resync: want a partial sync, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("resync: error lacks %q:\n%v", w, err)
				}
			}
			if lost := missing(before, f.tracked("")); len(lost) > 0 {
				t.Errorf("resync deleted %v", lost)
			}
			// The users the selector rejected come from the cache this
			// time, and still count as items that gave nothing.
			if tc.setup != nil && strings.HasPrefix(tc.name, "selector ") && res.Cached == 0 {
				t.Errorf("resync: no item came from the item cache")
			}
		})
	}
}

// TestEmptyResourceOverride: a resource that gives no entity may be what
// the data says (no member is active any more): --delete-threshold 1
// confirms it, the entities it gave before go, and later syncs, with
// nothing of it left to delete, exit 0.
func TestEmptyResourceOverride(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		gone           string // the prefix of the member files that go
	}{
		{"selector", "selector: {query: 'true'}", "selector: {query: '.user.isActiv == true'}", "catalog/member/u%3a"},
		{"itemsToParse", "itemsToParse: .__members", "itemsToParse: '.__membrs // []'", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, sentrytest.Demo())
			memberSetup(f)
			f.mustSync()
			before := f.tracked("catalog/member/")
			var want []string
			for _, p := range before {
				if tc.gone != "" && strings.HasPrefix(p, tc.gone) || tc.gone == "" && !strings.HasPrefix(p, "catalog/member/u%3a") {
					want = append(want, p)
				}
			}
			if len(want) == 0 || len(want) == len(before) {
				t.Fatalf("%d of %d member files would go", len(want), len(before))
			}
			f.editConfig(tc.old, tc.new)
			o := f.options()
			one := 1.0
			o.DeleteThreshold = &one
			res, err := Run(t.Context(), o)
			if err != nil {
				t.Fatalf("with --delete-threshold 1: %v", err)
			}
			f.checkRepo()
			if lost := missing(before, f.tracked("catalog/member/")); !slices.Equal(lost, want) {
				t.Fatalf("deleted %v, want %v", lost, want)
			}
			if len(res.Kept) > 0 {
				t.Fatalf("kept %+v", res.Kept)
			}
			// Nothing of it is left to delete: no doubt to report.
			for range 2 {
				if _, err := f.sync(); err != nil {
					t.Fatalf("later sync: %v", err)
				}
			}
		})
	}
}

// memberSetup adds a blueprint that two resources feed: the members of
// each team (itemsToParse) and every user, under their own identifiers.
func memberSetup(f *fixture) {
	f.t.Helper()
	bp := `{"identifier": "member", "title": "member", "schema": {"properties": {"team": {"type": "string"}}},
  "relations": {"team": {"target": "sentryTeam", "required": false, "many": false}}}
`
	if err := os.WriteFile(filepath.Join(f.dir, "blueprints", "member.json"), []byte(bp), 0o644); err != nil {
		f.t.Fatal(err)
	}
	cfg, err := os.OpenFile(filepath.Join(f.dir, config.ConfigFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	_, err = cfg.WriteString(`  - kind: team
    selector: {query: 'true', includeMembers: true}
    port:
      itemsToParse: .__members
      entity: {mappings: {identifier: '.slug + ":" + .item.user.email', title: .item.user.name, blueprint: '"member"', properties: {team: .slug}}}
  - kind: user
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: '"u:" + .email', title: .email, blueprint: '"member"'}}}
`)
	if err == nil {
		err = cfg.Close()
	}
	if err != nil {
		f.t.Fatal(err)
	}
	f.git("add", "-A")
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "members")
}

// TestSkippedItemKeepsItsFile: an item synced before that comes back with
// an identifier that is not a string never justifies deleting its file.
func TestSkippedItemKeepsItsFile(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	dir := t.TempDir()
	write := func(items string) {
		if err := os.WriteFile(filepath.Join(dir, "issue.jsonl"), []byte(items), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := f.options()
	o.Replay, o.ConfigPath = dir, issueConfig(t)
	write(`{"id": "1", "title": "one", "status": "unresolved", "permalink": "https://x.example/1"}
{"id": "2", "title": "two", "status": "unresolved", "permalink": "https://x.example/2"}
`)
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	write(`{"id": 1, "title": "one", "status": "unresolved", "permalink": "https://x.example/1"}
{"id": "2", "title": "two", "status": "resolved", "permalink": "https://x.example/2"}
`)
	res, err := Run(t.Context(), o)
	if !errors.Is(err, catalog.ErrPartial) || !strings.Contains(err.Error(), "deletions skipped for issue: ") {
		t.Fatalf("want a partial sync keeping issue's entities, got %v", err)
	}
	f.checkRepo()
	if got := f.tracked("catalog/issue/"); !slices.Equal(got, []string{"catalog/issue/1.json", "catalog/issue/2.json"}) {
		t.Fatalf("catalog/issue holds %v", got)
	}
	if res.Counts["issue"] == nil || res.Counts["issue"].Changed != 1 {
		t.Fatalf("the valid item's change was not committed: %+v", res.Counts["issue"])
	}
	if len(res.Kept) != 1 || res.Kept[0] != (catalog.Kept{Blueprint: "issue", Entities: 1, Managed: 2}) {
		t.Fatalf("kept %+v", res.Kept)
	}
}

// TestDeletionThresholdPerBlueprint: a blueprint that loses more than the
// threshold of its own entities keeps them all, however small it is next
// to the others, and the other blueprints' deletions go ahead.
func TestDeletionThresholdPerBlueprint(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	before := f.tracked("")
	users := len(f.tracked("catalog/sentryUser/"))
	// Every member goes (10 of 94 managed entities, 11%), and one issue.
	var gone string
	f.srv.Update(func(d *sentrytest.Dataset) {
		d.Members = nil
		gone = d.IssueIDs("unresolved")[0]
		d.DeleteIssue(gone)
	})
	res, err := f.sync()
	if !errors.Is(err, catalog.ErrPartial) || !deletionsBlocked(res) {
		t.Fatalf("want a refused deletion, got %v", err)
	}
	want := `refused to delete 10 of 10 managed sentryUser entities (100%), over entityDeletionThreshold 0.90; they were kept; rerun with --delete-threshold 1 if this is intended`
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error lacks %q:\n%v", want, err)
	}
	f.checkRepo()
	lost := missing(before, f.tracked(""))
	slices.Sort(lost)
	if w := []string{"catalog/issue/" + gone + ".json", "catalog/sentryIssue/" + gone + ".json"}; !slices.Equal(lost, w) {
		t.Fatalf("deleted %v, want %v", lost, w)
	}
	if len(f.tracked("catalog/sentryUser/")) != users || users != 10 {
		t.Fatalf("sentryUser files %d -> %d", users, len(f.tracked("catalog/sentryUser/")))
	}
	// --delete-threshold 1 lets it through.
	o := f.options()
	one := 1.0
	o.DeleteThreshold = &one
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if n := len(f.tracked("catalog/sentryUser/")); n != 0 {
		t.Fatalf("%d sentryUser files left", n)
	}
}

// TestFetchFailsMidPagination: the pages fetched before a kind failed are
// committed (created and changed entities), nothing that kind feeds is
// deleted, and blueprints it does not feed are judged as usual.
func TestFetchFailsMidPagination(t *testing.T) {
	f := newFixture(t, sentrytest.Demo(), sentrytest.WithPageSize(4))
	f.mustSync()
	before := f.tracked("")
	var first, last, gone string
	f.srv.Update(func(d *sentrytest.Dataset) {
		first, last = d.Members[0].Email, d.Members[len(d.Members)-1].Email
		d.Members[0].Name = "Renamed On Page One"
		d.Members = d.Members[:len(d.Members)-1]
		gone = d.IssueIDs("unresolved")[0]
		d.DeleteIssue(gone)
	})
	// The members' first page comes, then every later one fails.
	f.srv.AddFault(sentrytest.Fault{PathContains: "/organizations/" + f.data.OrgSlug() + "/members/", Status: 502, AfterRequests: 1})
	o := f.options()
	o.Retry = RetryOptions{MaxAttempts: 2, Backoff: time.Millisecond, MaxWait: 10 * time.Millisecond}
	res, err := Run(t.Context(), o)
	if !errors.Is(err, catalog.ErrPartial) || len(res.FetchErrors) == 0 {
		t.Fatalf("want a partial sync, got %v", err)
	}
	if !strings.Contains(err.Error(), "fetching failed, so no entity of sentryUser was deleted:") {
		t.Fatalf("error: %v", err)
	}
	f.checkRepo()
	lost := missing(before, f.tracked(""))
	slices.Sort(lost)
	if w := []string{"catalog/issue/" + gone + ".json", "catalog/sentryIssue/" + gone + ".json"}; !slices.Equal(lost, w) {
		t.Fatalf("deleted %v, want %v", lost, w)
	}
	e := readEntity(t, filepath.Join(f.dir, "catalog", "sentryUser", first+".json"))
	if e["title"] != "Renamed On Page One" {
		t.Fatalf("the change fetched before the failure was not committed: title %v", e["title"])
	}
	if !slices.Contains(f.tracked("catalog/sentryUser/"), "catalog/sentryUser/"+last+".json") {
		t.Fatalf("%s was deleted while the members' fetch failed", last)
	}
}

// TestFanOutFailureKeepsLaterParents: when one parent's fan-out fails
// (one issue's tags), the items of the parents after it are still
// committed, and nothing the kind feeds is deleted.
func TestFanOutFailureKeepsLaterParents(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.mustSync()
	var a, b, c, gone string
	f.srv.Update(func(d *sentrytest.Dataset) {
		gone = d.IssueIDs("unresolved")[0]
		d.DeleteIssue(gone)
		// Listed newest first: c, then b and a after it.
		a = d.AddIssue("payments", "A", "x in a", "error")
		b = d.AddIssue("payments", "B", "x in b", "error")
		c = d.AddIssue("payments", "C", "x in c", "error")
	})
	f.srv.AddFault(sentrytest.Fault{PathContains: "/issues/" + c + "/tags/", Status: 502})
	o := f.options()
	o.Retry = RetryOptions{MaxAttempts: 2, Backoff: time.Millisecond, MaxWait: 10 * time.Millisecond}
	_, err := Run(t.Context(), o)
	if !errors.Is(err, catalog.ErrPartial) || !strings.Contains(err.Error(), "so no entity of sentryIssue was deleted") {
		t.Fatalf("want a partial sync keeping sentryIssue, got %v", err)
	}
	f.checkRepo()
	got := f.tracked("catalog/sentryIssue/")
	for _, id := range []string{a, b, gone} {
		if !slices.Contains(got, "catalog/sentryIssue/"+id+".json") {
			t.Errorf("catalog/sentryIssue/%s.json is missing", id)
		}
	}
	if slices.Contains(got, "catalog/sentryIssue/"+c+".json") {
		t.Errorf("the issue whose tags failed was written")
	}
	if slices.Contains(f.tracked("catalog/issue/"), "catalog/issue/"+gone+".json") {
		t.Errorf("catalog/issue/%s.json, gone upstream, was kept although the issue kind was fetched", gone)
	}
}

// TestDuplicateIdentifierLaterWins: two items giving one entity write the
// later item's, whatever order the workers finish in, with a warning; and
// since they are items of one resource, its identity is in doubt: the
// sync is partial and deletes nothing of that blueprint.
func TestDuplicateIdentifierLaterWins(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	dir := t.TempDir()
	var items strings.Builder
	// Enough items for many pages across the workers; "dup" first and last.
	items.WriteString(`{"id": "dup", "title": "first", "status": "unresolved", "permalink": "https://x.example/d"}` + "\n")
	for i := range 2000 {
		items.WriteString(`{"id": "i` + strconv.Itoa(i) + `", "title": "t", "status": "unresolved", "permalink": "https://x.example/i"}` + "\n")
	}
	items.WriteString(`{"id": "dup", "title": "last", "status": "unresolved", "permalink": "https://x.example/d"}` + "\n")
	if err := os.WriteFile(filepath.Join(dir, "issue.jsonl"), []byte(items.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	o := f.options()
	o.Replay, o.ConfigPath = dir, issueConfig(t)
	res, err := Run(t.Context(), o)
	want := `deletions skipped for issue: resource #1 (kind "issue") gave one entity for several items: 2 items gave 1 entity, issue/dup (2 items); its identifier is not unique, or the listing shifted while it was read`
	if !errors.Is(err, catalog.ErrPartial) || !strings.Contains(err.Error(), want) {
		t.Fatalf("want a partial sync saying %q, got %v", want, err)
	}
	f.checkRepo()
	if e := readEntity(t, filepath.Join(f.dir, "catalog", "issue", "dup.json")); e["title"] != "last" {
		t.Fatalf("dup.json holds %v, want the later item's", e["title"])
	}
	var dup *Duplicate
	for i := range res.Duplicates {
		if res.Duplicates[i].Identifier == "dup" {
			dup = &res.Duplicates[i]
		}
	}
	if dup == nil || dup.Items != 2 {
		t.Fatalf("duplicates %+v", res.Duplicates)
	}
	var out strings.Builder
	writeSummary(&out, res, Normal)
	if !strings.Contains(out.String(), "given by more than one item; the later item's entity was written: issue/") {
		t.Fatalf("no warning in the summary:\n%s", out.String())
	}
	// Again, with the item cache: the same winner, the same warning, the
	// same doubt.
	res, err = Run(t.Context(), o)
	if !errors.Is(err, catalog.ErrPartial) || !strings.Contains(err.Error(), want) || !res.NoChange {
		t.Fatalf("resync: %v, no change %v", err, res.NoChange)
	}
	if len(res.Duplicates) == 0 || res.Cached == 0 {
		t.Fatalf("resync: duplicates %+v, %d cached", res.Duplicates, res.Cached)
	}
}

// TestParentKindFailsMidPagination: a kind fetched whole because others
// fan out over it (projects, for issues and project tags) commits what it
// fetched before failing, and so do the kinds that fan out over the
// parents it got; nothing any of them feeds is deleted.
func TestParentKindFailsMidPagination(t *testing.T) {
	f := newFixture(t, sentrytest.Demo(), sentrytest.WithPageSize(4))
	f.mustSync()
	before := f.tracked("")
	var added, gone string
	f.srv.Update(func(d *sentrytest.Dataset) {
		// The first project is on the first page of the project list.
		added = d.AddIssue(d.Projects[0].Slug, "New on page one", "x in y", "error")
		gone = d.IssueIDs("unresolved")[1]
		d.DeleteIssue(gone)
	})
	f.srv.AddFault(sentrytest.Fault{PathContains: "/organizations/" + f.data.OrgSlug() + "/projects/", Status: 403, AfterRequests: 1})
	res, err := f.sync()
	if !errors.Is(err, catalog.ErrPartial) || len(res.FetchErrors) == 0 {
		t.Fatalf("want a partial sync, got %v", err)
	}
	if !strings.Contains(err.Error(), "fetching failed, so no entity of issue, project, sentryIssue, sentryProject was deleted:") {
		t.Fatalf("error: %v", err)
	}
	f.checkRepo()
	if lost := missing(before, f.tracked("")); len(lost) > 0 {
		t.Fatalf("deleted %v", lost)
	}
	for _, p := range []string{"catalog/issue/" + added + ".json", "catalog/sentryIssue/" + added + ".json"} {
		if !slices.Contains(f.tracked("catalog/"), p) {
			t.Errorf("%s, of a project fetched before the failure, was not committed", p)
		}
	}
}

// TestRepeatedSentryObjectLaterWins: an object Sentry lists twice (its
// pages shifting during a sync) is two items like any other: the later
// copy is written, with the warning. A shifted listing may also have
// skipped an item: nothing of the blueprint is deleted, exit partial.
func TestRepeatedSentryObjectLaterWins(t *testing.T) {
	f := newFixture(t, sentrytest.Demo(), sentrytest.WithPageSize(4))
	var email string
	f.srv.Update(func(d *sentrytest.Dataset) {
		again := *d.Members[0]
		again.Name = "Listed Again"
		email = again.Email
		d.Members = append(d.Members, &again)
	})
	res, err := f.sync()
	if !errors.Is(err, catalog.ErrPartial) || !strings.Contains(err.Error(), `deletions skipped for sentryUser: resource #1 (kind "user") gave one entity for several items: 2 items gave 1 entity`) {
		t.Fatalf("want a partial sync keeping sentryUser, got %v", err)
	}
	f.checkRepo()
	if e := readEntity(t, filepath.Join(f.dir, "catalog", "sentryUser", email+".json")); e["title"] != "Listed Again" {
		t.Fatalf("title %v, want the later copy's", e["title"])
	}
	if len(res.Duplicates) != 1 || res.Duplicates[0] != (Duplicate{Blueprint: "sentryUser", Identifier: email, Items: 2}) {
		t.Fatalf("duplicates %+v", res.Duplicates)
	}
}

// TestMappingIssuesGrouped: one cause met with a different value by each
// item is one mapping line, with one value as an example, not a line per
// value.
func TestMappingIssuesGrouped(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	memberSetup(f)
	f.mustSync()
	f.editConfig("itemsToParse: .__members", "itemsToParse: .__members[0]")
	res, err := f.sync()
	if !errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("want a partial sync, got %v", err)
	}
	var got []*MapIssue
	for _, m := range res.MapIssues {
		if m.Field == "port.itemsToParse" {
			got = append(got, m)
		}
	}
	if len(got) != 1 {
		for _, m := range got {
			t.Logf("%s: %s (%d items)", m.Field, m.Message, m.Count)
		}
		t.Fatalf("%d itemsToParse lines, want one", len(got))
	}
	if m := got[0]; m.Count < 2 || !strings.HasPrefix(m.Message, "must yield an array, got {") || !strings.HasSuffix(m.Message, fmt.Sprintf(" and %d other values", m.Count-1)) {
		t.Fatalf("itemsToParse: %s (%d items)", m.Message, m.Count)
	}
}

// TestItemsToParseNull: itemsToParse null for some items is no elements,
// as in Port; null for every item is a path that names nothing, a doubt
// (with or without the item cache); `// []` says the emptiness is meant.
func TestItemsToParseNull(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	config := func(list string) {
		err := os.WriteFile(cfg, []byte(`resources:
  - kind: issue
    port:
      itemsToParse: `+list+`
      entity:
        mappings:
          identifier: .item.id
          title: .item.title
          blueprint: '"issue"'
          properties:
            status: .item.status
            link: .item.permalink
`), 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}
	sub := func(id string) string {
		return `{"id": "` + id + `", "title": "t", "status": "unresolved", "permalink": "https://x.example/` + id + `"}`
	}
	write := func(items ...string) {
		if err := os.WriteFile(filepath.Join(dir, "issue.jsonl"), []byte(strings.Join(items, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := f.options()
	o.Replay, o.ConfigPath = dir, cfg
	one := 1.0
	o.DeleteThreshold = &one // the doubt alone must keep the files
	files := func(want ...string) {
		t.Helper()
		var w []string
		for _, id := range want {
			w = append(w, "catalog/issue/"+id+".json")
		}
		if got := f.tracked("catalog/issue/"); !slices.Equal(got, w) {
			t.Fatalf("catalog/issue holds %v, want %v", got, w)
		}
	}
	config(".subs")
	write(`{"subs": [`+sub("1")+`, `+sub("2")+`]}`, `{"subs": [`+sub("3")+`]}`)
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	files("1", "2", "3")
	// Null for one item of two: no entities for it, and no doubt.
	write(`{"subs": [`+sub("1")+`, `+sub("2")+`]}`, `{"other": 1}`)
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	files("1", "2")
	// Null for every item: nothing deleted, twice (the second sync could
	// take every item from the item cache).
	write(`{"other": 1}`, `{"other": 2}`)
	for range 2 {
		_, err := Run(t.Context(), o)
		want := `deletions skipped for issue: resource #1 (kind "issue") failed to map 2 items: port.itemsToParse: null for every item`
		if !errors.Is(err, catalog.ErrPartial) || !strings.Contains(err.Error(), want) {
			t.Fatalf("want a partial sync saying %q, got %v", want, err)
		}
		files("1", "2")
	}
	// Said to be empty: the entities go.
	config(".subs // []")
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	files()
	f.checkRepo()
}
