package scaffold

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/config"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gitalog/gitalog/blueprints"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/schema"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Options configure Init.
type Options struct {
	Dir    string
	Branch string // default branch of a new repository ("" = git config or main)
	Author *object.Signature
	// Extra files to write besides the defaults (path -> content), e.g.
	// CI recipes.
	Extra map[string][]byte
	// OpsLevel writes OpsLevel's Sentry integration (its extract and
	// transform definitions) and its component types instead of Port's.
	OpsLevel bool
	// Sources names the Sentry organizations of a catalog of several
	// sources: the gitalog.yaml written then has a sources: section
	// naming them (SourcesConfig). The recipes are Extra's business.
	Sources []string
}

// Result says what Init wrote.
type Result struct {
	Dir     string
	Created bool     // a new repository
	Written []string // files added
	Kept    []string // files that existed and were left alone
	// Untracked are the kept files that are not in the commit: the
	// user's, for them to commit.
	Untracked []string
	// Replaced are default blueprint files with blueprints the catalog's
	// blueprints/ defines already (Port's blueprints.json, say), and
	// which: a blueprint defined twice fails a sync, so those are left
	// out of the file, and a file of none else is not written.
	Replaced map[string]string
	// Lacking are, per default blueprint file kept because a file of the
	// user's has its path, the default blueprints no file defines.
	Lacking map[string][]string
	// Gitignore says what became of .sentryclirc in .gitignore.
	Gitignore GitignoreAction
	Commit    plumbing.Hash
}

// GitignoreAction is what Init did to make .gitignore ignore .sentryclirc.
type GitignoreAction int

const (
	GitignoreIgnored   GitignoreAction = iota // it did already; untouched
	GitignoreCreated                          // a new .gitignore, committed
	GitignoreAppended                         // the line added, committed
	GitignoreWorktree                         // the line added to a file with changes of the user's, not committed
	GitignoreLeftAlone                        // deleted from the worktree by the user, or not a file
)

// sentryCLIRC is sentry-cli's settings file. On a developer's machine it
// can hold an auth token, and a catalog is a repository where "git add -A"
// is run: it must never be committed.
const sentryCLIRC = ".sentryclirc"

const gitignoreFile = ".gitignore"

const gitignoreEntry = "# sentry-cli's settings, which can hold an auth token (added by gitalog init)\n" + sentryCLIRC + "\n"

