package commands

import (
	"bufio"
	"fmt"
	"github.com/gitalog/gitalog/engine/jsonx"
	"github.com/gitalog/gitalog/engine/sync"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/dump"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/itchyny/gojq"
	"github.com/urfave/cli/v2"
)

func mapCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:      "map",
		Usage:     "map raw items offline through the resources of one kind; entities come out as JSON lines",
		ArgsUsage: "[FILE|-]",
		Description: `Reads raw items from FILE or standard input: a JSON object, a JSON array of
items, or JSON lines (as "gitalog dump" writes them). Search-rule relations are
printed as their evaluated query, since there is no catalog to resolve them in.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog whose gitalog.yaml maps the items"},
			&cli.StringFlag{Name: "config", Usage: "the mapping config (default <dir>/gitalog.yaml)"},
			&cli.StringFlag{Name: "kind", Required: true, Usage: "the kind of the items (project, issue, team, user, project-tag, issue-tag, ...)"},
			sourceFlag("with sources: in gitalog.yaml, map as this source ($source, its resources; required then)"),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return fmt.Errorf("map takes at most one input file, got %d", c.NArg())
			}
			dir, cfgPath := c.String("dir"), c.String("config")
			if cfgPath == "" {
				cfgPath = filepath.Join(dir, "gitalog.yaml")
			}
			cfg, err := mapping.Load(cfgPath)
			if err != nil {
				return err
			}
			for _, w := range cfg.Warnings {
				logger(c, io).Warn(w)
			}
			switch src := c.String("source"); {
			case src != "":
				if cfg, err = cfg.ForSource(src); err != nil {
					return fmt.Errorf("--source: %w", err)
				}
			case len(cfg.Sources) > 0:
				// $source would be null: identifiers like "-backend".
				return fmt.Errorf("%s has sources:; pass --source NAME to map as one of them", cfgPath)
			}
			if err := sync.RefuseSecretEnv(cfg, io.Getenv, dir, ""); err != nil {
				return err
			}
			kind := c.String("kind")
			var rs []*mapping.Resource
			kinds := map[string]bool{}
			for _, r := range cfg.Resources {
				kinds[r.Kind] = true
				if r.Kind == kind {
					rs = append(rs, r)
				}
			}
			if len(rs) == 0 {
				var ks []string
				for k := range kinds {
					ks = append(ks, k)
				}
				sort.Strings(ks)
				return fmt.Errorf("%s has no resource of kind %q (its kinds: %s)", cfg.File, kind, strings.Join(ks, ", "))
			}
			name, in := "standard input", io.In
			if arg := c.Args().First(); arg != "" && arg != "-" {
				f, err := os.Open(arg)
				if err != nil {
					return err
				}
				defer f.Close()
				name, in = arg, f
			}
			items, err := dump.ReadItems(in)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			w := bufio.NewWriter(io.Out)
			defer w.Flush()
			issues := map[string]int{}
			var order []string
			skipped, stopped := 0, false
			for i, raw := range items {
				// Checked by ReadItems already; decoded here, once.
				it, err := jsonx.Decode(raw)
				if err != nil {
					return fmt.Errorf("%s: item %d: %w", name, i+1, err)
				}
				for _, r := range rs {
					es, iss := r.Map(it)
					for _, is := range iss {
						k := is.String()
						if issues[k] == 0 {
							order = append(order, k)
						}
						issues[k]++
						if is.Skipped {
							skipped++
						}
						stopped = stopped || is.Stopped
					}
					for _, e := range es {
						line, err := gojq.Marshal(entityJSON(e))
						if err != nil {
							return err
						}
						w.Write(line)
						w.WriteByte('\n')
					}
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			for _, k := range order {
				fmt.Fprintf(io.Err, "warning: %s (%d items)\n", k, issues[k])
			}
			return incompleteMap(skipped, stopped)
		},
	}
}

// incompleteMap is the error of a map that left items out or had a
// mapping stopped: a script that checks only the exit code must see it.
func incompleteMap(skipped int, stopped bool) error {
	var why []string
	switch {
	case skipped == 1:
		why = append(why, "1 item skipped")
	case skipped > 1:
		why = append(why, fmt.Sprintf("%d items skipped", skipped))
	}
	if stopped {
		why = append(why, "a jq mapping was stopped by jqMaxSteps, jqTimeout or jqMaxMemory")
	}
	if why == nil {
		return nil
	}
	return &exitCodeError{code: ExitPartial, err: fmt.Errorf("the mapping was incomplete: %s (see the warnings above)", strings.Join(why, "; "))}
}

// entityJSON renders search relations as their queries.
func entityJSON(e *catalog.Entity) map[string]any {
	m := e.ToMap()
	rels := map[string]any{}
	for k, v := range e.Relations {
		if q, ok := v.(*mapping.Query); ok {
			v = q.ToJSON()
		}
		rels[k] = v
	}
	m["relations"] = rels
	return m
}
