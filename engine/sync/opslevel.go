package sync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/schema"
)

// What OpsLevel's transforms add to a sync, besides entities written
// whole as Port's are:
//
//   - An entity whose identifier names an existing hand-written file of its
//     blueprint (by identifier or alias) updates that file in the
//     properties the transform sets, and nothing else of it: these are the
//     file's managed fields, recorded in .gitalog/fields/.
//   - on_component_not_found: skip drops an entity that matches nothing;
//     suggest lists it in .gitalog/suggestions/<blueprint>.jsonl.
//   - A blueprint relation with rules is stated, after every sync, on the
//     source entity: a managed field of a hand-written source file, the
//     relation value of an entity the sync writes.
//   - A scalar given to an array-typed property is wrapped.

// opslevel is a sync's state for the above; nil when the config has no
// OpsLevel transform and no blueprint relation with rules.
type opslevel struct {
	// arrays are, per blueprint, its array-typed properties.
	arrays map[string]map[string]bool
	// matched are the blueprints whose hand-written files entities are
	// matched against: those of OpsLevel transforms and rule sources.
	matched map[string]bool
	rules   []schema.RuleRelation
	// ruleTargets are, per target blueprint of a rule, the properties the
	// rules read of its entities ("" entries for the built-ins).
	ruleTargets map[string]map[string]bool
	ruleSources map[string]bool
	// ruleFields are, per blueprint dir, the rule relations' fields
	// ("relations.<name>") of its hand-written files: stated from the
	// whole catalog, every source states the same value, so no source
	// owns them.
	ruleFields map[string]map[string]bool
	bps        *schema.Set
	// suggests are the blueprints of suggest transforms.
	suggests []string
	// patchable are the blueprints of skip and suggest transforms: their
	// entities are held whole, so that such a transform can update one
	// another transform writes.
	patchable map[string]bool

	// Read with the target's catalog, before a worker needs them.
	hw      map[string]*handWritten // blueprint dir -> its hand-written files
	hwReady chan struct{}
}

// handWritten are the hand-written files of one blueprint.
type handWritten struct {
	names    map[string]string // identifier or alias -> stem
	entities map[string]*catalog.Entity
}

// patch is what one entity sets in a hand-written file.
type patch struct {
	dir, stem string
	seq       seqNo
	props     map[string]any
	// failed are the properties whose jq failed for the item: a doubt,
	// so the file keeps what it holds for them.
	failed map[string]bool
	// onFile is set for a patch of a skip or suggest transform that
	// matched no hand-written file: it updates the entity another
	// transform writes this sync, if any; else it is skipped or, with
	// suggest, suggested (e).
	onFile bool
	e      *catalog.Entity
}

// ruleVal is what the rules read of a target entity.
type ruleVal struct {
	e *catalog.Entity // only the fields the rules read
}

