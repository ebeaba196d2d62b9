package main

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// The end-to-end proof of issue 19's "Done means": many CI jobs, each
// syncing one source with `gitalog sync --source NAME --push` from its own
// bare clone, all pushing to one bare remote at once. Every job is the
// real binary (go build, once per test) in a process of its own; every
// expectation is computed from the fakes' datasets, never from gitalog's
// code, and read back from the remote with real git. Each round logs its
// wall time and each job's (go test -v):
//
//	go test -run 'TestSources(ParallelJobs|OneProcess|E2E)' -v .
//
// -short skips those that build and run the binary (all but
// TestSourcesE2EChecks).

// e2eAction is what happens upstream to a source before a round, and so
// what the round expects of its job.
type e2eAction int

const (
	e2eNone   e2eAction = iota // nothing changes upstream: exit 0, no commit
	e2eChange                  // issues added, resolved, changed, a member added: exit 0, one commit
	e2eFail                    // the issues endpoint answers 500 every time: non-zero, nothing deleted
	e2eMass                    // ~95% of the issues resolved: exit 3, every entity kept
)

func (a e2eAction) String() string {
	return [...]string{"unchanged", "changed", "failing", "mass deletion"}[a]
}

// e2eTokens is how a round's jobs get their Sentry tokens.
type e2eTokens int

const (
	// e2eOwnToken: SENTRY_AUTH_TOKEN_<NAME> of the job's source only, as
	// a Jenkins stage's withCredentials gives it.
	e2eOwnToken e2eTokens = iota
	// e2eAllTokens: every source's SENTRY_AUTH_TOKEN_<NAME>, and a
	// SENTRY_AUTH_TOKEN no fake accepts, which the source's own must win
	// over.
	e2eAllTokens
	// e2eFallbackToken: the source's token as SENTRY_AUTH_TOKEN, as the
	// matrix workflow of init --sources passes each job's secret.
	e2eFallbackToken
)

func (k e2eTokens) String() string {
	return [...]string{"own SENTRY_AUTH_TOKEN_<NAME>", "every SENTRY_AUTH_TOKEN_<NAME> and a wrong SENTRY_AUTH_TOKEN", "SENTRY_AUTH_TOKEN"}[k]
}

// e2eRound is one round: the upstream action of each source (e2eChange
// when not named; the first round imports everything and names none),
// whether each job starts from a fresh bare clone (a new CI runner) or
// from its clone of the last round (a runner that keeps its workspace,
// so its branch is behind the remote by the other jobs' commits), and
// how the jobs get their tokens.
type e2eRound struct {
	first  bool
	fresh  bool
	tokens e2eTokens
	action map[string]e2eAction
	// one runs one job that syncs every source (plain sync --push, no
	// --source) instead of one job per source.
	one bool
}

// label is a source's action as the log says it.
func (r e2eRound) label(name string) string {
	if r.first {
		return "first import"
	}
	return r.of(name).String()
}

func (r e2eRound) of(name string) e2eAction {
	if r.first {
		return e2eNone
	}
	if a, ok := r.action[name]; ok {
		return a
	}
	return e2eChange
}

// TestSourcesParallelJobs is issue 19's "Done means": 8 sources on 8
// fake Sentries, 8 jobs at once, 3 rounds with upstream changes between
// them, then a round where one source's fetch fails and another's
// deletions are over the threshold.
func TestSourcesParallelJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gitalog and runs 8 syncs as processes for 4 rounds (-short skips it)")
	}
	names := []string{"s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"}
	e := newE2EEnv(t, names, false)
	e.run([]e2eRound{
		{first: true, fresh: true, tokens: e2eOwnToken},
		{fresh: false, tokens: e2eAllTokens},
		// s8 changes nothing: its job must not commit.
		{fresh: true, tokens: e2eFallbackToken, action: map[string]e2eAction{"s8": e2eNone}},
		{fresh: false, tokens: e2eAllTokens, action: map[string]e2eAction{"s3": e2eFail, "s6": e2eMass}},
	})
}

// TestSourcesOneProcess is the same with one job: plain `gitalog sync
// --push` syncs every source in one process, side by side, and still
// makes one commit per source that changed; a failing source and a
// refused one stay with themselves.
func TestSourcesOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gitalog and runs it as a process (-short skips it)")
	}
	e := newE2EEnv(t, []string{"s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"}, false)
	e.run([]e2eRound{
		{first: true, fresh: true, one: true},
		{fresh: false, one: true, tokens: e2eAllTokens, action: map[string]e2eAction{"s2": e2eNone}},
		{fresh: true, one: true, action: map[string]e2eAction{"s3": e2eFail, "s6": e2eMass}},
	})
}

