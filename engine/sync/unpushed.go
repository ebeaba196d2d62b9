package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
)

// unpushedFile names the commit a sync made and then failed to push (the
// remote unreachable, a hook refusing it): kept on the branch, it is the
// sync's own and can be redone. If the remote moves before the next sync,
// that sync redoes it on top instead of finding the branch diverged.
const unpushedFile = "gitalog-unpushed"

type unpushed struct {
	ref    plumbing.ReferenceName
	commit plumbing.Hash
}

func unpushedPath(store *gitstore.Store) string { return filepath.Join(store.GitDir(), unpushedFile) }

// markUnpushed records commit as the sync's own until a push lands it.
func markUnpushed(store *gitstore.Store, ref plumbing.ReferenceName, commit plumbing.Hash) error {
	return os.WriteFile(unpushedPath(store), []byte(fmt.Sprintf("%s %s\n", ref, commit)), 0o666)
}

func clearUnpushed(store *gitstore.Store) {
	os.Remove(unpushedPath(store))
}

func readUnpushed(store *gitstore.Store) (unpushed, bool) {
	b, err := os.ReadFile(unpushedPath(store))
	if err != nil {
		return unpushed{}, false
	}
	ref, hx, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !ok || len(hx) != 40 || plumbing.NewHash(hx).String() != hx {
		return unpushed{}, false
	}
	return unpushed{plumbing.ReferenceName(ref), plumbing.NewHash(hx)}, true
}

// redoUnpushed moves a branch that diverged from the remote only by the
// unpushed commit of an earlier sync back onto the remote's head: this
// sync makes that change again, on top. Anything else on the branch
// (a commit made by hand, a sync commit with work on top) is the user's
// to reconcile, and ok is false.
func redoUnpushed(ctx context.Context, store *gitstore.Store, t *syncTarget, local, remoteHead plumbing.Hash) (bool, error) {
	u, ok := readUnpushed(store)
	if !ok || u.ref != t.ref || u.commit != local {
		return false, nil
	}
	parents, err := store.Parents(local)
	if err != nil || len(parents) != 1 {
		return false, err
	}
	if onRemote, err := store.IsAncestor(parents[0], remoteHead); err != nil || !onRemote {
		return false, err
	}
	msg := fmt.Sprintf("gitalog: reset to %s/%s to redo the unpushed sync %s", t.remote, t.branch, local.String()[:12])
	if err := store.MoveRef(ctx, t.ref, local, remoteHead, msg); err != nil {
		if lag := worktreeLag(err, fmt.Sprintf("%s was reset to %s/%s (%s) to redo the unpushed sync %s on top", t.branch, t.remote, t.branch, remoteHead.String()[:12], local.String()[:12])); lag != nil {
			clearUnpushed(store)
			return false, lag
		}
		if errors.Is(err, gitstore.ErrDirty) {
			return false, fmt.Errorf("redoing the unpushed sync commit %s on top of %s/%s: %w", local.String()[:12], t.remote, t.branch, err)
		}
		return false, err
	}
	clearUnpushed(store)
	return true, nil
}
