package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/extract/extracttest"
	"github.com/gitalog/gitalog/engine/notify"
	"github.com/gitalog/gitalog/engine/scaffold/porttest"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/itchyny/gojq"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts run the real gitalog binary: testscript re-runs
// this test binary as "gitalog", which then runs main's own run.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gitalog": func() { os.Exit(run()) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fakesentry":   cmdFakeSentry,
			"sentry":       cmdSentry,
			"sentryfault":  cmdSentryFault,
			"subst":        cmdSubst,
			"jq":           cmdJQ,
			"webhook":      cmdWebhook,
			"push":         cmdPush,
			"freeport":     cmdFreePort,
			"notifylisten": cmdNotifyListen,
			"portfiles":    cmdPortFiles,
			"nostderr":     cmdNoStderr,
		},
	})
}

// serverKey finds the script's fake Sentry in Env.Values.
type serverKey struct{}

type scriptState struct {
	srv       *sentrytest.Server
	listeners map[string]*notifyListener
}

const gitconfig = `[user]
	name = Script Tester
	email = tester@example.com
[init]
	defaultBranch = main
`

// setupScript gives every script a home of its own with a git identity, so
// that real git and gitalog's commits work and agree on the author.
func setupScript(env *testscript.Env) error {
	env.Values[serverKey{}] = &scriptState{}
	env.Setenv("HOME", env.WorkDir)
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
	env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	env.Setenv("GIT_AUTHOR_NAME", "Script Tester")
	env.Setenv("GIT_AUTHOR_EMAIL", "tester@example.com")
	env.Setenv("GIT_COMMITTER_NAME", "Script Tester")
	env.Setenv("GIT_COMMITTER_EMAIL", "tester@example.com")
	env.Setenv("TZ", "UTC")
	env.Setenv("CI", "1")
	// Never reach a real Sentry from a script that forgot fakesentry.
	env.Setenv("SENTRY_URL", "http://127.0.0.1:1")
	env.Setenv("TOKEN", sentrytest.Token)
	return os.WriteFile(filepath.Join(env.WorkDir, ".gitconfig"), []byte(gitconfig), 0o644)
}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value(serverKey{}).(*scriptState)
}

func server(ts *testscript.TestScript) *sentrytest.Server {
	s := state(ts).srv
	if s == nil {
		ts.Fatalf("no fake Sentry: run fakesentry first")
	}
	return s
}

// fakesentry starts a fake Sentry with the demo organization and points
// SENTRY_URL, SENTRY_ORG and SENTRY_AUTH_TOKEN at it for the rest of the
// script. With "production" the organization also has the project
// "Checkout production" (slug checkout-prod, two issues), which OpsLevel's
// Sentry guide excludes.
func cmdFakeSentry(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! fakesentry")
	}
	var opts []sentrytest.Option
	data := sentrytest.Demo()
	for _, a := range args {
		if a == "production" {
			extracttest.AddExcludedProject(data)
			continue
		}
		n, ok := strings.CutPrefix(a, "pagesize=")
		if !ok {
			ts.Fatalf("usage: fakesentry [pagesize=N] [production]")
		}
		size, err := strconv.Atoi(n)
		ts.Check(err)
		opts = append(opts, sentrytest.WithPageSize(size))
	}
	st := state(ts)
	if st.srv != nil {
		ts.Fatalf("fakesentry already running")
	}
	st.srv = sentrytest.NewServer(data, opts...)
	srv := st.srv
	ts.Defer(srv.Close)
	ts.Setenv("SENTRY_URL", srv.URL)
	ts.Setenv("SENTRY_ORG", data.OrgSlug())
	ts.Setenv("SENTRY_AUTH_TOKEN", sentrytest.Token)
}

