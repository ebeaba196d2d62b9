package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/config"
	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/jsonx"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/go-git/go-git/v5/plumbing"
)

// OpsLevel's push integrations: an extractor without http_polling gets its
// items pushed (gitalog serve's POST /push/<external_kind>). Each pushed
// item is recorded in the repository, with the day it was last pushed, in
// PushedDir/<kind>.jsonl (a source's in its own folder, PushedPathIn),
// and that record is the extractor's source: a
// sync streams the recorded items through the transforms as it streams a
// polled extractor's, so pushed entities are never deleted for not being
// polled, and what a push writes is what a sync writes from the same item.
// An item not pushed again within expires_after_days is left out, so its
// entities go as a polled item's do when it is gone: under the deletion
// threshold, and not on a doubt (an unreadable record is one).

// PushedDir holds the record of pushed items, one file per push extractor:
// one line per item, sorted by external id, so a push changes the lines of
// the items it pushed and nothing else. With sources, each source has its
// own (PushedPathIn): a push reaches one source's serve, and what it
// pushed is that source's alone; two servers never write one file.
const PushedDir = ".gitalog/pushed"

// PushedPath is the record of the push extractor kind, in a catalog
// without sources.
func PushedPath(kind string) string { return PushedPathIn("", kind) }

// PushedPathIn is scope's record of the push extractor kind:
// .gitalog/sources/<name>/pushed/<kind>.jsonl for a source.
func PushedPathIn(scope catalog.Scope, kind string) string {
	return scope.Sub("pushed") + "/" + catalog.EncodeName(kind) + ".jsonl"
}

// dayLayout is a push's time in the record: the day (UTC) is all that
// expires_after_days needs, and a day's repeated pushes of an unchanged
// item then change nothing.
const dayLayout = "2006-01-02"

// PushItem is one body pushed to POST /push/<Kind>.
type PushItem struct {
	Kind string
	Body []byte    // the JSON body as received
	ID   string    // the request's id, for logs and the commit message
	At   time.Time // when it was accepted
}

// PushExtractor is the push extractor of kind in cfg, or an error saying
// why kind takes no pushes (errNotPush: it has none, or it polls).
func PushExtractor(cfg *mapping.Config, kind string) (*extract.Extractor, error) {
	var e *extract.Extractor
	if cfg.Extract != nil {
		e = cfg.Extract.Extractor(kind)
	}
	switch {
	case e == nil:
		return nil, fmt.Errorf("%w: no extractor has external_kind %q", ErrNotPush, kind)
	case !e.Push:
		return nil, fmt.Errorf("%w: %s has http_polling: its items are polled, not pushed", ErrNotPush, e.Label())
	}
	return e, nil
}

// ErrNotPush is PushExtractor's error for a kind that takes no pushes.
var ErrNotPush = errors.New("no push extractor")

// CheckPush splits a pushed body as the batch will, so that a body the
// extractor cannot take is refused before it is recorded.
func CheckPush(e *extract.Extractor, body []byte) (kept, excluded int, err error) {
	v, err := jsonx.Decode(body)
	if err != nil {
		return 0, 0, fmt.Errorf("the body is not JSON: %w", err)
	}
	k, ex, err := e.Split(v, "the pushed body")
	return len(k), len(ex), err
}

// ApplyPush records pushed bodies (each through its extractor's iterator,
// exclude and external_id) and commits what they change, as one commit:
// the entities of every recorded, unexpired item of the push extractors
// are mapped as a sync maps them; entities of other kinds are not
// touched, and no source is polled. A body its extractor now refuses (the
// config changed since it was accepted) is dropped with a warning and
// makes the result partial.
func ApplyPush(ctx context.Context, o Options, items []PushItem) (*Result, error) {
	if o.Plan || o.Replay != "" {
		return nil, errors.New("applying pushes: Plan and Replay are for a full sync")
	}
	o.push = items
	o.NoCache = true
	return runTimed(ctx, o)
}

// pushRec is one line of a record: an item, its id and its last push day.
type pushRec struct {
	ID     string          `json:"id"`
	Pushed string          `json:"pushed"`
	Item   json.RawMessage `json:"item"`
}

func encodeRecord(recs map[string]pushRec) []byte {
	var b bytes.Buffer
	for _, id := range slices.Sorted(maps.Keys(recs)) {
		r := recs[id]
		idJSON, _ := json.Marshal(r.ID)
		b.WriteString(`{"id":`)
		b.Write(idJSON)
		b.WriteString(`,"pushed":"` + r.Pushed + `","item":`)
		b.Write(r.Item)
		b.WriteString("}\n")
	}
	return b.Bytes()
}

func parseRecord(path string, data []byte) (map[string]pushRec, error) {
	recs := map[string]pushRec{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r pushRec
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		if _, err := time.Parse(dayLayout, r.Pushed); err != nil || r.ID == "" || len(r.Item) == 0 {
			return nil, fmt.Errorf("%s:%d: not a pushed item (id, pushed as YYYY-MM-DD, item)", path, i+1)
		}
		// Compacted as the batch writes it, so that a hand edit's
		// spacing does not pass for a change of the item.
		var c bytes.Buffer
		if err := json.Compact(&c, r.Item); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		r.Item = c.Bytes()
		recs[r.ID] = r
	}
	return recs, nil
}

