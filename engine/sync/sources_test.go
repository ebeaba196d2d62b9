package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// sourcesFixture is a catalog with several sources, each a fake Sentry of
// its own on loopback (its own organization), mapped with $source in the
// identifiers unless a test says otherwise.
type sourcesFixture struct {
	t     *testing.T
	dir   string
	names []string
	srv   map[string]*sentrytest.Server
	data  map[string]*sentrytest.Dataset
}

// sourcesConfig maps projects and issues of each source; ident is the jq
// prefix of identifiers ("$source + \"-\" + " or "").
func sourcesConfig(f *sourcesFixture, ident string) string {
	var b strings.Builder
	b.WriteString("sources:\n")
	for _, n := range f.names {
		fmt.Fprintf(&b, "  - name: %s\n    url: %s\n    org: %s\n", n, f.srv[n].URL, f.data[n].OrgSlug())
	}
	fmt.Fprintf(&b, `resources:
  - kind: project
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: '%[1]s.slug'
          title: .name
          blueprint: '"sentryProject"'
          properties:
            platform: .platform
  - kind: issue
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: '%[1]s.id'
          title: .title
          blueprint: '"sentryIssue"'
          properties:
            status: .status
            count: .count | tonumber
          relations:
            project: '%[1]s.project.slug'
`, ident)
	return b.String()
}

func newSourcesFixture(t *testing.T, names ...string) *sourcesFixture {
	t.Helper()
	f := &sourcesFixture{t: t, dir: testrepo.Init(t), names: names, srv: map[string]*sentrytest.Server{}, data: map[string]*sentrytest.Dataset{}}
	for _, n := range names {
		d := sentrytest.Demo()
		d.Org.Slug = "acme-" + n
		s := sentrytest.NewServer(d)
		t.Cleanup(s.Close)
		f.srv[n], f.data[n] = s, d
	}
	f.writeConfig(`$source + "-" + `)
	return f
}

func (f *sourcesFixture) writeConfig(ident string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, "gitalog.yaml"), []byte(sourcesConfig(f, ident)), 0o644); err != nil {
		f.t.Fatal(err)
	}
	testrepo.Git(f.t, f.dir, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "config: sources")
}

func (f *sourcesFixture) options(source string) Options {
	env := map[string]string{}
	for _, n := range f.names {
		env["SENTRY_AUTH_TOKEN_"+strings.ToUpper(n)] = sentrytest.Token
	}
	return Options{Dir: f.dir, Source: source, Env: func(k string) string { return env[k] }, Author: testrepo.Author}
}

func (f *sourcesFixture) git(args ...string) string {
	f.t.Helper()
	return testrepo.Git(f.t, f.dir, args...)
}

// files lists catalog/<dir>/ stems at HEAD.
func (f *sourcesFixture) files(dir string) []string {
	var out []string
	for _, l := range strings.Fields(f.git("ls-tree", "--name-only", "HEAD", catalog.Dir+"/"+dir+"/")) {
		out = append(out, strings.TrimSuffix(filepath.Base(l), catalog.Ext))
	}
	return out
}

