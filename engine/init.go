package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/gitalog/gitalog/blueprints"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// InitOptions configure Init.
type InitOptions struct {
	Dir    string
	Branch string // default branch of a new repository ("" = git config or main)
	Author *object.Signature
	// Extra files to write besides the defaults (path -> content), e.g.
	// CI recipes.
	Extra map[string][]byte
}

// InitResult says what Init wrote.
type InitResult struct {
	Dir     string
	Created bool     // a new repository
	Written []string // files added
	Kept    []string // files that existed and were left alone
	Commit  plumbing.Hash
}

// Init makes dir a catalog: a git repository with the default gitalog.yaml
// and blueprints, committed. Existing files are never overwritten.
func Init(ctx context.Context, o InitOptions) (*InitResult, error) {
	res := &InitResult{Dir: o.Dir}
	_, err := gitstore.Open(o.Dir)
	res.Created = errors.Is(err, gitstore.ErrNotRepository)
	if err != nil && !res.Created {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	store, err := gitstore.Init(o.Dir, o.Branch)
	if err != nil {
		return nil, err
	}
	unlock, err := store.Lock(ctx, 30*time.Second)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Like a sync, init finishes what an interrupted one left (a worktree
	// a full disk kept from following its commit), even with nothing to
	// write itself.
	if err := store.Recover(); err != nil {
		return nil, fmt.Errorf("finishing an interrupted sync: %w", err)
	}
	head, err := store.Head()
	if err != nil {
		return nil, err
	}
	snap, err := store.Snapshot(head.Commit)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{ConfigFile: blueprints.Config()}
	for name, data := range blueprints.Files() {
		files[path.Join(BlueprintsDir, name)] = data
	}
	for p, data := range o.Extra {
		files[p] = data
	}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	var changes []gitstore.Change
	for _, p := range names {
		_, inHead := snap.Lookup(p)
		onDisk := false
		if !store.Bare() {
			_, statErr := os.Lstat(filepath.Join(store.Root(), filepath.FromSlash(p)))
			onDisk = statErr == nil
		}
		if inHead || onDisk {
			res.Kept = append(res.Kept, p)
			continue
		}
		changes = append(changes, gitstore.Change{Path: p, Content: files[p]})
		res.Written = append(res.Written, p)
	}
	if len(changes) == 0 {
		return res, nil
	}
	author := store.DefaultSignature()
	if o.Author != nil {
		author = *o.Author
	}
	author.When = time.Now()
	msg := "gitalog init: default config and blueprints\n\nFiles:\n"
	for _, p := range res.Written {
		msg += "  " + p + "\n"
	}
	res.Commit, err = store.Commit(ctx, gitstore.CommitRequest{
		Parent: head.Commit, Ref: head.Ref, Changes: changes, Message: msg, Author: author, Committer: author,
	})
	var wterr *gitstore.WorktreeError
	if errors.As(err, &wterr) {
		return nil, fmt.Errorf("%w: committed %s, but the worktree could not be updated: %w; the next gitalog command that writes brings it up to date",
			ErrPartial, wterr.Commit.String()[:12], wterr.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("committing the defaults: %w", err)
	}
	return res, nil
}