func newOpslevel(cfg *mapping.Config, bps *schema.Set) *opslevel {
	ol := &opslevel{
		arrays: map[string]map[string]bool{}, matched: map[string]bool{},
		ruleTargets: map[string]map[string]bool{}, ruleSources: map[string]bool{}, patchable: map[string]bool{},
		ruleFields: map[string]map[string]bool{}, hwReady: make(chan struct{}), bps: bps,
	}
	for _, r := range cfg.Resources {
		if r.OpsLevel == nil {
			continue
		}
		if bp, ok := r.ConstBlueprint(); ok {
			ol.matched[bp] = true
			if r.OpsLevel.OnNotFound != mapping.Create {
				ol.patchable[bp] = true
			}
			if r.OpsLevel.OnNotFound == mapping.Suggest && !slices.Contains(ol.suggests, bp) {
				ol.suggests = append(ol.suggests, bp)
			}
		}
	}
	ol.rules = bps.RuleRelations()
	for _, rr := range ol.rules {
		ol.matched[rr.Blueprint] = true
		ol.matched[rr.Target] = true
		ol.ruleSources[rr.Blueprint] = true
		dir := catalog.EncodeDir(rr.Blueprint)
		if ol.ruleFields[dir] == nil {
			ol.ruleFields[dir] = map[string]bool{}
		}
		ol.ruleFields[dir]["relations."+rr.Name] = true
		if ol.ruleTargets[rr.Target] == nil {
			ol.ruleTargets[rr.Target] = map[string]bool{}
		}
		for _, rule := range rr.Rules {
			ol.ruleTargets[rr.Target][rule.TargetProperty] = true
		}
	}
	if len(ol.matched) == 0 {
		return nil
	}
	for _, id := range bps.IDs() {
		b, _ := bps.Blueprint(id)
		for name, raw := range b.Properties {
			var p struct {
				Type any `json:"type"`
			}
			if json.Unmarshal(raw, &p) != nil {
				continue
			}
			if p.Type == "array" || slices.Contains(asStrings(p.Type), "array") {
				if ol.arrays[id] == nil {
					ol.arrays[id] = map[string]bool{}
				}
				ol.arrays[id][name] = true
			}
		}
	}
	return ol
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// readHandWritten reads the hand-written files of the matched blueprints
// from the target's catalog: the files that are there and not managed. A
// file that does not decode matches nothing (validate reports it).
func (ol *opslevel) readHandWritten(p *pipeline) {
	defer close(ol.hwReady)
	ol.hw = map[string]*handWritten{}
	if p.cat == nil {
		return
	}
	for bp := range ol.matched {
		dir := catalog.EncodeDir(bp)
		hw := &handWritten{names: map[string]string{}, entities: map[string]*catalog.Entity{}}
		ol.hw[dir] = hw
		for _, f := range p.cat.Files[dir] {
			stem, ok := strings.CutSuffix(f.Name, catalog.Ext)
			if !ok || p.cat.Managed[dir].Has(stem) || p.cat.OwnedElsewhere(dir, stem) {
				continue // written by this source, or by another
			}
			data, err := p.store.ReadBlob(f.Hash)
			if err != nil {
				continue
			}
			e, err := catalog.Decode(data)
			if err != nil || e.Blueprint != bp {
				continue
			}
			hw.entities[stem] = e
			hw.names[e.Identifier] = stem
		}
		// Aliases after identifiers: an identifier wins over another
		// file's alias (validate reports the clash).
		for stem, e := range hw.entities {
			for _, a := range e.Aliases {
				if _, taken := hw.names[a]; !taken {
					hw.names[a] = stem
				}
			}
		}
	}
}

// wrapArrays wraps a scalar given to an array-typed property, as OpsLevel
// does (its Sentry guide maps .project.slug into an array property).
func (ol *opslevel) wrapArrays(e *catalog.Entity) {
	arr := ol.arrays[e.Blueprint]
	for name, v := range e.Properties {
		if !arr[name] || v == nil {
			continue
		}
		if _, isList := v.([]any); !isList {
			e.Properties[name] = []any{v}
		}
	}
}

// divert decides where an OpsLevel transform's entity goes: true means it
// is not written as an entity of its own (it patched a hand-written file,
// was skipped or suggested).
func (ol *opslevel) divert(p *pipeline, r *mapping.Resource, e *catalog.Entity, seq seqNo, failed map[string]bool, out *jobResult) bool {
	ol.wrapArrays(e)
	<-ol.hwReady
	dir := catalog.EncodeDir(e.Blueprint)
	if hw := ol.hw[dir]; hw != nil {
		if stem, ok := hw.names[e.Identifier]; ok {
			out.patches = append(out.patches, patch{dir: dir, stem: stem, seq: seq, props: setProps(e), failed: failed})
			return true
		}
	}
	if r.OpsLevel.OnNotFound == mapping.Create {
		return false
	}
	// Whether another transform writes the entity is known once every
	// item is mapped (see relate).
	pt := patch{dir: dir, stem: catalog.EncodeName(e.Identifier), seq: seq, props: setProps(e), onFile: true}
	if r.OpsLevel.OnNotFound == mapping.Suggest {
		pt.e = e
	}
	out.patches = append(out.patches, pt)
	return true
}

// setProps are the properties an entity sets in a file it updates: a null
// is no value to set in a person's file (a field the transform managed
// before is then removed, as when its item goes away).
func setProps(e *catalog.Entity) map[string]any {
	props := make(map[string]any, len(e.Properties))
	for k, v := range e.Properties {
		if v != nil {
			props[k] = v
		}
	}
	return props
}

// ruleValue keeps what the rules read of an entity of a rule target.
func (ol *opslevel) ruleValue(e *catalog.Entity) (ruleVal, bool) {
	props, ok := ol.ruleTargets[e.Blueprint]
	if !ok {
		return ruleVal{}, false
	}
	v := &catalog.Entity{Identifier: e.Identifier, Blueprint: e.Blueprint, Title: e.Title, Aliases: e.Aliases, Properties: map[string]any{}}
	for name := range props {
		if val, ok := e.Properties[name]; ok {
			v.Properties[name] = val
		}
	}
	return ruleVal{v}, true
}

// cacheable reports whether the item cache may stand in for mapping r's
// items: not when an entity may go elsewhere than its own file (skip,
// suggest) or another transform may update it, the rules read what it
// maps, or they set its relations.
func (ol *opslevel) cacheable(r *mapping.Resource) bool {
	if ol == nil {
		return true
	}
	if r.OpsLevel != nil && r.OpsLevel.OnNotFound != mapping.Create {
		return false
	}
	if len(ol.rules) == 0 && len(ol.patchable) == 0 {
		return true
	}
	bp, ok := r.ConstBlueprint()
	return ok && ol.ruleTargets[bp] == nil && !ol.ruleSources[bp] && !ol.patchable[bp]
}

// relate turns the patches into each hand-written file's managed fields
// and states the rule relations: as the relation value of the held
// entities the sync writes, as a managed field of hand-written files. A
// rule relation whose targets a doubt holds is left as it is; kept are the
// managed target entities the sync did not produce and will not delete.
func (ol *opslevel) relate(c *collection, held []*slot, holds *catalog.Holds, threshold float64, kept, others []*catalog.Entity) {
	c.fields = map[pathKey]map[string]any{}
	c.failedFields = map[pathKey]map[string]bool{}
	field := func(k pathKey) map[string]any {
		f := c.fields[k]
		if f == nil {
			f = map[string]any{}
			c.fields[k] = f
		}
		return f
	}
	// Several transforms may set one file's properties: the later item
	// wins, as for whole entities.
	slices.SortFunc(c.patches, func(a, b patch) int {
		if a.seq.less(b.seq) {
			return -1
		}
		if b.seq.less(a.seq) {
			return 1
		}
		return 0
	})
	for _, pt := range c.patches {
		k := pathKey{pt.dir, pt.stem}
		if pt.onFile {
			// An entity another transform writes this sync is updated
			// in the properties this one sets, before it is validated
			// and encoded (entities of such blueprints are held whole).
			if sl := c.slots[k]; sl != nil && sl.held != nil && !sl.lost {
				if sl.held.Properties == nil {
					sl.held.Properties = map[string]any{}
				}
				for name, v := range pt.props {
					sl.held.Properties[name] = v
				}
				continue
			}
			if pt.e != nil {
				c.suggested = append(c.suggested, pt.e)
			} else {
				c.skipped++
			}
			continue
		}
		f := field(k)
		for name, v := range pt.props {
			f["properties."+name] = v
			delete(c.failedFields[k], "properties."+name)
		}
		for name := range pt.failed {
			delete(f, "properties."+name)
			if c.failedFields[k] == nil {
				c.failedFields[k] = map[string]bool{}
			}
			c.failedFields[k]["properties."+name] = true
		}
	}
	if len(ol.rules) == 0 {
		return
	}
	c.ruleKept = kept
	c.keptRules = map[string]bool{}
	if c.pushBatch {
		holds = c.ruleHolds
	}
	for _, rr := range ol.rules {
		if holds.Keeps(catalog.EncodeDir(rr.Target), threshold) {
			c.keptRules[rr.Blueprint+"\x00"+rr.Name] = true
		}
	}
	ol.stateRules(c, held, others, true)
}

// stateRules states the rule relations, from this sync's targets, the
// kept ones, the hand-written ones and others (other sources' entities
// as the commit's parent holds them): on the held entities (with held
// set) and, as managed fields, on the hand-written files. A rule whose
// targets a doubt holds is left as it is (c.keptRules).
func (ol *opslevel) stateRules(c *collection, held []*slot, others []*catalog.Entity, withHeld bool) {
	targets := slices.Clone(c.ruleVals)
	for _, e := range slices.Concat(c.ruleKept, others) {
		if rv, ok := ol.ruleValue(e); ok {
			targets = append(targets, rv)
		}
	}
	for _, hw := range ol.hw {
		for _, e := range hw.entities {
			if rv, ok := ol.ruleValue(e); ok {
				targets = append(targets, rv)
			}
		}
	}
	for _, rr := range ol.rules {
		if c.keptRules[rr.Blueprint+"\x00"+rr.Name] {
			continue
		}
		value := func(ids []string) any {
			if rr.Many {
				l := make([]any, len(ids))
				for i, id := range ids {
					l[i] = id
				}
				return l
			}
			// A single relation is stated only when one target matches:
			// of several, none is the one.
			if len(ids) != 1 {
				return nil
			}
			return ids[0]
		}
		var ts []*catalog.Entity
		for _, t := range targets {
			if t.e.Blueprint == rr.Target {
				ts = append(ts, t.e)
			}
		}
		m := rr.NewMatcher(ts)
		if withHeld {
			for _, sl := range held {
				if sl.held.Blueprint == rr.Blueprint {
					ids := m.Targets(sl.held)
					if sl.held.Relations == nil {
						sl.held.Relations = map[string]any{}
					}
					sl.held.Relations[rr.Name] = value(ids)
				}
			}
		}
		dir := catalog.EncodeDir(rr.Blueprint)
		if hw := ol.hw[dir]; hw != nil {
			for stem, e := range hw.entities {
				k, f := pathKey{dir, stem}, "relations."+rr.Name
				delete(c.fields[k], f)
				if v := value(m.Targets(e)); v != nil && (!rr.Many || len(v.([]any)) > 0) {
					if c.fields[k] == nil {
						c.fields[k] = map[string]any{}
					}
					c.fields[k][f] = v
				}
			}
		}
	}
}

// restateRules states the hand-written files' rule relations again
// against the catalog a commit goes on, when it is not the one the sync
// started from: another source committed meanwhile (in the same run, or a
// parallel job whose push came first), and a relation from the start
// would lack its new targets or list its deleted ones. The entities this
// sync writes keep theirs (they are encoded already): the next sync
// brings them up to date.
func (ol *opslevel) restateRules(store *gitstore.Store, c *collection, cat *catalog.State) error {
	if ol == nil || len(ol.rules) == 0 || c.fields == nil {
		return nil
	}
	var others []*catalog.Entity
	for _, bp := range slices.Sorted(maps.Keys(ol.ruleTargets)) {
		es, err := cat.Others(store, bp, c)
		if err != nil {
			return err
		}
		others = append(others, es...)
	}
	ol.stateRules(c, nil, others, false)
	return nil
}

// SuggestionsDir holds, per blueprint, the entities suggest transforms
// found no component for: one JSON object a line, for a person to review
// and, by copying one into catalog/, to accept.
const SuggestionsDir = ".gitalog/suggestions"

// extend adds to the plan what OpsLevel transforms change besides whole
// files: hand-written files whose managed fields change, the record of
// those fields, and the suggestions. snap and cat are the commit planned
// against (they differ from the one streamed against after a push race,
// so everything is read from them here).
func (ol *opslevel) extend(pl *catalog.Plan, snap *gitstore.Snapshot, cat *catalog.State, c *collection, holds *catalog.Holds, threshold float64) error {
	c.patchProblems = nil
	dirs := map[string]bool{}
	for k := range c.fields {
		dirs[k.dir] = true
	}
	for d := range cat.Fields {
		dirs[d] = true
	}
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		stems := map[string]bool{}
		for k := range c.fields {
			if k.dir == dir {
				stems[k.stem] = true
			}
		}
		for _, stem := range cat.Fields[dir].Stems() {
			stems[stem] = true
		}
		// Properties whose item is gone go under the deletion rules of
		// entities, counted by file: not after a doubt, not when more
		// than the threshold of the files would lose theirs at once.
		var gone, managed int
		for _, stem := range cat.Fields[dir].Stems() {
			had, lost := false, false
			for _, f := range cat.Fields[dir].Of(stem) {
				if strings.HasPrefix(f, "properties.") {
					had = true
					_, still := c.fields[pathKey{dir, stem}][f]
					// A property whose jq failed is kept as it is, not
					// lost (said as such, not as the threshold).
					lost = lost || !still && !c.failedFields[pathKey{dir, stem}][f]
				}
			}
			if had && !cat.Managed[dir].Has(stem) && !cat.OwnedElsewhere(dir, stem) {
				managed++
				if lost {
					gone++
				}
			}
		}
		bp, ok := catalog.DecodeDir(dir)
		if !ok {
			bp = dir
		}
		keepProps := holds.Keeps(dir, threshold)
		if k := holds.KeepsGone(bp, gone, managed, threshold); k != nil {
			keepProps = true
			if !slices.ContainsFunc(pl.Kept, func(o catalog.Kept) bool { return o.Blueprint == bp }) {
				pl.Kept = append(pl.Kept, *k)
			}
		}
		var record catalog.FieldSetBuilder
		failedFiles := 0
		for _, stem := range slices.Sorted(maps.Keys(stems)) {
			filePath := catalog.Dir + "/" + dir + "/" + stem + catalog.Ext
			if cat.Managed[dir].Has(stem) || cat.OwnedElsewhere(dir, stem) {
				continue // gitalog writes it whole now; its fields are its own
			}
			data, err := snap.ReadFile(filePath)
			if err != nil {
				continue // deleted by hand: nothing to manage
			}
			set := c.fields[pathKey{dir, stem}]
			// A field another source set first is that source's: this one
			// neither sets nor removes it (two sources would otherwise
			// rewrite it back and forth at every sync).
			theirs := map[string]bool{}
			for _, f := range slices.Concat(slices.Sorted(maps.Keys(set)), cat.Fields[dir].Of(stem)) {
				if strings.HasPrefix(f, tagPrefix) || f == tagsField || theirs[f] || ol.ruleFields[dir][f] {
					continue // tags merge key by key; rule relations are everyone's
				}
				if owner, ok := cat.FieldOwner(dir, stem, f); ok {
					theirs[f] = true
					if _, sets := set[f]; sets {
						k, _ := catalog.DecodeKey(dir, stem)
						pl.Claims = append(pl.Claims, catalog.Claim{Key: k, Path: filePath, Owner: owner, Field: f})
					}
				}
			}
			if len(theirs) > 0 {
				set = maps.Clone(set)
				for f := range theirs {
					delete(set, f)
				}
			}
			var changes []catalog.FieldChange
			var kept []string
			failedHere := false
			keepTags := keepProps
			if c.failedFields[pathKey{dir, stem}][tagsField] {
				// A tag's jq failed: which keys it gives is unknown,
				// so every tag the file has of ours stays as it is.
				set = maps.Clone(set)
				delete(set, tagsField)
				keepTags = true
				failedHere = true
			}
			if ch, keys, ok := mergeTags(data, set, cat.Fields[dir].Of(stem), keepTags); ok {
				if ch != nil {
					changes = append(changes, *ch)
				}
				kept = append(kept, keys...)
				set = maps.Clone(set)
				delete(set, tagsField)
			}
			for _, f := range cat.Fields[dir].Of(stem) {
				if _, ok := set[f]; ok || strings.HasPrefix(f, tagPrefix) || theirs[f] {
					continue
				}
				section, name, _ := strings.Cut(f, ".")
				e, _ := catalog.Decode(data)
				if section == "relations" && e != nil && c.keptRules[e.Blueprint+"\x00"+name] ||
					section == "properties" && keepProps {
					kept = append(kept, f) // a doubt: the item may still be there
					continue
				}
				if c.failedFields[pathKey{dir, stem}][f] {
					// Its jq failed for the item: what the file holds
					// may still be right.
					kept = append(kept, f)
					failedHere = true
					continue
				}
				changes = append(changes, catalog.FieldChange{Section: section, Name: name, Remove: true})
			}
			for _, f := range slices.Sorted(maps.Keys(set)) {
				section, name, _ := strings.Cut(f, ".")
				changes = append(changes, catalog.FieldChange{Section: section, Name: name, Value: set[f]})
				kept = append(kept, f)
			}
			if failedHere {
				failedFiles++
			}
			patched, err := catalog.PatchFields(data, changes)
			if err != nil {
				// The person's file is left as it is; so is its record.
				pl.Conflicts = append(pl.Conflicts, filePath+" (its managed fields: "+err.Error()+")")
				kept = cat.Fields[dir].Of(stem)
			} else if probs := ol.check(patched, data); hasError(probs) {
				// What a transform sets is held to the blueprint as a
				// whole entity is: an invalid value is not written.
				c.patchProblems = append(c.patchProblems, probs...)
				kept = cat.Fields[dir].Of(stem)
				err = errInvalid
			}
			for _, f := range kept {
				if err := record.Add(stem, f); err != nil {
					return err
				}
			}
			if err != nil {
				continue
			}
			if bytes.Equal(patched, data) {
				continue
			}
			pl.Changes = append(pl.Changes, gitstore.Change{Path: filePath, Content: patched, Hash: gitstore.BlobHash(patched)})
			en := catalog.Entry{Data: patched}
			if e, err := catalog.Decode(patched); err == nil {
				en.Key, en.Title = e.Key(), catalog.TitleOf(e)
			}
			pl.Changed = append(pl.Changed, en)
		}
		if failedFiles > 0 {
			pl.Kept = append(pl.Kept, catalog.Kept{Blueprint: bp, Entities: failedFiles, Managed: managed, Fields: true, MappingFailed: true})
		}
		if err := putFile(pl, snap, cat.Scope.FieldsPath(dir), catalog.EncodeFieldSet(record.Set())); err != nil {
			return err
		}
	}
	for _, bp := range ol.suggests {
		dir := catalog.EncodeDir(bp)
		if holds.Keeps(dir, threshold) {
			continue
		}
		byID := map[string]*catalog.Entity{}
		for _, e := range c.suggested {
			if e.Blueprint == bp {
				byID[e.Identifier] = e
			}
		}
		var b bytes.Buffer
		for _, id := range slices.Sorted(maps.Keys(byID)) {
			catalog.EncodeCompact(&b, byID[id].ToMap())
			b.WriteByte('\n')
		}
		if err := putFile(pl, snap, cat.Scope.Sub("suggestions")+"/"+dir+".jsonl", b.Bytes()); err != nil {
			return err
		}
	}
	slices.SortFunc(pl.Changes, func(a, b gitstore.Change) int { return strings.Compare(a.Path, b.Path) })
	return nil
}

