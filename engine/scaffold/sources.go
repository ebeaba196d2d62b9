package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/secretenv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	_ "embed"

	"github.com/gitalog/gitalog/blueprints"
	"github.com/gitalog/gitalog/engine/config"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/examples"
	"gopkg.in/yaml.v3"
)

// ParseSources splits a comma-separated list of source names (as
// --sources takes them) and checks each one as gitalog.yaml's sources:
// are checked: the pattern, no name ending in file (SENTRY_AUTH_TOKEN_X_FILE
// is source x's token file), no repeats, and no two names that share a
// token variable ("a-b" and "a_b" would read SENTRY_AUTH_TOKEN_A_B).
func ParseSources(list string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(list, ",") {
		names = append(names, strings.TrimSpace(n))
	}
	return names, CheckSources(names)
}

// CheckSources checks source names as ParseSources does.
func CheckSources(names []string) error {
	if len(names) == 0 {
		return errors.New("no source names")
	}
	seen := map[string]string{}
	for _, n := range names {
		if err := mapping.CheckSourceName(n); err != nil {
			return fmt.Errorf("source %w", err)
		}
		v := secretenv.SourceVar(secretenv.SentryToken, n)
		if other, ok := seen[v]; ok {
			if other == n {
				return fmt.Errorf("source %q is named twice", n)
			}
			return fmt.Errorf("sources %q and %q would both read their token from %s", other, n, v)
		}
		seen[v] = n
	}
	for i, a := range names {
		for _, b := range names[i+1:] {
			if err := mapping.IdentifierClash(a, b); err != nil {
				return fmt.Errorf("sources %w", err)
			}
		}
	}
	return nil
}

// perSource are the edits that make the default mapping's identifiers
// (and the relations pointing at them) unique per source: two Sentry
// organizations both have a project "backend" and an issue "42". Each
// edit must match the default gitalog.yaml exactly as often as n says;
// a default that moved on fails SourcesConfig's test instead of being
// left half-edited.
var perSource = []struct {
	old, new string
	n        int
}{
	{"          identifier: .email\n", "          identifier: $source + \"-\" + .email\n", 1},
	{"          identifier: .slug\n", "          identifier: $source + \"-\" + .slug\n", 2},
	{"          identifier: .id\n", "          identifier: $source + \"-\" + .id\n", 1},
	{
		"            members: if .__members != null then .__members | map(.user.email) | map(select(. != null)) else [] end\n",
		"            members: if .__members != null then .__members | map(.user.email) | map(select(. != null) | $source + \"-\" + .) else [] end\n", 1,
	},
	{"            teams: '[.teams[]?.slug]'\n", "            teams: '[.teams[]?.slug | $source + \"-\" + .]'\n", 1},
	{"            project: .project.slug\n", "            project: $source + \"-\" + .project.slug\n", 1},
	{
		"            assignedTo: if .assignedTo.type == \"user\" then .assignedTo.email else null end\n",
		"            assignedTo: if .assignedTo.type == \"user\" then $source + \"-\" + .assignedTo.email else null end\n", 1,
	},
	{
		"            assignedTeam: if .assignedTo.type == \"team\" then .assignedTo.name else null end\n",
		"            assignedTeam: if .assignedTo.type == \"team\" then $source + \"-\" + .assignedTo.name else null end\n", 1,
	},
	// Where Sentry is: each source says so itself.
	{
		"# Where Sentry is: set SENTRY_URL (default https://sentry.io) and SENTRY_ORG\n" +
			"# in the environment, or uncomment these. The token never goes here: set\n" +
			"# SENTRY_AUTH_TOKEN (or SENTRY_AUTH_TOKEN_FILE) in the environment.\n" +
			"# sentry:\n" +
			"#   url: https://sentry.io\n" +
			"#   org: my-org\n",
		"# Where Sentry is: each source under sources: below names its own url and\n" +
			"# org (SENTRY_URL_<NAME> and SENTRY_ORG_<NAME> override them; the bare\n" +
			"# SENTRY_URL and SENTRY_ORG do not apply to named sources). The token never\n" +
			"# goes here: set SENTRY_AUTH_TOKEN_<NAME> (upper-cased, '-' as '_'; or\n" +
			"# SENTRY_AUTH_TOKEN_<NAME>_FILE) in the environment; SENTRY_AUTH_TOKEN is\n" +
			"# the fallback. What the sentry: section below sets applies to every source.\n" +
			"# sentry:\n", 1,
	},
}