// expired reports whether an item last pushed on day is expired on now:
// kept through the day N days after its push, gone from the day after.
func expired(day string, n int, now time.Time) bool {
	if n <= 0 {
		return false
	}
	d, err := time.Parse(dayLayout, day)
	if err != nil {
		return false
	}
	today := now.UTC().Truncate(24 * time.Hour)
	return today.After(d.AddDate(0, 0, n))
}

// pushSource is the push extractors' source: their records at a commit,
// with the batch's pushes (if any) applied.
type pushSource struct {
	o     *Options
	cfg   *mapping.Config
	kinds map[string]*extract.Extractor
	now   time.Time

	mu      gosync.Mutex
	byBatch map[string]*batchPushes // kind -> the batch's pushes, split once
	dropped []error                 // bodies the extractor refused at apply time
}

// batchPushes are a batch's pushes to one kind, split, in order.
type batchPushes struct {
	kept     []pushRec
	excluded []string
}

func newPushSource(o *Options, cfg *mapping.Config) *pushSource {
	ps := &pushSource{o: o, cfg: cfg, kinds: map[string]*extract.Extractor{}, now: o.clockNow()}
	if cfg.Extract != nil {
		for _, e := range cfg.Extract.Extractors {
			if e.Push {
				ps.kinds[e.Kind] = e
			}
		}
	}
	if len(ps.kinds) == 0 && len(o.push) == 0 {
		return nil
	}
	ps.split()
	return ps
}

func (o *Options) clockNow() time.Time {
	if o.now != nil {
		return o.now()
	}
	return time.Now()
}

// split runs the batch's bodies through their extractors, once.
func (ps *pushSource) split() {
	ps.byBatch = map[string]*batchPushes{}
	for _, it := range ps.o.push {
		e := ps.kinds[it.Kind]
		if e == nil {
			ps.dropped = append(ps.dropped, fmt.Errorf("push %s to %q: %w", it.ID, it.Kind, ErrNotPush))
			continue
		}
		v, err := jsonx.Decode(it.Body)
		var kept []extract.Pushed
		var excluded []string
		if err == nil {
			kept, excluded, err = e.Split(v, "push "+it.ID)
		}
		if err != nil {
			ps.dropped = append(ps.dropped, fmt.Errorf("push %s to %q: %w", it.ID, it.Kind, err))
			continue
		}
		bp := ps.byBatch[it.Kind]
		if bp == nil {
			bp = &batchPushes{}
			ps.byBatch[it.Kind] = bp
		}
		at := it.At
		if at.IsZero() {
			at = ps.now
		}
		for _, k := range kept {
			bp.kept = append(bp.kept, pushRec{ID: k.ID, Pushed: at.UTC().Format(dayLayout), Item: k.JSON})
		}
		// An item imported before and excluded now is deleted, as a
		// polled one is (OpsLevel's Jira guide): its record goes.
		for _, id := range excluded {
			bp.kept = append(bp.kept, pushRec{ID: id})
		}
	}
}

// record is kind's record at snap with the batch's pushes applied; later
// pushes win over earlier ones, and an excluded push removes its item.
func (ps *pushSource) record(snap *gitstore.Snapshot, kind string) (map[string]pushRec, error) {
	path := PushedPathIn(ps.o.scope, kind)
	data, err := snap.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	recs, err := parseRecord(path, data)
	if err != nil {
		return nil, err
	}
	if bp := ps.byBatch[kind]; bp != nil {
		for _, r := range bp.kept {
			if r.Item == nil {
				delete(recs, r.ID)
				continue
			}
			if old, ok := recs[r.ID]; ok && old.Pushed > r.Pushed {
				r.Pushed = old.Pushed // a replayed old push does not age an item
			}
			recs[r.ID] = r
		}
	}
	return recs, nil
}

