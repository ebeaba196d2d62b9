package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/go-git/go-git/v5/plumbing"
)

// managedEdits warns about files the sync manages that were edited by
// hand: in the worktree (against HEAD), and in the commits between base's
// merge base and HEAD that are not sync commits.
func managedEdits(ctx context.Context, repo *review.Repo, snap *gitstore.Snapshot, src catalogSource, base string) ([]Finding, error) {
	headState, err := catalog.ReadState(snap)
	if err != nil {
		return nil, err
	}
	headLists := headState.Managed
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
		// The managed fields of hand-written files, worktree against HEAD.
		for dir, set := range headState.Fields {
			for _, stem := range set.Stems() {
				p := catalog.Dir + "/" + dir + "/" + stem + catalog.Ext
				data, err := src.read(p)
				if err != nil {
					continue // the person's file is theirs to delete
				}
				old, _ := snap.ReadFile(p)
				for _, f := range set.Of(stem) {
					if fieldValue(data, f) != fieldValue(old, f) {
						out = append(out, fieldFinding(p, dir, f, data, "is edited in the worktree"))
					}
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
	baseState, err := catalog.ReadState(baseSnap)
	if err != nil {
		return nil, err
	}
	baseLists := baseState.Managed
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
	// The managed fields of hand-written files, recorded at either end.
	fields := map[string]map[string]bool{} // path -> field
	for _, st := range []*catalog.State{baseState, headState} {
		for dir, set := range st.Fields {
			for _, stem := range set.Stems() {
				p := catalog.Dir + "/" + dir + "/" + stem + catalog.Ext
				if fields[p] == nil {
					fields[p] = map[string]bool{}
				}
				for _, f := range set.Of(stem) {
					fields[p][f] = true
				}
			}
		}
	}
	decided := map[string]bool{}
	for _, c := range commits {
		bySync := isSyncCommit(c.Message)
		var now, before *gitstore.Snapshot // c's and its first parent's, when needed
		for _, p := range c.Files {
			if len(fields[p]) > 0 {
				if now == nil {
					if now, before, err = commitAndParent(repo.Store, c.Hash); err != nil {
						return nil, err
					}
				}
				data, _ := now.ReadFile(p)
				var old []byte
				if before != nil {
					old, _ = before.ReadFile(p)
				}
				for _, f := range slices.Sorted(maps.Keys(fields[p])) {
					if decided[p+"\t"+f] || fieldValue(data, f) == fieldValue(old, f) {
						continue
					}
					// The newest commit that changed the field decides.
					decided[p+"\t"+f] = true
					if !bySync {
						cur, _ := snap.ReadFile(p)
						dir, _ := catalog.SplitPath(p)
						out = append(out, fieldFinding(p, dir, f, cur, "is edited by commit "+c.Hash.String()[:12]))
					}
				}
			}
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

// commitAndParent are the snapshots of commit h and of its first parent
// (nil for a root commit or one at a shallow clone's boundary, whose
// files are then all new).
func commitAndParent(store *gitstore.Store, h plumbing.Hash) (now, before *gitstore.Snapshot, err error) {
	if now, err = store.Snapshot(h); err != nil {
		return nil, nil, err
	}
	parents, err := store.Parents(h)
	if err != nil || len(parents) == 0 {
		return now, nil, nil
	}
	before, err = store.Snapshot(parents[0])
	if err != nil {
		return now, nil, nil
	}
	return now, before, nil
}

// fieldValue is a managed field ("properties.x", "relations.y") of an
// entity file as canonical JSON; "" when the file, or the field in it, is
// missing, and a marker no value has when the file is not an object.
func fieldValue(data []byte, field string) string {
	if data == nil {
		return ""
	}
	var e map[string]json.RawMessage
	if json.Unmarshal(data, &e) != nil {
		return "\x00invalid"
	}
	section, name := catalog.SplitField(field)
	var m map[string]json.RawMessage
	if json.Unmarshal(e[section], &m) != nil {
		return ""
	}
	raw, ok := m[name]
	if !ok {
		return ""
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "\x00invalid"
	}
	b, _ := json.Marshal(v) // sorted keys, one layout
	return string(b)
}

// fieldFinding warns that a managed field of a hand-written file changed
// by hand; data is the file now, for the line.
func fieldFinding(p, dir, field string, data []byte, what string) Finding {
	section, name := catalog.SplitField(field)
	ptr := "/" + section + "/" + strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
	return Finding{Path: p, Pointer: ptr, Line: pointerLine(data, ptr), Warning: true, Reason: fmt.Sprintf(
		"this field %s, but the sync manages it (it is listed in %s): the next sync will set it again; change the data at the source, or the transform or relation rule, instead",
		what, catalog.FieldsPath(dir))}
}
