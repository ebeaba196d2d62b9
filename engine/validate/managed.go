package validate

import (
	"bytes"
	"context"
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
)

// managedEdits warns about files the sync manages that were edited by
// hand, and about the fields it manages in hand-written files
// (.gitalog/fields/): in the worktree (against HEAD), and in the commits
// between base's merge base and HEAD that are not sync commits.
func managedEdits(ctx context.Context, repo *review.Repo, snap *gitstore.Snapshot, src catalogSource, base string) ([]Finding, error) {
	// Each source of a catalog with several keeps its own lists.
	scopes, err := catalog.Scopes(snap)
	if err != nil {
		return nil, err
	}
	var out []Finding
	listedBy := map[string]string{} // catalog path -> the first list naming it
	for _, scope := range scopes {
		st, err := catalog.ReadStateOf(snap, scope, nil)
		if err != nil {
			return nil, err
		}
		more, err := managedEditsOf(ctx, repo, snap, st, src, base)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
		if len(scopes) == 1 {
			continue
		}
		for _, dir := range slices.Sorted(maps.Keys(st.Managed)) {
			list := path.Join(scope.ManagedDir(), dir+".txt")
			for i, stem := range st.Managed[dir] {
				p := catalog.Dir + "/" + dir + "/" + stem + catalog.Ext
				if first, ok := listedBy[p]; ok {
					// The sync writes the lists sorted, one name a line.
					out = append(out, Finding{Path: list, Line: i + 1, Reason: fmt.Sprintf("%s is listed here and in %s: two sources claim it, so neither writes or deletes it; remove the line from the list of the source it is not", p, first)})
					continue
				}
				listedBy[p] = list
			}
		}
	}
	return out, nil
}

