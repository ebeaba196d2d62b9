package sync

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	gosync "sync"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/dump"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/itemcache"
	"github.com/gitalog/gitalog/engine/jsonx"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry"
	"github.com/gitalog/gitalog/schema"
)

// The sync streams: pages of raw items go to workers on every core, which
// decode, map, validate, encode and hash them; a collector keeps, per
// entity, only its file name, blob id and (when the file changes) its
// bytes. Only entities that need the whole catalog (search relations and
// their targets, required relations) are held whole until the end.

// Page is a batch of items: the JSON of each, which the workers decode in
// parallel (Where names each one, for errors).
type Page struct {
	Items [][]byte
	Where []string
	// release, when set, is called once the workers are done with Items
	// (decoding copies what it keeps), so its memory can be reused.
	release func()
}

// Fetcher is where items come from: Sentry, or a dump.
type Fetcher interface {
	Stream(ctx context.Context, kind string, selector map[string]any, fn func(Page) error) error
}

type replayFetcher struct{ r *dump.Reader }

const replayBatch = 256

func (f replayFetcher) Stream(ctx context.Context, kind string, sel map[string]any, fn func(Page) error) error {
	return f.r.StreamChunks(ctx, kind, sel, replayBatch, func(raw [][]byte, where []string, release func()) error {
		return fn(Page{Items: raw, Where: where, release: release})
	})
}

// seqNo orders entities as Port applies them: by resource, then item, so
// that when two items give the same entity the later one wins, whatever
// order the workers finish in.
type seqNo struct{ res, page, item, sub int }

func (a seqNo) less(b seqNo) bool {
	if a.res != b.res {
		return a.res < b.res
	}
	if a.page != b.page {
		return a.page < b.page
	}
	if a.item != b.item {
		return a.item < b.item
	}
	return a.sub < b.sub
}

// relation is one relation value kept for the check at the end: a slice
// of these is a fraction of the size of the entity's map. It is the item
// cache's own type, so that a cached item's relations are used as decoded.
type relation = itemcache.Rel

// slot is what the sync keeps of one entity. Its file, as the plan sees
// it, is a catalog.File; a spooled new file keeps its Data only when the
// commit writes a worktree.
type slot struct {
	catalog.File
	seq   seqNo
	rels  []relation // for the relation check at the end
	probs []schema.Problem
	lost  bool            // a later item's entity took its file
	held  *catalog.Entity // entities needing the whole catalog
}

// relation returns the value of the slot's relation name, nil when unset.
func (s *slot) relation(name string) any {
	for _, r := range s.rels {
		if r.Name == name {
			return r.Val
		}
	}
	return nil
}

// pathKey identifies an entity file: catalog/<dir>/<stem>.json.
type pathKey struct{ dir, stem string }

func (s *slot) pathKey() pathKey { return pathKey{s.Dir, s.Stem} }

// before orders slots by file path without building the paths.
func (s *slot) before(o *slot) bool {
	if s.Dir != o.Dir {
		return s.Dir < o.Dir
	}
	return s.Stem < o.Stem
}

// Files and Has make a collection the catalog.Produced the plan reads.
func (c *collection) Files() iter.Seq[*catalog.File] {
	return func(yield func(*catalog.File) bool) {
		for _, sl := range c.slots {
			if !yield(&sl.File) {
				return
			}
		}
	}
}

func (c *collection) Has(dir, stem string) bool { return c.slots[pathKey{dir, stem}] != nil }