// sentry changes the fake's data between syncs:
//
//	sentry resolve ID...|all
//	sentry regress ID...|all
//	sentry delete ID...|all
//	sentry add PROJECT TITLE [CULPRIT [LEVEL]]   (sets $NEW_ISSUE, prints the id)
//	sentry ids [STATUS]                          (prints ids, one a line)
func cmdSentry(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! sentry")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: sentry resolve|regress|delete|add|ids ...")
	}
	srv := server(ts)
	verb, rest := args[0], args[1:]
	each := func(fn func(d *sentrytest.Dataset, id string) bool) {
		if len(rest) == 0 {
			ts.Fatalf("usage: sentry %s ID...", verb)
		}
		srv.Update(func(d *sentrytest.Dataset) {
			ids := rest
			if len(rest) == 1 && rest[0] == "all" {
				ids = d.IssueIDs("")
			}
			for _, id := range ids {
				if !fn(d, id) {
					ts.Fatalf("sentry %s: no issue %s", verb, id)
				}
			}
		})
	}
	switch verb {
	case "resolve":
		each((*sentrytest.Dataset).ResolveIssue)
	case "regress":
		each((*sentrytest.Dataset).RegressIssue)
	case "delete":
		each((*sentrytest.Dataset).DeleteIssue)
	case "add":
		if len(rest) < 2 || len(rest) > 4 {
			ts.Fatalf("usage: sentry add PROJECT TITLE [CULPRIT [LEVEL]]")
		}
		culprit, level := "main", ""
		if len(rest) > 2 {
			culprit = rest[2]
		}
		if len(rest) > 3 {
			level = rest[3]
		}
		var id string
		srv.Update(func(d *sentrytest.Dataset) { id = d.AddIssue(rest[0], rest[1], culprit, level) })
		if id == "" {
			ts.Fatalf("sentry add: no project %s", rest[0])
		}
		ts.Setenv("NEW_ISSUE", id)
		fmt.Fprintln(ts.Stdout(), id)
	case "member":
		// A member with an organization role (Sentry's roles: member,
		// admin, manager, owner, billing).
		if len(rest) != 2 {
			ts.Fatalf("usage: sentry member USERNAME ROLE")
		}
		srv.Update(func(d *sentrytest.Dataset) {
			joined := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
			d.Members = append(d.Members, &sentrytest.Member{ID: fmt.Sprint(90000 + len(d.Members)), UserID: fmt.Sprint(3900000 + len(d.Members)),
				Email: rest[0] + "@acme-corp.example", Name: rest[0], Username: rest[0], OrgRole: rest[1],
				DateCreated: joined, LastLogin: joined.Add(time.Hour), Teams: map[string]string{}})
		})
	case "ids":
		status := ""
		if len(rest) > 0 {
			status = rest[0]
		}
		var ids []string
		srv.Update(func(d *sentrytest.Dataset) { ids = d.IssueIDs(status) })
		for _, id := range ids {
			fmt.Fprintln(ts.Stdout(), id)
		}
	default:
		ts.Fatalf("unknown sentry verb %q", verb)
	}
}

// sentryfault makes matching requests fail (after letting N of them
// through with after=N: mid-pagination):
//
//	sentryfault PATH-SUBSTRING STATUS [TIMES] [after=N]
//	sentryfault PATH-SUBSTRING repeat-cursor [TIMES]   (the next link repeats the cursor)
//	sentryfault PATH-SUBSTRING gzip-bomb BYTES        (a gzip body inflating to BYTES)
//	sentryfault PATH-SUBSTRING drip DURATION          (the body a byte per DURATION)
//	sentryfault PATH-SUBSTRING echo-auth [STATUS [TIMES]] (an error body quoting Authorization)
//	sentryfault clear                                 (no more faults)
func cmdSentryFault(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! sentryfault")
	}
	if len(args) == 1 && args[0] == "clear" {
		server(ts).ClearFaults()
		return
	}
	after := 0
	if n := len(args); n > 0 && strings.HasPrefix(args[n-1], "after=") {
		var err error
		after, err = strconv.Atoi(strings.TrimPrefix(args[n-1], "after="))
		ts.Check(err)
		args = args[:n-1]
	}
	const usage = "usage: sentryfault PATH-SUBSTRING STATUS|repeat-cursor|gzip-bomb BYTES|drip DURATION|echo-auth [STATUS] [TIMES] [after=N]"
	if len(args) < 2 {
		ts.Fatalf(usage)
	}
	f := sentrytest.Fault{PathContains: args[0]}
	rest := args[2:]
	num := func() int {
		if len(rest) == 0 {
			return 0
		}
		n, err := strconv.Atoi(rest[0])
		ts.Check(err)
		rest = rest[1:]
		return n
	}
	switch mode := args[1]; mode {
	case "repeat-cursor":
		f.RepeatCursor = true
	case "gzip-bomb":
		if len(rest) == 0 {
			ts.Fatalf(usage)
		}
		f.GzipBomb = int64(num())
	case "drip":
		if len(rest) == 0 {
			ts.Fatalf(usage)
		}
		d, err := time.ParseDuration(rest[0])
		ts.Check(err)
		f.Drip, rest = d, rest[1:]
	case "echo-auth":
		f.EchoAuth = true
		f.Status = num()
	default:
		status, err := strconv.Atoi(mode)
		if err != nil {
			ts.Fatalf(usage)
		}
		f.Status = status
	}
	f.Times = num()
	f.AfterRequests = after
	if len(rest) > 0 {
		ts.Fatalf(usage)
	}
	server(ts).AddFault(f)
}

