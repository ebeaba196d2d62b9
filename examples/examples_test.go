package examples_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/gitalog/gitalog/engine/secretenv"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitalog/gitalog/commands"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/examples"
	"gopkg.in/yaml.v3"
)

// action is how the workflows init writes run gitalog: the repository's
// own composite action (action.yml) at the major version's tag.
const action = "gitalog/gitalog@v1"

// actionlint is pinned; "go install" fetches it through the module proxy.
const actionlint = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

// The recipes are the files in examples/, byte for byte.
func TestRecipesAreTheExampleFiles(t *testing.T) {
	files := map[string]string{
		examples.SyncWorkflowPath:   "github-actions/gitalog-sync.yml",
		examples.ReviewWorkflowPath: "github-actions/gitalog-review.yml",
		examples.JenkinsfilePath:    "jenkins/Jenkinsfile",
	}
	rs := examples.Recipes()
	if len(rs) != len(files) {
		t.Fatalf("Recipes() has %d files, want %d: %v", len(rs), len(files), keys(rs))
	}
	for dest, src := range files {
		want, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rs[dest], want) {
			t.Errorf("Recipes()[%q] is not %s", dest, src)
		}
	}
	rs[examples.JenkinsfilePath][0] = 'X'
	if examples.Recipes()[examples.JenkinsfilePath][0] == 'X' {
		t.Error("Recipes() returns shared slices")
	}
}

// The recipes for several sources are the files in examples/sources/,
// byte for byte, for the sources of the example (eu, onprem).
func TestSourcesRecipesAreTheExampleFiles(t *testing.T) {
	names := []string{"eu", "onprem"}
	cfg, err := scaffold.SourcesConfig(names)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := scaffold.SourcesRecipes(names)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{
		"sources/gitalog.yaml":       cfg,
		"sources/gitalog-sync.yml":   rs[examples.SyncWorkflowPath],
		"sources/Jenkinsfile":        rs[examples.JenkinsfilePath],
		"sources/gitalog-review.yml": rs[examples.ReviewWorkflowPath],
	}
	if len(rs) != 3 {
		t.Errorf("SourcesRecipes has %d files, want 3: %v", len(rs), keys(rs))
	}
	for src, b := range got {
		want, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("the generated %s differs from examples/%s (regenerate it: gitalog init --sources eu,onprem, and copy)", path.Base(src), src)
		}
	}
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// gitalogInit runs "gitalog init" in-process, as a user would.
func gitalogInit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &commands.IO{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(string) string { return "" }}
	err := commands.NewApp(io).RunContext(context.Background(),
		append([]string{"gitalog", "init", "--dir", dir, "--author", "Test <test@example.com>"}, args...))
	if err != nil {
		t.Fatalf("gitalog init: %v\n%s%s", err, out.String(), errOut.String())
	}
	return out.String()
}

