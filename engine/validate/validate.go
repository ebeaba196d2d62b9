package validate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/config"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/internal/parallel"
	"github.com/gitalog/gitalog/engine/jsonx"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/schema"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Options configure Run.
type Options struct {
	Dir            string // the repository (worktree root or bare)
	BlueprintsPath string // default: <Dir>/blueprints (HEAD's for a bare repository)
	// Base, when set, is a ref (such as origin/main) whose merge base with
	// HEAD is compared with HEAD, to warn about managed files that the
	// commits of a pull request edit by hand.
	Base string
}

// Finding is one problem Run found in the catalog.
type Finding struct {
	// Path is the file's slash path from the repository root, such as
	// catalog/issue/123.json; a folder's ends in "/".
	Path string
	// Pointer is a JSON pointer into the file ("" for the file as a whole).
	Pointer string
	// Line and Column locate the problem in the file, 1-based; 0 when
	// unknown. Column is set only for JSON syntax errors.
	Line, Column int
	Reason       string
	Warning      bool
}

// Result is what Run found.
type Result struct {
	// Source is what was read: "worktree" or "HEAD".
	Source string
	// Files counts the entity files checked.
	Files int
	// Findings holds errors first, then warnings, each by path.
	Findings []Finding
}

// Errors counts the findings that are errors.
func (r *Result) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if !f.Warning {
			n++
		}
	}
	return n
}

// Warnings counts the findings that are warnings.
func (r *Result) Warnings() int { return len(r.Findings) - r.Errors() }

// catalogSource reads the files of the catalog from the worktree or from
// a commit.
type catalogSource interface {
	// dirs lists the folders under catalog/; files lists the regular files
	// (name) and the sub-folders (name + "/") of one of them.
	dirs() ([]string, error)
	files(dir string) ([]string, error)
	read(p string) ([]byte, error)
}

type worktreeSource struct{ root string }