// subst replaces every OLD in FILE with NEW, as a user edits the host of a
// config they copied:
//
//	subst FILE OLD NEW
func cmdSubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: subst FILE OLD NEW")
	}
	p := ts.MkAbs(args[0])
	data, err := os.ReadFile(p)
	ts.Check(err)
	if !strings.Contains(string(data), args[1]) {
		ts.Fatalf("subst: %s has no %q", args[0], args[1])
	}
	ts.Check(os.WriteFile(p, []byte(strings.ReplaceAll(string(data), args[1], args[2])), 0o644))
}

// jq checks a JSON file: the filter's results, each as compact JSON (keys
// sorted), one a line, must equal WANT.
//
//	jq FILE FILTER WANT
//	! jq FILE FILTER WANT    (they must differ)
func cmdJQ(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jq FILE FILTER WANT")
	}
	var v any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &v); err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
	q, err := gojq.Parse(args[1])
	ts.Check(err)
	var got []string
	iter := q.Run(v)
	for {
		x, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := x.(error); ok {
			ts.Fatalf("jq %s: %v", args[1], err)
		}
		b, err := gojq.Marshal(x)
		ts.Check(err)
		got = append(got, string(b))
	}
	g := strings.Join(got, "\n")
	if (g == args[2]) == neg {
		ts.Fatalf("jq %s on %s: got %s, want %s%s", args[1], args[0], g, map[bool]string{true: "anything but ", false: ""}[neg], args[2])
	}
}

// notifyListener is seed 002's dummy server: it reads each connection to
// its end as one message. With web, it is a webhook sink instead.
type notifyListener struct {
	ln   net.Listener
	web  bool
	srv  *http.Server // web: closed with its keep-alive connections on stop
	mu   sync.Mutex
	msgs []string
	keys map[string]bool // web: the idempotency keys received
	got  chan struct{}   // a message came
}

func (l *notifyListener) add(msg string) {
	l.mu.Lock()
	l.msgs = append(l.msgs, msg)
	l.mu.Unlock()
	select {
	case l.got <- struct{}{}:
	default:
	}
}

func (l *notifyListener) serve(ln net.Listener, srv *http.Server) {
	if srv != nil {
		srv.Serve(ln)
		return
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		l.add(string(b))
	}
}

// hook takes a webhook sink's POST and records it as "EVENT
// BLUEPRINT/IDENTIFIER" followed by "key-ok" when its Idempotency-Key is
// the one of (commit, blueprint, identifier, event) and the body's, else
// "key-bad", and by "again" when the key came before.
func (l *notifyListener) hook(w http.ResponseWriter, r *http.Request) {
	var p notify.Payload
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	want := (&notify.Event{Event: p.Event, Blueprint: p.Blueprint, Identifier: p.Identifier, Commit: plumbing.NewHash(p.Commit)}).Key()
	msg := p.Event + " " + p.Blueprint + "/" + p.Identifier
	if key == want && p.IdempotencyKey == want {
		msg += " key-ok"
	} else {
		msg += " key-bad"
	}
	l.mu.Lock()
	if l.keys[key] {
		msg += " again"
	}
	l.keys[key] = true
	l.mu.Unlock()
	l.add(msg)
}

