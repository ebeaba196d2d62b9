package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	gosync "sync"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/fanout"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/jsonx"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry"
	"github.com/go-git/go-git/v5/plumbing"
)

// A batch (webhooks' items, applied as one commit) writes what a full sync
// would write from the same items and decides only about their entities:
// a full sync deletes every managed entity it did not produce, a batch
// deletes the entity of an item whose resource no longer selects it, and
// nothing else. Whatever it cannot decide from the item alone it leaves as
// it is, and says so: the next full sync decides.

// Item is one item a webhook delivered.
type Item struct {
	Kind string // a Port kind, e.g. "issue"
	JSON []byte // the item as the Sentry API returns it (a webhook's data.issue)
	ID   string // for logs and dedupe, e.g. Request-ID
}

// Undecided is an item a batch left alone for one resource: its entities
// were neither written nor deleted, and the next full sync decides.
type Undecided struct {
	Item     string // the Item's ID
	Resource string // the resource's label
	Reason   string
}

// Apply maps items through the config's resources of their kind (and of
// kinds built on it, e.g. issue-tag, which fetches what it needs for that
// one item through the Sentry client), writes their entities and deletes
// the entity of an item that no longer matches its resource's selection,
// as one commit on the branch, under the same lock, crash-safety, push
// (o.Push) and summary as Run. Nothing else is deleted. Later items win
// over earlier ones for the same entity. Result.Undecided lists what it
// left for the next full sync.
func Apply(ctx context.Context, o Options, items []Item) (*Result, error) {
	if o.Plan || o.Replay != "" {
		return nil, errors.New("applying a batch: Plan and Replay are for a full sync")
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	start, err := o.begin()
	if err != nil {
		return nil, err
	}
	defer o.progress("done", "")
	log := o.logger()
	rp, err := o.openRepo(ctx)
	if err != nil {
		return nil, err
	}
	if len(rp.cfg.Sources) > 0 && o.Source == "" {
		rp.unlock()
		return nil, fmt.Errorf("%s has sources:; a webhook batch is of one source: pass --source NAME", rp.cfg.File)
	}
	defer rp.unlock()
	store, head, cfg, set, setErr, bps := rp.store, rp.head, rp.cfg, rp.set, rp.setErr, rp.bps
	res := &Result{DryRun: o.DryRun, Items: map[string]int{}, Source: batchSource(items), SourceName: string(o.scope)}
	tgt, err := o.target(ctx, store, head)
	if err != nil {
		return nil, err
	}
	tsnap, err := store.Snapshot(tgt.commit)
	if err != nil {
		return nil, err
	}
	pl := &pipeline{bps: bps, hold: holdTargets(cfg, bps), catReady: make(chan struct{}), store: store}
	if !o.DryRun {
		pl.checkout, _ = store.CheckedOut(tgt.ref)
		pl.spool = store.NewSpool()
		defer pl.spool.Abandon()
	}
	b := &batch{o: &o, cfg: cfg, pl: pl, set: set, setErr: setErr, res: res, tsnap: tsnap,
		verdicts: map[catalog.Key]map[int]verdict{}, issues: newIssueGroups(), ol: newOpslevel(cfg, bps)}
	o.progress("map", fmt.Sprintf("%d items", len(items)))
	if err := b.mapItems(ctx, items); err != nil {
		return nil, err
	}
	coll, dels, undecided := b.decide()
	// Until the catalog is read, encode keeps every entity's bytes:
	// only the folders the batch touches are read, once it is mapped.
	dirs := map[string]bool{}
	for _, sl := range coll.slots {
		dirs[sl.Dir] = true
	}
	for _, k := range dels {
		dirs[catalog.EncodeDir(k.Blueprint)] = true
	}
	readDirs := func(snap *gitstore.Snapshot) (*catalog.State, error) {
		cat := catalog.NewStateOf(o.scope, o.live)
		cat.Commit = snap.Commit()
		if err := cat.ReadDirState(snap, slices.Sorted(maps.Keys(dirs))...); err != nil {
			return nil, fmt.Errorf("reading the catalog at %s: %w", snap.Commit(), err)
		}
		return cat, nil
	}
	if pl.cat, err = readDirs(tsnap); err != nil {
		return nil, err
	}
	close(pl.catReady)
	after := &batchAfter{snap: tsnap, cat: pl.cat, prod: coll, del: map[pathKey]bool{}}
	for _, k := range dels {
		dir, stem := catalog.EncodeDir(k.Blueprint), catalog.EncodeName(k.Identifier)
		if pl.cat.Managed[dir].Has(stem) && !coll.Has(dir, stem) {
			after.del[pathKey{dir, stem}] = true
		}
	}
	o.progress("validate", fmt.Sprintf("%d entities", len(coll.slots)))
	if err := pl.finishAfter(coll, res, after, nil, 0); err != nil {
		return nil, err
	}
	if after.err != nil {
		return nil, after.err
	}
	res.Undecided = append(res.Undecided, undecided...)
	for _, u := range res.Undecided {
		log.Info("left for the next full sync", "item", u.Item, "resource", u.Resource, "reason", u.Reason)
	}
	plan := func(snap *gitstore.Snapshot) (*catalog.Plan, error) {
		cat := pl.cat
		if snap.Commit() != cat.Commit {
			// The remote moved (a push race): the same decisions, on its
			// catalog.
			var err error
			if cat, err = readDirs(snap); err != nil {
				return nil, err
			}
		}
		p, err := catalog.MakeBatchPlan(store, cat, coll, dels)
		if err != nil || b.memo == nil {
			return p, err
		}
		// What the batch fetched for its issues (their tag values) goes
		// in the fan-out state as a resync would store it, so that the
		// resync after it has nothing to add.
		ch, err := b.memo.Changes(snap, fanout.Update{})
		if err != nil {
			return nil, fmt.Errorf("the fan-out state: %w", err)
		}
		p.Changes = append(p.Changes, ch...)
		slices.SortFunc(p.Changes, func(a, b gitstore.Change) int { return strings.Compare(a.Path, b.Path) })
		return p, nil
	}
	return o.commitAndPush(ctx, store, tgt, res, start, plan, nil, nil, pl.spool)
}

// batchSource is the commit body's Source line of a batch: the word
// webhook tells validate it is a sync's commit, the ids which deliveries.
func batchSource(items []Item) string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return sourceLine("webhook, "+plural(len(items), "item", "items"), ids)
}

