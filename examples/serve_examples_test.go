package examples_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/commands"
	"github.com/gitalog/gitalog/engine/secretenv"
)

// serveFlags are the flags "gitalog serve" takes, from the command itself.
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	app := commands.NewApp(&commands.IO{Getenv: func(string) string { return "" }})
	cmd := app.Command("serve")
	if cmd == nil {
		t.Fatal("no serve command")
	}
	names := map[string]bool{}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			names[n] = true
		}
	}
	return names
}

// checkServeArgs fails for an argument list that is not a valid
// "gitalog serve" invocation: every --flag must be one serve has.
func checkServeArgs(t *testing.T, where string, args []string) {
	t.Helper()
	i := slices.Index(args, "serve")
	if i < 0 {
		t.Fatalf("%s: no serve in %q", where, args)
	}
	flags := serveFlags(t)
	for _, a := range args[i+1:] {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			if !flags[name] {
				t.Errorf("%s: gitalog serve has no flag --%s", where, name)
			}
		}
	}
}

// The Dockerfile's entrypoint and command are flags serve takes, and it
// builds with the Go that go.mod asks for, statically.
func TestDockerfileRunsServe(t *testing.T) {
	b, err := os.ReadFile("docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, instr := range []string{"ENTRYPOINT", "CMD"} {
		m := regexp.MustCompile(`(?m)^` + instr + ` (\[.*\])$`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("Dockerfile: no %s in exec form", instr)
		}
		var part []string
		if err := json.Unmarshal(m[1], &part); err != nil {
			t.Fatalf("Dockerfile %s: %v", instr, err)
		}
		args = append(args, part...)
	}
	checkServeArgs(t, "Dockerfile", args)
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVer == nil || !regexp.MustCompile(`(?m)^FROM (--platform=\S+ )?golang:`+regexp.QuoteMeta(string(goVer[1]))+`-`).Match(b) {
		t.Errorf("Dockerfile does not build with golang:%s (go.mod's go version)", goVer[1])
	}
	if !bytes.Contains(b, []byte("CGO_ENABLED=0")) || !bytes.Contains(b, []byte("FROM gcr.io/distroless/static")) {
		t.Error("Dockerfile: the binary must be static (CGO_ENABLED=0) for distroless/static")
	}
}

// The systemd unit's ExecStart is a serve invocation, and the environment
// file it reads names only variables gitalog reads.
func TestSystemdUnitRunsServe(t *testing.T) {
	unit, err := os.ReadFile("systemd/gitalog-serve.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("unit: no ExecStart")
	}
	checkServeArgs(t, "gitalog-serve.service", strings.Fields(string(m[1])))
	if !bytes.Contains(unit, []byte("EnvironmentFile=/etc/gitalog/serve.env")) {
		t.Error("unit: the secrets come from EnvironmentFile=/etc/gitalog/serve.env")
	}
	known := map[string]bool{"SENTRY_URL": true, "SENTRY_ORG": true, "GIT_USERNAME": true}
	for _, n := range secretenv.Names() {
		known[n] = true
	}
	env, err := os.ReadFile("systemd/serve.env.example")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(env))
	var sawSecret bool
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if !ok || !known[name] {
			t.Errorf("serve.env.example: %q is not a variable gitalog reads", line)
		}
		sawSecret = sawSecret || name == secretenv.SentryClientSecret
	}
	if !sawSecret {
		t.Errorf("serve.env.example does not set %s", secretenv.SentryClientSecret)
	}
}