// notifylisten runs TCP notify sinks for a script:
//
//	notifylisten start VAR     listen on a free port (again on the same
//	                           one after stop), set $VAR to host:port
//	notifylisten hook VAR      the same for a webhook sink: $VAR is its
//	                           URL, with a secret path as Slack's; each
//	                           POST is a message (see hook)
//	notifylisten stop VAR      stop listening: connections are refused
//	notifylisten msgs VAR N    wait for N messages (10s at most), print
//	                           them one a line, and forget them
func cmdNotifyListen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: notifylisten start|stop|msgs VAR [N]")
	}
	st := state(ts)
	if st.listeners == nil {
		st.listeners = map[string]*notifyListener{}
	}
	name := args[1]
	l := st.listeners[name]
	switch args[0] {
	case "start", "hook":
		addr := "127.0.0.1:0"
		if l != nil {
			addr = l.ln.Addr().String()
		}
		ln, err := net.Listen("tcp", addr)
		ts.Check(err)
		if l == nil {
			l = &notifyListener{got: make(chan struct{}, 1), web: args[0] == "hook", keys: map[string]bool{}}
			st.listeners[name] = l
		}
		l.ln = ln
		var srv *http.Server
		if l.web {
			srv = &http.Server{Handler: http.HandlerFunc(l.hook)}
			l.srv = srv
			ts.Defer(func() { srv.Close() })
		}
		go l.serve(ln, srv)
		ts.Defer(func() { ln.Close() })
		if l.web {
			ts.Setenv(name, "http://"+ln.Addr().String()+"/hooks/T000/B000/s3cretPath")
		} else {
			ts.Setenv(name, ln.Addr().String())
		}
	case "stop":
		if l == nil {
			ts.Fatalf("notifylisten: no listener %s", name)
		}
		if l.web {
			// Answer what is in flight first: a sink cut off after it
			// took an event but before it answered is asked again, as it
			// should be, and that would be a different test.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			l.srv.Shutdown(ctx)
			cancel()
		}
		l.ln.Close()
	case "msgs":
		if l == nil || len(args) != 3 {
			ts.Fatalf("usage: notifylisten msgs VAR N (after start)")
		}
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		deadline := time.After(10 * time.Second)
		for {
			l.mu.Lock()
			have := len(l.msgs)
			l.mu.Unlock()
			if have >= n {
				break
			}
			select {
			case <-l.got:
			case <-deadline:
				ts.Fatalf("notifylisten: %d messages, want %d", have, n)
			}
		}
		l.mu.Lock()
		for _, m := range l.msgs {
			ts.Stdout().Write([]byte(m + "\n"))
		}
		l.msgs = nil
		l.mu.Unlock()
	default:
		ts.Fatalf("usage: notifylisten start|stop|msgs VAR [N]")
	}
}

// portfiles [DIR] puts Port's files (engine/scaffold/porttest) in place of gitalog's defaults in the
// catalog at DIR (default .), amending init's commit (so commit counts
// stay those of a plain init): Port's default Sentry
// mapping followed by seed 001's project and issue mappings, Port's
// blueprints.json and seed 001's two blueprints, unchanged. Scripts
// written against the issue and project blueprints run on these.
func cmdPortFiles(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: portfiles [DIR]")
	}
	dir := "."
	if len(args) == 1 {
		dir = args[0]
	}
	for p, b := range porttest.Files() {
		ts.Check(os.WriteFile(ts.MkAbs(filepath.Join(dir, filepath.FromSlash(p))), b, 0o644))
	}
	ts.Check(ts.Exec("git", "-C", ts.MkAbs(dir), "add", "gitalog.yaml", "blueprints"))
	ts.Check(ts.Exec("git", "-C", ts.MkAbs(dir), "commit", "-q", "--amend", "--no-edit"))
}

// portKeyWarning is what Port's files make every command that loads the
// config print: their createMissingRelatedEntities and
// deleteDependentEntities are true, which gitalog does not do.
var portKeyWarning = regexp.MustCompile(`^warning: \S+:\d+: (createMissingRelatedEntities|deleteDependentEntities): true is not supported \(ignored\): `)

// nostderr asserts that the last command printed nothing on stderr but
// the warnings Port's two unsupported keys give (! stderr . for scripts
// on Port's files).
func cmdNoStderr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: nostderr")
	}
	for _, l := range strings.Split(ts.ReadFile("stderr"), "\n") {
		if l != "" && !portKeyWarning.MatchString(l) {
			ts.Fatalf("unexpected stderr: %s", l)
		}
	}
}