// collection is the result of streaming every resource.
type collection struct {
	slots     map[pathKey]*slot
	mapIssues []*MapIssue
	doubts    []Doubt
	// dups are the entities more than one item gave, with how many.
	dups    []Duplicate
	records []cacheRec // the item cache's entries for this sync's items
	changed int        // slots whose file differs from the target's
	// What OpsLevel transforms and rule relations gave besides slots.
	patches   []patch
	suggested []*catalog.Entity
	skipped   int
	ruleVals  []ruleVal
	// fields are, per hand-written file, the managed fields to set
	// ("properties.x", "relations.y"), resolved by finish.
	fields map[pathKey]map[string]any
	// keptRules are the rule relations ("blueprint\x00name") a doubt on
	// their targets leaves as they are.
	keptRules map[string]bool
	// ruleKept are the rule targets of this sync's kept entities.
	ruleKept []*catalog.Entity
	// ruleHolds are, in a push batch (pushBatch), the holds that leave
	// a rule relation as it is: the doubts, not what was not fetched.
	ruleHolds *catalog.Holds
	pushBatch bool
	// failedFields are, per hand-written file, the managed properties
	// whose jq failed for the item that sets them: kept as they are.
	failedFields map[pathKey]map[string]bool
	ol           *opslevel
	// patchProblems are why updates of hand-written files were not
	// written (values their blueprint refuses).
	patchProblems []schema.Problem
	problems      int // how many the result had before them; -1: not yet known
}

type pipeline struct {
	bps      *schema.Set
	cat      *catalog.State // valid once catReady is closed
	catReady chan struct{}
	hold     map[string]bool // blueprints that are targets of search relations
	ic       *itemCache      // nil: every item is mapped
	store    *gitstore.Store // reads the entities a doubt or the threshold keeps, for searches
	checkout bool            // the commit writes a worktree: keep new files' bytes
	spool    *gitstore.Spool
	ol       *opslevel // nil: no OpsLevel transform, no rule relation
}

// holdTargets lists the blueprints search relations may point at: their
// entities must all be at hand when the searches are resolved.
func holdTargets(cfg *mapping.Config, bps *schema.Set) map[string]bool {
	names := map[string]bool{}
	for _, r := range cfg.Resources {
		for _, rel := range r.Relations {
			if rel.Search != nil {
				names[rel.Name] = true
			}
		}
	}
	out := map[string]bool{}
	for _, id := range bps.IDs() {
		b, _ := bps.Blueprint(id)
		for name, rel := range b.Relations {
			if names[name] {
				out[rel.Target] = true
			}
		}
	}
	return out
}

func (p *pipeline) mustHold(e *catalog.Entity) bool {
	if p.hold[e.Blueprint] || p.ol != nil && (p.ol.ruleSources[e.Blueprint] || p.ol.patchable[e.Blueprint]) {
		return true
	}
	for _, v := range e.Relations {
		if _, ok := v.(*mapping.Query); ok {
			return true
		}
	}
	if b, ok := p.bps.Blueprint(e.Blueprint); ok {
		for _, r := range b.Relations {
			if r.Required {
				return true
			}
		}
	}
	return false
}

// worker is one worker's reusable state.
type worker struct {
	dec   jsonx.Decoder
	buf   bytes.Buffer // the entity being encoded; copied out only when it changed
	slots []slot       // handed out one by one: a sync's 100k slots in a few hundred allocations
}

// slot returns a new zero slot. A chunk is never grown, so the pointers it
// handed out stay valid; it is freed once none of its slots is held.
func (w *worker) slot() *slot {
	if len(w.slots) == 0 {
		w.slots = make([]slot, 128)
	}
	sl := &w.slots[0]
	w.slots = w.slots[1:]
	return sl
}

// prepare does all the per-entity work a worker can do alone.
func (p *pipeline) prepare(w *worker, e *catalog.Entity, seq seqNo) *slot {
	sl := w.slot()
	*sl = slot{seq: seq, File: catalog.File{Key: e.Key(), Dir: catalog.EncodeDir(e.Blueprint), Stem: catalog.EncodeName(e.Identifier)}}
	if p.mustHold(e) {
		sl.held = e
		return sl
	}
	sl.probs = p.bps.Validate(e)
	if hasError(sl.probs) {
		sl.Invalid = true
		return sl
	}
	p.encode(w, sl, e)
	return sl
}

