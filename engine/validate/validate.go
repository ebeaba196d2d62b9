package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/schema"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// ValidateOptions configure Validate.
type ValidateOptions struct {
	Dir            string // the repository (worktree root or bare)
	BlueprintsPath string // default: <Dir>/blueprints (HEAD's for a bare repository)
	// Base, when set, is a ref (such as origin/main) whose merge base with
	// HEAD is compared with HEAD, to warn about managed files that the
	// commits of a pull request edit by hand.
	Base string
}

// Finding is one problem validate found in the catalog.
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

// ValidateResult is what Validate found.
type ValidateResult struct {
	// Source is what was read: "worktree" or "HEAD".
	Source string
	// Files counts the entity files checked.
	Files int
	// Findings holds errors first, then warnings, each by path.
	Findings []Finding
}

// Errors counts the findings that are errors.
func (r *ValidateResult) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if !f.Warning {
			n++
		}
	}
	return n
}

// Warnings counts the findings that are warnings.
func (r *ValidateResult) Warnings() int { return len(r.Findings) - r.Errors() }

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

// Validate checks every catalog file: that it is an entity in valid JSON,
// that its path matches its blueprint and identifier, that it fits its
// blueprint, and that the entities its relations name exist (as files). It
// reads the worktree of a normal repository, so that a hand edit is caught
// before it is committed, and HEAD of a bare one. It also warns about
// edits to files the sync manages (the worktree's, and with Base the
// commits since the merge base), since the next sync overwrites them.
//
// The error is for what stops validation (no repository, broken
// blueprints, an unknown Base); problems in the catalog are findings.
func Validate(ctx context.Context, o ValidateOptions) (*ValidateResult, error) {
	if o.Dir == "" {
		o.Dir = "."
	}
	store, err := gitstore.Open(o.Dir)
	if err != nil {
		return nil, err
	}
	head, err := store.Head()
	if err != nil {
		return nil, err
	}
	snap, err := store.Snapshot(head.Commit)
	if err != nil {
		return nil, err
	}
	bps, err := loadBlueprints(store, snap, o.BlueprintsPath)
	if err != nil {
		return nil, err
	}
	res := &ValidateResult{Source: "worktree"}
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
	parallel(len(v.entityFiles), func(i int) {
		if ctx.Err() == nil {
			found[i] = v.checkFile(v.entityFiles[i])
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Findings = append(res.Findings, v.findings...)
	for _, fs := range found {
		res.Findings = append(res.Findings, fs...)
	}

	edits, err := managedEdits(ctx, store, snap, src, o.Base)
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

// checkFile validates one entity file.
func (v *validator) checkFile(p string) []Finding {
	data, err := v.src.read(p)
	if err != nil {
		// A symbolic link to a folder, say: report it, and go on.
		return []Finding{{Path: p, Reason: "cannot read the file: " + err.Error()}}
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
			f.Line, f.Column = schema.LineCol(data, int(syn.Offset)-1)
		}
		return append(out, f)
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		add("", "an entity file must hold a JSON object, not "+jsonKind(raw), false)
		return out
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
	if !shapeOK {
		return out
	}
	e, err := catalog.Decode(data)
	if err != nil {
		add("", err.Error(), false)
		return out
	}

	// The file must be where the sync would write this entity, or the
	// sync and relations would not find it.
	if want := catalog.Path(e.Key()); want != p {
		dir, stem := splitCatalogPath(p)
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
	return out
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

// managedEdits warns about files the sync manages that were edited by
// hand: in the worktree (against HEAD), and in the commits between base's
// merge base and HEAD that are not sync commits.
func managedEdits(ctx context.Context, store *gitstore.Store, snap *gitstore.Snapshot, src catalogSource, base string) ([]Finding, error) {
	headCat, err := readCatalog(snap)
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
	isManaged := func(m map[string]map[string]bool, p string) (string, bool) {
		if !strings.HasPrefix(p, catalog.Dir+"/") || !strings.HasSuffix(p, catalog.Ext) {
			return "", false
		}
		dir, stem := splitCatalogPath(p)
		if strings.Contains(stem, "/") || !m[dir][stem] {
			return "", false
		}
		return path.Join(ManagedDir, dir+".txt"), true
	}

	if !store.Bare() {
		// The worktree against HEAD, for the files HEAD's lists name.
		for dir, stems := range headCat.managed {
			for _, stem := range stems {
				p := catalog.Dir + "/" + dir + "/" + stem + catalog.Ext
				list := path.Join(ManagedDir, dir+".txt")
				data, err := src.read(p)
				switch {
				case errors.Is(err, os.ErrNotExist):
					if _, inHead := headCat.files[dir].lookup(stem); inHead {
						warn(p, deletedManaged("is deleted in the worktree", list))
					}
				case err != nil:
					// A folder where the file was, say: say so, not fail.
					warn(p, editedManaged("is changed in the worktree", list))
				default:
					h, inHead := headCat.files[dir].lookup(stem)
					if !inHead || (gitstore.BlobHash(data) != h &&
						gitstore.BlobHash(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))) != h) {
						warn(p, editedManaged("is edited in the worktree", list))
					}
				}
			}
		}
	}
	if base == "" {
		return out, nil
	}

	mb, err := gitOutput(ctx, store.Root(), "merge-base", base, "HEAD")
	if err != nil {
		return nil, fmt.Errorf("--base %s: no merge base with HEAD (is the history fetched? actions/checkout needs fetch-depth: 0): %w", base, err)
	}
	mbHash := plumbing.NewHash(strings.TrimSpace(mb))
	baseSnap, err := store.Snapshot(mbHash)
	if err != nil {
		return nil, err
	}
	baseCat, err := readCatalog(baseSnap)
	if err != nil {
		return nil, err
	}
	union := map[string]map[string]bool{}
	for _, m := range []map[string]stemSet{baseCat.managed, headCat.managed} {
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
	log, err := gitOutput(ctx, store.Root(), "-c", "core.quotePath=false", "log", "--no-merges", "--no-renames",
		"--format=%x1e%H%x1f%B%x1f", "--name-only", mbHash.String()+"..HEAD", "--", catalog.Dir+"/")
	if err != nil {
		return nil, err
	}
	decided := map[string]bool{}
	for _, rec := range strings.Split(log, "\x1e") {
		parts := strings.SplitN(rec, "\x1f", 3)
		if len(parts) != 3 {
			continue
		}
		hash, msg, names := parts[0], parts[1], parts[2]
		bySync := isSyncCommit(msg)
		for _, p := range strings.Split(names, "\n") {
			p = strings.TrimSpace(p)
			if p == "" || decided[p] {
				continue
			}
			decided[p] = true
			list, ok := isManaged(union, p)
			if !ok || bySync {
				continue
			}
			short := hash
			if len(short) > 12 {
				short = short[:12]
			}
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

// isSyncCommit tells the commits gitalog sync makes (see commitMessage)
// from others.
func isSyncCommit(msg string) bool {
	subject, body, _ := strings.Cut(msg, "\n")
	return strings.HasPrefix(subject, "sync: ") && strings.Contains("\n"+body, "\nSource: ")
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("git %s: %s", args[0], msg)
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return string(out), nil
}

// pointerLine finds the line of the key (or array element) that a JSON
// pointer names in data. When the full pointer is not there (a missing
// required property, say) it gives the line of the deepest part that is,
// and 0 when not even the first part is.
func pointerLine(data []byte, ptr string) int {
	if ptr == "" || ptr[0] != '/' {
		return 0
	}
	segs := strings.Split(ptr[1:], "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	line := 0
	for _, seg := range segs {
		tok, err := dec.Token()
		if err != nil {
			return line
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return line
		}
		found := false
		switch d {
		case '{':
			for !found && dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return line
				}
				if k, _ := kt.(string); k == seg {
					// A key never spans lines, so its end is on its line.
					line, _ = schema.LineCol(data, int(dec.InputOffset())-1)
					found = true
				} else if skipValue(dec) != nil {
					return line
				}
			}
		case '[':
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 {
				return line
			}
			for i := 0; !found && dec.More(); i++ {
				if i == idx {
					off := int(dec.InputOffset())
					for off < len(data) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
						off++
					}
					line, _ = schema.LineCol(data, off)
					found = true
				} else if skipValue(dec) != nil {
					return line
				}
			}
		}
		if !found {
			return line
		}
	}
	return line
}

func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// WriteText writes one line per finding (errors, then warnings unless
// warnings is false) and a count:
//
//	catalog/issue/1.json:7: error: /properties/status: "x" is not one of ...
func (r *ValidateResult) WriteText(w io.Writer, warnings bool) {
	for _, f := range r.Findings {
		if f.Warning && !warnings {
			continue
		}
		loc := f.Path
		if f.Line > 0 {
			loc += ":" + strconv.Itoa(f.Line)
			if f.Column > 0 {
				loc += ":" + strconv.Itoa(f.Column)
			}
		}
		kind := "error"
		if f.Warning {
			kind = "warning"
		}
		fmt.Fprintf(w, "%s: %s: %s\n", loc, kind, f.message())
	}
	fmt.Fprintln(w, r.countLine())
}

func (r *ValidateResult) countLine() string {
	files := plural(r.Files, "file", "files")
	e, wn := r.Errors(), r.Warnings()
	if e == 0 && wn == 0 {
		return fmt.Sprintf("%s checked (%s): no problems", files, r.Source)
	}
	return fmt.Sprintf("%s checked (%s): %s, %s", files, r.Source, plural(e, "error", "errors"), plural(wn, "warning", "warnings"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func (f Finding) message() string {
	if f.Pointer == "" {
		return Printable(f.Reason)
	}
	return Printable(f.Pointer + ": " + f.Reason)
}

// WriteAnnotations writes the findings as GitHub Actions workflow
// commands, which show up on the pull request's files:
//
//	::error file=catalog/x/y.json,line=7,title=gitalog validate::/properties/status: ...
func (r *ValidateResult) WriteAnnotations(w io.Writer, warnings bool) {
	for _, f := range r.Findings {
		if f.Warning && !warnings {
			continue
		}
		cmd := "error"
		if f.Warning {
			cmd = "warning"
		}
		props := "file=" + escapeProperty(strings.TrimSuffix(f.Path, "/"))
		if f.Line > 0 {
			props += ",line=" + strconv.Itoa(f.Line)
			if f.Column > 0 {
				props += ",col=" + strconv.Itoa(f.Column)
			}
		}
		props += ",title=" + escapeProperty("gitalog validate")
		fmt.Fprintf(w, "::%s %s::%s\n", cmd, props, escapeData(f.message()))
	}
}

// escapeData and escapeProperty escape as GitHub's toolkit does
// (@actions/core command.ts).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
