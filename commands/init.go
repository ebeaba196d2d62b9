package commands

import (
	"fmt"
	"github.com/gitalog/gitalog/engine/secretenv"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/sentry"

	"github.com/gitalog/gitalog/examples"
	"github.com/urfave/cli/v2"
)

func initCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "make a directory a catalog: a git repository with gitalog.yaml, blueprints/ and CI recipes",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository"},
			&cli.StringFlag{Name: "branch", Usage: "default branch of a new repository (default: git's init.defaultBranch, else main)"},
			&cli.StringFlag{Name: "author", Usage: `commit author "Name <email>" (default: git config, else gitalog)`},
			&cli.StringFlag{Name: "ci", Value: "all", Usage: "CI recipes to write: github (scheduled sync and pull-request review workflows), jenkins (a Jenkinsfile), all, or none"},
			&cli.BoolFlag{Name: "no-ci", Usage: "write no CI recipe (--ci none)"},
			&cli.StringFlag{Name: "sources", Usage: "several Sentry organizations, one CI job each: NAMES, comma-separated (e.g. eu,onprem): gitalog.yaml gets a sources: section and per-source identifiers, the sync recipes a job per source (default: the names under sources: in the catalog's gitalog.yaml, if any)"},
			&cli.BoolFlag{Name: "opslevel", Usage: "write OpsLevel's Sentry integration (extractors and transforms) and its component types instead of Port's mapping"},
		},
		Action: func(c *cli.Context) error {
			author, err := parseAuthor(c.String("author"))
			if err != nil {
				return err
			}
			// CI recipes: a scheduled sync and a pull-request review
			// for GitHub Actions, and a Jenkinsfile (examples/README.md).
			ci := c.String("ci")
			if c.Bool("no-ci") {
				if c.IsSet("ci") && ci != "none" {
					return fmt.Errorf("--no-ci and --ci %s disagree", ci)
				}
				ci = "none"
			}
			src, err := initSourcesOf(c)
			if err != nil {
				return err
			}
			recipes := examples.Recipes()
			switch {
			case src.names != nil:
				if recipes, err = scaffold.SourcesRecipes(src.names); err != nil {
					return err
				}
			case c.Bool("opslevel"):
				recipes = examples.OpsLevelRecipes()
			}
			recipes, err = pickRecipes(recipes, ci)
			if err != nil {
				return err
			}
			res, err := scaffold.Init(c.Context, scaffold.Options{
				Dir: c.String("dir"), Branch: c.String("branch"), Author: author,
				Extra:    recipes,
				OpsLevel: c.Bool("opslevel"),
				Sources:  src.names,
			})
			if err != nil {
				return err
			}
			printInit(io, res, quiet(c), c.Bool("opslevel"), src.names)
			printSourcesNotes(io, res, src)
			return nil
		},
	}
}

// initSources are the sources init writes for: --sources, else those the
// catalog's gitalog.yaml names (which init keeps as it is, so recipes for
// other names would sync sources it does not have).
type initSources struct {
	names      []string // nil: one sync, no sources
	configured []string // under sources: in the catalog's gitalog.yaml
}