// sourceLine is what, then the first few distinct delivery ids.
func sourceLine(what string, ids []string) string {
	var show []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			show = append(show, id)
		}
	}
	const most = 5
	if len(show) == 0 {
		return what
	}
	more := ""
	if len(show) > most {
		show, more = show[:most], fmt.Sprintf(" and %d more", len(show)-most)
	}
	return what + " (" + strings.Join(show, ", ") + more + ")"
}

// batch is one Apply's mapping state.
type batch struct {
	o           *Options
	cfg         *mapping.Config
	pl          *pipeline
	set         sentry.Settings
	setErr      error
	src         *sentry.Source // opened for the first kind built on an item's
	tsnap       *gitstore.Snapshot
	memo        *batchMemo // with src: the fan-out state at the target
	res         *Result
	w           worker
	issues      *issueGroups
	ol          *opslevel
	undecidedBy []Undecided
	// verdicts are, per entity, each resource's last word on it.
	verdicts map[catalog.Key]map[int]verdict
}

// verdict is what one resource's item said of an entity: write slot,
// delete it (slot nil), or leave it (undecided).
type verdict struct {
	seq       seqNo
	slot      *slot
	undecided bool
}

// resourcesOf are the resources an item of kind feeds: those of the kind,
// and those of kinds built on it one request per item (issue-tag on
// issue). Resources of kinds that list many items per parent item (the
// issues of a project) are not fed: a batch cannot tell what they delete.
func (b *batch) resourcesOf(kind string) (direct, built []*mapping.Resource) {
	for _, r := range b.cfg.Resources {
		if r.OpsLevel != nil {
			continue
		}
		k := sentry.Kinds[r.Kind]
		switch {
		case r.Kind == kind:
			direct = append(direct, r)
		case k != nil && k.Parent == kind && k.Shape != sentry.EachElement:
			built = append(built, r)
		}
	}
	return direct, built
}