// The workflows that init writes (init --sources' too), and the project's
// own CI workflow, pass actionlint.
func TestActionlint(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	// HOME stays as it is: go's module and build caches live under it.
	dir := filepath.Join(t.TempDir(), "catalog")
	out := gitalogInit(t, dir)
	for _, p := range []string{examples.SyncWorkflowPath, examples.ReviewWorkflowPath, examples.JenkinsfilePath} {
		if !strings.Contains(out, "  wrote "+p+"\n") {
			t.Errorf("init did not write %s:\n%s", p, out)
		}
	}
	wf := filepath.Join(dir, ".github", "workflows")
	// The project's own workflows, beside them.
	for _, name := range []string{"ci.yml", "release.yml"} {
		data, err := os.ReadFile(filepath.Join("..", ".github", "workflows", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(wf, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The per-source workflow of init --sources, beside them too.
	srcDir := filepath.Join(t.TempDir(), "sources")
	out = gitalogInit(t, srcDir, "--sources", "eu,onprem,us-west_2")
	if !strings.Contains(out, "  wrote "+examples.SyncWorkflowPath+"\n") {
		t.Errorf("init --sources did not write %s:\n%s", examples.SyncWorkflowPath, out)
	}
	for _, p := range []string{examples.SyncWorkflowPath, examples.ReviewWorkflowPath} {
		data, err := os.ReadFile(filepath.Join(srcDir, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(wf, strings.TrimSuffix(path.Base(p), ".yml")+"-sources.yml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := []string{
		filepath.Join(wf, "ci.yml"),
		filepath.Join(wf, "release.yml"),
		filepath.Join(wf, "gitalog-review.yml"),
		filepath.Join(wf, "gitalog-sync.yml"),
		filepath.Join(wf, "gitalog-sync-sources.yml"),
		filepath.Join(wf, "gitalog-review-sources.yml"),
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := installActionlint(t, ctx, goBin)
	cmd := exec.CommandContext(ctx, bin, append([]string{"-no-color"}, files...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); ok && stdout.Len() > 0 {
			t.Fatalf("actionlint found problems:\n%s", stdout.String())
		}
		t.Fatalf("running actionlint: %v\n%s%s", err, stdout.String(), stderr.String())
	}
}

// requireActionlint names the variable that makes a missing actionlint a
// failure instead of a skip; .ci/run sets it, so CI always lints.
const requireActionlint = "GITALOG_REQUIRE_ACTIONLINT"

// installActionlint builds the pinned actionlint into a temporary GOBIN
// and returns its path. Getting it needs the module proxy (or the module
// cache): when that fails (offline, GOPROXY=off, a GOFLAGS the install
// refuses) the test is skipped with go's reason, unless requireActionlint
// is set. A failure of actionlint itself, once built, is never skipped.
func installActionlint(t *testing.T, ctx context.Context, goBin string) string {
	t.Helper()
	gobin := t.TempDir()
	cmd := exec.CommandContext(ctx, goBin, "install", actionlint)
	cmd.Dir = gobin // outside this module, so that its go.mod plays no part
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("cannot get %s (the module proxy or cache is needed): %v: %s", actionlint, err, bytes.TrimSpace(out))
		if os.Getenv(requireActionlint) != "" {
			t.Fatalf("%s; %s is set, so this is a failure", msg, requireActionlint)
		}
		t.Skipf("%s; set %s=1 to make this a failure", msg, requireActionlint)
	}
	return filepath.Join(gobin, "actionlint")
}

type workflow struct {
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Concurrency map[string]any    `yaml:"concurrency"`
	Jobs        map[string]struct {
		Strategy struct {
			FailFast *bool `yaml:"fail-fast"`
			Matrix   struct {
				Include []map[string]string `yaml:"include"`
			} `yaml:"matrix"`
		} `yaml:"strategy"`
		Concurrency map[string]any `yaml:"concurrency"`
		Steps       []struct {
			Name string            `yaml:"name"`
			If   string            `yaml:"if"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]any    `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func loadWorkflow(t *testing.T, path string) (workflow, string) {
	t.Helper()
	data := examples.Recipes()[path]
	var w workflow
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return w, string(data)
}

// No run: script interpolates an expression: values reach scripts through
// env, so that nothing from an event can inject shell code.
func checkNoInterpolatedRun(t *testing.T, path string, w workflow) {
	t.Helper()
	for name, j := range w.Jobs {
		for i, s := range j.Steps {
			if strings.Contains(s.Run, "${{") {
				t.Errorf("%s: job %s step %d interpolates an expression in run: %q", path, name, i, s.Run)
			}
		}
	}
}

func TestSyncWorkflow(t *testing.T) {
	w, text := loadWorkflow(t, examples.SyncWorkflowPath)
	checkNoInterpolatedRun(t, examples.SyncWorkflowPath, w)
	if _, ok := w.On["schedule"]; !ok {
		t.Error("no schedule trigger")
	}
	if _, ok := w.On["workflow_dispatch"]; !ok {
		t.Error("no workflow_dispatch trigger")
	}
	if w.Permissions["contents"] != "write" {
		t.Errorf("permissions %v, want contents: write", w.Permissions)
	}
	if w.Concurrency["group"] == nil || w.Concurrency["cancel-in-progress"] != false {
		t.Errorf("concurrency %v: want a group that queues runs", w.Concurrency)
	}
	// No checkout of the catalog's files: a bare clone, synced in place
	// (TestSyncWorkflowSteps runs it), by the released binary.
	var clone, sync bool
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			switch {
			case strings.HasPrefix(s.Uses, "actions/checkout@v"):
				t.Errorf("the sync job checks out the catalog's files; it needs a bare clone only")
			case strings.Contains(s.Run, "clone --bare") && strings.Contains(s.Run, "catalog.git"):
				clone = s.Env["GITHUB_TOKEN"] == "${{ github.token }}"
			case strings.HasPrefix(s.Uses, "actions/setup-go@v") || strings.Contains(s.Run, "go install"):
				t.Errorf("step %q builds gitalog from source instead of using the action", s.Name)
			case s.Uses == action:
				cmd, _ := s.With["command"].(string)
				sync = strings.HasPrefix(cmd, "sync --dir catalog.git --push ") && s.Env["SENTRY_AUTH_TOKEN"] == "${{ secrets.SENTRY_AUTH_TOKEN }}" &&
					s.Env["SENTRY_ORG"] == "${{ vars.SENTRY_ORG }}" && s.Env["GITHUB_TOKEN"] != ""
			}
		}
	}
	if !clone || !sync {
		t.Errorf("bare clone with the token %v, %s with command sync --dir catalog.git --push and the secrets %v", clone, action, sync)
	}
	for _, s := range []string{"gitalog sync --dir catalog.git --branch gitalog/sync --push", "gh pr create"} {
		if !strings.Contains(text, s) {
			t.Errorf("the pull-request alternative lacks %q", s)
		}
	}
}

// The per-source sync workflow: a matrix over the sources that lets the
// others run when one fails, one concurrency group per source that
// queues (never cancels) a run, each job syncing its own source with its
// own secret only, from a bare clone, and pushing to the one branch.
func TestSourcesWorkflow(t *testing.T) {
	rs, err := scaffold.SourcesRecipes([]string{"eu", "onprem", "us-west_2"})
	if err != nil {
		t.Fatal(err)
	}
	text := string(rs[examples.SyncWorkflowPath])
	var w workflow
	if err := yaml.Unmarshal([]byte(text), &w); err != nil {
		t.Fatal(err)
	}
	checkNoInterpolatedRun(t, "sources workflow", w)
	if _, ok := w.On["schedule"]; !ok {
		t.Error("no schedule trigger")
	}
	if w.Permissions["contents"] != "write" || len(w.Permissions) != 1 {
		t.Errorf("permissions %v, want contents: write alone", w.Permissions)
	}
	if w.Concurrency != nil {
		t.Errorf("a workflow-wide concurrency group %v would run one source at a time", w.Concurrency)
	}
	if len(w.Jobs) != 1 {
		t.Fatalf("%d jobs, want the matrix's one", len(w.Jobs))
	}
	for _, j := range w.Jobs {
		if j.Strategy.FailFast == nil || *j.Strategy.FailFast {
			t.Error("want fail-fast: false: a failing source must not cancel the others")
		}
		want := []map[string]string{
			{"source": "eu", "secret": "SENTRY_AUTH_TOKEN_EU"},
			{"source": "onprem", "secret": "SENTRY_AUTH_TOKEN_ONPREM"},
			{"source": "us-west_2", "secret": "SENTRY_AUTH_TOKEN_US_WEST_2"},
		}
		if fmt.Sprint(j.Strategy.Matrix.Include) != fmt.Sprint(want) {
			t.Errorf("matrix include %v, want %v", j.Strategy.Matrix.Include, want)
		}
		if g, _ := j.Concurrency["group"].(string); !strings.Contains(g, "${{ matrix.source }}") || j.Concurrency["cancel-in-progress"] != false {
			t.Errorf("job concurrency %v: want a group per source that queues runs", j.Concurrency)
		}
		var clone, sync bool
		for _, s := range j.Steps {
			for k, v := range s.Env {
				if strings.Contains(v, "secrets") && (k != "SENTRY_AUTH_TOKEN" || v != "${{ secrets[matrix.secret] }}") {
					t.Errorf("step %q gets %s = %s: only the source's own secret may reach a job", s.Name, k, v)
				}
			}
			if strings.Contains(s.Run, "set -x") || strings.Contains(s.Run, "echo \"$SENTRY_AUTH_TOKEN") {
				t.Errorf("step %q may print the token", s.Name)
			}
			switch {
			case strings.HasPrefix(s.Uses, "actions/checkout@v"):
				t.Error("the sync job checks out the catalog's files; it needs a bare clone only")
			case strings.Contains(s.Run, "clone --bare") && strings.Contains(s.Run, "catalog.git"):
				clone = s.Env["GITHUB_TOKEN"] == "${{ github.token }}"
			case s.Uses == action:
				cmd, _ := s.With["command"].(string)
				sync = strings.HasPrefix(cmd, "sync --dir catalog.git --source ${{ matrix.source }} --push ") &&
					s.Env["SENTRY_AUTH_TOKEN"] == "${{ secrets[matrix.secret] }}" && s.Env["GITHUB_TOKEN"] != "" && !strings.Contains(cmd, "--branch")
			}
		}
		if !clone || !sync {
			t.Errorf("bare clone with the token %v, %s with sync --source ${{ matrix.source }} --push and the source's secret %v", clone, action, sync)
		}
	}
	for _, s := range []string{"SENTRY_AUTH_TOKEN_EU", "SENTRY_AUTH_TOKEN_ONPREM", "SENTRY_AUTH_TOKEN_US_WEST_2"} {
		if strings.Count(text, s) != 2 { // the header's list of secrets and the matrix
			t.Errorf("%s is named %d times, want in the header and the matrix", s, strings.Count(text, s))
		}
	}
}

// Bad source names never reach a recipe.
func TestSourcesRecipesRefuseBadNames(t *testing.T) {
	for _, names := range [][]string{nil, {"EU"}, {"eu", "eu"}, {"a-b", "a_b"}, {"-eu"}, {"eu;rm"}, {"eu onprem"}, {"${{ secrets.X }}"}, {strings.Repeat("a", 64)}} {
		if _, err := scaffold.SourcesRecipes(names); err == nil {
			t.Errorf("SourcesRecipes(%q) gave no error", names)
		}
		if _, err := scaffold.SourcesConfig(names); err == nil {
			t.Errorf("SourcesConfig(%q) gave no error", names)
		}
	}
	if _, err := scaffold.SourcesRecipes([]string{strings.Repeat("a", 63), "0", "a_b-c"}); err != nil {
		t.Error(err)
	}
}

func TestReviewWorkflow(t *testing.T) {
	w, _ := loadWorkflow(t, examples.ReviewWorkflowPath)
	checkNoInterpolatedRun(t, examples.ReviewWorkflowPath, w)
	pr, ok := w.On["pull_request"].(map[string]any)
	if !ok {
		t.Fatalf("on: %v, want pull_request with paths", w.On)
	}
	paths, _ := pr["paths"].([]any)
	if len(paths) != 3 || paths[0] != "catalog/**" || paths[1] != "blueprints/**" || paths[2] != "gitalog.yaml" {
		t.Errorf("paths %v", paths)
	}
	if w.Permissions["pull-requests"] != "write" {
		t.Errorf("permissions %v, want pull-requests: write", w.Permissions)
	}
	var install, validate, diff, comment, plan bool
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "actions/setup-go@v") || strings.Contains(s.Run, "go install") {
				t.Errorf("step %q builds gitalog from source instead of using the action", s.Name)
			}
			install = install || s.Uses == action
			validate = validate || strings.Contains(s.Run, `gitalog validate --base "origin/$BASE_REF"`)
			diff = diff || strings.Contains(s.Run, `gitalog diff --format markdown --base "origin/$BASE_REF" --head-sha "$HEAD_SHA"`) &&
				s.Env["HEAD_SHA"] == "${{ github.event.pull_request.head.sha }}"
			comment = comment || strings.Contains(s.Run, "gh pr comment") && strings.Contains(s.Run, "--edit-last") && strings.Contains(s.Run, "gitalog-plan.md")
			if strings.Contains(s.Run, "gitalog plan --format markdown") {
				plan = s.Env["SENTRY_AUTH_TOKEN"] == "${{ secrets.SENTRY_AUTH_TOKEN }}" && s.Env["SENTRY_ORG"] == "${{ vars.SENTRY_ORG }}" &&
					strings.Contains(s.Env["SENTRY_URL"], "https://sentry.io") && s.If == "${{ !cancelled() }}"
			}
			// Only the plan's step holds the token, and no script prints it.
			for k, v := range s.Env {
				if strings.Contains(v, "secrets.") && (k != "SENTRY_AUTH_TOKEN" || !strings.Contains(s.Run, "gitalog plan")) {
					t.Errorf("step %q gets a secret in %s", s.Name, k)
				}
			}
			if strings.Contains(s.Run, "echo \"$SENTRY_AUTH_TOKEN") || strings.Contains(s.Run, "set -x") {
				t.Errorf("step %q may print the token", s.Name)
			}
		}
	}
	if !install || !validate || !diff || !comment || !plan {
		t.Errorf("install with %s %v, validate %v, diff linking to the head %v, comment %v, plan with the token from secrets %v", action, install, validate, diff, comment, plan)
	}
	// One limit for the comment: the workflow's is gitalog's.
	m := regexp.MustCompile(`(?m)^limit=(\d+)$`).FindStringSubmatch(stepScript(t, "Comment"))
	if m == nil || m[1] != strconv.Itoa(review.CommentLimit) {
		t.Errorf("the Comment step's limit %v, want limit=%d (review.CommentLimit)", m, review.CommentLimit)
	}
	if n := strings.Count(stepScript(t, "Comment"), "60000"); n != 1 {
		t.Errorf("the Comment step spells the limit %d times, want once", n)
	}
}

// The Jenkinsfile's text checks, on the one-sync recipe and on the
// per-source one (one parallel stage per source).
// The review workflow of a catalog of sources: the plan step alone gets
// secrets, each source's own token, and each source's url is pinned by a
// variable (a named source reads SENTRY_URL_<NAME> before its url in the
// pull request's gitalog.yaml); no SENTRY_AUTH_TOKEN, the fallback that a
// source the pull request adds would read.
func TestSourcesReviewWorkflow(t *testing.T) {
	rs, err := scaffold.SourcesRecipes([]string{"eu", "us-west_2"})
	if err != nil {
		t.Fatal(err)
	}
	text := string(rs[examples.ReviewWorkflowPath])
	var w workflow
	if err := yaml.Unmarshal([]byte(text), &w); err != nil {
		t.Fatal(err)
	}
	checkNoInterpolatedRun(t, "sources review workflow", w)
	want := map[string]string{
		"BASE_REF":                    "${{ github.base_ref }}",
		"SENTRY_AUTH_TOKEN_EU":        "${{ secrets.SENTRY_AUTH_TOKEN_EU }}",
		"SENTRY_URL_EU":               "${{ vars.SENTRY_URL_EU || 'https://sentry.io' }}",
		"SENTRY_AUTH_TOKEN_US_WEST_2": "${{ secrets.SENTRY_AUTH_TOKEN_US_WEST_2 }}",
		"SENTRY_URL_US_WEST_2":        "${{ vars.SENTRY_URL_US_WEST_2 || 'https://sentry.io' }}",
	}
	var plan bool
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if s.Name == "Plan" {
				plan = true
				if fmt.Sprint(s.Env) != fmt.Sprint(want) {
					t.Errorf("the plan's env %v, want %v", s.Env, want)
				}
				if !strings.Contains(s.Run, `if [ -z "$SENTRY_AUTH_TOKEN_EU$SENTRY_AUTH_TOKEN_US_WEST_2" ]; then`) {
					t.Error("the plan is not skipped when no source's secret is there")
				}
				continue
			}
			for k, v := range s.Env {
				if strings.Contains(v, "secrets.") {
					t.Errorf("step %q gets a secret in %s", s.Name, k)
				}
			}
		}
	}
	if !plan {
		t.Error("no Plan step")
	}
	if strings.Contains(text, "SENTRY_AUTH_TOKEN:") || strings.Contains(text, "SENTRY_ORG") || strings.Contains(text, "$SENTRY_AUTH_TOKEN\"") {
		t.Error("the sources review workflow still has the one-sync token or org")
	}
}

func TestJenkinsfile(t *testing.T) {
	common := []string{
		"pipeline {",
		"agent any",
		"triggers {",
		"cron('H * * * *')",
		"options {",
		"disableConcurrentBuilds()",
		"withCredentials([",
		"usernamePassword(credentialsId: 'git-push', usernameVariable: 'GIT_USERNAME', passwordVariable: 'GIT_TOKEN')",
		"sshagent(credentials: [",
		"skipDefaultCheckout()",
		"GITALOG_VERSION = ",
		"https://github.com/gitalog/gitalog/releases/download/$version",
		`gitalog_${version#v}_${os}_${arch}.tar.gz`,
		"checksums.txt",
		`if [ -z "$want" ] || [ "$got" != "$want" ]; then`,
	}
	sources, err := scaffold.SourcesRecipes([]string{"eu", "onprem"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"Jenkinsfile", string(examples.Recipes()[examples.JenkinsfilePath]), []string{
			"string(credentialsId: 'sentry-auth-token', variable: 'SENTRY_AUTH_TOKEN')",
			"SENTRY_ORG = ",
			`clone --bare --quiet "$CATALOG_URL" catalog.git`,
			`gitalog" sync --dir catalog.git --branch "$CATALOG_BRANCH" --push`,
		}},
		{"sources Jenkinsfile", string(sources[examples.JenkinsfilePath]), []string{
			"failFast false",
			"parallel {",
			"stage('eu') {",
			"stage('onprem') {",
			"string(credentialsId: 'sentry-auth-token-eu', variable: 'SENTRY_AUTH_TOKEN_EU')",
			"string(credentialsId: 'sentry-auth-token-onprem', variable: 'SENTRY_AUTH_TOKEN_ONPREM')",
			`clone --bare --quiet "$CATALOG_URL" catalog-eu.git`,
			`clone --bare --quiet "$CATALOG_URL" catalog-onprem.git`,
			`gitalog" sync --dir catalog-eu.git --source eu --branch "$CATALOG_BRANCH" --push`,
			`gitalog" sync --dir catalog-onprem.git --source onprem --branch "$CATALOG_BRANCH" --push`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range append(common, tc.want...) {
				if !strings.Contains(tc.text, s) {
					t.Errorf("%s lacks %q", tc.name, s)
				}
			}
			checkJenkinsfile(t, tc.text)
		})
	}
	// Every stage of the per-source one pushes to the one branch, with
	// its own source's credential and nothing else's.
	text := string(sources[examples.JenkinsfilePath])
	if n := strings.Count(text, `--branch "$CATALOG_BRANCH" --push`); n != 2+1 { // and the ssh comment's
		t.Errorf("%d syncs push to $CATALOG_BRANCH, want one per source", n)
	}
	if strings.Contains(text, "SENTRY_ORG") || strings.Contains(text, "'SENTRY_AUTH_TOKEN'") {
		t.Error("the per-source Jenkinsfile sets SENTRY_ORG or the unsuffixed token, which named sources do not read")
	}
}

// checkJenkinsfile is what can be checked of a Jenkinsfile without
// Jenkins: no build from source, and brackets that balance.
func checkJenkinsfile(t *testing.T, text string) {
	t.Helper()
	if strings.Contains(text, "go install") {
		t.Error("the Jenkinsfile builds gitalog from source")
	}
	// Brackets balance outside comments and strings, a cheap guard
	// against a recipe that Jenkins would fail to parse.
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inScript := false // a ''' string: a shell script, not Groovy
	for n, line := range strings.Split(text, "\n") {
		if c := strings.Count(line, "'''"); c%2 == 1 {
			if !inScript {
				line = line[:strings.Index(line, "'''")]
			}
			inScript = !inScript
			if !inScript {
				continue
			}
		} else if inScript {
			continue
		}
		var quote rune
		rs := []rune(line)
		for i := 0; i < len(rs); i++ {
			c := rs[i]
			switch {
			case quote != 0:
				if c == '\\' {
					i++
				} else if c == quote {
					quote = 0
				}
			case c == '/' && i+1 < len(rs) && rs[i+1] == '/':
				i = len(rs)
			case c == '\'' || c == '"':
				quote = c
			case c == '(' || c == '[' || c == '{':
				stack = append(stack, c)
			case pairs[c] != 0:
				if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
					t.Fatalf("Jenkinsfile line %d: unbalanced %q", n+1, c)
				}
				stack = stack[:len(stack)-1]
			}
		}
		if quote != 0 {
			t.Fatalf("Jenkinsfile line %d: unterminated string", n+1)
		}
	}
	if len(stack) != 0 {
		t.Fatalf("Jenkinsfile: %d brackets left open", len(stack))
	}
}

// stepScript is the run: script of the review workflow's step named name.
func stepScript(t *testing.T, name string) string {
	t.Helper()
	w, _ := loadWorkflow(t, examples.ReviewWorkflowPath)
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if s.Name == name {
				return s.Run
			}
		}
	}
	t.Fatalf("the review workflow has no step %q", name)
	return ""
}

