package sync

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	gosync "sync"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/itemcache"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/schema"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// The item cache lets a resync skip the decode, map, validate and encode
// of items whose bytes did not change: most of a resync's CPU. See package
// itemcache for why a wrong entry can cost time but never a wrong file.

// itemCacheFile is the cache's name in the repository's git dir: local
// state, like the index, never committed or pushed.
const itemCacheFile = "gitalog-items.cache"

// exeDigest hashes the running binary, so that a gitalog built from other
// sources (a new mapping builtin, a new encoding) never trusts results of
// the old one. It starts when a sync starts and is needed only once the
// config is read.
var exeDigest = gosync.OnceValues(func() ([32]byte, error) {
	var sum [32]byte
	p, err := os.Executable()
	if err != nil {
		return sum, err
	}
	f, err := os.Open(p)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	return [32]byte(h.Sum(nil)), nil
})

// cacheFingerprint covers everything besides the item that an entry
// depends on: the binary, the config's bytes and the blueprints.
func cacheFingerprint(cfg *mapping.Config, bps *schema.Set) ([32]byte, error) {
	exe, err := exeDigest()
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte("gitalog item cache fingerprint 1\x00"))
	h.Write(exe[:])
	h.Write(cfg.Digest[:])
	ids := bps.IDs()
	slices.Sort(ids)
	for _, id := range ids {
		b, _ := bps.Blueprint(id)
		c := *b
		c.Source = "" // only for messages; cached items have none
		data, err := json.Marshal(&c)
		if err != nil {
			return [32]byte{}, err
		}
		h.Write(data)
		h.Write([]byte{0})
	}
	return [32]byte(h.Sum(nil)), nil
}

// itemCache is a sync's use of the cache.
type itemCache struct {
	path  string
	scope catalog.Scope
	fp    [32]byte
	pure  map[int]bool // resource index -> its mapping depends on the item alone
	ready chan struct{}
	// Valid once ready is closed: the cache, and whether it was written for
	// the very catalog (and managed lists) the sync commits on, so that its
	// entries need no check against that catalog: their files are there,
	// managed, with the cached blobs.
	c        *itemcache.Cache
	verified bool

	file chan *itemcache.File // set by prepare
}

// cacheRec is an item's cache entry and the slots it stands for.
type cacheRec struct {
	rec   itemcache.Record
	slots []*slot
}

// catalogID names what a snapshot holds under catalog/ and in the managed
// lists (of every source, in a catalog with several: another's list says
// which files are not this one's): the tree ids, hashed together. Zero
// when there is no catalog.
func catalogID(snap *gitstore.Snapshot, scope catalog.Scope) plumbing.Hash {
	c, ok := snap.Lookup(catalog.Dir)
	if !ok || c.Mode != filemode.Dir {
		return plumbing.ZeroHash
	}
	m, _ := snap.Lookup(scope.ManagedDir())
	h := sha1.New()
	h.Write(c.Hash[:])
	h.Write(m.Hash[:])
	if s, ok := snap.Lookup(catalog.SourcesDir); ok {
		h.Write(s.Hash[:])
	}
	return plumbing.Hash(h.Sum(nil))
}

// cachePath is the item cache of scope in the git dir: one per source, as
// each maps its items with its own $source.
func cachePath(store *gitstore.Store, scope catalog.Scope) string {
	name := itemCacheFile
	if scope != "" {
		name += "." + string(scope)
	}
	return filepath.Join(store.GitDir(), name)
}

// openItemCache starts loading the cache (none with NoCache); nil when no
// resource can use it or the binary cannot be hashed.
func openItemCache(o *Options, store *gitstore.Store, target *gitstore.Snapshot, cfg *mapping.Config, bps *schema.Set, ol *opslevel) *itemCache {
	pure := map[int]bool{}
	for _, r := range cfg.Resources {
		if r.Pure() && ol.cacheable(r) {
			pure[r.Index] = true
		}
	}
	if len(pure) == 0 {
		return nil
	}
	fp, err := cacheFingerprint(cfg, bps)
	if err != nil {
		o.logger().Debug("item cache off", "reason", err)
		return nil
	}
	ic := &itemCache{path: cachePath(store, o.scope), scope: o.scope, fp: fp, pure: pure, ready: make(chan struct{})}
	go func() {
		defer close(ic.ready)
		path := ic.path
		if o.NoCache {
			path = "" // start empty; the sync still writes a fresh one
		}
		c, err := itemcache.Load(path, fp)
		if err != nil {
			o.logger().Debug("item cache ignored", "reason", err)
		}
		tree := catalogID(target, ic.scope)
		ic.c, ic.verified = c, !tree.IsZero() && plumbing.Hash(c.Catalog) == tree
		o.logger().Debug("item cache loaded", "entries", c.Len(), "same catalog", ic.verified)
	}()
	return ic
}