// Init makes dir a catalog: a git repository with the default gitalog.yaml
// and blueprints, committed. Existing files are never overwritten.
func Init(ctx context.Context, o Options) (*Result, error) {
	res := &Result{Dir: o.Dir}
	cfg := blueprints.Config()
	if len(o.Sources) > 0 {
		if o.OpsLevel {
			return nil, errors.New("--sources and --opslevel: OpsLevel's integration has no default for several sources; add sources: to its gitalog.yaml yourself")
		}
		var err error
		if cfg, err = SourcesConfig(o.Sources); err != nil {
			return nil, err
		}
	}
	if o.Branch != "" {
		ref, err := config.BranchRef(o.Branch)
		if err != nil {
			return nil, err
		}
		o.Branch = ref.Short()
	}
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
	// Like a sync, init finishes what an interrupted one left (a worktree
	// a full disk kept from following its commit), even with nothing to
	// write itself.
	unlock, err := store.LockAndRecover(ctx, 30*time.Second)
	if err != nil {
		return nil, err
	}
	defer unlock()
	head, err := store.Head()
	if err != nil {
		return nil, err
	}
	snap, err := store.Snapshot(head.Commit)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{config.ConfigFile: cfg}
	for name, data := range blueprints.Files() {
		files[path.Join(config.BlueprintsDir, name)] = data
	}
	if o.OpsLevel {
		files = blueprints.OpsLevel()
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
	defined := definedBlueprints(store, snap)
	for _, p := range names {
		_, inHead := snap.Lookup(p)
		onDisk := false
		if !store.Bare() {
			_, statErr := os.Lstat(filepath.Join(store.Root(), filepath.FromSlash(p)))
			onDisk = statErr == nil
		}
		if inHead || onDisk {
			res.Kept = append(res.Kept, p)
			if !inHead {
				res.Untracked = append(res.Untracked, p)
			}
			if ids := undefined(p, files[p], defined); len(ids) > 0 {
				if res.Lacking == nil {
					res.Lacking = map[string][]string{}
				}
				res.Lacking[p] = ids
			}
			continue
		}
		if rest, why := withoutDefined(p, files[p], defined); why != "" {
			if res.Replaced == nil {
				res.Replaced = map[string]string{}
			}
			res.Replaced[p] = why
			if rest == nil {
				continue
			}
			files[p] = rest
		}
		changes = append(changes, gitstore.Change{Path: p, Content: files[p]})
		res.Written = append(res.Written, p)
	}
	for _, f := range defined {
		if _, inHead := snap.Lookup(f); !inHead && !slices.Contains(res.Untracked, f) {
			res.Untracked = append(res.Untracked, f)
		}
	}
	sort.Strings(res.Untracked)
	gi, err := ignoreSentryCLIRC(store, snap, res)
	if err != nil {
		return nil, err
	}
	if gi != nil {
		changes = append(changes, gitstore.Change{Path: gitignoreFile, Content: gi})
		if res.Gitignore == GitignoreCreated {
			res.Written = append(res.Written, gitignoreFile)
			sort.Strings(res.Written)
		}
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
	if res.Gitignore == GitignoreAppended {
		msg += "  " + gitignoreFile + " (" + sentryCLIRC + " added)\n"
	}
	res.Commit, err = store.Commit(ctx, gitstore.CommitRequest{
		Parent: head.Commit, Ref: head.Ref, Changes: changes, Message: msg, Author: author, Committer: author,
	})
	var wterr *gitstore.WorktreeError
	if errors.As(err, &wterr) {
		return nil, fmt.Errorf("%w: committed %s, but the worktree could not be updated: %w; the next gitalog command that writes brings it up to date",
			catalog.ErrPartial, wterr.Commit.String()[:12], wterr.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("committing the defaults: %w", err)
	}
	return res, nil
}

// definedBlueprints are the blueprints the catalog's blueprints/ defines
// (in HEAD, and on disk with a worktree): identifier -> file. A file that
// does not parse defines none here: the sync names its error.
func definedBlueprints(store *gitstore.Store, snap *gitstore.Snapshot) map[string]string {
	out := map[string]string{}
	add := func(p string, data []byte) {
		bps, err := schema.Parse(p, data)
		if err != nil {
			return
		}
		for _, b := range bps {
			if _, ok := out[b.Identifier]; !ok {
				out[b.Identifier] = p
			}
		}
	}
	if es, err := snap.ReadDir(config.BlueprintsDir); err == nil {
		for _, e := range es {
			p := path.Join(config.BlueprintsDir, e.Name)
			if strings.HasSuffix(e.Name, ".json") && e.Mode.IsFile() {
				if data, err := snap.ReadFile(p); err == nil {
					add(p, data)
				}
			}
		}
	}
	if !store.Bare() {
		ms, _ := filepath.Glob(filepath.Join(store.Root(), config.BlueprintsDir, "*.json"))
		for _, m := range ms {
			if data, err := os.ReadFile(m); err == nil {
				add(path.Join(config.BlueprintsDir, filepath.Base(m)), data)
			}
		}
	}
	return out
}

// undefined are the blueprints of the default blueprint file p that no
// file of the catalog defines.
func undefined(p string, data []byte, defined map[string]string) []string {
	if path.Dir(p) != config.BlueprintsDir || !strings.HasSuffix(p, ".json") {
		return nil
	}
	bps, err := schema.Parse(p, data)
	if err != nil {
		return nil
	}
	var out []string
	for _, b := range bps {
		if _, ok := defined[b.Identifier]; !ok {
			out = append(out, b.Identifier)
		}
	}
	return out
}

// withoutDefined is the default blueprint file p without the blueprints
// another file defines already (nil when that is all of them), and which
// those are, by file ("" when none).
func withoutDefined(p string, data []byte, defined map[string]string) ([]byte, string) {
	if path.Dir(p) != config.BlueprintsDir || !strings.HasSuffix(p, ".json") {
		return data, ""
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		raws = []json.RawMessage{data} // one blueprint object
	}
	byFile := map[string][]string{}
	var rest []json.RawMessage
	for _, raw := range raws {
		var b struct {
			Identifier string `json:"identifier"`
		}
		if json.Unmarshal(raw, &b) != nil {
			return data, ""
		}
		if f, ok := defined[b.Identifier]; ok && f != p {
			byFile[f] = append(byFile[f], b.Identifier)
			continue
		}
		rest = append(rest, raw)
	}
	if len(byFile) == 0 {
		return data, ""
	}
	var why []string
	for _, f := range slices.Sorted(maps.Keys(byFile)) {
		why = append(why, f+" defines "+strings.Join(byFile[f], ", "))
	}
	if len(rest) == 0 {
		return nil, strings.Join(why, "; ")
	}
	out, err := json.MarshalIndent(rest, "", "  ")
	if err != nil {
		return data, ""
	}
	return append(out, '\n'), strings.Join(why, "; ")
}

// ignoreSentryCLIRC makes the repository's .gitignore ignore .sentryclirc.
// It returns the .gitignore to commit, nil when there is none: when it
// ignores the file already, or has changes of the user's that a commit
// would take along (then the line is added in the worktree only).
func ignoreSentryCLIRC(store *gitstore.Store, snap *gitstore.Snapshot, res *Result) ([]byte, error) {
	head, err := snap.ReadFile(gitignoreFile)
	inHead := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", gitignoreFile, err)
	}
	if store.Bare() {
		return gitignoreFor(head, inHead, res), nil
	}
	p := filepath.Join(store.Root(), gitignoreFile)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) && inHead, err == nil && !fi.Mode().IsRegular():
		res.Gitignore = GitignoreLeftAlone
		return nil, nil
	case errors.Is(err, fs.ErrNotExist):
		return gitignoreFor(nil, false, res), nil
	case err != nil:
		return nil, err
	}
	disk, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if ignores(disk) {
		res.Gitignore = GitignoreIgnored
		return nil, nil
	}
	if inHead && bytes.Equal(disk, head) {
		return gitignoreFor(head, true, res), nil
	}
	if err := os.WriteFile(p, withEntry(disk), fi.Mode().Perm()); err != nil {
		return nil, err
	}
	res.Gitignore = GitignoreWorktree
	return nil, nil
}