// selects decides, for an issue, the Sentry-side selection of r: its
// search (issue's, or its parent issue's for issue-tag), and no
// statsPeriod, which only Sentry applies.
func selects(r *mapping.Resource, kind string, item any) (bool, string) {
	if kind != "issue" {
		return true, ""
	}
	if sp, ok := r.Params["statsPeriod"]; ok && sp != nil && sp != "" {
		return false, fmt.Sprintf("statsPeriod %v is applied by Sentry only", sp)
	}
	q := "is:unresolved"
	if s, ok := r.Params["search"].(string); ok {
		q = s
	}
	m, _ := item.(map[string]any)
	if m == nil {
		return false, "the issue is not a JSON object"
	}
	return parseIssueSearch(q).match(m)
}

func (b *batch) mapItems(ctx context.Context, items []Item) error {
	for i, it := range items {
		direct, built := b.resourcesOf(it.Kind)
		b.res.Items[it.Kind]++
		if len(direct)+len(built) == 0 {
			b.o.logger().Info("no resource maps this kind; item ignored", "item", it.ID, "kind", it.Kind)
			continue
		}
		v, err := jsonx.Decode(it.JSON)
		if err != nil {
			// One bad item must not stop the others: it is left, and the
			// next full sync fetches the issue as Sentry has it.
			for _, r := range append(direct, built...) {
				b.leave(it, r, nil, "invalid JSON: "+err.Error())
			}
			continue
		}
		for _, r := range b.cfg.Resources {
			isDirect, isBuilt := slices.Contains(direct, r), slices.Contains(built, r)
			if !isDirect && !isBuilt {
				continue
			}
			sel, why := selects(r, it.Kind, v)
			inputs := []any{v}
			if isBuilt {
				inputs, err = b.children(ctx, r, it.Kind, v)
				if b.memo != nil {
					if reqs := b.memo.take(); err == nil && why == "" && !sel {
						// No longer listed for r: a resync drops what it
						// stored for the issue, and so does the batch.
						b.memo.forget(reqs)
					}
				}
				if err != nil {
					b.res.FetchErrors = append(b.res.FetchErrors, err)
					if !slices.Contains(b.res.FailedKinds, r.Kind) {
						b.res.FailedKinds = append(b.res.FailedKinds, r.Kind)
					}
					b.leave(it, r, inputs, "fetching what it needs failed")
					continue
				}
			}
			if why != "" {
				b.leave(it, r, inputs, why)
				continue
			}
			for j, in := range inputs {
				b.mapOne(it, r, seqNo{r.Index, i, j, 0}, in, sel)
			}
		}
	}
	return nil
}