// putFile plans p to hold data (nothing: no file), when it does not already.
func putFile(pl *catalog.Plan, snap *gitstore.Snapshot, p string, data []byte) error {
	old, err := snap.ReadFile(p)
	exists := err == nil
	switch {
	case len(data) == 0 && exists:
		pl.Changes = append(pl.Changes, gitstore.Change{Path: p, Delete: true})
	case len(data) > 0 && !bytes.Equal(old, data):
		pl.Changes = append(pl.Changes, gitstore.Change{Path: p, Content: data})
	}
	return nil
}

// suggestedRefs lists suggestions by blueprint and identifier, each once.
func suggestedRefs(es []*catalog.Entity) []EntityRef {
	seen := map[catalog.Key]bool{}
	var out []EntityRef
	for _, e := range es {
		if seen[e.Key()] {
			continue
		}
		seen[e.Key()] = true
		out = append(out, EntityRef{Blueprint: e.Blueprint, Identifier: e.Identifier, Title: catalog.TitleOf(e)})
	}
	slices.SortFunc(out, func(a, b EntityRef) int {
		if c := strings.Compare(a.Blueprint, b.Blueprint); c != 0 {
			return c
		}
		return strings.Compare(a.Identifier, b.Identifier)
	})
	return out
}

// suggestChanges lists suggestions for a plan, each with the fields it
// would set; the later of two with one key wins, as in the file.
func suggestChanges(es []*catalog.Entity) []PlanChange {
	byKey := map[catalog.Key]*catalog.Entity{}
	for _, e := range es {
		byKey[e.Key()] = e
	}
	out := []PlanChange{}
	for _, e := range byKey {
		c := PlanChange{Blueprint: e.Blueprint, Identifier: e.Identifier, Title: catalog.TitleOf(e)}
		empty := &catalog.Entity{Identifier: e.Identifier, Blueprint: e.Blueprint}
		for _, f := range review.FieldChanges(empty, e) {
			f.Old, f.HadOld = nil, false
			c.Fields = append(c.Fields, f)
		}
		out = append(out, c)
	}
	SortChanges(out)
	return out
}

