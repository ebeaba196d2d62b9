package commands

import (
	"fmt"
	"path"
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
			recipes := examples.Recipes()
			if c.Bool("opslevel") {
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
			})
			if err != nil {
				return err
			}
			printInit(io, res, quiet(c), c.Bool("opslevel"))
			return nil
		},
	}
}

// printInit lists what init did; quiet leaves the result line only.
func printInit(io *IO, res *scaffold.Result, quiet, opslevel bool) {
	if !quiet {
		printInitSteps(io, res)
	}
	if !res.Commit.IsZero() {
		next := "set SENTRY_ORG and SENTRY_AUTH_TOKEN"
		found := ""
		if !opslevel {
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