// TestReviewPlanStep runs the review workflow's Plan step as Actions runs
// it (bash -eo pipefail), with a gitalog built from this module and a fake
// Sentry: no plan while the config is unchanged; a note, not a failure,
// when the secret is missing (a fork's pull request); the plan's markdown
// for the comment and the job summary, without the token, when it is set;
// a failed step that says so for a broken config.
func TestReviewPlanStep(t *testing.T) {
	bash, bin := buildGitalog(t)
	script := stepScript(t, "Plan")
	dir := filepath.Join(t.TempDir(), "catalog")
	gitalogInit(t, dir)
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("update-ref", "refs/remotes/origin/base", "HEAD")
	data := sentrytest.Demo()
	srv := sentrytest.NewServer(data)
	defer srv.Close()
	type result struct {
		out, plan, summary string
		err                error
	}
	run := func(token string) result {
		t.Helper()
		tmp := t.TempDir()
		summary := filepath.Join(tmp, "summary.md")
		cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"RUNNER_TEMP="+tmp, "GITHUB_STEP_SUMMARY="+summary, "BASE_REF=base", "GITHUB_ACTIONS=true",
			"SENTRY_AUTH_TOKEN="+token, "SENTRY_ORG="+data.OrgSlug(), "SENTRY_URL="+srv.URL, "CI=true")
		out, err := cmd.CombinedOutput()
		plan, _ := os.ReadFile(filepath.Join(tmp, "gitalog-plan.md"))
		sum, _ := os.ReadFile(summary)
		return result{string(out), string(plan), string(sum), err}
	}

	r := run(sentrytest.Token)
	if r.err != nil || r.plan != "" || r.summary != "" || !strings.Contains(r.out, "no plan") {
		t.Fatalf("config unchanged: %v, plan %q, summary %q, output %s", r.err, r.plan, r.summary, r.out)
	}

	cfg := filepath.Join(dir, "gitalog.yaml")
	data0, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(data0), "title: .title\n", `title: ("[" + .shortId + "] " + .title)`+"\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	git("commit", "-qam", "retitle issues")

	r = run("")
	if r.err != nil || !strings.Contains(r.plan, "gitalog plan skipped") || !strings.Contains(r.summary, "gitalog plan skipped") || strings.Contains(r.plan, "### gitalog plan") {
		t.Fatalf("no secret: %v, plan %q, summary %q, output %s", r.err, r.plan, r.summary, r.out)
	}

	r = run(sentrytest.Token)
	if r.err != nil || !strings.Contains(r.plan, "### gitalog plan") || !strings.Contains(r.summary, "### gitalog plan") {
		t.Fatalf("with the secret: %v, plan %q, summary %q, output %s", r.err, r.plan, r.summary, r.out)
	}
	if !strings.Contains(r.plan, "| `sentryIssue` | 29 | 0 | 0 | 0 |") || !strings.Contains(r.plan, `"title": "[BACKEND-API-1] `) {
		t.Errorf("the plan does not show the issues with the pull request's titles:\n%s", r.plan)
	}
	for what, s := range map[string]string{"output": r.out, "plan": r.plan, "summary": r.summary} {
		if strings.Contains(s, sentrytest.Token) {
			t.Errorf("the token is in the step's %s", what)
		}
	}
	if st := gitStatus(t, dir); st != "" {
		t.Errorf("the plan left changes:\n%s", st)
	}

	if err := os.WriteFile(cfg, []byte("resources: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("commit", "-qam", "break the config")
	r = run(sentrytest.Token)
	if r.err == nil || !strings.Contains(r.plan, "gitalog plan failed") || !strings.Contains(r.out, "gitalog.yaml") {
		t.Fatalf("broken config: %v, plan %q, output %s", r.err, r.plan, r.out)
	}
}

func gitStatus(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command("git", "status", "--porcelain")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestSyncWorkflowSteps runs the sync workflow's clone and sync steps as
// Actions runs them (bash -eo pipefail), against a catalog on a local
// remote (GITHUB_SERVER_URL=file://...) and a fake Sentry, with a gitalog
// built from this module: the bare clone has no files checked out, the
// token is in none of its files, the sync pushes its commit, and the
// remote's history checks out with git fsck.
func TestSyncWorkflowSteps(t *testing.T) {
	bash, bin := buildGitalog(t)
	w, _ := loadWorkflow(t, examples.SyncWorkflowPath)
	var scripts []string
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "clone --bare") {
				scripts = append(scripts, s.Run)
			}
			// The action runs "gitalog <command>" with bash's quoting
			// (TestActionSteps); here the binary built above stands in
			// for the released one.
			if cmd, _ := s.With["command"].(string); s.Uses == action && strings.HasPrefix(cmd, "sync ") {
				scripts = append(scripts, "gitalog "+cmd)
			}
		}
	}
	if len(scripts) != 2 {
		t.Fatalf("want the clone and the sync step, got %d scripts", len(scripts))
	}
	server := t.TempDir()
	remote := filepath.Join(server, "acme", "catalog.git")
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git(server, "init", "-q", "--bare", "-b", "main", remote)
	initCmd := exec.Command(filepath.Join(bin, "gitalog"), "init", "--dir", remote)
	if out, err := initCmd.CombinedOutput(); err != nil {
		t.Fatalf("gitalog init: %v\n%s", err, out)
	}
	before := git(remote, "rev-parse", "main")
	data := sentrytest.Demo()
	srv := sentrytest.NewServer(data)
	defer srv.Close()
	job := t.TempDir()
	const token = "ghs_workflowtesttoken0123456789"
	for _, script := range scripts {
		cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
		cmd.Dir = job
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"GITHUB_SERVER_URL=file://"+server, "GITHUB_REPOSITORY=acme/catalog", "GITHUB_TOKEN="+token,
			"GITHUB_ACTIONS=true", "CI=true", "SENTRY_AUTH_TOKEN="+sentrytest.Token, "SENTRY_ORG="+data.OrgSlug(), "SENTRY_URL="+srv.URL)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	clone := filepath.Join(job, "catalog.git")
	if git(clone, "rev-parse", "--is-bare-repository") != "true" {
		t.Fatal("the clone is not bare")
	}
	if after := git(remote, "rev-parse", "main"); after == before || after != git(clone, "rev-parse", "main") {
		t.Fatalf("the sync's commit was not pushed: remote %s (was %s)", after, before)
	}
	if git(remote, "ls-tree", "-r", "--name-only", "main", "catalog") == "" {
		t.Fatal("the pushed commit has no catalog files")
	}
	git(remote, "fsck", "--strict", "--no-progress")
	entries, err := os.ReadDir(job)
	if err != nil || len(entries) != 1 {
		t.Fatalf("the job's directory holds %v, want the bare clone alone", entries)
	}
	filepath.WalkDir(clone, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(token)) {
				t.Errorf("%s holds the token", path)
			}
		}
		return nil
	})
}