func (f *sourcesFixture) countPrefix(dir, prefix string) int {
	n := 0
	for _, s := range f.files(dir) {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// One `gitalog sync` of a catalog with sources syncs each, side by side:
// one commit per source, each naming it (subject and trailer), each
// source's managed lists in its own folder.
func TestSourcesSyncAllOneCommitEach(t *testing.T) {
	f := newSourcesFixture(t, "eu", "us")
	res, err := Run(context.Background(), f.options(""))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sources) != 2 || res.Sources[0].SourceName != "eu" || res.Sources[1].SourceName != "us" {
		t.Fatalf("results: %+v", res.Sources)
	}
	log := f.git("log", "--format=%s|%(trailers:key=Gitalog-Source,valueonly,separator=)", "-3")
	lines := strings.Split(strings.TrimSpace(log), "\n")
	var srcs []string
	for _, l := range lines[:2] {
		subject, src, _ := strings.Cut(l, "|")
		if !strings.HasPrefix(subject, "sync("+src+"): ") {
			t.Errorf("subject %q does not name its source %q", subject, src)
		}
		srcs = append(srcs, src)
	}
	slices.Sort(srcs)
	if !slices.Equal(srcs, []string{"eu", "us"}) {
		t.Fatalf("the last two commits are of %v:\n%s", srcs, log)
	}
	issues := len(f.data["eu"].IssueIDs("unresolved"))
	for _, n := range f.names {
		if got := f.countPrefix("sentryIssue", n+"-"); got != issues {
			t.Errorf("source %s: %d issue files, want %d", n, got, issues)
		}
		list := f.git("show", "HEAD:"+catalog.Scope(n).ManagedDir()+"/sentryIssue.txt")
		if c := strings.Count(list, "\n"); c != issues || strings.Contains(list, otherName(f.names, n)+"-") {
			t.Errorf("source %s's managed list holds %d names (want %d, its own only)", n, c, issues)
		}
	}
	if out, ok := testrepoGitOK(f.dir, "ls-tree", "HEAD", catalog.ManagedDir); !ok || strings.TrimSpace(out) != "" {
		t.Errorf("a catalog with sources keeps no unscoped managed list: %q", out)
	}
	f.git("fsck", "--strict")
	// Synced again: nothing changed, no commit.
	head := f.git("rev-parse", "HEAD")
	if _, err := Run(context.Background(), f.options("")); err != nil {
		t.Fatal(err)
	}
	if f.git("rev-parse", "HEAD") != head {
		t.Error("an unchanged resync of every source committed")
	}
}

func otherName(names []string, n string) string {
	for _, o := range names {
		if o != n {
			return o
		}
	}
	return ""
}

// A source whose fetch fails deletes nothing anywhere; one whose
// deletions are over the threshold is refused; the other commits.
func TestSourcesFailureStaysWithItsSource(t *testing.T) {
	f := newSourcesFixture(t, "eu", "us", "ap")
	if _, err := Run(context.Background(), f.options("")); err != nil {
		t.Fatal(err)
	}
	before := map[string]int{}
	for _, n := range f.names {
		before[n] = f.countPrefix("sentryIssue", n+"-")
	}
	// eu: issues fail; us: nearly every issue resolved; ap: one new issue.
	f.srv["eu"].AddFault(sentrytest.Fault{PathContains: "/issues/", Status: 500})
	f.srv["us"].Update(func(d *sentrytest.Dataset) {
		for _, id := range d.IssueIDs("unresolved")[1:] {
			d.ResolveIssue(id)
		}
	})
	var added string
	f.srv["ap"].Update(func(d *sentrytest.Dataset) {
		added = d.AddIssue(d.Projects[0].Slug, "TypeError: x is undefined", "app.js in x", "error")
	})
	res, err := Run(context.Background(), f.options(""))
	if !errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("want a partial sync, got %v", err)
	}
	wantInError(t, err, "source eu", "source us", "entityDeletionThreshold")
	if f.countPrefix("sentryIssue", "eu-") != before["eu"] {
		t.Error("the failing source's issues changed")
	}
	if f.countPrefix("sentryIssue", "us-") != before["us"] {
		t.Error("the mass deletion went through")
	}
	if f.countPrefix("sentryIssue", "ap-") != before["ap"]+1 || !slices.Contains(f.files("sentryIssue"), "ap-"+added) {
		t.Error("the healthy source's new issue is not committed")
	}
	if res.Sources[2].Commit.IsZero() {
		t.Error("source ap made no commit")
	}
	// One source at a time: the same.
	_, err = Run(context.Background(), f.options("eu"))
	if !errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("--source eu: want partial, got %v", err)
	}
	if f.countPrefix("sentryIssue", "eu-") != before["eu"] {
		t.Error("--source eu deleted its issues after a failed fetch")
	}
}

// Two sources that give the same identifier: the first owner keeps the
// entity, the other says so, and nothing goes back and forth.
func TestSourcesConflictFirstOwnerKeeps(t *testing.T) {
	f := newSourcesFixture(t, "eu", "us")
	f.writeConfig("") // identifiers without $source: both give the demo's ids
	if _, err := Run(context.Background(), f.options("eu")); err != nil {
		t.Fatal(err)
	}
	head := f.git("rev-parse", "HEAD:catalog")
	res, err := Run(context.Background(), f.options("us"))
	if !errors.Is(err, catalog.ErrPartial) {
		t.Fatalf("want partial, got %v", err)
	}
	wantInError(t, err, "belong to another source", "source eu")
	if len(res.Claims) == 0 || res.Claims[0].Owner != "eu" {
		t.Fatalf("claims: %+v", res.Claims)
	}
	if f.git("rev-parse", "HEAD:catalog") != head {
		t.Errorf("the second source committed over the first's entities:\n%s", f.git("show", "--stat", "HEAD"))
	}
	// And eu again: still its own, no change.
	if _, err := Run(context.Background(), f.options("eu")); err != nil {
		t.Fatal(err)
	}
	if f.git("rev-parse", "HEAD:catalog") != head {
		t.Error("the first owner's resync changed the catalog")
	}
}