var sourcesSection = template.Must(template.New("sources").Parse(`
# The Sentry organizations this catalog syncs, each one a source with its
# own token and rate limit: gitalog sync --source NAME syncs one (one CI
# job per source, see the workflow or Jenkinsfile beside this file), plain
# gitalog sync all of them in parallel. Each source creates, updates and
# deletes only the entities it wrote (.gitalog/sources/<name>/). The url and
# org below are placeholders written by gitalog init: edit them. Identifiers
# start with "$source-", so that two organizations' projects, teams, users
# and issues never collide.
sources:
{{- range .}}
  - name: {{.}}
    url: https://sentry.io # your Sentry (e.g. https://de.sentry.io, or a self-hosted one)
    org: {{.}} # the organization's slug
{{- end}}
`))

// SourcesConfig is the default gitalog.yaml for a catalog of several
// sources: the default mapping with a sources: section naming them and
// identifiers prefixed with $source.
func SourcesConfig(names []string) ([]byte, error) {
	if err := CheckSources(names); err != nil {
		return nil, err
	}
	text := string(blueprints.Config())
	for _, e := range perSource {
		if c := strings.Count(text, e.old); c != e.n {
			return nil, fmt.Errorf("the default gitalog.yaml has %d of %q, want %d", c, e.old, e.n)
		}
		text = strings.ReplaceAll(text, e.old, e.new)
	}
	var sec bytes.Buffer
	if err := sourcesSection.Execute(&sec, names); err != nil {
		return nil, err
	}
	const anchor = "\n# Refuse to delete more than this share"
	i := strings.Index(text, anchor)
	if i < 0 {
		return nil, fmt.Errorf("the default gitalog.yaml has no %q", anchor)
	}
	return []byte(text[:i] + sec.String() + text[i:]), nil
}

var (
	//go:embed recipes/gitalog-sync.yml.tmpl
	sourcesWorkflowText string
	//go:embed recipes/Jenkinsfile.tmpl
	sourcesJenkinsfileText string

	// <% %>, since both recipes are full of {{ }} (GitHub's expressions)
	// and [[ ]] would be Groovy.
	sourcesWorkflow    = template.Must(template.New("workflow").Delims("<%", "%>").Parse(sourcesWorkflowText))
	sourcesJenkinsfile = template.Must(template.New("Jenkinsfile").Delims("<%", "%>").Parse(sourcesJenkinsfileText))
)

// recipeSource is one source as the recipe templates see it.
type recipeSource struct {
	Name, Secret, Credential string
}

func recipeSources(names []string) []recipeSource {
	out := make([]recipeSource, len(names))
	for i, n := range names {
		out[i] = recipeSource{Name: n, Secret: secretenv.SourceVar(secretenv.SentryToken, n), Credential: "sentry-auth-token-" + n}
	}
	return out
}

// SourcesRecipes are the CI recipes for a catalog of several sources, by
// their path in the catalog: a sync workflow with a matrix over the
// sources and a Jenkinsfile with a parallel stage per source, each job
// syncing one source and pushing to the same branch, and the review
// workflow with each source's token and url for its plan. They take the
// place of the one-sync recipes (same paths).
func SourcesRecipes(names []string) (map[string][]byte, error) {
	if err := CheckSources(names); err != nil {
		return nil, err
	}
	single := examples.Recipes()
	srcs := recipeSources(names)
	review, err := sourcesReview(string(single[examples.ReviewWorkflowPath]), srcs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", examples.ReviewWorkflowPath, err)
	}
	out := map[string][]byte{examples.ReviewWorkflowPath: []byte(review)}
	clone, err := between(string(single[examples.SyncWorkflowPath]), "      - name: Clone the catalog (bare, no checkout)\n", "      # gitalog's action runs")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", examples.SyncWorkflowPath, err)
	}
	var wf bytes.Buffer
	if err := sourcesWorkflow.Execute(&wf, map[string]any{"Sources": srcs, "Clone": strings.TrimRight(clone, "\n")}); err != nil {
		return nil, err
	}
	out[examples.SyncWorkflowPath] = wf.Bytes()
	install, err := between(string(single[examples.JenkinsfilePath]), "        stage('Install gitalog') {\n", "        stage('Clone the catalog (bare)') {\n")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", examples.JenkinsfilePath, err)
	}
	var jf bytes.Buffer
	if err := sourcesJenkinsfile.Execute(&jf, map[string]any{"Sources": srcs, "Install": strings.TrimRight(install, "\n")}); err != nil {
		return nil, err
	}
	out[examples.JenkinsfilePath] = jf.Bytes()
	return out, nil
}

