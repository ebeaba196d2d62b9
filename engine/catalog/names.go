package catalog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// NameIndex resolves the names of a catalog's entities: within one
// blueprint an entity is found by its identifier or by any of its aliases,
// so no name may belong to two entities there. OpsLevel matches a
// component "by identifier or alias"; an ambiguous name would relate or
// update whichever entity came first.
type NameIndex struct {
	byBlueprint map[string]map[string]nameOwner
}

type nameOwner struct {
	identifier, file, pointer string
}

// NewNameIndex returns an empty index.
func NewNameIndex() *NameIndex {
	return &NameIndex{byBlueprint: map[string]map[string]nameOwner{}}
}

// NameClash is one name of an entity that another entity of its
// blueprint has already.
type NameClash struct {
	Name string
	// Pointer is where the name is in the entity's file: /identifier or
	// /aliases/N; OtherPointer the same in the other file.
	Pointer, OtherFile, OtherPointer string
}

// NameClashError is what Add returns when names of the entity it adds are
// taken.
type NameClashError struct {
	Blueprint, File string
	Clashes         []NameClash
}

func (e *NameClashError) Error() string {
	parts := make([]string, len(e.Clashes))
	for i, c := range e.Clashes {
		parts[i] = fmt.Sprintf("%s: %s %s is also %s of %s", e.File, nameRole(c.Pointer), strconv.Quote(c.Name), nameRole(c.OtherPointer), c.OtherFile)
	}
	return strings.Join(parts, "; ")
}

// Reason words one clash for a finding on the file's pointer.
func (c NameClash) Reason(blueprint string) string {
	return fmt.Sprintf("%s %s is also %s of %s: identifiers and aliases of the %s entities must all differ",
		nameRole(c.Pointer), strconv.Quote(c.Name), nameRole(c.OtherPointer), c.OtherFile, blueprint)
}

func nameRole(pointer string) string {
	if pointer == "/identifier" {
		return "the identifier"
	}
	return "the alias"
}

// Add indexes the identifier and aliases of e, read from file. A name
// another entity of the blueprint has already stays that entity's, and
// the error (a *NameClashError) names both files; the entity's other
// names are indexed all the same. An alias equal to the entity's own
// identifier, or repeated, is no clash.
func (x *NameIndex) Add(e *Entity, file string) error {
	names := x.byBlueprint[e.Blueprint]
	if names == nil {
		names = map[string]nameOwner{}
		x.byBlueprint[e.Blueprint] = names
	}
	var clashes []NameClash
	add := func(name, pointer string) {
		prev, taken := names[name]
		switch {
		case !taken:
			names[name] = nameOwner{identifier: e.Identifier, file: file, pointer: pointer}
		case prev.identifier != e.Identifier || prev.file != file:
			clashes = append(clashes, NameClash{Name: name, Pointer: pointer, OtherFile: prev.file, OtherPointer: prev.pointer})
		}
	}
	add(e.Identifier, "/identifier")
	for i, a := range e.Aliases {
		if a != "" { // no name; schema refuses it
			add(a, "/aliases/"+strconv.Itoa(i))
		}
	}
	if len(clashes) > 0 {
		return &NameClashError{Blueprint: e.Blueprint, File: file, Clashes: clashes}
	}
	return nil
}

// Lookup resolves an identifier or an alias of an entity of blueprint to
// the entity's identifier.
func (x *NameIndex) Lookup(blueprint, name string) (identifier string, ok bool) {
	o, ok := x.byBlueprint[blueprint][name]
	return o.identifier, ok
}

// IndexNames indexes the names of every entity file of the blueprints in
// the commit st was read from (snap): what a transform that matches
// existing entities by identifier or alias looks them up in. Files that
// are not entities, or not at their entity's path, are left out (validate
// reports them); clashes come back one error each, the first file in path
// order keeping the name. err is for what stops the reading.
func IndexNames(snap *gitstore.Snapshot, st *State, blueprints []string) (idx *NameIndex, clashes []error, err error) {
	idx = NewNameIndex()
	for _, bp := range blueprints {
		dir := EncodeDir(bp)
		for _, f := range st.Files[dir] {
			stem, ok := strings.CutSuffix(f.Name, Ext)
			if !ok || f.Mode == filemode.Dir || f.Mode == filemode.Submodule {
				continue
			}
			p := Dir + "/" + dir + "/" + f.Name
			data, err := snap.ReadFile(p)
			if err != nil {
				return nil, nil, err
			}
			e, err := Decode(data)
			if err != nil || e.Blueprint != bp || EncodeName(e.Identifier) != stem {
				continue
			}
			if err := idx.Add(e, p); err != nil {
				clashes = append(clashes, err)
			}
		}
	}
	return idx, clashes, nil
}