// Stream streams kind's unexpired recorded items at snap.
func (ps *pushSource) stream(ctx context.Context, snap *gitstore.Snapshot, kind string, fn func(Page) error) error {
	e := ps.kinds[kind]
	recs, err := ps.record(snap, kind)
	if err != nil {
		return fmt.Errorf("%s: reading its pushed items: %w", e.Label(), err)
	}
	var pg Page
	for _, id := range slices.Sorted(maps.Keys(recs)) {
		r := recs[id]
		if expired(r.Pushed, e.ExpiresAfterDays, ps.now) {
			continue
		}
		pg.Items = append(pg.Items, r.Item)
		pg.Where = append(pg.Where, fmt.Sprintf("extractor %q: pushed item %q (%s)", kind, id, r.Pushed))
		if len(pg.Items) == pushPage {
			if err := fn(pg); err != nil {
				return err
			}
			pg = Page{}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if len(pg.Items) > 0 {
		return fn(pg)
	}
	return nil
}

// pushPage is how many recorded items one page holds.
const pushPage = 256

// changes plans the records at snap: the batch's pushes in, expired items
// out unless the plan kept entities (their records stay until a sync
// deletes them).
func (ps *pushSource) changes(pl *catalog.Plan, snap *gitstore.Snapshot) error {
	for _, kind := range slices.Sorted(maps.Keys(ps.kinds)) {
		e := ps.kinds[kind]
		recs, err := ps.record(snap, kind)
		if err != nil {
			if len(ps.o.push) > 0 {
				// A batch would lose its pushes: they stay in the
				// journal until the record is mended.
				return err
			}
			// Its stream failed alike, a doubt: the record stays as the
			// person left it, for them to mend (or revert).
			continue
		}
		if len(pl.Kept) == 0 {
			for id, r := range recs {
				if expired(r.Pushed, e.ExpiresAfterDays, ps.now) {
					delete(recs, id)
				}
			}
		}
		if err := putFile(pl, snap, PushedPathIn(ps.o.scope, kind), encodeRecord(recs)); err != nil {
			return err
		}
	}
	slices.SortFunc(pl.Changes, func(a, b gitstore.Change) int { return strings.Compare(a.Path, b.Path) })
	return nil
}

// pushRoute sends the push extractors' kinds to their records, and the
// rest to next (nil in a push batch: nothing else is fetched).
type pushRoute struct {
	ps   *pushSource
	snap func() *gitstore.Snapshot
	next Fetcher
}

func (r pushRoute) Stream(ctx context.Context, kind string, sel map[string]any, fn func(Page) error) error {
	if r.ps.kinds[kind] != nil {
		return r.ps.stream(ctx, r.snap(), kind, fn)
	}
	if r.next == nil {
		return nil // a push batch: not fetched, and held (see holdUnpushed)
	}
	return r.next.Stream(ctx, kind, sel, fn)
}

func (r pushRoute) Requests(kind string) int64 {
	if rq, ok := r.next.(KindRequests); ok && r.ps.kinds[kind] == nil {
		return rq.Requests(kind)
	}
	return 0
}

func (r pushRoute) Items(kind string) int {
	if c, ok := r.next.(KindCounter); ok && r.ps.kinds[kind] == nil {
		return c.Items(kind)
	}
	return 0
}

func (r pushRoute) Sample(kind string) []byte {
	if sp, ok := r.next.(KindSampler); ok && r.ps.kinds[kind] == nil {
		return sp.Sample(kind)
	}
	return nil
}

// holdUnpushed holds, in a push batch, the blueprints of every resource
// whose kind is not pushed: they were not fetched, so none of their
// entities may go. It returns the blueprints that only such resources
// write, whose Kept entries say nothing about the batch.
func (ps *pushSource) holdUnpushed(cfg *mapping.Config, h *catalog.Holds) map[string]bool {
	pushed, others := map[string]bool{}, map[string]bool{}
	for _, r := range cfg.Resources {
		bp, ok := r.ConstBlueprint()
		if ps.kinds[r.Kind] != nil {
			if ok {
				pushed[bp] = true
			}
			continue
		}
		if !ok {
			h.Hold(nil, false)
			continue
		}
		h.Hold([]string{bp}, false)
		others[bp] = true
	}
	for bp := range pushed {
		delete(others, bp)
	}
	return others
}

// pushSourceLine is a push batch's Source line in the commit body.
func pushSourceLine(items []PushItem) string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return sourceLine("push, "+plural(len(items), "body", "bodies"), ids)
}

// PushChecker checks pushed bodies against the config at HEAD (bound to
// o.Source, when set), as ApplyPush will apply them: read again only when
// HEAD moves. Its errors wrap ErrNotPush for a kind that takes no pushes,
// ErrConfig when the config cannot be read.
func PushChecker(o Options) func(kind string, body []byte) (kept, excluded int, err error) {
	var mu gosync.Mutex
	var at plumbing.Hash
	var cfg *mapping.Config
	load := func() (*mapping.Config, error) {
		mu.Lock()
		defer mu.Unlock()
		store, err := gitstore.Open(o.Dir)
		if err != nil {
			return nil, err
		}
		head, err := store.Head()
		if err != nil {
			return nil, err
		}
		if cfg != nil && head.Commit == at {
			return cfg, nil
		}
		snap, err := store.Snapshot(head.Commit)
		if err != nil {
			return nil, err
		}
		c, err := config.Load(store, snap, o.ConfigPath)
		if err != nil {
			return nil, err
		}
		if o.Source != "" {
			// The source's own extractors: a kind only another source
			// takes would be accepted here and dropped by the batch.
			if c, err = c.ForSource(o.Source); err != nil {
				return nil, err
			}
		}
		cfg, at = c, head.Commit
		return cfg, nil
	}
	return func(kind string, body []byte) (int, int, error) {
		c, err := load()
		if err != nil {
			return 0, 0, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		e, err := PushExtractor(c, kind)
		if err != nil {
			return 0, 0, err
		}
		return CheckPush(e, body)
	}
}

// ErrConfig is PushChecker's error when the config cannot be read.
var ErrConfig = errors.New("reading the config")