// gitignoreFor is the .gitignore to commit given the current one.
func gitignoreFor(cur []byte, exists bool, res *Result) []byte {
	switch {
	case !exists:
		res.Gitignore = GitignoreCreated
		return []byte(gitignoreEntry)
	case ignores(cur):
		res.Gitignore = GitignoreIgnored
		return nil
	}
	res.Gitignore = GitignoreAppended
	return withEntry(cur)
}

// withEntry appends the entry in the file's own line ending: CRLF lines
// in a file of LF ones (or the reverse) show as changed in every diff and
// editor of the people who chose them.
func withEntry(cur []byte) []byte {
	eol := "\n"
	if crlf := bytes.Count(cur, []byte("\r\n")); crlf > bytes.Count(cur, []byte("\n"))-crlf {
		eol = "\r\n"
	}
	out := bytes.Clone(cur)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, eol...)
	}
	if len(out) > 0 {
		out = append(out, eol...)
	}
	return append(out, strings.ReplaceAll(gitignoreEntry, "\n", eol)...)
}

// ignores reports whether a .gitignore at the root ignores .sentryclirc
// anywhere, by git's rules: a pattern such as ".*rc" counts, and a later
// "!.sentryclirc" undoes it.
func ignores(content []byte) bool {
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	m := gitignore.NewMatcher(ps)
	return m.Match([]string{sentryCLIRC}, false) && m.Match([]string{"sub", sentryCLIRC}, false)
}