func (p *pipeline) encode(w *worker, sl *slot, e *catalog.Entity) {
	w.buf.Reset()
	e.EncodeTo(&w.buf)
	sl.Hash = gitstore.BlobHash(w.buf.Bytes())
	changed, isNew := true, false // until the target's catalog, read meanwhile, says otherwise
	select {
	case <-p.catReady:
		old, ok := p.cat.Files[sl.Dir].Lookup(sl.Stem)
		changed, isNew = !ok || old != sl.Hash, !ok
	default:
		// Keep the bytes rather than wait: the plan compares again, and
		// only the first pages of a sync get here.
	}
	if changed {
		sl.Title = catalog.TitleOf(e)
		// A new file's blob is spooled; its bytes stay only for the
		// worktree's checkout. A changed file keeps them for the diff of
		// the summary.
		sl.Spooled = isNew && p.spool.Add(sl.Hash, w.buf.Bytes())
		if !sl.Spooled || p.checkout {
			sl.Data = bytes.Clone(w.buf.Bytes())
		}
	}
	for name, v := range e.Relations {
		if v != nil {
			sl.rels = append(sl.rels, relation{Name: name, Val: v})
		}
	}
}

type job struct {
	group []*mapping.Resource
	keys  map[string]bool // the item keys the group's programs can read; nil: all
	page  int
	Page
}

type jobResult struct {
	slots   []*slot
	issues  []mapping.Issue
	doubts  []doubtItem
	items   int
	records []cacheRec
	cached  int // items whose every resource's entities came from the cache
	// counts are, per resource of the group, what became of its items.
	counts []resCount

	patches   []patch
	suggested []*catalog.Entity
	skipped   int
	ruleVals  []ruleVal
}

// resCount counts a resource's items: those it was given (decoded), and
// of those, the ones that gave an entity and why the others gave none.
// failed items are doubts already, each with its reason.
type resCount struct {
	res                                         *mapping.Resource
	items, gave, nulls, empty, rejected, failed int
}

func (c *resCount) add(o resCount) {
	c.items += o.items
	c.gave += o.gave
	c.nulls += o.nulls
	c.empty += o.empty
	c.rejected += o.rejected
	c.failed += o.failed
}