// TestSourcesWorkflowSteps runs the per-source workflow's matrix jobs as
// Actions would, every job at once: each job's clone and sync steps (with
// ${{ matrix.source }} in place, its source's secret as SENTRY_AUTH_TOKEN,
// and SENTRY_URL_<NAME> and SENTRY_ORG_<NAME> pointing it at a fake
// Sentry of its own), against one remote. Every job exits 0, the remote
// holds each source's entities under its own prefix, and git fsck is
// clean.
func TestSourcesWorkflowSteps(t *testing.T) {
	bash, bin := buildGitalog(t)
	gitalog := filepath.Join(bin, "gitalog")
	names := []string{"eu", "onprem", "us-west_2"}
	rs, err := scaffold.SourcesRecipes(names)
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(rs[examples.SyncWorkflowPath], &w); err != nil {
		t.Fatal(err)
	}
	var clone, sync string
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "clone --bare") {
				clone = s.Run
			}
			if cmd, _ := s.With["command"].(string); s.Uses == action && strings.HasPrefix(cmd, "sync ") {
				sync = "gitalog " + cmd
			}
		}
	}
	if clone == "" || sync == "" {
		t.Fatal("want the clone and the sync step")
	}
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	server := t.TempDir()
	remote := filepath.Join(server, "acme", "catalog.git")
	git(server, "init", "-q", "--bare", "-b", "main", remote)
	if out, err := exec.Command(gitalog, "init", "--dir", remote, "--sources", strings.Join(names, ",")).CombinedOutput(); err != nil {
		t.Fatalf("gitalog init --sources: %v\n%s", err, out)
	}
	const token = "ghs_workflowtesttoken0123456789"
	errs := make(chan error, len(names))
	for _, name := range names {
		data := sentrytest.Demo()
		srv := sentrytest.NewServer(data)
		defer srv.Close()
		job := t.TempDir()
		env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"GITHUB_SERVER_URL=file://"+server, "GITHUB_REPOSITORY=acme/catalog", "GITHUB_TOKEN="+token,
			"GITHUB_ACTIONS=true", "CI=true", "SENTRY_AUTH_TOKEN="+sentrytest.Token,
			"SENTRY_URL_"+strings.TrimPrefix(secretenv.SourceVar(secretenv.SentryToken, name), "SENTRY_AUTH_TOKEN_")+"="+srv.URL,
			"SENTRY_ORG_"+strings.TrimPrefix(secretenv.SourceVar(secretenv.SentryToken, name), "SENTRY_AUTH_TOKEN_")+"="+data.OrgSlug())
		go func() {
			for _, script := range []string{clone, strings.ReplaceAll(sync, "${{ matrix.source }}", name)} {
				cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
				cmd.Dir, cmd.Env = job, env
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("job %s: %s: %v\n%s", name, script, err, out)
					return
				}
			}
			if b, err := exec.Command("grep", "-rl", token, filepath.Join(job, "catalog.git")).Output(); err == nil {
				errs <- fmt.Errorf("job %s: the token is in %s", name, b)
				return
			}
			errs <- nil
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	git(remote, "fsck", "--strict", "--no-progress")
	files := git(remote, "ls-tree", "-r", "--name-only", "main", "catalog/sentryProject")
	subjects := git(remote, "log", "--format=%s", "main")
	for _, name := range names {
		if !strings.Contains(files, "catalog/sentryProject/"+name+"-") {
			t.Errorf("the remote has no project of source %s:\n%s", name, files)
		}
		// One commit per job: a redo on top of another job's push
		// replaces the job's commit, it does not add one.
		if n := strings.Count(subjects, "sync("+name+"): "); n != 1 {
			t.Errorf("%d commits of source %s, want 1:\n%s", n, name, subjects)
		}
	}
}