func initSourcesOf(c *cli.Context) (initSources, error) {
	var s initSources
	if c.IsSet("sources") {
		if c.Bool("opslevel") {
			return s, fmt.Errorf("--sources and --opslevel: OpsLevel's integration has no default for several sources; add sources: to its gitalog.yaml yourself")
		}
		names, err := scaffold.ParseSources(c.String("sources"))
		if err != nil {
			return s, fmt.Errorf("--sources: %w", err)
		}
		s.names = names
	}
	if c.Bool("opslevel") {
		return s, nil // OpsLevel's recipes are for one sync
	}
	configured, err := scaffold.ConfiguredSources(c.String("dir"))
	if err != nil {
		return s, err
	}
	s.configured = configured
	switch {
	case len(configured) == 0:
	case s.names == nil:
		s.names = configured
	case !slices.Equal(sorted(s.names), sorted(configured)):
		return s, fmt.Errorf("--sources %s: the catalog's gitalog.yaml names the sources %s; init keeps that file, so name the same ones (or leave --sources out)",
			strings.Join(s.names, ","), strings.Join(configured, ","))
	}
	return s, nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// printSourcesNotes says what init could not do for sources because a
// file was there already: it never overwrites one.
func printSourcesNotes(io *IO, res *scaffold.Result, src initSources) {
	if src.names == nil || len(src.configured) > 0 {
		return // no sources, or a catalog of sources already
	}
	for _, p := range res.Kept {
		switch {
		case p == "gitalog.yaml":
			fmt.Fprintf(io.Out, "Note: gitalog.yaml has no sources: section (kept as it is): add one naming %s, as examples/sources/gitalog.yaml does, or the per-source syncs fail.\n", strings.Join(src.names, ", "))
		case p == examples.SyncWorkflowPath || p == examples.JenkinsfilePath:
			fmt.Fprintf(io.Out, "Note: %s was kept: it is not the one-job-per-source recipe; examples/sources/ has that one.\n", p)
		}
	}
}

// printInit lists what init did; quiet leaves the result line only.
func printInit(io *IO, res *scaffold.Result, quiet, opslevel bool, sources []string) {
	if !quiet {
		printInitSteps(io, res)
	}
	if !res.Commit.IsZero() {
		next := "set SENTRY_ORG and SENTRY_AUTH_TOKEN"
		found := ""
		switch {
		case sources != nil:
			next = "edit each source's url and org in gitalog.yaml, set " + sourceTokenVars(sources)
		case !opslevel:
			found, next = foundSentry(io, res.Dir)
		}
		if opslevel {
			next = "put your organization in the URLs of gitalog.yaml, set SENTRY_API_TOKEN"
		}
		if next != "" {
			next += ", then run"
		} else {
			next = "run"
		}
		fmt.Fprintf(io.Out, "Committed %s.%s Next: %s \"gitalog sync --dir %s\".\n", res.Commit.String()[:12], found, next, res.Dir)
	} else {
		fmt.Fprintf(io.Out, "%s is already a catalog; nothing to do.\n", res.Dir)
	}
}

func printInitSteps(io *IO, res *scaffold.Result) {
	if res.Created {
		fmt.Fprintf(io.Out, "Initialized a git repository in %s\n", res.Dir)
	}
	for _, p := range res.Written {
		fmt.Fprintf(io.Out, "  wrote %s\n", p)
	}
	for _, p := range res.Kept {
		fmt.Fprintf(io.Out, "  kept  %s (already there)\n", p)
	}
	for _, p := range slices.Sorted(maps.Keys(res.Replaced)) {
		if slices.Contains(res.Written, p) {
			fmt.Fprintf(io.Out, "  %s leaves out blueprints defined already: %s\n", p, res.Replaced[p])
		} else {
			fmt.Fprintf(io.Out, "  not written: %s (%s)\n", p, res.Replaced[p])
		}
	}
	wroteConfig := slices.Contains(res.Written, "gitalog.yaml")
	for _, p := range slices.Sorted(maps.Keys(res.Lacking)) {
		if wroteConfig {
			fmt.Fprintf(io.Out, "  Note: %s is yours, and no blueprint file defines %s, which the gitalog.yaml written maps: add them to blueprints/ (\"gitalog init\" in an empty folder writes gitalog's), or map only what your blueprints define.\n", p, strings.Join(res.Lacking[p], ", "))
		}
	}
	if wroteConfig && len(res.Replaced) > 0 {
		fmt.Fprintln(io.Out, "  Note: the gitalog.yaml written maps those blueprints as gitalog's defaults define them; if yours differ (Port's do), put your mapping in gitalog.yaml (Port's port-app-config.yaml, or OpsLevel's extract and transform YAML, as it is) and check with \"gitalog plan\".")
	}
	if len(res.Untracked) > 0 {
		fmt.Fprintf(io.Out, "  yours, not committed: %s (commit them, so that history and reviews hold them)\n", strings.Join(res.Untracked, ", "))
	}
	switch res.Gitignore {
	case scaffold.GitignoreIgnored:
		fmt.Fprintln(io.Out, "  kept  .gitignore (it ignores .sentryclirc already)")
	case scaffold.GitignoreAppended:
		fmt.Fprintln(io.Out, "  added .sentryclirc to .gitignore")
	case scaffold.GitignoreWorktree:
		fmt.Fprintln(io.Out, "  added .sentryclirc to .gitignore (not committed: the file has changes of yours)")
	case scaffold.GitignoreLeftAlone:
		fmt.Fprintln(io.Out, "  left  .gitignore alone (deleted in the worktree or not a file): add .sentryclirc to it, sentry-cli may keep a token there")
	}
}

// sourceTokenVars lists the sources' token variables, as "A, B and C".
func sourceTokenVars(names []string) string {
	vars := make([]string, len(names))
	for i, n := range names {
		vars[i] = secretenv.SourceVar(secretenv.SentryToken, n)
	}
	if len(vars) == 1 {
		return vars[0]
	}
	return strings.Join(vars[:len(vars)-1], ", ") + " and " + vars[len(vars)-1]
}

// pickRecipes keeps the CI recipes --ci asks for.
func pickRecipes(all map[string][]byte, ci string) (map[string][]byte, error) {
	keep := map[string]func(string) bool{
		"all":     func(string) bool { return true },
		"none":    func(string) bool { return false },
		"github":  func(p string) bool { return strings.HasPrefix(p, ".github/") },
		"jenkins": func(p string) bool { return path.Base(p) == "Jenkinsfile" },
	}[ci]
	if keep == nil {
		return nil, fmt.Errorf("--ci: want github, jenkins, all or none, got %q", ci)
	}
	out := map[string][]byte{}
	for p, b := range all {
		if keep(p) {
			out[p] = b
		}
	}
	return out, nil
}

// foundSentry says where the Sentry organization and token were found
// (environment, .sentryclirc), as " Found ...." or "", and what is left
// to set. It never prints the token, only where it is.
func foundSentry(io *IO, dir string) (found, set string) {
	s, err := sentry.ResolveSettings(io.Getenv, dir, "", "", "gitalog.yaml")
	if err != nil {
		return "", "set SENTRY_ORG and SENTRY_AUTH_TOKEN"
	}
	var have, missing []string
	if s.Org != "" {
		have = append(have, fmt.Sprintf("organization %s from %s", s.Org, s.OrgFrom))
	} else {
		missing = append(missing, "SENTRY_ORG")
	}
	if s.Token != "" {
		have = append(have, "a token from "+s.TokenFrom)
	} else {
		missing = append(missing, "SENTRY_AUTH_TOKEN")
	}
	if len(have) > 0 {
		found = " Found " + strings.Join(have, " and ") + "."
	}
	if len(missing) > 0 {
		set = "set " + strings.Join(missing, " and ")
	}
	return found, set
}