// collect streams every resource through the workers.
func (p *pipeline) collect(ctx context.Context, o *Options, cfg *mapping.Config, src Fetcher, res *Result) (*collection, []error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, runtime.GOMAXPROCS(0)*2)
	results := make(chan jobResult, runtime.GOMAXPROCS(0)*2)
	var wg gosync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var w worker
			for j := range jobs {
				results <- p.work(j, &w)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	// Resources that fetch the same kind with the same selector share one
	// stream; groups run one after the other, in config order.
	type group struct {
		key  string
		sel  map[string]any
		rs   []*mapping.Resource
		keys map[string]bool
	}
	var groups []*group
	byKey := map[string]*group{}
	failed := map[string]bool{}
	for _, r := range cfg.Resources {
		key, sel := sentry.Variant(r.Kind, r.Params)
		g := byKey[key]
		if g == nil {
			g = &group{key: key, sel: sel}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.rs = append(g.rs, r)
	}
	var errs []error
	var mu gosync.Mutex
	go func() {
		defer close(jobs)
		seen := map[string]bool{}
		for _, g := range groups {
			if keys, all := mapping.InputKeys(g.rs); !all {
				g.keys = keys
			}
			kind := g.rs[0].Kind
			o.progress("fetch", kind)
			page := 0
			items := 0
			err := src.Stream(ctx, kind, g.sel, func(pg Page) error {
				items += len(pg.Items)
				o.runs.page(kind, g.rs, pg)
				select {
				case jobs <- job{group: g.rs, keys: g.keys, page: page, Page: pg}:
				case <-ctx.Done():
					return ctx.Err()
				}
				page++
				return nil
			})
			mu.Lock()
			if items > res.Items[kind] {
				res.Items[kind] = items
			}
			if err != nil && ctx.Err() == nil {
				res.FailedKinds = append(res.FailedKinds, kind)
				failed[kind] = true
				// Kinds that fan out over a failed parent fail with its
				// error; say it once.
				if !seen[err.Error()] {
					seen[err.Error()] = true
					errs = append(errs, err)
				}
			}
			mu.Unlock()
		}
	}()

	// Sized once for as many entities as the item cache expects, rather
	// than grown (and rehashed) seventeen times on the way to 100k.
	hint := 0
	if p.ic != nil {
		<-p.ic.ready // the workers wait for it too
		hint = p.ic.c.Len()
	}
	c := &collection{slots: make(map[pathKey]*slot, hint), records: make([]cacheRec, 0, hint), ol: p.ol, problems: -1}
	issues := newIssueGroups()
	ds := newDoubts(p.bps)
	// givers counts, per file that more than one item gave, the items of
	// each resource that gave it.
	givers := map[pathKey]map[int]int{}
	counts := map[int]*resCount{}
	done := 0
	for r := range results {
		for _, sl := range r.slots {
			k := sl.pathKey()
			if old := c.slots[k]; old != nil {
				// Two items give one file: the later one's entity wins,
				// as with Port's upserts. seq is the items' order in the
				// fetch stream, not the order the workers finish in.
				if givers[k] == nil {
					givers[k] = map[int]int{old.seq.res: 1}
				}
				givers[k][sl.seq.res]++
				if sl.seq.less(old.seq) {
					sl.lost = true
					continue
				}
				old.lost = true
			}
			c.slots[k] = sl
			if sl.Data != nil || sl.Spooled {
				c.changed++
			}
		}
		c.records = append(c.records, r.records...)
		c.patches = append(c.patches, r.patches...)
		c.suggested = append(c.suggested, r.suggested...)
		c.skipped += r.skipped
		c.ruleVals = append(c.ruleVals, r.ruleVals...)
		res.Cached += r.cached
		for _, d := range r.doubts {
			ds.item(d)
		}
		for _, is := range r.issues {
			issues.add(is)
		}
		for _, rc := range r.counts {
			if counts[rc.res.Index] == nil {
				counts[rc.res.Index] = &resCount{res: rc.res}
			}
			counts[rc.res.Index].add(rc)
		}
		done += r.items
		o.progress("map", fmt.Sprintf("%d items, %d entities", done, len(c.slots)))
	}
	mu.Lock()
	defer mu.Unlock()
	rss := make([][]*mapping.Resource, len(groups))
	for i, g := range groups {
		rss[i] = g.rs
	}
	ds.fetchFailures(rss, failed)
	for _, rc := range counts {
		switch {
		case rc.items == 0:
			// Nothing fetched (an empty org): the deletion threshold
			// judges what goes.
		case rc.nulls == rc.items:
			// Port reads itemsToParse null as no elements, and so does a
			// sync for some items (a team without the field). Null for
			// every item of a listing says the path names nothing there
			// (".__membrs"): the entities it gave would all go, so it is
			// a doubt. Unlike an empty result (below), which may be data,
			// no threshold overrides it: a path absent from every item is
			// a typo until `// []` says it is meant, and that says so in
			// the config, for every later sync, not in one run's flag.
			ds.nullLists(rc.res, rc.nulls)
		case rc.gave == 0 && rc.failed < rc.items:
			// Items came, and none gave an entity: an empty result of
			// a filter, which may be data, or a typo (".user.isActiv").
			// See doubts.gaveNothing. When every item failed to map,
			// their doubts say which blueprints they were meant for.
			ds.gaveNothing(rc)
		}
	}
	// Items of one resource that give one entity mean its identity is not
	// what the mapping thinks ('"u:" + .emial' gives "u:" for all), or
	// that the listing shifted while it was read, so some item may have
	// been missed: a doubt either way. Two resources giving one entity
	// can be meant (either of two kinds names it) and stays a warning.
	// A file's name is its entity's key, encoded one to one, so the
	// givers of a file are the items that gave its entity.
	for k, byRes := range givers {
		key, total := c.slots[k].Key, 0
		for i, n := range byRes {
			total += n
			// OpsLevel's transforms upsert components by identifier:
			// many items giving one (every Kyverno report of a namespace
			// gives its namespace) is what the guides mean, and the
			// extractor already keeps one item per external id.
			if n > 1 && cfg.Resources[i].OpsLevel == nil {
				ds.collided(cfg.Resources[i], key, n)
			}
		}
		c.dups = append(c.dups, Duplicate{Blueprint: key.Blueprint, Identifier: key.Identifier, Items: total})
	}
	sortDuplicates(c.dups)
	c.doubts = ds.list()
	c.mapIssues = issues.list()
	return c, errs
}

// work maps one page for every resource of its group.
func (p *pipeline) work(j job, w *worker) jobResult {
	G := len(j.group)
	// Most items give one entity per resource: sized for that.
	n := len(j.Items) * G
	out := jobResult{slots: make([]*slot, 0, n)}
	if p.ic != nil {
		out.records = make([]cacheRec, 0, n)
	}
	// done[i*G+g]: whether item i's entities for group[g] came from the
	// cache.
	var done []hit
	var keys [][16]byte
	if p.ic != nil {
		done, keys = p.hits(j, w, &out)
	}
	items := make([]any, len(j.Items))
	for i, raw := range j.Items {
		if done != nil && !slices.Contains(done[i*G:(i+1)*G], miss) {
			out.cached++ // every resource's entities came from the cache
			continue
		}
		var v any
		var err error
		if j.keys != nil {
			v, err = w.dec.DecodeKeys(raw, j.keys)
		} else {
			v, err = w.dec.Decode(raw)
		}
		items[i] = v
		if err != nil {
			msg := fmt.Sprintf("%s: invalid JSON: %v; item skipped", j.Where[i], err)
			out.issues = append(out.issues, mapping.Issue{Resource: j.group[0], Field: "input", Msg: msg, Skipped: true})
			for _, r := range j.group {
				out.doubts = append(out.doubts, doubtItem{res: r, field: "input", msg: msg})
			}
			items[i] = nil
			continue
		}
	}
	if j.release != nil {
		j.release()
	}
	out.items = len(items)
	for g, r := range j.group {
		rc := resCount{res: r}
		for i, it := range items {
			if done != nil && done[i*G+g] != miss {
				rc.items++
				// A cached result without entities is always of an item
				// the selector rejected: see below.
				if done[i*G+g] == hitSome {
					rc.gave++
				} else {
					rc.rejected++
				}
				continue
			}
			if it == nil {
				continue // not decoded: a doubt already
			}
			rc.items++
			es, iss, none := r.MapItem(it)
			switch {
			case len(es) > 0:
				rc.gave++
			case none == mapping.NullList:
				rc.nulls++
			case none == mapping.EmptyList:
				rc.empty++
			case none == mapping.Rejected:
				rc.rejected++
			default:
				rc.failed++
			}
			out.issues = append(out.issues, iss...)
			for _, is := range iss {
				if is.Skipped {
					out.doubts = append(out.doubts, doubtItem{res: r, field: is.Field, msg: is.Msg, bp: is.Blueprint})
				}
			}
			first := len(out.slots)
			diverted := false
			var failed map[string]bool
			if r.OpsLevel != nil {
				failed = failedProps(iss)
			}
			for sub, e := range es {
				if p.ol != nil {
					if r.OpsLevel != nil && p.ol.divert(p, r, e, seqNo{r.Index, j.page, i, sub}, failed, &out) {
						diverted = true
						continue
					}
					if rv, ok := p.ol.ruleValue(e); ok {
						out.ruleVals = append(out.ruleVals, rv)
					}
				}
				if _, ok := p.bps.Blueprint(e.Blueprint); !ok {
					// Validation reports the entity; the doubt keeps the
					// files of the blueprint it was meant for.
					out.doubts = append(out.doubts, doubtItem{res: r, field: r.Blueprint.Field, msg: fmt.Sprintf("unknown blueprint %q", e.Blueprint)})
				}
				out.slots = append(out.slots, p.prepare(w, e, seqNo{r.Index, j.page, i, sub}))
			}
			// An item whose itemsToParse gave null or an empty array is
			// mapped every time: whether that held for every item is
			// judged on each sync, and a cached entry without entities
			// is then always of an item the selector rejected.
			if keys != nil && !diverted && len(iss) == 0 && (none == mapping.Some || none == mapping.Rejected) && p.ic.pure[r.Index] {
				if rec, ok := record(keys[i], r, out.slots[first:len(out.slots):len(out.slots)]); ok {
					out.records = append(out.records, rec)
				}
			}
		}
		out.counts = append(out.counts, rc)
	}
	return out
}

// finish resolves search relations, validates the held entities and
// checks every relation against the whole catalog: the catalog as the
// commit will leave it, given the doubts and the deletion threshold the
// plan applies (see catalog.After).
func (p *pipeline) finish(c *collection, res *Result, holds *catalog.Holds, threshold float64) error {
	return p.finishAfter(c, res, catalog.NewAfter(p.cat, c, holds, threshold), holds, threshold)
}

// afterCommit is what the commit leaves of the target's catalog besides
// the entities produced: a sync's catalog.After, or a batch's.
type afterCommit interface {
	// Stays reports whether the target's file dir/stem, not produced, is
	// still there after the commit.
	Stays(dir, stem string) bool
	// Kept reads the managed entities of bp, not produced, that the
	// commit leaves: those a search relation matches besides the
	// produced ones.
	Kept(store *gitstore.Store, bp string) ([]*catalog.Entity, error)
	// Others reads the entities of bp that other sources' lists hold:
	// they stay whatever the commit does.
	Others(store *gitstore.Store, bp string) ([]*catalog.Entity, error)
}

// finishAfter is finish against what the commit leaves of the catalog.
func (p *pipeline) finishAfter(c *collection, res *Result, after afterCommit, holds *catalog.Holds, threshold float64) error {
	var held []*slot
	for _, sl := range c.slots {
		if sl.held != nil {
			held = append(held, sl)
		}
	}
	sort.Slice(held, func(i, j int) bool { return held[i].seq.less(held[j].seq) })
	entities := make([]*catalog.Entity, len(held))
	for i, sl := range held {
		entities[i] = sl.held
	}
	var kept []*catalog.Entity
	if len(held) > 0 {
		targets := make([]string, 0, len(p.hold))
		for bp := range p.hold {
			targets = append(targets, bp)
		}
		sort.Strings(targets)
		for _, bp := range targets {
			es, err := after.Kept(p.store, bp)
			if err != nil {
				return err
			}
			kept = append(kept, es...)
		}
	}
	unresolved := mapping.Resolve(entities, kept, func(bp, rel string) (string, bool, bool, bool) {
		b, ok := p.bps.Blueprint(bp)
		if !ok {
			return "", false, false, false
		}
		r, ok := b.Relations[rel]
		return r.Target, r.Many, r.Required, ok
	})
	if p.ol != nil {
		// Rules relate to the targets the commit leaves: the entities the
		// threshold keeps, too, and those of every other source, so that
		// each source states the same relation (it is no one source's).
		var keptTargets, others []*catalog.Entity
		for _, bp := range slices.Sorted(maps.Keys(p.ol.ruleTargets)) {
			es, err := after.Kept(p.store, bp)
			if err != nil {
				return err
			}
			oth, err := after.Others(p.store, bp)
			if err != nil {
				return err
			}
			keptTargets, others = append(keptTargets, es...), append(others, oth...)
		}
		p.ol.relate(c, held, holds, threshold, keptTargets, others)
	}
	byKey := map[catalog.Key]*slot{}
	for _, sl := range held {
		byKey[sl.Key] = sl
	}
	for _, u := range unresolved {
		sl := byKey[u.Entity.Key()]
		sl.probs = append(sl.probs, schema.Problem{
			Blueprint: u.Entity.Blueprint, Identifier: u.Entity.Identifier,
			Pointer: "/relations/" + u.Relation, Reason: u.String(), Warning: !u.Required,
		})
	}
	var dirs gosync.Map // blueprint -> its encoded directory
	exists := func(bp, id string) bool {
		d, ok := dirs.Load(bp)
		if !ok {
			d, _ = dirs.LoadOrStore(bp, catalog.EncodeDir(bp))
		}
		k := pathKey{d.(string), catalog.EncodeName(id)}
		return c.slots[k] != nil || after.Stays(k.dir, k.stem)
	}
	var w worker
	for _, sl := range held {
		probs := p.bps.Validate(sl.held)
		sl.probs = append(sl.probs, probs...)
		if !hasError(probs) {
			sl.probs = append(sl.probs, p.bps.CheckRelations(sl.held, exists)...)
		}
		if hasError(sl.probs) {
			sl.Invalid = true
		} else {
			p.encode(&w, sl, sl.held)
		}
	}
	// The rest: relation checks need no more than the relations.
	streamed := make([]*slot, 0, len(c.slots))
	for _, sl := range c.slots {
		if sl.held == nil && !sl.Invalid && sl.rels != nil {
			streamed = append(streamed, sl)
		}
	}
	// Relations repeat a few targets (issues of 50 projects): each
	// goroutine's checker remembers what it looked up.
	workers := min(runtime.GOMAXPROCS(0), len(streamed))
	var wg gosync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := p.bps.NewRelationChecker(exists)
			for i := w; i < len(streamed); i += workers {
				sl := streamed[i]
				if probs := rc.Check(sl.Key.Blueprint, sl.Key.Identifier, sl.relation); sl.probs == nil {
					sl.probs = probs // usually: no copy of 100k warnings
				} else {
					sl.probs = append(sl.probs, probs...)
				}
			}
		}()
	}
	wg.Wait()
	res.Problems = sortProblems(c.slots)
	res.MapIssues = c.mapIssues
	return nil
}

