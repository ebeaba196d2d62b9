package catalog

// Holds are what keeps a sync from deleting the managed entities it did
// not produce: the blueprint folders a doubt touches, which it must not
// delete, and those a resource that gave nothing writes, which it must not
// delete unless the threshold is 1. A nil *Holds holds nothing.
type Holds struct {
	all, emptyAll   bool
	dirs, emptyDirs map[string]bool
}

// NewHolds returns Holds that hold nothing yet.
func NewHolds() *Holds {
	return &Holds{dirs: map[string]bool{}, emptyDirs: map[string]bool{}}
}

// Hold holds the entities of the blueprints bps (nil: of every blueprint).
// empty says why: a resource that gave no entity, which the threshold 1
// overrides, rather than a doubt, which nothing overrides.
func (h *Holds) Hold(bps []string, empty bool) {
	all, dirs := &h.all, h.dirs
	if empty {
		all, dirs = &h.emptyAll, h.emptyDirs
	}
	if bps == nil {
		*all = true
	}
	for _, bp := range bps {
		dirs[EncodeDir(bp)] = true
	}
}

// Keeps reports whether the sync keeps what it did not produce in the
// blueprint folder dir: a doubt holds it, or a resource that gave nothing.
// What OpsLevel transforms manage beyond whole files (managed fields,
// suggestions, rule relations) is kept under the same rule.
func (h *Holds) Keeps(dir string, threshold float64) bool {
	return h.has(dir) || h.gaveNothing(dir, threshold)
}

func (h *Holds) has(dir string) bool {
	return h != nil && (h.all || h.dirs[dir])
}

// gaveNothing reports whether a resource that gave no entity keeps the
// entities of dir: unless the threshold says any loss is meant.
func (h *Holds) gaveNothing(dir string, threshold float64) bool {
	return h != nil && threshold < 1 && (h.emptyAll || h.emptyDirs[dir])
}

// deletesGone reports whether a sync deletes the gone entities of the
// blueprint folder dir: the gone of its managed entities whose files are
// there but which the sync did not produce. The plan and After decide with
// it alike.
func (h *Holds) deletesGone(dir string, gone, managed int, threshold float64) bool {
	return gone > 0 && !h.has(dir) && !h.gaveNothing(dir, threshold) && float64(gone)/float64(managed) <= threshold
}

// KeepsGone is the plan's rule for what else a sync removes when its item
// is gone (the managed fields of hand-written files): whether gone of
// managed are kept, and if so, the Kept that says why (nil: gone is 0).
func (h *Holds) KeepsGone(blueprint string, gone, managed int, threshold float64) *Kept {
	dir := EncodeDir(blueprint)
	if gone == 0 || h.deletesGone(dir, gone, managed, threshold) {
		return nil
	}
	k := &Kept{Blueprint: blueprint, Entities: gone, Managed: managed, Fields: true}
	if !h.has(dir) {
		k.GaveNothing = h.gaveNothing(dir, threshold)
		k.OverThreshold = !k.GaveNothing
	}
	return k
}

// Kept is a blueprint whose entities the sync did not produce and did not
// delete.
type Kept struct {
	Blueprint string
	Entities  int // not produced, and kept
	Managed   int // the blueprint's managed entities before the sync
	// OverThreshold: they were more than the threshold of Managed, and
	// no doubt touched the blueprint.
	OverThreshold bool
	// GaveNothing: a resource that writes the blueprint gave no entity
	// (an Empty doubt), and no other doubt touched the blueprint.
	GaveNothing bool
	// Fields: what was kept is the managed properties of Entities
	// hand-written files (of Managed that have some), not whole entities.
	Fields bool
	// MappingFailed: with Fields, the properties were kept because their
	// jq failed for the item that sets them this sync.
	MappingFailed bool
}