// checkTransforms holds each OpsLevel transform to the blueprints, which
// are read after the config: its opslevel_kind must be one, and every
// property it sets one of its properties. Said at the key, before any
// request, rather than as an invalid entity per item after the fetch.
func checkTransforms(cfg *mapping.Config, bps *schema.Set) error {
	for _, r := range cfg.Resources {
		if r.OpsLevel == nil {
			continue
		}
		at := func(key string) string {
			p := r.OpsLevel.At[key]
			return fmt.Sprintf("%s:%d:%d: %s: %s", cfg.File, p.Line, p.Col, r.Label(), key)
		}
		bp, _ := r.ConstBlueprint()
		b, ok := bps.Blueprint(bp)
		if !ok {
			return fmt.Errorf("%s: no blueprint %q (blueprints: %s); add blueprints/%s.json", at("opslevel_kind"), bp, strings.Join(bps.IDs(), ", "), bp)
		}
		names := make([]string, 0, len(r.Properties)+1)
		for _, np := range r.Properties {
			names = append(names, np.Name)
		}
		if len(r.OpsLevel.Tags) > 0 {
			names = append(names, mapping.TagsProperty)
		}
		for _, name := range names {
			if _, ok := b.Properties[name]; ok {
				continue
			}
			key := "properties." + name
			if name == mapping.TagsProperty && len(r.OpsLevel.Tags) > 0 {
				key = "default_properties.tags"
			}
			known := slices.Sorted(maps.Keys(b.Properties))
			return fmt.Errorf("%s: blueprint %q has no property %q (its properties: %s); add it to %s", at(key), bp, name, strings.Join(known, ", "), b.Source)
		}
	}
	return nil
}