// sortProblems lists the slots' problems, and takes them from the slots:
// errors first, then by entity, and in the order they were found for one
// entity. A problem names its own entity, so sorting the entities (keys
// held inline, two halves on two cores) and then taking their errors and
// their warnings keeps 100k warnings cheap.
func sortProblems(slots map[pathKey]*slot) []schema.Problem {
	type ent struct {
		bp, id string
		sl     *slot
	}
	ents := make([]ent, 0, len(slots))
	n := 0
	for _, sl := range slots {
		if len(sl.probs) > 0 {
			ents = append(ents, ent{sl.Key.Blueprint, sl.Key.Identifier, sl})
			n += len(sl.probs)
		}
	}
	less := func(a, b ent) int {
		if a.sl == b.sl {
			return 0
		}
		if a.bp != b.bp {
			return strings.Compare(a.bp, b.bp)
		}
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		if a.sl.before(b.sl) { // two entities' files with one key: by path
			return -1
		}
		return 1
	}
	if len(ents) < 4096 {
		slices.SortFunc(ents, less)
	} else {
		half := len(ents) / 2
		done := make(chan struct{})
		go func() {
			slices.SortFunc(ents[:half], less)
			close(done)
		}()
		slices.SortFunc(ents[half:], less)
		<-done
		merged := make([]ent, 0, len(ents))
		a, b := ents[:half], ents[half:]
		for len(a) > 0 && len(b) > 0 {
			if less(b[0], a[0]) < 0 {
				merged, b = append(merged, b[0]), b[1:]
			} else {
				merged, a = append(merged, a[0]), a[1:]
			}
		}
		ents = append(append(merged, a...), b...)
	}
	out := make([]schema.Problem, 0, n)
	for _, warnings := range []bool{false, true} {
		for _, e := range ents {
			for _, p := range e.sl.probs {
				if p.Warning == warnings {
					out = append(out, p)
				}
			}
		}
	}
	// The slots' own lists are not read again: 100k relation warnings
	// held twice through the commit made 12 MB of its peak.
	for _, e := range ents {
		e.sl.probs = nil
	}
	return out
}

// failedProps are the properties whose jq failed for an item (set to
// null, the item still mapped).
func failedProps(iss []mapping.Issue) map[string]bool {
	var out map[string]bool
	for _, is := range iss {
		name, ok := strings.CutPrefix(is.Field, "properties.")
		if strings.HasPrefix(is.Field, "default_properties.tags") {
			name, ok = mapping.TagsProperty, true
		}
		if ok && !is.Skipped {
			if out == nil {
				out = map[string]bool{}
			}
			out[name] = true
		}
	}
	return out
}