// TestSourcesReviewPlanStep runs the sources review workflow's Plan step
// as Actions runs it, with a gitalog built from this module and a fake
// Sentry per source: a pull request that changes the mapping gets each
// source's plan; one that points a source's url at another host, or adds
// a source there, never sends a token to that host.
func TestSourcesReviewPlanStep(t *testing.T) {
	bash, bin := buildGitalog(t)
	gitalog := filepath.Join(bin, "gitalog")
	rs, err := scaffold.SourcesRecipes([]string{"eu", "onprem"})
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(rs[examples.ReviewWorkflowPath], &w); err != nil {
		t.Fatal(err)
	}
	var script string
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if s.Name == "Plan" {
				script = s.Run
			}
		}
	}
	dir := filepath.Join(t.TempDir(), "catalog")
	if out, err := exec.Command(gitalog, "init", "--dir", dir, "--sources", "eu,onprem").CombinedOutput(); err != nil {
		t.Fatalf("gitalog init --sources: %v\n%s", err, out)
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	cfgPath := filepath.Join(dir, "gitalog.yaml")
	edit := func(old, new string) {
		t.Helper()
		b, err := os.ReadFile(cfgPath)
		if err != nil || !bytes.Contains(b, []byte(old)) {
			t.Fatalf("gitalog.yaml has no %q (%v)", old, err)
		}
		if err := os.WriteFile(cfgPath, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data := sentrytest.Demo()
	edit("    org: eu ", "    org: "+data.OrgSlug()+" ")
	edit("    org: onprem ", "    org: "+data.OrgSlug()+" ")
	git("commit", "-qam", "the organizations")
	git("update-ref", "refs/remotes/origin/base", "HEAD")
	eu, onprem := sentrytest.NewServer(data), sentrytest.NewServer(data)
	defer eu.Close()
	defer onprem.Close()
	// Another host, which must never see a token.
	var mu sync.Mutex
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer other.Close()
	run := func() (string, error) {
		tmp := t.TempDir()
		cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"RUNNER_TEMP="+tmp, "GITHUB_STEP_SUMMARY="+filepath.Join(tmp, "summary.md"), "BASE_REF=base", "GITHUB_ACTIONS=true", "CI=true",
			"SENTRY_AUTH_TOKEN_EU="+sentrytest.Token, "SENTRY_URL_EU="+eu.URL,
			"SENTRY_AUTH_TOKEN_ONPREM="+sentrytest.Token, "SENTRY_URL_ONPREM="+onprem.URL)
		out, err := cmd.CombinedOutput()
		plan, _ := os.ReadFile(filepath.Join(tmp, "gitalog-plan.md"))
		if bytes.Contains(out, []byte(sentrytest.Token)) || bytes.Contains(plan, []byte(sentrytest.Token)) {
			t.Error("the token is in the step's output or plan")
		}
		return string(out) + string(plan), err
	}

	edit("          title: .title\n", `          title: ("[" + .shortId + "] " + .title)`+"\n")
	git("commit", "-qam", "retitle issues")
	out, err := run()
	if err != nil || !strings.Contains(out, "gitalog plan") || !strings.Contains(out, "eu-") || !strings.Contains(out, "onprem-") {
		t.Fatalf("a mapping change: %v\n%s", err, out)
	}

	// The pull request points eu at another host: the variable wins.
	edit("    url: https://sentry.io # your Sentry", "    url: "+other.URL+" # your Sentry")
	git("commit", "-qam", "eu elsewhere")
	if out, err := run(); err != nil {
		t.Fatalf("eu's url changed: %v\n%s", err, out)
	}
	// It adds a source there: that source has no token to send.
	b, _ := os.ReadFile(cfgPath)
	b = bytes.Replace(b, []byte("sources:\n"), []byte("sources:\n  - name: evil\n    url: "+other.URL+"\n    org: "+data.OrgSlug()+"\n"), 1)
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	git("commit", "-qam", "a source elsewhere")
	run() // it may fail (a source without a token); it must not leak
	mu.Lock()
	defer mu.Unlock()
	for _, a := range seen {
		if strings.Contains(a, sentrytest.Token) {
			t.Fatalf("the other host got the token (%d requests)", len(seen))
		}
	}
}

// TestReviewPlanStepKeepsTheTokenHome: the one-sync review workflow pins
// SENTRY_URL so that a pull request's gitalog.yaml cannot send the
// SENTRY_AUTH_TOKEN secret to another host. A named source does not read
// SENTRY_URL, and reads SENTRY_AUTH_TOKEN as its fallback: a pull request
// that adds sources: with a url of its own must still not get the token
// sent there.
func TestReviewPlanStepKeepsTheTokenHome(t *testing.T) {
	bash, bin := buildGitalog(t)
	script := stepScript(t, "Plan")
	dir := filepath.Join(t.TempDir(), "catalog")
	gitalogInit(t, dir)
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("update-ref", "refs/remotes/origin/base", "HEAD")
	data := sentrytest.Demo()
	srv := sentrytest.NewServer(data)
	defer srv.Close()
	var mu sync.Mutex
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer other.Close()
	cfgPath := filepath.Join(dir, "gitalog.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b = append([]byte("sources:\n  - name: eu\n    url: "+other.URL+"\n    org: "+data.OrgSlug()+"\n"), b...)
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	git("commit", "-qam", "a source elsewhere")
	tmp := t.TempDir()
	cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"RUNNER_TEMP="+tmp, "GITHUB_STEP_SUMMARY="+filepath.Join(tmp, "summary.md"), "BASE_REF=base", "GITHUB_ACTIONS=true", "CI=true",
		"SENTRY_AUTH_TOKEN="+sentrytest.Token, "SENTRY_ORG="+data.OrgSlug(), "SENTRY_URL="+srv.URL)
	out, _ := cmd.CombinedOutput() // it may fail; it must not leak
	mu.Lock()
	defer mu.Unlock()
	for _, a := range seen {
		if strings.Contains(a, sentrytest.Token) {
			t.Fatalf("a pull request's source sent SENTRY_AUTH_TOKEN to %s, not to the pinned SENTRY_URL; the step said:\n%s", other.URL, out)
		}
	}
}

// TestSourcesJenkinsfileStages runs the shell steps of the per-source
// Jenkinsfile's parallel stages as Jenkins would, all stages at once in
// one workspace, with the Groovy strings unescaped, a gitalog built from
// this module as $GITALOG_BIN/gitalog, the credentials bound to the
// variables the stages name, and a fake Sentry per source: every stage
// exits 0, and the remote's branch holds each source's projects.
func TestSourcesJenkinsfileStages(t *testing.T) {
	bash, bin := buildGitalog(t)
	gitalog := filepath.Join(bin, "gitalog")
	names := []string{"eu", "onprem"}
	rs, err := scaffold.SourcesRecipes(names)
	if err != nil {
		t.Fatal(err)
	}
	stages := jenkinsStages(t, string(rs[examples.JenkinsfilePath]), names)
	server := t.TempDir()
	remote := filepath.Join(server, "catalog.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", remote).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	if out, err := exec.Command(gitalog, "init", "--dir", remote, "--sources", strings.Join(names, ",")).CombinedOutput(); err != nil {
		t.Fatalf("gitalog init --sources: %v\n%s", err, out)
	}
	workspace := t.TempDir()
	errs := make(chan error, len(names))
	for _, name := range names {
		data := sentrytest.Demo()
		srv := sentrytest.NewServer(data)
		defer srv.Close()
		v := strings.TrimPrefix(secretenv.SourceVar(secretenv.SentryToken, name), "SENTRY_AUTH_TOKEN_")
		env := append(os.Environ(), "CATALOG_URL=file://"+remote, "CATALOG_BRANCH=main", "GITALOG_BIN="+bin,
			"GIT_USERNAME=jenkins", "GIT_TOKEN=git_jenkinstesttoken0123456789", "CI=true",
			secretenv.SourceVar(secretenv.SentryToken, name)+"="+sentrytest.Token, "SENTRY_URL_"+v+"="+srv.URL, "SENTRY_ORG_"+v+"="+data.OrgSlug())
		go func() {
			for _, script := range stages[name] {
				cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
				cmd.Dir, cmd.Env = workspace, env
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("stage %s: %s: %v\n%s", name, script, err, out)
					return
				}
			}
			errs <- nil
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	cmd := exec.Command("git", "ls-tree", "-r", "--name-only", "main", "catalog/sentryProject")
	cmd.Dir = remote
	files, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !strings.Contains(string(files), "catalog/sentryProject/"+name+"-") {
			t.Errorf("the remote has no project of source %s:\n%s", name, files)
		}
	}
}

// jenkinsStages is, for each source, the shell scripts of its stage (its
// sh steps, in order), as Groovy passes them to sh: '...' and ”'...”'
// strings, with \\ and \' unescaped.
func jenkinsStages(t *testing.T, text string, names []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	cur := ""
	unescape := strings.NewReplacer(`\\`, `\`, `\'`, `'`)
	for _, line := range strings.Split(text, "\n") {
		l := strings.TrimSpace(line)
		for _, n := range names {
			if l == "stage('"+n+"') {" {
				cur = n
			}
		}
		if cur == "" || strings.HasPrefix(l, "//") {
			continue
		}
		switch {
		case strings.HasPrefix(l, "sh '''") && strings.HasSuffix(l, "'''") && len(l) > len("sh ''''''"):
			out[cur] = append(out[cur], unescape.Replace(l[len("sh '''"):len(l)-3]))
		case strings.HasPrefix(l, "sh '") && strings.HasSuffix(l, "'"):
			out[cur] = append(out[cur], unescape.Replace(l[len("sh '"):len(l)-1]))
		}
	}
	for _, n := range names {
		if len(out[n]) != 3 {
			t.Fatalf("stage %s has %d sh steps, want 3 (remove, clone, sync): %q", n, len(out[n]), out[n])
		}
	}
	return out
}

// buildGitalog builds this module's gitalog into a temporary folder for a
// test that runs workflow steps with bash; it returns bash and the folder.
func buildGitalog(t *testing.T) (bash, bin string) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	bin = t.TempDir()
	build := exec.Command(goBin, "build", "-o", filepath.Join(bin, "gitalog"), "github.com/gitalog/gitalog")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building gitalog: %v\n%s", err, out)
	}
	return bash, bin
}