// sourcesReview is the review workflow for a catalog of sources. Its plan
// runs the pull request's gitalog.yaml, where each source names its own
// url, and a named source does not read SENTRY_URL: given the one-sync
// workflow's SENTRY_AUTH_TOKEN, the plan would send that token (every
// source's fallback) wherever a pull request points a source. So the
// plan step gets each source's own token and pins each source's url with
// SENTRY_URL_<NAME>, a variable the pull request cannot change.
func sourcesReview(text string, srcs []recipeSource) (string, error) {
	var env, header, tokens strings.Builder
	env.WriteString("          # Each source's own token, and its url pinned by a variable: a\n" +
		"          # named source reads SENTRY_URL_<NAME> before the url the pull\n" +
		"          # request's gitalog.yaml gives it, so the plan cannot send a\n" +
		"          # token elsewhere. SENTRY_AUTH_TOKEN is not set, so a source\n" +
		"          # the pull request adds gets no token.\n")
	header.WriteString("# validate and diff need no secret. The plan reads each source's Sentry with\n")
	for _, s := range srcs {
		v := strings.TrimPrefix(s.Secret, "SENTRY_AUTH_TOKEN_")
		fmt.Fprintf(&env, "          %s: ${{ secrets.%s }}\n", s.Secret, s.Secret)
		fmt.Fprintf(&env, "          SENTRY_URL_%s: ${{ vars.SENTRY_URL_%s || 'https://sentry.io' }}\n", v, v)
		fmt.Fprintf(&header, "#   secret   %-34s and variable SENTRY_URL_%s (default https://sentry.io)\n", s.Secret, v)
		tokens.WriteString("$" + s.Secret)
	}
	header.WriteString("# (pull requests from forks get no secrets: the plan is skipped). The org\n" +
		"# comes from gitalog.yaml.\n")
	edits := []struct{ old, new string }{
		{"# validate and diff need no secret. The plan reads Sentry with\n" +
			"#   secret   SENTRY_AUTH_TOKEN  (pull requests from forks get no secrets: the plan is skipped)\n" +
			"#   variable SENTRY_ORG, and SENTRY_URL for self-hosted Sentry\n", header.String()},
		{"          SENTRY_AUTH_TOKEN: ${{ secrets.SENTRY_AUTH_TOKEN }}\n" +
			"          SENTRY_ORG: ${{ vars.SENTRY_ORG }}\n" +
			"          SENTRY_URL: ${{ vars.SENTRY_URL || 'https://sentry.io' }}\n", env.String()},
		{`          if [ -z "$SENTRY_AUTH_TOKEN" ]; then` + "\n", `          if [ -z "` + tokens.String() + `" ]; then` + "\n"},
		{"the SENTRY_AUTH_TOKEN secret is not available to this run", "no source's SENTRY_AUTH_TOKEN_<NAME> secret is available to this run"},
	}
	for _, e := range edits {
		if c := strings.Count(text, e.old); c != 1 {
			return "", fmt.Errorf("%d of %q, want 1", c, e.old)
		}
		text = strings.Replace(text, e.old, e.new, 1)
	}
	if strings.Contains(text, "SENTRY_AUTH_TOKEN }}") || strings.Contains(text, "$SENTRY_AUTH_TOKEN\"") {
		return "", errors.New("the one-sync token is still there")
	}
	return text, nil
}

// between is text from start (included) up to end (excluded): a piece of
// a single-sync recipe the source recipes reuse, so that a fix to one
// (the install's checksum check, the clone's credential helper) is a fix
// to both.
func between(text, start, end string) (string, error) {
	i := strings.Index(text, start)
	if i < 0 {
		return "", fmt.Errorf("no %q", strings.TrimSpace(start))
	}
	j := strings.Index(text[i:], end)
	if j < 0 {
		return "", fmt.Errorf("no %q after %q", strings.TrimSpace(end), strings.TrimSpace(start))
	}
	return text[i : i+j], nil
}

// ConfiguredSources reads the names under sources: in the gitalog.yaml a
// catalog has (the worktree's file, else the committed one), nil when
// there is no such file or section, or when the file is not YAML of that
// shape; dir need not be a repository. It reads the names only: loading
// the config is sync's job.
func ConfiguredSources(dir string) ([]string, error) {
	var data []byte
	p := filepath.Join(dir, config.ConfigFile)
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		data = b
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	default:
		store, err := gitstore.Open(dir)
		if errors.Is(err, gitstore.ErrNotRepository) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		head, err := store.Head()
		if err != nil || head.Commit.IsZero() {
			return nil, err
		}
		snap, err := store.Snapshot(head.Commit)
		if err != nil {
			return nil, err
		}
		data, err = snap.ReadFile(config.ConfigFile)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	var doc struct {
		Sources []struct {
			Name string `yaml:"name"`
		} `yaml:"sources"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		// Not init's to judge: it keeps the file as it is, and the next
		// sync or validate names what is wrong, at its line.
		return nil, nil
	}
	var names []string
	for _, s := range doc.Sources {
		names = append(names, s.Name)
	}
	if len(names) > 0 {
		if err := CheckSources(names); err != nil {
			return nil, fmt.Errorf("%s: sources: %w", config.ConfigFile, err)
		}
	}
	return names, nil
}