// A catalog synced before it had sources: the first source that gives an
// entity takes it over (no conflict, no re-creation), and the old lists
// lose it.
func TestSourcesAdoptTheCatalogBeforeSources(t *testing.T) {
	f := newSourcesFixture(t, "eu")
	// Without sources: the plain settings, the same mapping without $source.
	cfg := sourcesConfig(f, "")
	cfg = cfg[strings.Index(cfg, "resources:"):]
	if err := os.WriteFile(filepath.Join(f.dir, "gitalog.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "config: one source")
	o := f.options("")
	o.Env = testrepo.Env(f.srv["eu"], f.data["eu"])
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	legacy := f.git("show", "HEAD:"+catalog.ManagedDir+"/sentryIssue.txt")
	f.writeConfig("")
	res, err := Run(context.Background(), f.options("eu"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created)+len(res.Changed)+len(res.Deleted) != 0 || len(res.Claims) != 0 {
		t.Fatalf("taking over changed entities: %+v", res)
	}
	if got := f.git("show", "HEAD:"+catalog.Scope("eu").ManagedDir()+"/sentryIssue.txt"); got != legacy {
		t.Errorf("source eu's list:\n%s\nwant the old list:\n%s", got, legacy)
	}
	if out, _ := testrepoGitOK(f.dir, "ls-tree", "HEAD", catalog.ManagedDir+"/"); strings.TrimSpace(out) != "" {
		t.Errorf("the old lists are still there: %s", out)
	}
}

// Jobs of several sources pushing to one remote at once all land, each
// redoing its change on top of the others'.
func TestSourcesParallelPushesAllLand(t *testing.T) {
	names := []string{"s1", "s2", "s3", "s4"}
	f := newSourcesFixture(t, names...)
	remote := filepath.Join(t.TempDir(), "remote.git")
	testrepo.Git(t, f.dir, "clone", "-q", "--bare", f.dir, remote)
	clones := map[string]string{}
	for _, n := range names {
		c := filepath.Join(t.TempDir(), n)
		testrepo.Git(t, f.dir, "clone", "-q", remote, c)
		clones[n] = c
	}
	for round := range 2 {
		for _, n := range names {
			f.srv[n].Update(func(d *sentrytest.Dataset) {
				d.AddIssue(d.Projects[0].Slug, fmt.Sprintf("Error round %d", round), "x.go in f", "error")
			})
		}
		errs := make([]error, len(names))
		done := make(chan int)
		for i, n := range names {
			go func() {
				o := f.options(n)
				o.Dir, o.Push = clones[n], true
				_, errs[i] = Run(context.Background(), o)
				done <- i
			}()
		}
		for range names {
			<-done
		}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: source %s: %v", round, names[i], err)
			}
		}
	}
	testrepo.Git(t, remote, "fsck", "--strict")
	log := testrepo.Git(t, remote, "log", "--format=%(trailers:key=Gitalog-Source,valueonly,separator=)")
	for _, n := range names {
		if c := strings.Count(log, n+"\n"); c != 2 {
			t.Errorf("source %s has %d commits on the remote, want 2 (one a round):\n%s", n, c, log)
		}
	}
	for _, n := range names {
		out := testrepo.Git(t, remote, "ls-tree", "--name-only", "HEAD", "catalog/sentryIssue/")
		if c := strings.Count(out, "/"+n+"-"); c != len(f.data[n].IssueIDs("unresolved")) {
			t.Errorf("source %s: %d issues on the remote, want %d", n, c, len(f.data[n].IssueIDs("unresolved")))
		}
	}
}

// --source names a source the config has; a config without sources has
// none to name.
func TestSourcesUnknownSource(t *testing.T) {
	f := newSourcesFixture(t, "eu")
	_, err := Run(context.Background(), f.options("nope"))
	wantInError(t, err, "--source nope", "eu")
	plain := newFixture(t, sentrytest.Demo())
	o := plain.options()
	o.Source = "eu"
	_, err = Run(context.Background(), o)
	wantInError(t, err, "--source eu", "no sources")
}

// With sources, each source's sync tells its sinks of its own commits
// only, and keeps its own delivery state: two jobs never send one event
// twice nor race for one ref.
func TestSourcesNotifyTheirOwnCommits(t *testing.T) {
	hookURL, take := newEventSink(t)
	f := newSourcesFixture(t, "eu", "us")
	cfg := sourcesConfig(f, `$source + "-" + `) + "notify:\n  - webhook: " + hookURL + "\n    blueprints: [sentryIssue]\n"
	if err := os.WriteFile(filepath.Join(f.dir, "gitalog.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "notify")
	if _, err := Run(t.Context(), f.options("")); err != nil {
		t.Fatal(err)
	}
	take() // the first sync of each source starts its sink at its head
	ids := map[string]string{}
	for _, n := range f.names {
		f.srv[n].Update(func(d *sentrytest.Dataset) {
			ids[n] = d.AddIssue(d.Projects[0].Slug, "KeyError: '"+n+"'", "x.py in f", "error")
		})
	}
	// us commits first, then eu: eu's run sees us's commit after its
	// sink's ref and must not tell of it.
	for _, n := range []string{"us", "eu"} {
		if _, err := Run(t.Context(), f.options(n)); err != nil {
			t.Fatal(err)
		}
	}
	got := take()
	slices.Sort(got)
	want := []string{"created eu-" + ids["eu"], "created us-" + ids["us"]}
	if !slices.Equal(got, want) {
		t.Fatalf("events: %q, want %q", got, want)
	}
	refs := f.git("for-each-ref", "--format=%(refname)", "refs/gitalog/")
	for _, n := range f.names {
		if !strings.Contains(refs, "refs/gitalog/sources/"+n+"/notified/") {
			t.Errorf("no delivery state of source %s: %s", n, refs)
		}
	}
}

// A name two sources list (a hand edit, a bad merge of the lists) is
// neither deleted nor written by either: a conflict until the lists say
// whose it is.
func TestSourcesNameListedTwiceIsLeftAlone(t *testing.T) {
	f := newSourcesFixture(t, "eu", "us")
	if _, err := Run(context.Background(), f.options("")); err != nil {
		t.Fatal(err)
	}
	proj := f.data["us"].Projects[0].Slug
	list := filepath.Join(f.dir, catalog.Scope("eu").ManagedDir(), "sentryProject.txt")
	data, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(list, append(data, []byte("us-"+proj+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "a bad merge")
	before := f.git("rev-parse", "HEAD:catalog")
	for _, n := range f.names {
		res, err := Run(context.Background(), f.options(n))
		if n == "us" {
			if !errors.Is(err, catalog.ErrPartial) || len(res.Claims) != 1 || res.Claims[0].Owner != "eu" {
				t.Fatalf("us: %v, claims %+v", err, res.Claims)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if got := f.git("rev-parse", "HEAD:catalog"); got != before {
			t.Fatalf("source %s changed the catalog:\n%s", n, f.git("show", "--stat", "HEAD"))
		}
	}
}

// A commit no source made (a hand edit of a catalog file, a merged pull
// request) is told of by exactly one source: the first of sources:.
func TestSourcesFirstNotifiesTheUnsourcedCommits(t *testing.T) {
	hookURL, events := newEventSink(t)
	f := newSourcesFixture(t, "eu", "us") // eu first
	cfg := sourcesConfig(f, `$source + "-" + `) + "notify:\n  - webhook: " + hookURL + "\n    blueprints: [sentryIssue]\n"
	if err := os.WriteFile(filepath.Join(f.dir, "gitalog.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "notify")
	if _, err := Run(t.Context(), f.options("")); err != nil {
		t.Fatal(err)
	}
	hand := filepath.Join(f.dir, catalog.Dir, "sentryIssue", "hand-1"+catalog.Ext)
	if err := os.WriteFile(hand, []byte(`{"identifier": "hand-1", "title": "Written by hand", "blueprint": "sentryIssue", "properties": {"status": "unresolved"}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("add", hand)
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "an issue by hand")
	events() // the first sync of each source starts its sink at its head
	for _, step := range []struct {
		source string
		want   []string
	}{
		{"us", nil},
		{"eu", []string{"created hand-1"}},
		{"us", nil},
		{"eu", nil},
	} {
		if _, err := Run(t.Context(), f.options(step.source)); err != nil {
			t.Fatal(err)
		}
		if ev := events(); !slices.Equal(ev, step.want) {
			t.Fatalf("source %s sent %q, want %q", step.source, ev, step.want)
		}
	}
}

// Jobs that ran out of push attempts leave their commits unpushed; the
// next round redoes them on top, and the round after, with nothing new
// upstream, commits nothing (the redone commits carry all of each
// source's state, the full refresh's time included).
func TestSourcesRedoneUnpushedCommitsAreWhole(t *testing.T) {
	names := []string{"s1", "s2", "s3", "s4"}
	f := newSourcesFixture(t, names...)
	remote := filepath.Join(t.TempDir(), "remote.git")
	testrepo.Git(t, f.dir, "clone", "-q", "--bare", f.dir, remote)
	clones := map[string]string{}
	for _, n := range names {
		c := filepath.Join(t.TempDir(), n+".git")
		testrepo.Git(t, f.dir, "clone", "-q", "--bare", remote, c)
		clones[n] = c
	}
	round := func(attempts int) []error {
		errs := make([]error, len(names))
		var wg gosync.WaitGroup
		for i, n := range names {
			wg.Go(func() {
				o := f.options(n)
				o.Dir, o.Push, o.PushAttempts = clones[n], true, attempts
				_, errs[i] = Run(context.Background(), o)
			})
		}
		wg.Wait()
		return errs
	}
	round(1)
	for i, err := range round(0) {
		if err != nil {
			t.Fatalf("round 2: %s: %v", names[i], err)
		}
	}
	head := testrepo.Git(t, remote, "rev-parse", "main")
	for i, err := range round(0) {
		if err != nil {
			t.Fatalf("round 3: %s: %v", names[i], err)
		}
	}
	if got := testrepo.Git(t, remote, "rev-parse", "main"); got != head {
		t.Errorf("a round with nothing new upstream committed:\n%s", testrepo.Git(t, remote, "log", "--stat", "--format=%s", head[:12]+"..main"))
	}
}

// A clone behind the remote, whose gitalog.yaml changed there, maps with
// the remote's config: the sync reads it again after moving the branch,
// instead of committing the old mapping's entities on top of the new one.
func TestSyncBehindTheRemoteUsesItsConfig(t *testing.T) {
	f, remote, kept, retitle := configRace(t)
	o := f.options("s1")
	o.Dir, o.Push = kept, true
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	retitle() // someone changes the mapping upstream
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	proj := f.data["s1"].Projects[0].Slug
	got := testrepo.Git(t, remote, "show", "main:catalog/sentryProject/s1-"+proj+".json")
	if !strings.Contains(got, ` v2"`) {
		t.Errorf("the sync mapped with the config it read before moving the branch:\n%s", got)
	}
}

// The remote's config changes between this sync's commit and its push:
// its entities, mapped with the old config, are not redone on top of the
// new one; the sync says so, and the branch is left at the remote's head.
func TestSyncPushRaceWithAConfigChangeRedoesNothing(t *testing.T) {
	f, remote, kept, retitle := configRace(t)
	beforePush(t, retitle)
	o := f.options("s1")
	o.Dir, o.Push = kept, true
	_, err := Run(context.Background(), o)
	wantInError(t, err, "gitalog.yaml changed on origin/main", "next sync applies the new config")
	if errors.Is(err, catalog.ErrPartial) {
		t.Errorf("nothing of the sync landed, yet it says partial: %v", err)
	}
	remoteHead := testrepo.Git(t, remote, "rev-parse", "main")
	if got := testrepo.Git(t, kept, "rev-parse", "main"); got != remoteHead {
		t.Errorf("the branch is at %s, not the remote's %s", got, remoteHead)
	}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	proj := f.data["s1"].Projects[0].Slug
	if got := testrepo.Git(t, remote, "show", "main:catalog/sentryProject/s1-"+proj+".json"); !strings.Contains(got, ` v2"`) {
		t.Errorf("the next sync did not apply the new config:\n%s", got)
	}
}

// newEventSink is a webhook sink that records each event as "event
// identifier"; take returns those received since the last take.
func newEventSink(t *testing.T) (url string, take func() []string) {
	var mu gosync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Event, Identifier string }
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		got = append(got, ev.Event+" "+ev.Identifier)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	return hook.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
}

// configRace is a catalog of one source with a bare remote and a bare
// clone of it kept between syncs (kept); retitle pushes, from another
// clone, a mapping change to the remote (project titles end in " v2").
func configRace(t *testing.T) (f *sourcesFixture, remote, kept string, retitle func()) {
	f = newSourcesFixture(t, "s1")
	remote = filepath.Join(t.TempDir(), "remote.git")
	testrepo.Git(t, f.dir, "clone", "-q", "--bare", f.dir, remote)
	kept = filepath.Join(t.TempDir(), "kept.git")
	testrepo.Git(t, f.dir, "clone", "-q", "--bare", remote, kept)
	other := filepath.Join(t.TempDir(), "other")
	testrepo.Git(t, f.dir, "clone", "-q", remote, other)
	return f, remote, kept, func() {
		testrepo.Git(t, other, "pull", "-q", "--ff-only", "origin", "main")
		cfg := filepath.Join(other, "gitalog.yaml")
		data, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, []byte(strings.Replace(string(data), "title: .name", `title: .name + " v2"`, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		testrepo.Git(t, other, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "titles v2")
		testrepo.Git(t, other, "push", "-q", "origin", "HEAD:main")
	}
}
