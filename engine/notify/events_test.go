package notify

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
)

func TestIssueEvents(t *testing.T) {
	ent := func(props, rels map[string]any) map[string]any {
		return map[string]any{"properties": props, "relations": rels}
	}
	tests := []struct {
		name     string
		old, new map[string]any
		want     []string
	}{
		{"count only", ent(map[string]any{"status": "unresolved", "count": 1}, nil), ent(map[string]any{"status": "unresolved", "count": 2}, nil), nil},
		{"resolved", ent(map[string]any{"status": "unresolved"}, nil), ent(map[string]any{"status": "resolved"}, nil), []string{Resolved}},
		{"back from resolved", ent(map[string]any{"status": "resolved"}, nil), ent(map[string]any{"status": "unresolved"}, nil), []string{Regressed}},
		{"back from ignored", ent(map[string]any{"status": "ignored"}, nil), ent(map[string]any{"status": "unresolved"}, nil), []string{Regressed}},
		{"substatus regressed (OpsLevel)", ent(map[string]any{"substatus": "ongoing"}, nil), ent(map[string]any{"substatus": "regressed"}, nil), []string{Regressed}},
		{"still regressed", ent(map[string]any{"substatus": "regressed", "count": 1}, nil), ent(map[string]any{"substatus": "regressed", "count": 2}, nil), nil},
		{"substatus resolved", ent(map[string]any{"substatus": "ongoing"}, nil), ent(map[string]any{"substatus": "resolved"}, nil), []string{Resolved}},
		{"assigned (sentryIssue relation)", ent(map[string]any{"status": "unresolved"}, map[string]any{"assignedTo": nil}), ent(map[string]any{"status": "unresolved"}, map[string]any{"assignedTo": "ann@example.com"}), []string{Assigned}},
		{"reassigned", ent(nil, map[string]any{"assignedTo": "ann@example.com"}), ent(nil, map[string]any{"assignedTo": "bob@example.com"}), []string{Assigned}},
		{"unassigned", ent(nil, map[string]any{"assignedTo": "ann@example.com"}), ent(nil, map[string]any{"assignedTo": nil}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := issueEvents(tt.old, tt.new); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// Events reads one commit against its first parent: created, changed
// (with the issue events), deleted, for each blueprint.
func TestEventsOfCommit(t *testing.T) {
	r := newRepo(t)
	r.commit("a", issue("1", "One", "resolved", 1, nil), issue("2", "Two", "unresolved", 1, nil),
		&catalog.Entity{Identifier: "backend", Title: "Backend", Blueprint: "project", Properties: map[string]any{}})
	c := r.commit("b", issue("1", "One", "unresolved", 2, nil), deleted("issue", "2"),
		&catalog.Entity{Identifier: "web", Title: "Web", Blueprint: "project", Properties: map[string]any{}})
	evs, err := Events(context.Background(), r.st, c)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if e.Commit != c {
			t.Errorf("commit %s", e.Commit)
		}
		got = append(got, e.Event+" "+e.Blueprint+"/"+e.Identifier)
	}
	want := []string{"changed issue/1", "regressed issue/1", "deleted issue/2", "created project/web"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q", got, want)
	}
	if evs[2].Entity["title"] != "Two" {
		t.Errorf("a deleted entity's event carries its last version: %v", evs[2].Entity)
	}
}

func TestDefaultText(t *testing.T) {
	e := Event{Event: Created, Blueprint: "project", Identifier: "web", Entity: map[string]any{"title": "Web"}}
	if got := DefaultText(&e); got != "project web (Web) created" {
		t.Fatalf("got %q", got)
	}
	// OpsLevel's sentry_issue: name, url, project_slug.
	e = Event{Event: Created, Blueprint: "sentry_issue", Identifier: "9", Entity: map[string]any{"title": nil, "properties": map[string]any{"name": "Boom", "url": "https://s/9", "project_slug": "api"}}}
	if got := DefaultText(&e); got != "api Boom. https://s/9" {
		t.Fatalf("got %q", got)
	}
	long := strings.Repeat("é", MaxText)
	s := &Sink{Kind: TCP}
	msg, err := s.Text(&Event{Event: Created, Blueprint: "issue", Entity: map[string]any{"title": long}})
	if err != nil || len(msg) > MaxText || !strings.HasSuffix(msg, "…") {
		t.Fatalf("not bounded: %d bytes, %v", len(msg), err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"notify: {tcp: x}", "gitalog.yaml:1:9: notify: must be a list"},
		{"notify:\n  - tcp: localhost", `gitalog.yaml:2:10: notify #1: tcp: must be host:port, got "localhost"`},
		{"notify:\n  - webhook: ftp://x/y", "gitalog.yaml:2:14: notify #1: webhook: must be an http or https URL"},
		{"notify:\n  - webhook: https://x/y\n    events: [created, exploded]", `gitalog.yaml:3:13: notify #1: events: unknown event "exploded"`},
		{"notify:\n  - webhook: https://x/y\n    evnts: [created]", "gitalog.yaml:3:5: notify #1: evnts: unknown key"},
		{"notify:\n  - webhook: https://x/y\n    when: .a ==", "gitalog.yaml:3:11: notify #1: when: jq"},
		{"notify:\n  - webhook: https://x/y\n    template: '{{ x | nope }}'", "gitalog.yaml:3:15: notify #1: template: Liquid"},
		{"notify:\n  - webhook: https://x/y\n    template: \"{{ 'a' | secret }}\"", "must not carry secrets"},
		{"notify:\n  - webhook: https://x/y\n    name: a/b", `gitalog.yaml:3:11: notify #1: name: must be`},
		{"notify:\n  - webhook: https://x/y\n    tcp: a:1", "gitalog.yaml:3:5: notify #1: tcp: a sink is one of"},
		{"notify:\n  - events: [created]", "gitalog.yaml:2:5: notify #1: needs one of"},
		{"notify:\n  - slack: {env: 'A B'}", `gitalog.yaml:2:18: notify #1: slack.env: must name an environment variable`},
		{"notify:\n  - webhook: https://x/y\n  - webhook: https://x/y", `gitalog.yaml:3:5: notify #2: name: "webhook-`},
	}
	for _, tt := range tests {
		_, _, err := parseErr(tt.src, nil)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q:\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
	// A bad value from the environment is named by its variable only.
	_, _, err := parseErr("notify:\n  - slack: {env: HOOK}", map[string]string{"HOOK": "nota url SECRET"})
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "HOOK") {
		t.Fatalf("got %v", err)
	}
	// A literal Slack URL works, with a warning to move it out.
	_, warns, err := parseErr("notify:\n  - slack: https://hooks.slack.com/services/T/B/X", nil)
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "{env: SLACK_WEBHOOK_URL}") || strings.Contains(warns[0], "/services/") {
		t.Fatalf("got %v %q", err, warns)
	}
}

// Derived names are stable (the same definition, the same ref) and the
// variable's value is not part of them (rotating the secret keeps them).
func TestSinkNames(t *testing.T) {
	a := parse(t, yamlList("  - slack: {env: HOOK}"), map[string]string{"HOOK": "https://h/1"})
	b := parse(t, yamlList("  - slack: {env: HOOK}", "    events: [created]"), map[string]string{"HOOK": "https://h/2"})
	if a.Sinks[0].Name != b.Sinks[0].Name || !strings.HasPrefix(a.Sinks[0].Name, "slack-") {
		t.Fatalf("%s vs %s", a.Sinks[0].Name, b.Sinks[0].Name)
	}
	c := parse(t, yamlList("  - webhook: https://h/1", "    name: ops"), nil)
	if c.Sinks[0].Ref() != "refs/gitalog/notified/ops" {
		t.Fatal(c.Sinks[0].Ref())
	}
}

// The state goes to the remote and comes back into a fresh clone, which
// then sends only what is new.
func TestStateThroughRemote(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	r := newRepo(t)
	r.commit("a", issue("1", "One", "unresolved", 1, nil))
	h := newHookServer(t)
	cfg := parse(t, yamlList("  - webhook: "+h.URL, "    name: hook"), nil)
	n := newNotifier(r, cfg)
	n.Start(r.head)
	r.commit("b", issue("2", "Two", "unresolved", 1, nil))
	if rep, _ := n.Deliver(context.Background(), r.head); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	remote := filepath.Join(t.TempDir(), "remote.git")
	git(t, "", "init", "-q", "--bare", remote)
	git(t, r.st.Root(), "remote", "add", "origin", remote)
	git(t, r.st.Root(), "push", "-q", "origin", "main")
	if err := n.PushState(context.Background(), "origin", gitstore.RemoteAuth{}); err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, "", "clone", "-q", "-b", "main", remote, clone)
	st, err := gitstore.Open(clone)
	if err != nil {
		t.Fatal(err)
	}
	c := &repo{t: t, st: st, head: r.head}
	c.commit("c", issue("3", "Three", "unresolved", 1, nil))
	n2 := New(st, cfg, Options{})
	if err := n2.FetchState(context.Background(), "origin", gitstore.RemoteAuth{}); err != nil {
		t.Fatal(err)
	}
	if at := c.ref(cfg.Sinks[0]); at != r.head {
		t.Fatalf("the clone's ref is at %s, want %s", at, r.head)
	}
	n2.Start(c.head) // a no-op: the state is known
	if rep, _ := n2.Deliver(context.Background(), c.head); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	var ids []string
	for _, p := range h.got {
		ids = append(ids, p.Identifier)
	}
	if strings.Join(ids, ",") != "2,3" {
		t.Fatalf("got %v, want 2 then 3", ids)
	}
	// A remote ref behind the local one never moves it back.
	if err := n2.FetchState(context.Background(), "origin", gitstore.RemoteAuth{}); err != nil {
		t.Fatal(err)
	}
	if at := c.ref(cfg.Sinks[0]); at != c.head {
		t.Fatalf("moved back to %s", at)
	}
	if out := git(t, clone, "fsck", "--strict"); strings.Contains(out, "error") {
		t.Fatal(out)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// With a selection that drops resolved issues (Port's default search,
// is:unresolved), a resolution deletes the entity and a regression
// creates it again: the events say resolved and regressed, as they do
// when the entity stays and its status changes.
func TestEventsOfSelectionChanges(t *testing.T) {
	r := newRepo(t)
	r.commit("a", issue("1", "One", "unresolved", 1, nil), issue("2", "Two", "unresolved", 1, nil))
	c := r.commit("sync: issue -2\n\nSource: webhook, 2 items\n\nDeleted:\n  - issue/1  One\n  - issue/2  Two\n\nLeft the selection:\n  issue/1: resolved\n  issue/2: ignored\n",
		deleted("issue", "1"), deleted("issue", "2"))
	c2 := r.commit("sync: issue +1", issue("1", "One", "unresolved", 5, map[string]any{"substatus": "regressed"}))
	got := func(c plumbing.Hash) []string {
		evs, err := Events(context.Background(), r.st, c)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range evs {
			out = append(out, e.Event+" "+e.Identifier)
		}
		return out
	}
	if g := got(c); !slices.Equal(g, []string{"deleted 1", "resolved 1", "deleted 2"}) {
		t.Errorf("resolution commit: %v", g)
	}
	if g := got(c2); !slices.Equal(g, []string{"regressed 1"}) {
		t.Errorf("regression commit: %v", g)
	}
}