// managedEditsOf is managedEdits for the scope of headState, the state of
// snap.
func managedEditsOf(ctx context.Context, repo *review.Repo, snap *gitstore.Snapshot, headState *catalog.State, src catalogSource, base string) ([]Finding, error) {
	scope := headState.Scope
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
	fw := fieldWarner{src: src, seen: map[string]bool{}, out: &out, scope: scope}

	if !repo.Store.Bare() {
		// The managed fields of hand-written files, the worktree against
		// HEAD, for the fields HEAD's records name.
		for dir, set := range headState.Fields {
			for _, stem := range set.Stems() {
				p := catalog.Dir + "/" + dir + "/" + stem + catalog.Ext
				data, err := src.read(p)
				if err != nil {
					continue // deleting a hand-written file is its author's call
				}
				old, err := snap.ReadFile(p)
				if err != nil || bytes.Equal(old, data) {
					continue
				}
				for _, ch := range changedFields(old, data, set.Of(stem)) {
					fw.warn(p, dir, ch, "in the worktree")
				}
			}
		}
		// The worktree against HEAD, for the files HEAD's lists name.
		for dir, stems := range headLists {
			list := path.Join(scope.ManagedDir(), dir+".txt")
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
	baseState, err := catalog.ReadStateOf(baseSnap, scope, nil)
	if err != nil {
		return nil, err
	}
	baseLists := baseState.Managed
	// A name a list gained whose file was hand-written at the base (there,
	// and in no list): no sync adds such a name (it reports a conflict),
	// so a hand did, and the next sync would take the file for its own.
	for _, dir := range slices.Sorted(maps.Keys(headLists)) {
		list := path.Join(scope.ManagedDir(), dir+".txt")
		for i, stem := range headLists[dir] {
			if baseLists[dir].Has(stem) || baseState.OwnedElsewhere(dir, stem) {
				continue
			}
			if _, there := baseState.Files[dir].Lookup(stem); !there {
				continue
			}
			out = append(out, Finding{Path: list, Line: i + 1, Warning: true, Reason: fmt.Sprintf("%s is hand-written at %s, and this list gained it since: the next sync takes it for its own (overwrites it, or deletes it when upstream has no such entity); remove the line unless that is meant", catalog.Dir+"/"+dir+"/"+stem+catalog.Ext, base)})
		}
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
	// Managed fields: in the base's record or HEAD's, as for files.
	fields := map[string]map[string][]string{}
	for _, st := range []*catalog.State{baseState, headState} {
		for dir, set := range st.Fields {
			if fields[dir] == nil {
				fields[dir] = map[string][]string{}
			}
			for _, stem := range set.Stems() {
				fields[dir][stem] = append(fields[dir][stem], set.Of(stem)...)
			}
		}
	}
	fieldDecided := map[string]bool{}
	decided := map[string]bool{}
	for _, c := range commits {
		bySync := isSyncCommit(c.Message)
		for _, p := range c.Files {
			dir, stem := catalog.SplitPath(p)
			if fs := fields[dir][stem]; len(fs) > 0 {
				if err := fieldCommit(repo, c, p, fs, func(ch fieldChange) {
					if key := p + "\t" + ch.field; !fieldDecided[key] {
						fieldDecided[key] = true
						if !bySync {
							fw.warn(p, dir, ch, "by commit "+c.Hash.String()[:12])
						}
					}
				}); err != nil {
					return nil, err
				}
			}
		}
		for _, p := range c.Files {
			if decided[p] {
				continue
			}
			decided[p] = true
			dir, stem := catalog.SplitPath(p)
			if bySync || !union[dir][stem] {
				continue
			}
			list := path.Join(scope.ManagedDir(), dir+".txt")
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
	if rest, ok := strings.CutPrefix(subject, "sync("); ok {
		// A source's sync of a catalog with several: "sync(eu): ...".
		name, _, ok := strings.Cut(rest, "): ")
		subject = "sync: "
		if !ok || name == "" {
			subject = ""
		}
	}
	return strings.HasPrefix(subject, "sync: ") && strings.Contains("\n"+body, "\nSource: ")
}

// fieldChange is a managed field whose value a change of its file
// changed, or removed.
type fieldChange struct {
	field   string // section.name
	removed bool
}

// changedFields lists which of fields differ between two versions of an
// entity file. A file that is no entity (invalid JSON, say) changes none:
// the check of the file itself reports it.
func changedFields(old, new []byte, fields []string) []fieldChange {
	b, err := catalog.Decode(new)
	if err != nil {
		return nil
	}
	a, err := catalog.Decode(old)
	if err != nil {
		a = &catalog.Entity{}
	}
	var out []fieldChange
	for _, f := range fields {
		av, aok := fieldValue(a, f)
		bv, bok := fieldValue(b, f)
		if aok == bok && bytes.Equal(compact(av), compact(bv)) {
			continue
		}
		out = append(out, fieldChange{field: f, removed: aok && !bok})
	}
	return out
}

func fieldValue(e *catalog.Entity, field string) (any, bool) {
	section, name := catalog.SplitField(field)
	var m map[string]any
	switch section {
	case "properties":
		m = e.Properties
	case "relations":
		m = e.Relations
	}
	v, ok := m[name]
	return v, ok
}

func compact(v any) []byte {
	var b bytes.Buffer
	catalog.EncodeCompact(&b, v)
	return b.Bytes()
}

// fieldCommit calls fn for each of fields of the file p that commit c
// changed. A file the commit deletes changes none: deleting a
// hand-written file is its author's call.
func fieldCommit(repo *review.Repo, c review.Commit, p string, fields []string, fn func(fieldChange)) error {
	after, err := repo.Store.Snapshot(c.Hash)
	if err != nil {
		return err
	}
	new, err := after.ReadFile(p)
	if err != nil {
		return nil
	}
	before, err := repo.Store.Snapshot(c.Parent)
	if err != nil {
		return err
	}
	old, _ := before.ReadFile(p) // a new file: every field it sets changed
	for _, ch := range changedFields(old, new, fields) {
		fn(ch)
	}
	return nil
}

// fieldWarner words the warnings about managed fields, one per field, at
// the field's line in the file as it is now.
type fieldWarner struct {
	scope catalog.Scope
	src   catalogSource
	seen  map[string]bool
	out   *[]Finding
}

func (w fieldWarner) warn(p, dir string, ch fieldChange, when string) {
	section, name := catalog.SplitField(ch.field)
	ptr := "/" + section + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
	if w.seen[p+ptr] {
		return
	}
	w.seen[p+ptr] = true
	record := w.scope.FieldsPath(dir)
	reason := fmt.Sprintf("this field is edited %s, but the sync manages it (it is listed in %s): the next sync will overwrite it; change the data in its source or the transform in gitalog.yaml instead", when, record)
	if ch.removed {
		reason = fmt.Sprintf("this field is removed %s, but the sync manages it (it is listed in %s): the next sync will write it again while its source has it", when, record)
	}
	line := 0
	if data, err := w.src.read(p); err == nil {
		line = pointerLine(data, ptr)
	}
	*w.out = append(*w.out, Finding{Path: p, Pointer: ptr, Line: line, Reason: reason, Warning: true})
}