// prepare lays out, in the background, the entries of this sync's items
// whose entities are all in the catalog the plan makes: not beaten to
// their file by a later item nor kept out by a hand-written one. It runs
// once the plan has marked conflicts, alongside the commit.
func (ic *itemCache) prepare(coll *collection) {
	if ic == nil || ic.file != nil {
		return
	}
	ic.file = make(chan *itemcache.File, 1)
	go func() {
		recs := make([]itemcache.Record, 0, len(coll.records))
	next:
		for _, r := range coll.records {
			for _, sl := range r.slots {
				if sl.lost || sl.Conflict {
					continue next
				}
			}
			recs = append(recs, r.rec)
		}
		ic.file <- itemcache.NewFile(ic.fp, recs)
	}()
}

// save writes the prepared cache for the catalog of commit, replacing the
// old one. A failure costs the next sync time, not correctness: it is
// logged.
func (ic *itemCache) save(o *Options, store *gitstore.Store, commit plumbing.Hash) {
	if ic == nil || ic.file == nil {
		return
	}
	f := <-ic.file
	snap, err := store.Snapshot(commit)
	if err == nil {
		err = f.Write(ic.path, catalogID(snap, ic.scope))
	}
	if err != nil {
		o.logger().Warn("could not save the item cache; the next sync maps every item again", "error", err)
		return
	}
	o.logger().Debug("item cache saved")
}

// hit is whether an item's entities for a resource came from the cache.
type hit uint8

const (
	miss       hit = iota
	hitSome        // with entities
	hitNothing     // an item that gave none: the selector rejected it
)

// hits maps, from the cache, the items of a page that it can. It
// returns done[i*len(group)+g], which says whether item i's entities for
// group[g] came from the cache, and every item's hash for the records of
// the rest.
func (p *pipeline) hits(j job, w *worker, out *jobResult) (done []hit, keys [][16]byte) {
	ic := p.ic
	<-ic.ready
	G := len(j.group)
	keys = make([][16]byte, len(j.Items))
	done = make([]hit, len(j.Items)*G)
	waited := false
	for i, raw := range j.Items {
		keys[i] = itemcache.ItemHash(raw)
		for g, r := range j.group {
			if !ic.pure[r.Index] {
				continue
			}
			rec, ok := ic.c.Lookup(itemcache.Key{Item: keys[i], Resource: uint32(r.Index)})
			if !ok {
				continue
			}
			es, err := rec.Entities()
			if err != nil {
				continue
			}
			if !ic.verified {
				if !waited {
					<-p.catReady
					waited = true
				}
				if !p.inCatalog(es) {
					continue
				}
			}
			first := len(out.slots)
			for sub, e := range es {
				sl := w.slot()
				*sl = slot{
					seq: seqNo{r.Index, j.page, i, sub},
					File: catalog.File{
						Key: catalog.Key{Blueprint: e.Blueprint, Identifier: e.Identifier},
						Dir: e.Dir, Stem: e.Stem, Hash: plumbing.Hash(e.Blob), Same: ic.verified,
					},
					rels: e.Rels, // decoded for this slot alone
				}
				out.slots = append(out.slots, sl)
			}
			out.records = append(out.records, cacheRec{rec, out.slots[first:len(out.slots):len(out.slots)]})
			done[i*G+g] = hitSome
			if len(es) == 0 {
				done[i*G+g] = hitNothing
			}
		}
	}
	return done, keys
}

// inCatalog reports whether the target's catalog holds exactly the cached
// files: only then is reusing them the same as mapping the item again.
func (p *pipeline) inCatalog(es []itemcache.Entity) bool {
	for _, e := range es {
		if h, ok := p.cat.Files[e.Dir].Lookup(e.Stem); !ok || h != plumbing.Hash(e.Blob) {
			return false
		}
	}
	return true
}

// record is the cache entry of an item mapped by r into slots, when the
// whole result can be reused: no issue, every entity valid without a
// single problem, none held for the catalog-wide checks, and relations of
// a kind the cache stores.
func record(key [16]byte, r *mapping.Resource, slots []*slot) (cacheRec, bool) {
	es := make([]itemcache.Entity, len(slots))
	for i, sl := range slots {
		if sl.held != nil || sl.Invalid || len(sl.probs) > 0 {
			return cacheRec{}, false
		}
		e := itemcache.Entity{Blueprint: sl.Key.Blueprint, Identifier: sl.Key.Identifier, Dir: sl.Dir, Stem: sl.Stem, Blob: [20]byte(sl.Hash)}
		for _, rel := range sl.rels {
			if !itemcache.Cacheable(rel.Val) {
				return cacheRec{}, false
			}
		}
		e.Rels = sl.rels // read by Encode, kept by neither
		es[i] = e
	}
	return cacheRec{itemcache.Encode(nil, itemcache.Key{Item: key, Resource: uint32(r.Index)}, es), slots}, true
}