func (w worktreeSource) list(p string) ([]os.DirEntry, error) {
	ents, err := os.ReadDir(filepath.Join(w.root, filepath.FromSlash(p)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return ents, err
}

func (w worktreeSource) dirs() ([]string, error) {
	ents, err := w.list(catalog.Dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func (w worktreeSource) files(dir string) ([]string, error) {
	ents, err := w.list(catalog.Dir + "/" + dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name()+"/")
		} else {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func (w worktreeSource) read(p string) ([]byte, error) {
	return os.ReadFile(filepath.Join(w.root, filepath.FromSlash(p)))
}

type snapshotSource struct{ snap *gitstore.Snapshot }

func (s snapshotSource) dirs() ([]string, error) {
	ents, err := s.snap.ReadDir(catalog.Dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Mode == filemode.Dir {
			out = append(out, e.Name)
		}
	}
	return out, nil
}

func (s snapshotSource) files(dir string) ([]string, error) {
	ents, err := s.snap.ReadDir(catalog.Dir + "/" + dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Mode == filemode.Dir {
			out = append(out, e.Name+"/")
		} else if e.Mode != filemode.Submodule {
			out = append(out, e.Name)
		}
	}
	return out, nil
}

func (s snapshotSource) read(p string) ([]byte, error) { return s.snap.ReadFile(p) }

// Run checks every catalog file: that it is an entity in valid JSON,
// that its path matches its blueprint and identifier, that it fits its
// blueprint, and that the entities its relations name exist (as files). It
// reads the worktree of a normal repository, so that a hand edit is caught
// before it is committed, and HEAD of a bare one. It also warns about
// edits to files the sync manages (the worktree's, and with Base the
// commits since the merge base), since the next sync overwrites them.
//
// The error is for what stops validation (no repository, broken
// blueprints, an unknown Base); problems in the catalog are findings.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Dir == "" {
		o.Dir = "."
	}
	repo, err := review.Open(o.Dir)
	if err != nil {
		return nil, err
	}
	store := repo.Store
	head, err := store.Head()
	if err != nil {
		return nil, err
	}
	snap, err := store.Snapshot(head.Commit)
	if err != nil {
		return nil, err
	}
	bps, err := config.Blueprints(store, snap, o.BlueprintsPath)
	if err != nil {
		return nil, err
	}
	res := &Result{Source: "worktree"}
	var src catalogSource = worktreeSource{root: store.Root()}
	if store.Bare() {
		res.Source = "HEAD"
		src = snapshotSource{snap: snap}
	}

	v := &validator{bps: bps, src: src, present: map[string]bool{}}
	if err := v.list(); err != nil {
		return nil, err
	}
	res.Files = len(v.entityFiles)
	found := make([][]Finding, len(v.entityFiles))
	entities := make([]*catalog.Entity, len(v.entityFiles))
	parallel.For(len(found), func(i int) {
		if ctx.Err() == nil {
			found[i], entities[i] = v.checkFile(v.entityFiles[i])
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Findings = append(res.Findings, v.findings...)
	for _, fs := range found {
		res.Findings = append(res.Findings, fs...)
	}
	res.Findings = append(res.Findings, v.nameClashes(entities)...)

	edits, err := managedEdits(ctx, repo, snap, src, o.Base)
	if err != nil {
		return nil, err
	}
	res.Findings = append(res.Findings, edits...)

	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.Warning != b.Warning {
			return !a.Warning
		}
		return a.Path < b.Path
	})
	return res, nil
}

type validator struct {
	bps *schema.Set
	src catalogSource
	// present holds the path of every file under catalog/<dir>/, so that
	// a relation's target exists if its file does.
	present     map[string]bool
	entityFiles []string
	findings    []Finding // folder- and listing-level findings
}

// list walks catalog/, reporting folders that match no blueprint and
// things gitalog would ignore.
func (v *validator) list() error {
	dirs, err := v.src.dirs()
	if err != nil {
		return err
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		names, err := v.src.files(d)
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, n := range names {
			if !strings.HasSuffix(n, "/") && strings.HasSuffix(n, catalog.Ext) {
				v.present[catalog.Dir+"/"+d+"/"+n] = true
			}
		}
		bp, ok := catalog.DecodeDir(d)
		if _, known := v.bps.Blueprint(bp); !ok || !known {
			reason := fmt.Sprintf("folder %q matches no blueprint", d)
			if ok && bp != d {
				reason = fmt.Sprintf("folder %q (blueprint %q) matches no blueprint", d, bp)
			}
			v.findings = append(v.findings, Finding{
				Path:   catalog.Dir + "/" + d + "/",
				Reason: reason + " (blueprints: " + strings.Join(v.bps.IDs(), ", ") + "); its files were not checked",
			})
			continue
		}
		for _, n := range names {
			p := catalog.Dir + "/" + d + "/" + n
			switch {
			case strings.HasSuffix(n, "/"):
				v.findings = append(v.findings, Finding{Path: p, Warning: true,
					Reason: "a folder inside a blueprint's folder is not part of the catalog; gitalog ignores it"})
			case !strings.HasSuffix(n, catalog.Ext):
				v.findings = append(v.findings, Finding{Path: p, Warning: true,
					Reason: "not a " + catalog.Ext + " file; gitalog ignores it"})
			default:
				v.entityFiles = append(v.entityFiles, p)
			}
		}
	}
	return nil
}

// nameClashes reports the names (identifiers and aliases) that two
// entities of one blueprint share: OpsLevel finds a component by either,
// so a shared name would match whichever came first. Identifiers are
// indexed before aliases, so that a clash is reported on the alias, which
// can change without moving the file.
func (v *validator) nameClashes(entities []*catalog.Entity) []Finding {
	idx := catalog.NewNameIndex()
	for i, e := range entities {
		if e != nil {
			bare := *e
			bare.Aliases = nil
			idx.Add(&bare, v.entityFiles[i])
		}
	}
	var out []Finding
	for i, e := range entities {
		if e == nil || len(e.Aliases) == 0 {
			continue
		}
		var clash *catalog.NameClashError
		if err := idx.Add(e, v.entityFiles[i]); !errors.As(err, &clash) {
			continue
		}
		data, _ := v.src.read(v.entityFiles[i])
		for _, c := range clash.Clashes {
			out = append(out, Finding{Path: v.entityFiles[i], Pointer: c.Pointer, Line: pointerLine(data, c.Pointer), Reason: c.Reason(e.Blueprint)})
		}
	}
	return out
}

// checkFile validates one entity file, and returns the entity's names
// (identifier, blueprint and aliases) when it is one.
func (v *validator) checkFile(p string) ([]Finding, *catalog.Entity) {
	data, err := v.src.read(p)
	if err != nil {
		// A symbolic link to a folder, say: report it, and go on.
		return []Finding{{Path: p, Reason: "cannot read the file: " + err.Error()}}, nil
	}
	var out []Finding
	add := func(ptr, reason string, warning bool) {
		out = append(out, Finding{Path: p, Pointer: ptr, Line: pointerLine(data, ptr), Reason: reason, Warning: warning})
	}
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		f := Finding{Path: p, Reason: "invalid JSON: " + err.Error()}
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			f.Line, f.Column = jsonx.LineCol(data, int(syn.Offset)-1)
		}
		return append(out, f), nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		add("", "an entity file must hold a JSON object, not "+jsonKind(raw), false)
		return out, nil
	}
	shapeOK := true
	for _, k := range []string{"identifier", "blueprint"} {
		if _, isString := obj[k].(string); !isString {
			shapeOK = false
			if _, has := obj[k]; !has {
				add("/"+k, fmt.Sprintf("%q is missing", k), false)
			} else {
				add("/"+k, fmt.Sprintf("%q must be a string, not %s", k, jsonKind(obj[k])), false)
			}
		}
	}
	for _, k := range []string{"properties", "relations"} {
		if x, has := obj[k]; has && x != nil {
			if _, isObj := x.(map[string]any); !isObj {
				shapeOK = false
				add("/"+k, fmt.Sprintf("%q must be an object, not %s", k, jsonKind(x)), false)
			}
		}
	}
	switch x := obj["aliases"].(type) {
	case nil:
	case []any:
		for i, a := range x {
			if _, isString := a.(string); !isString {
				shapeOK = false
				add("/aliases/"+strconv.Itoa(i), "an alias must be a string, not "+jsonKind(a), false)
			}
		}
	default:
		shapeOK = false
		add("/aliases", `"aliases" must be an array of strings, not `+jsonKind(x), false)
	}
	if !shapeOK {
		return out, nil
	}
	e, err := catalog.Decode(data)
	if err != nil {
		add("", err.Error(), false)
		return out, nil
	}

	// The file must be where the sync would write this entity, or the
	// sync and relations would not find it.
	if want := catalog.Path(e.Key()); want != p {
		dir, stem := catalog.SplitPath(p)
		switch {
		case catalog.EncodeDir(e.Blueprint) != dir:
			add("/blueprint", fmt.Sprintf("blueprint %q does not match the folder %s/%s/ (this entity's file would be %s)",
				e.Blueprint, catalog.Dir, dir, want), false)
		case catalog.EncodeName(e.Identifier) != stem:
			add("/identifier", fmt.Sprintf("identifier %q does not match the file name %s%s (this entity's file would be %s)",
				e.Identifier, stem, catalog.Ext, want), false)
		default:
			add("", "the file should be "+want, false)
		}
	}

	probs := v.bps.Validate(e)
	probs = append(probs, v.bps.CheckRelations(e, func(bp, id string) bool {
		return v.present[catalog.Path(catalog.Key{Blueprint: bp, Identifier: id})]
	})...)
	for _, pr := range probs {
		add(pr.Pointer, pr.Reason, pr.Warning)
	}
	if catalog.Path(e.Key()) != p {
		// Reported above; its names would clash with the file at its
		// right path, which is not at fault.
		return out, nil
	}
	return out, &catalog.Entity{Blueprint: e.Blueprint, Identifier: e.Identifier, Aliases: e.Aliases}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