// children fetches the items of r's kind built on item, as a full sync
// would fetch them for it.
func (b *batch) children(ctx context.Context, r *mapping.Resource, kind string, item any) ([]any, error) {
	if b.src == nil {
		src, _, err := b.o.sentrySource(ctx, b.cfg, b.set)
		if err == nil {
			err = b.setErr
		}
		if err != nil {
			return nil, err
		}
		dir := b.o.scope.Sub("fanout")
		st, err := fanout.ReadAt(b.tsnap, dir)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", dir, err)
		}
		b.memo = &batchMemo{State: st}
		src.Memo = b.memo
		b.src = src
	}
	b.src.Seed(kind, r.Params, []any{item})
	var out []any
	err := b.src.Stream(ctx, r.Kind, r.Params, func(bt sentry.Batch) error {
		for i, raw := range bt.Items {
			v, err := jsonx.Decode(raw)
			if err != nil {
				return fmt.Errorf("%s: invalid JSON: %w", bt.Where[i], err)
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// leave records that the item's entities for r are left as they are.
func (b *batch) leave(it Item, r *mapping.Resource, inputs []any, why string) {
	b.undecidedBy = append(b.undecidedBy, Undecided{Item: it.ID, Resource: r.Label(), Reason: why})
	for j, in := range inputs {
		es, _ := r.MapUnselected(in)
		for sub, e := range es {
			b.say(e.Key(), r.Index, verdict{seq: seqNo{r.Index, 0, j, sub}, undecided: true})
		}
	}
}

// say records a resource's verdict on an entity; a later item's replaces
// an earlier one's.
func (b *batch) say(k catalog.Key, res int, v verdict) {
	m := b.verdicts[k]
	if m == nil {
		m = map[int]verdict{}
		b.verdicts[k] = m
	}
	m[res] = v
}

// mapOne maps one input of r: its entities are written, and those the
// selection rejects (selected false: every one) are deleted.
func (b *batch) mapOne(it Item, r *mapping.Resource, seq seqNo, in any, selected bool) {
	var es []*catalog.Entity
	if selected {
		var iss []mapping.Issue
		es, iss, _ = r.MapItem(in)
		for _, is := range iss {
			b.issues.add(is)
			if is.Skipped {
				// Its identity is unknown: a full sync doubts the
				// blueprint; a batch leaves the item's entities.
				b.leave(it, r, []any{in}, "mapping failed: "+is.Msg)
				return
			}
		}
	}
	all, iss := r.MapUnselected(in)
	for _, is := range iss {
		if is.Skipped && len(es) == 0 && !selected {
			b.undecidedBy = append(b.undecidedBy, Undecided{Item: it.ID, Resource: r.Label(), Reason: "mapping failed: " + is.Msg})
			return
		}
	}
	gave := map[catalog.Key]bool{}
	for sub, e := range es {
		s := seq
		s.sub = sub
		gave[e.Key()] = true
		if b.olTouches(e.Blueprint) {
			b.undecidedBy = append(b.undecidedBy, Undecided{Item: it.ID, Resource: r.Label(), Reason: "blueprint " + e.Blueprint + " has OpsLevel rules or transforms"})
			b.say(e.Key(), r.Index, verdict{seq: s, undecided: true})
			continue
		}
		b.say(e.Key(), r.Index, verdict{seq: s, slot: b.pl.prepare(&b.w, e, s)})
	}
	for sub, e := range all {
		if gave[e.Key()] {
			continue
		}
		s := seq
		s.sub = sub
		// Elements of itemsToParse (tag values) may be given by other
		// items as well: whether one is gone is for a full sync to say.
		undecided := r.ItemsToParse != nil || b.olTouches(e.Blueprint)
		b.say(e.Key(), r.Index, verdict{seq: s, undecided: undecided})
		if !undecided && !selected {
			if b.res.LeftSelection == nil {
				b.res.LeftSelection = map[catalog.Key]string{}
			}
			m, _ := in.(map[string]any)
			b.res.LeftSelection[e.Key()] = str(m["status"])
		}
	}
}

func (b *batch) olTouches(bp string) bool {
	return b.ol != nil && (b.ol.matched[bp] || b.ol.patchable[bp])
}

// decide settles each entity: written when a resource gives it (the
// later resource's, as in a full sync), else left when one leaves it,
// else deleted.
func (b *batch) decide() (*collection, []catalog.Key, []Undecided) {
	c := &collection{slots: map[pathKey]*slot{}}
	var dels []catalog.Key
	for k, byRes := range b.verdicts {
		var best *verdict
		left := false
		for _, v := range byRes {
			switch {
			case v.slot != nil:
				if best == nil || best.seq.less(v.seq) {
					v := v
					best = &v
				}
			case v.undecided:
				left = true
			}
		}
		switch {
		case best != nil:
			c.slots[best.slot.pathKey()] = best.slot
			if best.slot.Data != nil || best.slot.Spooled {
				c.changed++
			}
		case !left:
			dels = append(dels, k)
		}
	}
	slices.SortFunc(dels, func(a, b catalog.Key) int {
		if a.Blueprint != b.Blueprint {
			return strings.Compare(a.Blueprint, b.Blueprint)
		}
		return strings.Compare(a.Identifier, b.Identifier)
	})
	c.mapIssues = b.issues.list()
	return c, dels, b.undecidedBy
}

// batchAfter is what a batch's commit leaves of the target's catalog:
// every file but those it deletes. Folders are read as relation checks
// ask for them.
type batchAfter struct {
	mu   gosync.Mutex
	snap *gitstore.Snapshot
	cat  *catalog.State
	prod *collection
	del  map[pathKey]bool
	err  error
}

func (a *batchAfter) load(dir string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.cat.ReadDirState(a.snap, dir); err != nil {
		if a.err == nil {
			a.err = err
		}
		return false
	}
	return true
}

func (a *batchAfter) Stays(dir, stem string) bool {
	if a.del[pathKey{dir, stem}] || !a.load(dir) {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.cat.Files[dir].Lookup(stem)
	return ok
}

// Kept reads the managed entities of bp the batch neither produced nor
// deletes: a search relation of a batch's entity matches them as a full
// sync's would match their items' entities.
func (a *batchAfter) Kept(store *gitstore.Store, bp string) ([]*catalog.Entity, error) {
	dir := catalog.EncodeDir(bp)
	if !a.load(dir) {
		return nil, a.err
	}
	a.mu.Lock()
	var stems []string
	var blobs []plumbing.Hash
	for _, stem := range a.cat.Managed[dir] {
		if a.prod.Has(dir, stem) || a.del[pathKey{dir, stem}] {
			continue
		}
		if e, ok := gitstore.FindEntry(a.cat.Files[dir], stem+catalog.Ext); ok {
			stems, blobs = append(stems, stem), append(blobs, e.Hash)
		}
	}
	a.mu.Unlock()
	return catalog.ReadEntities(store, dir, bp, stems, blobs, "kept in the catalog")
}

// Others reads the entities of bp other sources' lists hold, as a full
// sync's rule relations see them.
func (a *batchAfter) Others(store *gitstore.Store, bp string) ([]*catalog.Entity, error) {
	if !a.load(catalog.EncodeDir(bp)) {
		return nil, a.err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cat.Others(store, bp, a.prod)
}

// batchMemo is a batch's use of the fan-out state: the children of the
// issues it fetches for are recalled and stored as a resync does, and
// each request is noted, so that an issue that left the selection drops
// its entry. A batch sees single parents, never a whole list: it prunes
// nothing else.
type batchMemo struct {
	*fanout.State
	mu  gosync.Mutex
	cur [][2]string // name, request
}

func (m *batchMemo) note(name, request string) {
	m.mu.Lock()
	m.cur = append(m.cur, [2]string{name, request})
	m.mu.Unlock()
}

func (m *batchMemo) Recall(name, request, fp string) ([]byte, bool) {
	m.note(name, request)
	return m.State.Recall(name, request, fp)
}

func (m *batchMemo) Remember(name, request, fp string, result []byte) {
	m.note(name, request)
	m.State.Remember(name, request, fp, result)
}

func (m *batchMemo) Keep(name, request string) {
	m.note(name, request)
	m.State.Keep(name, request)
}

func (m *batchMemo) Listed(string, bool) {}

// take returns the requests noted since the last take.
func (m *batchMemo) take() [][2]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.cur
	m.cur = nil
	return r
}

func (m *batchMemo) forget(reqs [][2]string) {
	for _, r := range reqs {
		m.State.Remember(r[0], r[1], "", nil)
	}
}
