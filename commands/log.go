package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/urfave/cli/v2"
)

func logCommand(io *IO) *cli.Command {
	return &cli.Command{
		Name:      "log",
		Usage:     "show the history of one entity: the commits that created, changed or deleted it",
		ArgsUsage: "BLUEPRINT IDENTIFIER",
		Description: `Follows HEAD's first parents, newest first, and prints for each commit
that touched catalog/<blueprint>/<identifier>.json its short hash, date and
subject, and the entity's field changes (old → new), as "gitalog diff" does.
In a shallow clone it stops at the clone's boundary and says so.
IDENTIFIER may also be an issue's short id (e.g. WEB-FRONTEND-8) when the
blueprint maps shortId, as the default sentryIssue does; an issue deleted
since is found in the history.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the catalog repository (worktree or bare)"},
		},
		Action: func(c *cli.Context) error {
			for _, a := range c.Args().Slice() {
				if strings.HasPrefix(a, "--") {
					return fmt.Errorf("%s: flags go before BLUEPRINT IDENTIFIER", a)
				}
			}
			if c.NArg() != 2 {
				return fmt.Errorf("want BLUEPRINT IDENTIFIER (see \"gitalog log --help\")")
			}
			key := catalog.Key{Blueprint: c.Args().Get(0), Identifier: c.Args().Get(1)}
			if key.Blueprint == "" || key.Identifier == "" {
				return fmt.Errorf("BLUEPRINT and IDENTIFIER must not be empty")
			}
			repo, err := review.Open(c.String("dir"))
			if err != nil {
				return err
			}
			if id, ok, err := resolveShortID(c.Context, repo, key); err != nil {
				return err
			} else if ok {
				key.Identifier = id
			}
			h, err := repo.Log(c.Context, key)
			if err != nil {
				return err
			}
			return review.RenderLog(io.Out, key, h)
		},
	}
}

// resolveShortID finds the entity of key's blueprint whose shortId
// property is key.Identifier, when no entity has that identifier: at HEAD,
// then in older commits (first parents), reading each file name once, so
// an issue resolved and deleted since is still found. ok is false when
// there is no such entity, or the identifier is a file at HEAD.
func resolveShortID(ctx context.Context, repo *review.Repo, key catalog.Key) (string, bool, error) {
	rev, err := repo.At("")
	if err != nil || rev.Commit.IsZero() {
		return "", false, nil
	}
	dir := catalog.Dir + "/" + catalog.EncodeDir(key.Blueprint)
	if snap, err := repo.Store.Snapshot(rev.Commit); err != nil {
		return "", false, err
	} else if _, ok := snap.Lookup(catalog.Path(key)); ok {
		return "", false, nil
	}
	seen := map[string]bool{}
	for h := rev.Commit; !h.IsZero(); {
		if err := ctx.Err(); err != nil {
			return "", false, err
		}
		snap, err := repo.Store.Snapshot(h)
		if err != nil {
			return "", false, nil // beyond a shallow clone's boundary
		}
		entries, _ := snap.ReadDir(dir)
		var found []string
		for _, e := range entries {
			if seen[e.Name] || !strings.HasSuffix(e.Name, catalog.Ext) {
				continue
			}
			seen[e.Name] = true
			data, err := repo.Store.ReadBlob(e.Hash)
			if err != nil {
				return "", false, err
			}
			var ent struct {
				Identifier string         `json:"identifier"`
				Properties map[string]any `json:"properties"`
			}
			if json.Unmarshal(data, &ent) != nil {
				continue
			}
			if s, _ := ent.Properties["shortId"].(string); s != "" && strings.EqualFold(s, key.Identifier) {
				found = append(found, ent.Identifier)
			}
		}
		switch {
		case len(found) == 1:
			return found[0], true, nil
		case len(found) > 1:
			// Short ids are per organization: with sources, several
			// issues can have one.
			return "", false, fmt.Errorf("%s %s: %d entities have that short id (%s); name one by its identifier", key.Blueprint, key.Identifier, len(found), strings.Join(found, ", "))
		}
		parents, err := repo.Store.Parents(h)
		if err != nil || len(parents) == 0 {
			break
		}
		h = parents[0]
	}
	return "", false, nil
}