// TestSourcesE2EHarness runs the same harness against what gitalog does
// without sources: one source, a config with $source written out, and
// plain `sync --push`, through every kind of round. It checks the
// harness's own checks against today's single-source sync.
func TestSourcesE2EHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gitalog and runs it as a process (-short skips it)")
	}
	e := newE2EEnv(t, []string{"s1"}, true)
	e.run([]e2eRound{
		{first: true, fresh: true},
		{fresh: false},
		{fresh: true, action: map[string]e2eAction{"s1": e2eNone}},
		{fresh: false, action: map[string]e2eAction{"s1": e2eFail}},
		// The fault gone, what the failed round could not see lands.
		{fresh: true},
		{fresh: false, action: map[string]e2eAction{"s1": e2eMass}},
	})
}

// e2eBinary builds gitalog for one test: the jobs run it as CI runs a
// release, a process of its own.
func e2eBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gitalog")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// e2eSource is one fake Sentry: its own organization, data and token.
type e2eSource struct {
	name, org, token string
	srv              *sentrytest.Server // the handler, behind ts
	ts               *httptest.Server
	// want is what the remote must hold for this source after the
	// current round: blueprint/identifier -> the fields checked.
	want map[string]string
}

type e2eEnv struct {
	t       testing.TB
	bin     string
	root    string
	remote  string
	env     []string
	legacy  bool // no sources: plain sync, $source written out
	sources []*e2eSource
	byName  map[string]*e2eSource
}

