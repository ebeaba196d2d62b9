package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/review"
)

// managedEdits warns about files the sync manages that were edited by
// hand: in the worktree (against HEAD), and in the commits between base's
// merge base and HEAD that are not sync commits.
func managedEdits(ctx context.Context, repo *review.Repo, snap *gitstore.Snapshot, src catalogSource, base string) ([]Finding, error) {
	headLists, err := managedLists(snap)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Finding
	warn := func(p, reason string) {
		if seen[p] {
			return
		}
		seen[p] = true
		out = append(out, Finding{Path: p, Reason: reason, Warning: true})
	}

	if !repo.Store.Bare() {
		// The worktree against HEAD, for the files HEAD's lists name.
		for dir, stems := range headLists {
			list := path.Join(catalog.ManagedDir, dir+".txt")
			for _, stem := range stems {
				p := catalog.Dir + "/" + dir + "/" + stem + catalog.Ext
				data, err := src.read(p)
				head, inHead := snap.Lookup(p)
				switch {
				case errors.Is(err, os.ErrNotExist):
					if inHead {
						warn(p, deletedManaged("is deleted in the worktree", list))
					}
				case err != nil:
					// A folder where the file was, say: say so, not fail.
					warn(p, editedManaged("is changed in the worktree", list))
				case !inHead || (gitstore.BlobHash(data) != head.Hash &&
					gitstore.BlobHash(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))) != head.Hash):
					warn(p, editedManaged("is edited in the worktree", list))
				}
			}
		}
	}
	if base == "" {
		return out, nil
	}

	from, to, err := repo.Range("", "", base)
	if err != nil {
		return nil, fmt.Errorf("--base %s: no merge base with HEAD (is the history fetched? actions/checkout needs fetch-depth: 0): %w", base, err)
	}
	baseSnap, err := repo.Store.Snapshot(from.Commit)
	if err != nil {
		return nil, err
	}
	baseLists, err := managedLists(baseSnap)
	if err != nil {
		return nil, err
	}
	union := map[string]map[string]bool{}
	for _, m := range []map[string]catalog.StemSet{baseLists, headLists} {
		for d, set := range m {
			if union[d] == nil {
				union[d] = map[string]bool{}
			}
			for _, s := range set {
				union[d][s] = true
			}
		}
	}
	// Newest first: the newest commit that touched a path decides whether
	// its content is the sync's or a hand edit.
	commits, err := repo.Commits(ctx, from.Commit, to.Commit)
	if err != nil {
		return nil, fmt.Errorf("--base %s: %w", base, err)
	}
	decided := map[string]bool{}
	for _, c := range commits {
		bySync := isSyncCommit(c.Message)
		for _, p := range c.Files {
			if decided[p] {
				continue
			}
			decided[p] = true
			dir, stem := catalog.SplitPath(p)
			if bySync || !union[dir][stem] {
				continue
			}
			list := path.Join(catalog.ManagedDir, dir+".txt")
			short := c.Hash.String()[:12]
			if _, inHead := snap.Lookup(p); inHead {
				warn(p, editedManaged("is edited by commit "+short, list))
			} else {
				warn(p, deletedManaged("is deleted by commit "+short, list))
			}
		}
	}
	return out, nil
}

func editedManaged(what, list string) string {
	return fmt.Sprintf("this file %s, but the sync manages it (it is listed in %s): the next sync will overwrite it; change the data in Sentry or the mapping in gitalog.yaml instead", what, list)
}

func deletedManaged(what, list string) string {
	return fmt.Sprintf("this file %s, but the sync manages it (it is listed in %s): the next sync will write it again while Sentry has the entity", what, list)
}

// isSyncCommit tells the commits gitalog sync makes (see the sync's commitMessage)
// from others.
func isSyncCommit(msg string) bool {
	subject, body, _ := strings.Cut(msg, "\n")
	return strings.HasPrefix(subject, "sync: ") && strings.Contains("\n"+body, "\nSource: ")
}

// managedLists returns the managed lists a commit holds: per catalog
// folder, the sorted stems of the files the sync wrote there.
func managedLists(snap *gitstore.Snapshot) (map[string]catalog.StemSet, error) {
	st, err := catalog.ReadState(snap)
	if err != nil {
		return nil, err
	}
	return st.Managed, nil
}