var errInvalid = errors.New("invalid")

// check validates a hand-written file as its update would leave it. Only
// the problems the update brings count: a file that was invalid before
// is the person's to mend, and validate reports it.
func (ol *opslevel) check(patched, before []byte) []schema.Problem {
	e, err := catalog.Decode(patched)
	if err != nil {
		return []schema.Problem{{Pointer: "", Reason: "the updated file does not decode: " + err.Error()}}
	}
	probs := ol.bps.Validate(e)
	if !hasError(probs) {
		return nil
	}
	old := map[string]bool{}
	if oe, err := catalog.Decode(before); err == nil {
		for _, p := range ol.bps.Validate(oe) {
			old[p.Pointer+"\x00"+p.Reason] = true
		}
	}
	var out []schema.Problem
	for _, p := range probs {
		if !p.Warning && !old[p.Pointer+"\x00"+p.Reason] {
			out = append(out, p)
		}
	}
	return out
}

// OpsLevel's tags sit beside a person's own: a transform's tags are
// merged into a hand-written file's "tags", replacing only tags of the
// keys it sets (or set before, recorded as "tag.<key>" fields), never the
// person's others.
const (
	tagsField = "properties." + mapping.TagsProperty
	tagPrefix = "tag."
)

// mergeTags works out the change of a hand-written file's tags: ok is
// false when no transform sets tags in it, now or before; keys are the
// record's entries for the tags it manages after the change.
func mergeTags(data []byte, set map[string]any, old []string, keep bool) (ch *catalog.FieldChange, keys []string, ok bool) {
	oldKeys := map[string]bool{}
	for _, f := range old {
		if k, isTag := strings.CutPrefix(f, tagPrefix); isTag {
			oldKeys[k] = true
		}
	}
	v, has := set[tagsField]
	if !has && len(oldKeys) == 0 {
		return nil, nil, false
	}
	if !has && keep {
		// A doubt: the item may still be there; its tags stay.
		for _, f := range old {
			if strings.HasPrefix(f, tagPrefix) {
				keys = append(keys, f)
			}
		}
		return nil, keys, true
	}
	ours, _ := v.([]any)
	newKeys := map[string]bool{}
	for _, t := range ours {
		if m, isMap := t.(map[string]any); isMap {
			if k, isStr := m["key"].(string); isStr {
				newKeys[k] = true
			}
		}
	}
	e, err := catalog.Decode(data)
	if err != nil {
		return nil, nil, false
	}
	theirs, _ := e.Properties[mapping.TagsProperty].([]any)
	var merged []any
	for _, t := range theirs {
		m, _ := t.(map[string]any)
		k, _ := m["key"].(string)
		if m == nil || !oldKeys[k] && !newKeys[k] {
			merged = append(merged, t)
		}
	}
	merged = append(merged, ours...)
	for _, k := range slices.Sorted(maps.Keys(newKeys)) {
		keys = append(keys, tagPrefix+k)
	}
	_, present := e.Properties[mapping.TagsProperty]
	switch {
	case len(merged) == 0 && present:
		return &catalog.FieldChange{Section: "properties", Name: mapping.TagsProperty, Remove: true}, keys, true
	case len(merged) == 0:
		return nil, keys, true
	}
	return &catalog.FieldChange{Section: "properties", Name: mapping.TagsProperty, Value: merged}, keys, true
}