func newE2EEnv(t *testing.T, names []string, legacy bool) *e2eEnv {
	e := &e2eEnv{t: t, bin: e2eBinary(t), root: t.TempDir(), legacy: legacy, byName: map[string]*e2eSource{}}
	home := filepath.Join(e.root, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	e.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "TZ=UTC", "CI=1",
		"GIT_AUTHOR_NAME=CI Job", "GIT_AUTHOR_EMAIL=ci@example.com",
		"GIT_COMMITTER_NAME=CI Job", "GIT_COMMITTER_EMAIL=ci@example.com",
	}
	for i, name := range names {
		s := &e2eSource{name: name, org: "org-" + name, token: "sntrys_e2e_token_of_" + name}
		d := sentrytest.Generate(sentrytest.GenOptions{Seed: int64(1900 + i), Projects: 4, Issues: 60, Teams: 3, Members: 8})
		d.Org.Slug, d.Org.Name = s.org, "Organization "+name
		// Small pages, so that each list takes a few requests.
		s.srv = sentrytest.NewHandler(d, sentrytest.WithPageSize(10))
		s.ts = httptest.NewServer(e2eTokenGate(s.token, s.srv))
		t.Cleanup(s.ts.Close)
		e.sources = append(e.sources, s)
		e.byName[name] = s
		if legacy {
			e.env = append(e.env, "SENTRY_URL="+s.ts.URL, "SENTRY_ORG="+s.org, "SENTRY_AUTH_TOKEN="+s.token)
		}
	}
	if !legacy {
		// Named sources must not use it (nor SENTRY_URL: tokenEnv).
		e.env = append(e.env, "SENTRY_ORG=not-a-source-org")
	}

	e.remote = filepath.Join(e.root, "remote.git")
	e.git(e.root, "init", "-q", "--bare", "--initial-branch=main", e.remote)
	seed := filepath.Join(e.root, "seed")
	e.gitalog(e.root, "init", "--dir", seed)
	if err := os.WriteFile(filepath.Join(seed, "gitalog.yaml"), []byte(e.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git(seed, "add", "gitalog.yaml")
	e.git(seed, "commit", "-q", "-m", "the sources of the end-to-end test")
	e.git(seed, "push", "-q", e.remote, "main")
	for _, s := range e.sources {
		s.want = map[string]string{}
	}
	return e
}

// e2eTokenGate lets through only requests with this source's own token, so
// a job that sends another source's token (or none) is refused as Sentry
// refuses it; the fake behind it knows one token, which the gate puts in.
func e2eTokenGate(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"detail":"Invalid token"}`)
			return
		}
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+sentrytest.Token)
		next.ServeHTTP(w, r)
	})
}

// config is the catalog's gitalog.yaml: every source, and one mapping
// whose identifiers and relations carry $source, so that the sources'
// entities never collide though their fakes use the same slugs and ids.
// Without sources (legacy), $source is written out as the one source's
// name.
func (e *e2eEnv) config() string {
	var b strings.Builder
	b.WriteString("# The sources end-to-end test's catalog: one Sentry organization per source.\n")
	b.WriteString("entityDeletionThreshold: 0.9\n")
	if !e.legacy {
		b.WriteString("sources:\n")
		for _, s := range e.sources {
			fmt.Fprintf(&b, "  - name: %s\n    url: %s\n    org: %s\n", s.name, s.ts.URL, s.org)
		}
	}
	b.WriteString(`resources:
  - kind: user
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: '$source + "-" + .email'
          title: .name
          blueprint: '"sentryUser"'
          properties:
            orgRole: .orgRole
  - kind: team
    selector:
      query: 'true'
      includeMembers: true
    port:
      entity:
        mappings:
          identifier: '$source + "-" + .slug'
          title: .name
          blueprint: '"sentryTeam"'
          properties:
            memberCount: .memberCount
          relations:
            members: '[.__members[]?.email | $source + "-" + .]'
  - kind: project
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: '$source + "-" + .slug'
          title: .name
          blueprint: '"sentryProject"'
          properties:
            platform: .platform
          relations:
            teams: '[.teams[]?.slug | $source + "-" + .]'
  - kind: issue
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: '$source + "-" + .id'
          title: .title
          blueprint: '"sentryIssue"'
          properties:
            shortId: .shortId
            status: .status
            level: .level
            count: .count | if type == "string" then tonumber else . end
          relations:
            project: '$source + "-" + .project.slug'
`)
	if e.legacy {
		return strings.ReplaceAll(b.String(), "$source", `"`+e.sources[0].name+`"`)
	}
	return b.String()
}

// e2eExpect is what the fake's data says the catalog holds for source s,
// computed from the dataset alone: every member, team and project, and
// the unresolved issues (the issue kind asks for is:unresolved).
func e2eExpect(name string, d *sentrytest.Dataset) map[string]string {
	p := name + "-"
	out := map[string]string{}
	for _, m := range d.Members {
		out["sentryUser/"+p+m.Email] = "orgRole=" + m.OrgRole
	}
	for _, t := range d.Teams {
		var members []string
		for _, m := range d.Members {
			if _, ok := m.Teams[t.Slug]; ok {
				members = append(members, p+m.Email)
			}
		}
		out["sentryTeam/"+p+t.Slug] = e2eTeamFields(t.Name, members)
	}
	for _, pr := range d.Projects {
		var teams []string
		for _, slug := range pr.Teams {
			if d.Team(slug) != nil {
				teams = append(teams, p+slug)
			}
		}
		out["sentryProject/"+p+pr.Slug] = e2eProjectFields(pr.Name, teams)
	}
	for _, id := range d.IssueIDs("unresolved") {
		is := d.Issue(id)
		out["sentryIssue/"+p+id] = e2eIssueFields(is.Title, is.Status, is.Level, fmt.Sprint(is.Count), p+is.Project.Slug)
	}
	return out
}

func e2eTeamFields(title string, members []string) string {
	members = slices.Clone(members)
	sort.Strings(members)
	return fmt.Sprintf("title=%q members=%q", title, members)
}

func e2eProjectFields(title string, teams []string) string {
	teams = slices.Clone(teams)
	sort.Strings(teams)
	return fmt.Sprintf("title=%q teams=%q", title, teams)
}

func e2eIssueFields(title, status, level, count, project string) string {
	return fmt.Sprintf("title=%q status=%s level=%s count=%s project=%s", title, status, level, count, project)
}

// e2eRemoteFields reads one entity file of the remote as the same fields.
func e2eRemoteFields(b []byte) (key, fields string, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var e struct {
		Identifier string         `json:"identifier"`
		Blueprint  string         `json:"blueprint"`
		Title      any            `json:"title"`
		Properties map[string]any `json:"properties"`
		Relations  map[string]any `json:"relations"`
	}
	if err := dec.Decode(&e); err != nil {
		return "", "", err
	}
	str := func(v any) string {
		if v == nil {
			return "<null>"
		}
		return fmt.Sprint(v)
	}
	list := func(v any) []string {
		var out []string
		if a, ok := v.([]any); ok {
			for _, x := range a {
				out = append(out, str(x))
			}
		} else if v != nil {
			out = append(out, "not a list: "+str(v))
		}
		return out
	}
	title := str(e.Title)
	switch e.Blueprint {
	case "sentryUser":
		fields = "orgRole=" + str(e.Properties["orgRole"])
	case "sentryTeam":
		fields = e2eTeamFields(title, list(e.Relations["members"]))
	case "sentryProject":
		fields = e2eProjectFields(title, list(e.Relations["teams"]))
	case "sentryIssue":
		fields = e2eIssueFields(title, str(e.Properties["status"]), str(e.Properties["level"]), str(e.Properties["count"]), str(e.Relations["project"]))
	default:
		fields = "an entity of an unexpected blueprint"
	}
	return e.Blueprint + "/" + e.Identifier, fields, nil
}

// remoteCatalog reads every entity on the remote's main.
func (e *e2eEnv) remoteCatalog() map[string]string {
	e.t.Helper()
	got := map[string]string{}
	if e.gitOut(e.remote, "ls-tree", "main", "catalog") == "" {
		return got // no entity yet
	}
	cmd := exec.Command("git", "-C", e.remote, "archive", "--format=tar", "main", "catalog")
	cmd.Env = e.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		e.t.Fatalf("git archive main catalog: %v\n%s", err, stderr.String())
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			e.t.Fatalf("reading the remote's catalog: %v", err)
		}
		if h.Typeflag != tar.TypeReg || path.Ext(h.Name) != ".json" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			e.t.Fatal(err)
		}
		key, fields, err := e2eRemoteFields(b)
		if err != nil {
			e.t.Errorf("%s on the remote: %v", h.Name, err)
			continue
		}
		if _, dup := got[key]; dup {
			e.t.Errorf("%s: two files on the remote hold %s", h.Name, key)
		}
		got[key] = fields
	}
	return got
}

// e2eDiff lists how got differs from want: missing, extra and
// changed entities, sorted.
func e2eDiff(want, got map[string]string) []string {
	var out []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			out = append(out, "missing "+k)
		case g != w:
			out = append(out, fmt.Sprintf("%s: got %s, want %s", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, "extra "+k)
		}
	}
	sort.Strings(out)
	return out
}

// e2eSourceOf names the source an entity key or file name belongs to: the
// prefix of its identifier before the first '-'.
func e2eSourceOf(identifier string) string {
	name, _, _ := strings.Cut(identifier, "-")
	return name
}

// e2eJob is one job's run.
type e2eJob struct {
	name           string       // its source's, or "all"
	sources        []*e2eSource // the sources it syncs
	exit           int
	took           time.Duration
	stdout, stderr string
	err            error
}

// e2eCommit is one commit of a round on the remote.
type e2eCommit struct {
	hash, subject string
	parents       []string
	sources       []string // its Gitalog-Source trailers
	paths         []string // "STATUS\tPATH" from diff-tree
}

func (e *e2eEnv) run(rounds []e2eRound) {
	t := e.t
	for i, r := range rounds {
		n := i + 1
		before := e.gitOut(e.remote, "rev-parse", "main")
		prev := map[string]map[string]string{}
		for _, s := range e.sources {
			prev[s.name] = s.want
			e.mutate(n, s, r.of(s.name))
		}
		jobs, took := e.runJobs(r)
		after := e.gitOut(e.remote, "rev-parse", "main")
		slowest := slices.MaxFunc(jobs, func(a, b *e2eJob) int { return cmp.Compare(a.took, b.took) })
		what := "clones"
		if r.one {
			what = "clone, every source in one process"
		}
		tokens := "SENTRY_AUTH_TOKEN"
		if !e.legacy {
			tokens = r.tokens.String()
		}
		t.Logf("round %d: %d jobs (%s %s; %s) in %v, slowest %s %v", n, len(jobs),
			map[bool]string{true: "fresh", false: "kept"}[r.fresh], what, tokens, took.Round(time.Millisecond), slowest.name, slowest.took.Round(time.Millisecond))

		// Exit codes: 0, but 3 (partial) when a source's deletions were
		// refused, 1 or 3 when one's fetch failed.
		for _, j := range jobs {
			var labels []string
			times := map[string]int{}
			want := []int{0}
			for _, s := range j.sources {
				l := r.label(s.name)
				if times[l]++; times[l] == 1 {
					labels = append(labels, l)
				}
				switch a := r.of(s.name); {
				case a == e2eFail:
					want = []int{1, 3}
				case a == e2eMass && want[0] == 0:
					want = []int{3}
				}
			}
			for i, l := range labels {
				if times[l] > 1 {
					labels[i] = fmt.Sprintf("%s x%d", l, times[l])
				}
			}
			label := strings.Join(labels, ", ")
			t.Logf("  %s (%s): exit %d in %v: %s", j.name, label, j.exit, j.took.Round(time.Millisecond), e2ePushLines(j.stdout, j.stderr))
			if !slices.Contains(want, j.exit) || j.err != nil {
				t.Errorf("round %d: %s (%s) exited %d (%v), want %v\nstdout:\n%s\nstderr:\n%s", n, j.name, label, j.exit, j.err, want, j.stdout, e2eNoDebug(j.stderr))
			}
		}

		// No token in any job's output.
		for _, j := range jobs {
			for _, o := range e.sources {
				if strings.Contains(j.stdout+j.stderr, o.token) {
					t.Errorf("round %d: %s's output holds %s's token", n, j.name, o.name)
				}
			}
		}
		// Nor does the remote's history.
		if history := e.gitOut(e.remote, "log", "-p", "--format=%B", "main"); strings.Contains(history, "sntrys_e2e_token_of_") {
			t.Errorf("round %d: a token is in the remote's history", n)
		}

		// The remote's entities, source by source.
		got := e.remoteCatalog()
		gotBy := map[string]map[string]string{}
		for k, v := range got {
			_, id, _ := strings.Cut(k, "/")
			name := e2eSourceOf(id)
			if e.byName[name] == nil {
				t.Errorf("round %d: %s on the remote belongs to no source", n, k)
				continue
			}
			if gotBy[name] == nil {
				gotBy[name] = map[string]string{}
			}
			gotBy[name][k] = v
		}
		for _, s := range e.sources {
			diff := e2eDiff(s.want, gotBy[s.name])
			if len(diff) > 0 {
				if len(diff) > 20 {
					diff = append(diff[:20], fmt.Sprintf("... and %d more", len(diff)-20))
				}
				t.Errorf("round %d: the remote's entities of %s (%s) are not what its fake says:\n  %s", n, s.name, r.label(s.name), strings.Join(diff, "\n  "))
			}
		}

		e.fsck(n)
		// Every entity valid for its blueprint, every relation's target
		// there: no source's sync left another's relations dangling.
		if out, err := e.try(e.root, e.bin, "validate", "--dir", e.remote); err != nil {
			t.Errorf("round %d: gitalog validate on the remote: %v\n%s", n, err, out)
		}

		// The round's history: one commit per source that changed,
		// none for the others, each touching only its source's files.
		commits := e.commits(before, after)
		count := map[string]int{}
		for _, c := range commits {
			if len(c.parents) != 1 {
				t.Errorf("round %d: commit %s %q has %d parents; each job's change should be redone on top, not merged", n, c.hash[:12], c.subject, len(c.parents))
			}
			name := e.commitSource(n, c)
			if name == "" {
				continue
			}
			count[name]++
			e.checkPaths(n, c, name, r.of(name))
		}
		for _, s := range e.sources {
			a := r.of(s.name)
			changed := !maps.Equal(prev[s.name], s.want)
			switch {
			case a == e2eFail || a == e2eMass:
				// It may record that it was incomplete; it may not
				// change an entity (checkPaths, and the catalog above).
				if count[s.name] > 1 {
					t.Errorf("round %d: %s (%s) made %d commits, want at most 1", n, s.name, a, count[s.name])
				}
			case changed && count[s.name] != 1:
				t.Errorf("round %d: %s (%s) made %d commits, want 1", n, s.name, r.label(s.name), count[s.name])
			case !changed && count[s.name] != 0:
				t.Errorf("round %d: %s (%s, nothing changed upstream) made %d commits, want none", n, s.name, a, count[s.name])
			}
		}
		sizes := make([]string, 0, len(e.sources))
		for _, s := range e.sources {
			sizes = append(sizes, fmt.Sprintf("%s %d", s.name, len(gotBy[s.name])))
		}
		t.Logf("round %d: %d commits on the remote (%s..%s); entities: %s", n, len(commits), before[:12], after[:12], strings.Join(sizes, ", "))
		if t.Failed() {
			t.FailNow()
		}
	}
}

// e2ePushLines are a job's result lines about its push, and how many times
// its verbose log says it redid the sync on top of a remote that moved:
// the measure of how the pushes scale.
func e2ePushLines(stdout, stderr string) string {
	var lines []string
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(stdout+"\n"+e2eNoDebug(stderr)), "\n") {
		l = strings.TrimSpace(l)
		if e2ePushLine.MatchString(l) && !strings.Contains(l, "HTTP ") && !strings.Contains(l, "level=") && !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		out := strings.TrimSpace(stdout)
		lines = append(lines, out[strings.LastIndexByte(out, '\n')+1:])
	}
	redone := 0
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "level=INFO") && strings.Contains(strings.ToLower(l), "redoing") {
			redone++
		}
	}
	return fmt.Sprintf("redone %d times; %s", redone, strings.Join(lines, " | "))
}

// e2eNoDebug is a job's stderr without its debug lines (each HTTP request).
func e2eNoDebug(stderr string) string {
	var keep []string
	left := 0
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "level=DEBUG") {
			left++
			continue
		}
		keep = append(keep, l)
	}
	if left > 0 {
		keep = append(keep, fmt.Sprintf("(%d debug lines left out)", left))
	}
	return strings.Join(keep, "\n")
}

var e2ePushLine = regexp.MustCompile(`(?i)push|redo|redid|retry|rejected|moved|attempt`)

// mutate changes source s's fake before round n and sets s.want to what
// the remote must then hold for it.
func (e *e2eEnv) mutate(n int, s *e2eSource, a e2eAction) {
	t := e.t
	s.srv.ClearFaults()
	var want map[string]string
	s.srv.Update(func(d *sentrytest.Dataset) {
		switch a {
		case e2eChange:
			unresolved := d.IssueIDs("unresolved")
			resolved := d.IssueIDs("resolved")
			if len(unresolved) < 8 || len(resolved) < 1 {
				t.Fatalf("%s: too few issues to change (%d unresolved, %d resolved)", s.name, len(unresolved), len(resolved))
			}
			// Two new issues, two resolved, one deleted, one regressed
			// (back in the catalog), one seen again with a new title.
			for k := range 2 {
				p := d.Projects[(n+k)%len(d.Projects)]
				if d.AddIssue(p.Slug, fmt.Sprintf("RoundError: round %d issue %d of %s", n, k, s.name), "e2e.round in step", "error") == "" {
					t.Fatalf("%s: no project %s", s.name, p.Slug)
				}
			}
			d.ResolveIssue(unresolved[0])
			d.ResolveIssue(unresolved[1])
			d.DeleteIssue(unresolved[2])
			d.RegressIssue(resolved[0])
			d.RegressIssue(unresolved[3])
			d.Issue(unresolved[3]).Title = fmt.Sprintf("RetitledError: retitled in round %d", n)
			// A member joins a team; another changes role.
			joined := d.Now
			team := d.Teams[n%len(d.Teams)].Slug
			d.Members = append(d.Members, &sentrytest.Member{ID: fmt.Sprint(95000 + len(d.Members)), UserID: fmt.Sprint(3950000 + len(d.Members)),
				Email: fmt.Sprintf("joined.round%d@%s.example", n, s.org), Name: fmt.Sprintf("Joined %d", n), Username: fmt.Sprintf("joined%d", n),
				OrgRole: "member", DateCreated: joined, LastLogin: joined, Teams: map[string]string{team: "contributor"}})
			m := d.Members[n%len(d.Members)]
			m.OrgRole = map[bool]string{true: "admin", false: "manager"}[m.OrgRole != "admin"]
		case e2eFail:
			// Upstream changes the job cannot see: resolved issues it
			// must not delete, one it must not update.
			unresolved := d.IssueIDs("unresolved")
			for _, id := range unresolved[:3] {
				d.ResolveIssue(id)
			}
			d.RegressIssue(unresolved[3])
		case e2eMass:
			// All but one in twenty unresolved issues resolved: over
			// entityDeletionThreshold 0.9 for sentryIssue, the only
			// blueprint that loses entities.
			unresolved := d.IssueIDs("unresolved")
			keep := max(1, len(unresolved)/20)
			gone := len(unresolved) - keep
			if float64(gone)/float64(len(unresolved)) <= 0.9 {
				t.Fatalf("%s: resolving %d of %d issues is not over 0.9", s.name, gone, len(unresolved))
			}
			for _, id := range unresolved[keep:] {
				d.ResolveIssue(id)
			}
		}
		want = e2eExpect(s.name, d)
	})
	switch a {
	case e2eFail:
		s.srv.AddFault(sentrytest.Fault{PathContains: "/issues/", Status: http.StatusInternalServerError})
		// Nothing of it changes on the remote.
	case e2eMass:
		// Every entity kept.
	default:
		s.want = want
	}
}

// runJobs runs one sync job per source at once, each in its own clone
// (or with r.one a single job syncing them all), and returns them with
// the round's wall time.
func (e *e2eEnv) runJobs(r e2eRound) ([]*e2eJob, time.Duration) {
	var jobs []*e2eJob
	if r.one {
		jobs = append(jobs, &e2eJob{name: "all", sources: e.sources})
	} else {
		for _, s := range e.sources {
			jobs = append(jobs, &e2eJob{name: s.name, sources: []*e2eSource{s}})
		}
	}
	dirs := make([]string, len(jobs))
	for i, j := range jobs {
		dirs[i] = filepath.Join(e.root, "job-"+j.name, "catalog.git")
		if _, err := os.Stat(dirs[i]); r.fresh || errors.Is(err, os.ErrNotExist) {
			// A new runner clones the catalog bare, as the workflow
			// init writes does.
			if err := os.RemoveAll(dirs[i]); err != nil {
				e.t.Fatal(err)
			}
			e.git(e.root, "clone", "-q", "--bare", e.remote, dirs[i])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, j := range jobs {
		// --verbose: the log says when a push was redone (and every
		// request, which must not show a token either).
		args := []string{"sync", "--dir", dirs[i], "--push", "--verbose"}
		if !e.legacy && !r.one {
			args = append(args, "--source", j.name)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, e.bin, args...)
			cmd.Dir = filepath.Dir(dirs[i])
			cmd.Env = append(slices.Clone(e.env), e.tokenEnv(r.tokens, j.sources)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			<-start
			t0 := time.Now()
			err := cmd.Run()
			j.took = time.Since(t0)
			j.stdout, j.stderr = stdout.String(), stderr.String()
			var ee *exec.ExitError
			switch {
			case err == nil:
			case errors.As(err, &ee) && ee.Exited():
				j.exit = ee.ExitCode()
			default:
				j.exit, j.err = -1, err
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	return jobs, time.Since(t0)
}

// tokenEnv is the environment that gives a job the tokens of its
// sources.
func (e *e2eEnv) tokenEnv(k e2eTokens, srcs []*e2eSource) []string {
	if e.legacy {
		return nil
	}
	// A SENTRY_URL no source is at, which named sources must not use.
	// Not with the shared token: SENTRY_URL pins the host that one goes
	// to, and the matrix workflow sets none.
	decoy := "SENTRY_URL=http://127.0.0.1:1"
	switch k {
	case e2eAllTokens:
		env := []string{decoy, "SENTRY_AUTH_TOKEN=sntrys_e2e_token_of_no_source"}
		for _, o := range e.sources {
			env = append(env, "SENTRY_AUTH_TOKEN_"+strings.ToUpper(o.name)+"="+o.token)
		}
		return env
	case e2eFallbackToken:
		if len(srcs) != 1 {
			e.t.Fatalf("one shared token for %d sources", len(srcs))
		}
		return []string{"SENTRY_AUTH_TOKEN=" + srcs[0].token}
	}
	env := []string{decoy}
	for _, s := range srcs {
		env = append(env, "SENTRY_AUTH_TOKEN_"+strings.ToUpper(s.name)+"="+s.token)
	}
	return env
}

// commits lists the remote's commits in (before, after], oldest first.
func (e *e2eEnv) commits(before, after string) []*e2eCommit {
	out := e.gitOut(e.remote, "log", "--reverse", "--format=%H%x1f%P%x1f%s%x1f%(trailers:key=Gitalog-Source,valueonly,separator=%x2C)%x1e", before+".."+after)
	var cs []*e2eCommit
	for _, rec := range strings.Split(out, "\x1e") {
		rec = strings.TrimSpace(rec)
		if rec == "" {
			continue
		}
		f := strings.Split(rec, "\x1f")
		if len(f) != 4 {
			e.t.Fatalf("git log: a record of %d fields: %q", len(f), rec)
		}
		c := &e2eCommit{hash: f[0], parents: strings.Fields(f[1]), subject: f[2]}
		for _, v := range strings.Split(f[3], ",") {
			if v = strings.TrimSpace(v); v != "" {
				c.sources = append(c.sources, v)
			}
		}
		if names := e.gitOut(e.remote, "diff-tree", "--no-commit-id", "-r", "--no-renames", "--name-status", c.hash); names != "" {
			c.paths = strings.Split(names, "\n")
		}
		cs = append(cs, c)
	}
	return cs
}

// commitSource is the source a commit was made for: its one
// Gitalog-Source trailer, whose subject is "sync(NAME): ...". Without
// sources every commit is the one source's and has neither.
func (e *e2eEnv) commitSource(n int, c *e2eCommit) string {
	if e.legacy {
		return e.sources[0].name
	}
	if len(c.sources) != 1 || e.byName[c.sources[0]] == nil {
		e.t.Errorf("round %d: commit %s %q has Gitalog-Source trailers %q, want one naming a source", n, c.hash[:12], c.subject, c.sources)
		return ""
	}
	name := c.sources[0]
	if !strings.HasPrefix(c.subject, "sync("+name+"): ") {
		e.t.Errorf("round %d: commit %s of %s has the subject %q, want sync(%s): ...", n, c.hash[:12], name, c.subject, name)
	}
	return name
}

// checkPaths fails unless commit c of source name touches only that
// source's entity files (their identifiers start with "NAME-") and its
// own state under .gitalog/sources/NAME/ (.gitalog/ without sources), and
// deletes no entity when its source failed or was refused.
func (e *e2eEnv) checkPaths(n int, c *e2eCommit, name string, a e2eAction) {
	state := ".gitalog/sources/" + name + "/"
	if e.legacy {
		state = ".gitalog/"
	}
	for _, line := range c.paths {
		status, p, _ := strings.Cut(line, "\t")
		switch {
		case strings.HasPrefix(p, "catalog/"):
			if e2eSourceOf(path.Base(p)) != name {
				e.t.Errorf("round %d: commit %s of %s touches %s (%s), an entity of another source", n, c.hash[:12], name, p, status)
			}
			if (a == e2eFail || a == e2eMass) && status != "A" {
				e.t.Errorf("round %d: commit %s of %s (%s) changes %s (%s)", n, c.hash[:12], name, a, p, status)
			}
		case strings.HasPrefix(p, state):
		default:
			e.t.Errorf("round %d: commit %s of %s touches %s (%s), outside its entities and %s", n, c.hash[:12], name, p, status, state)
		}
	}
}

// fsck fails unless git fsck --strict finds the remote sound.
func (e *e2eEnv) fsck(n int) {
	cmd := exec.Command("git", "-C", e.remote, "fsck", "--strict", "--no-dangling", "--no-progress")
	cmd.Env = e.env
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "error") || strings.Contains(string(out), "warning") {
		e.t.Errorf("round %d: git fsck --strict on the remote: %v\n%s", n, err, out)
	}
}

func (e *e2eEnv) git(dir string, args ...string) { e.gitOut(dir, args...) }

func (e *e2eEnv) gitOut(dir string, args ...string) string {
	e.t.Helper()
	return e.exec(dir, "git", args...)
}

func (e *e2eEnv) gitalog(dir string, args ...string) string {
	e.t.Helper()
	return e.exec(dir, e.bin, args...)
}

func (e *e2eEnv) exec(dir, name string, args ...string) string {
	e.t.Helper()
	out, err := e.try(dir, name, args...)
	if err != nil {
		e.t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

// try runs a command and returns its stdout, or with an error its stdout
// and stderr.
func (e *e2eEnv) try(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = e.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return strings.TrimSpace(string(out)), nil
}

// e2eRecorder is a testing.TB whose Errorf is recorded, not reported, to
// test that the harness's checks fail when they should.
type e2eRecorder struct {
	testing.TB
	errs []string
}

func (r *e2eRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestSourcesE2EChecks checks the end-to-end harness's own checks on a
// history made by hand: the trailers and subjects are read, a commit that
// touches another source's entity or shared state is caught, and so is a
// failed source's commit that deletes an entity.
func TestSourcesE2EChecks(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home")
	os.MkdirAll(home, 0o755)
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o644)
	e := &e2eEnv{t: t, root: root, remote: filepath.Join(root, "work"), byName: map[string]*e2eSource{},
		env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1"}}
	for _, name := range []string{"s1", "s2"} {
		s := &e2eSource{name: name}
		e.sources = append(e.sources, s)
		e.byName[name] = s
	}
	w := e.remote
	e.git(root, "init", "-q", "--initial-branch=main", w)
	write := func(p, body string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(w, p)), 0o755)
		if err := os.WriteFile(filepath.Join(w, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	commit := func(msg string) {
		t.Helper()
		e.git(w, "add", "-A")
		e.git(w, "commit", "-q", "-m", msg)
	}
	write("README", "x")
	commit("init")
	base := e.gitOut(w, "rev-parse", "HEAD")
	issue := `{"identifier":"s1-7","blueprint":"sentryIssue","title":"T","properties":{"status":"unresolved","level":"error","count":12},"relations":{"project":"s1-p"}}`
	write("catalog/sentryIssue/s1-7.json", issue)
	write(".gitalog/sources/s1/managed/sentryIssue.txt", "s1-7\n")
	commit("sync(s1): sentryIssue +1\n\nGitalog-Source: s1")
	write("catalog/sentryIssue/s1-7.json", strings.Replace(issue, "12", "13", 1))
	write(".gitalog/managed/sentryIssue.txt", "s1-7\n")
	commit("sync(s2): sentryIssue ~1\n\nGitalog-Source: s2")
	os.Remove(filepath.Join(w, "catalog/sentryIssue/s1-7.json"))
	commit("sync: sentryIssue -1")
	cs := e.commits(base, "HEAD")
	if len(cs) != 3 {
		t.Fatalf("%d commits, want 3", len(cs))
	}
	var got []string
	for _, c := range cs {
		got = append(got, fmt.Sprintf("%s %q %d", c.subject, c.sources, len(c.paths)))
	}
	want := []string{`sync(s1): sentryIssue +1 ["s1"] 2`, `sync(s2): sentryIssue ~1 ["s2"] 2`, `sync: sentryIssue -1 [] 1`}
	if !slices.Equal(got, want) {
		t.Errorf("commits:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// check runs fn with a recorder and returns the errors it reported.
	check := func(fn func()) []string {
		rec := &e2eRecorder{TB: t}
		e.t = rec
		defer func() { e.t = t }()
		fn()
		return rec.errs
	}
	for _, tc := range []struct {
		c        int
		trailers []string // replace the commit's
		want     string
		errs     int
	}{
		{0, nil, "s1", 0},
		{1, nil, "s2", 0},
		{2, nil, "", 1},                  // no trailer
		{0, []string{"s1", "s2"}, "", 1}, // two
		{0, []string{"s9"}, "", 1},       // no such source
		{1, []string{"s1"}, "s1", 1},     // its subject names s2
	} {
		c := *cs[tc.c]
		if tc.trailers != nil {
			c.sources = tc.trailers
		}
		var got string
		errs := check(func() { got = e.commitSource(1, &c) })
		if got != tc.want || len(errs) != tc.errs {
			t.Errorf("commitSource of %q with trailers %q = %q, errors %q; want %q and %d errors", c.subject, c.sources, got, errs, tc.want, tc.errs)
		}
	}
	for _, tc := range []struct {
		c      int
		source string
		action e2eAction
		errs   int
	}{
		{0, "s1", e2eChange, 0},
		{0, "s1", e2eMass, 0},   // an added entity is not a deletion
		{1, "s2", e2eChange, 2}, // s1's entity, and state outside .gitalog/sources/s2/
		{1, "s1", e2eFail, 2},   // a changed entity, and state outside .gitalog/sources/s1/
		{2, "s1", e2eChange, 0}, // deleting its own entity
		{2, "s1", e2eMass, 1},   // a deletion by a refused source
	} {
		c := cs[tc.c]
		if errs := check(func() { e.checkPaths(1, c, tc.source, tc.action) }); len(errs) != tc.errs {
			t.Errorf("checkPaths of %q as %s's (%s): errors %q, want %d", c.subject, tc.source, tc.action, errs, tc.errs)
		}
	}

	// Fields read back from a file are the ones computed from a fake.
	key, fields, err := e2eRemoteFields([]byte(issue))
	if err != nil || key != "sentryIssue/s1-7" || fields != e2eIssueFields("T", "unresolved", "error", "12", "s1-p") {
		t.Errorf("e2eRemoteFields = %q %q %v", key, fields, err)
	}
	diff := e2eDiff(map[string]string{"a/1": "x", "a/2": "y"}, map[string]string{"a/2": "z", "a/3": "w"})
	if want := []string{"a/2: got z, want y", "extra a/3", "missing a/1"}; !slices.Equal(diff, want) {
		t.Errorf("e2eDiff = %q, want %q", diff, want)
	}
}
