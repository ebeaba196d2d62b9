package review

import (
	"container/heap"
	"context"
	"errors"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Commit is one commit of a range, with the entity files it changed.
type Commit struct {
	Hash    plumbing.Hash
	Message string
	// Files are the entity files (catalog/<dir>/<name>.json) whose content
	// differs from the first parent's (from the empty tree for a root
	// commit or one at a shallow clone's boundary), sorted.
	Files []string
	// Parent is the commit Files are compared with: the zero hash for the
	// empty tree.
	Parent plumbing.Hash
}

// Commits lists the commits reachable from head and not from exclude,
// newest (by commit date) first, as `git log --no-merges exclude..head --
// catalog/` does: merges are left out, and so are commits that change no
// entity file; a merge whose catalog equals that of a parent not excluded
// is followed through that parent only, so a side branch whose catalog
// changes it dropped is not listed.
func (r *Repo) Commits(ctx context.Context, exclude, head plumbing.Hash) ([]Commit, error) {
	shallow, err := r.shallow()
	if err != nil {
		return nil, err
	}
	w := &walk{r: r, shallow: shallow, flags: map[plumbing.Hash]*walkNode{}}
	if err := w.push(head, false); err != nil {
		return nil, err
	}
	if !exclude.IsZero() {
		if err := w.push(exclude, true); err != nil {
			return nil, err
		}
		w.bottom = exclude
	}
	var picked []*walkNode
	// git's limit_list: commits come out newest first; an excluded one
	// passes its mark to its parents; the walk ends once only excluded
	// commits are queued, plus a few more for clocks that went backwards.
	slop := walkSlop
	for w.q.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := heap.Pop(&w.q).(*walkNode)
		if n.excluded {
			for _, p := range n.parents {
				if err := w.exclude(p); err != nil {
					return nil, err
				}
			}
		} else {
			picked = append(picked, n)
			if err := w.simplify(n); err != nil {
				return nil, err
			}
			for _, p := range n.follow {
				if err := w.push(p, false); err != nil {
					return nil, err
				}
			}
		}
		if w.onlyExcluded() {
			if slop--; slop == 0 {
				break
			}
		} else {
			slop = walkSlop
		}
	}

	var out []Commit
	for _, n := range picked {
		if n.excluded || len(n.c.ParentHashes) > 1 {
			continue
		}
		parent := plumbing.ZeroHash
		if len(n.parents) == 1 {
			parent = n.parents[0]
		}
		files, err := r.changedPaths(ctx, parent, n.c.Hash)
		if err != nil {
			return nil, err
		}
		if len(files) > 0 {
			out = append(out, Commit{Hash: n.c.Hash, Message: n.c.Message, Files: files, Parent: parent})
		}
	}
	return out, nil
}

// walkSlop is git's SLOP: how many commits past the point where only
// excluded ones are queued the walk goes on.
const walkSlop = 5

func (r *Repo) changedPaths(ctx context.Context, from, to plumbing.Hash) ([]string, error) {
	a, err := r.Store.Snapshot(from)
	if err != nil {
		return nil, err
	}
	b, err := r.Store.Snapshot(to)
	if err != nil {
		return nil, err
	}
	var out []string
	err = changedFiles(ctx, a, b, func(p, _ string, _, _ bool) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

type walkNode struct {
	c *object.Commit
	// parents are the commit's parents, none at a shallow clone's
	// boundary (they were never fetched); follow those a walk from head
	// goes on to.
	parents, follow []plumbing.Hash
	excluded        bool
	seq             int // the order met, which breaks ties of date
	paint           uint8
	queued          bool
}

type walk struct {
	r       *Repo
	shallow map[plumbing.Hash]bool
	flags   map[plumbing.Hash]*walkNode
	q       commitQueue
	met     int
	bottom  plumbing.Hash // the excluded end of the range (git's BOTTOM)
}

// node reads a commit the first time it is met.
func (w *walk) node(h plumbing.Hash) (*walkNode, bool, error) {
	if n, ok := w.flags[h]; ok {
		return n, false, nil
	}
	c, err := w.r.commit(h)
	if err != nil {
		return nil, false, w.r.beyondBoundary(err)
	}
	w.met++
	n := &walkNode{c: c, seq: w.met}
	if !w.shallow[h] {
		n.parents = c.ParentHashes
	}
	n.follow = n.parents
	w.flags[h] = n
	return n, true, nil
}

// simplify is git's history simplification for a path: a merge whose
// catalog/ tree equals that of a parent not excluded is followed through
// that parent alone, since the other sides' catalog changes did not reach
// it.
func (w *walk) simplify(n *walkNode) error {
	if len(n.parents) < 2 {
		return nil
	}
	tree := func(h plumbing.Hash) (plumbing.Hash, error) {
		sn, err := w.r.Store.Snapshot(h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		e, _ := sn.Lookup(catalog.Dir)
		return e.Hash, nil
	}
	mine, err := tree(n.c.Hash)
	if err != nil {
		return err
	}
	for _, p := range n.parents {
		// git's relevant_commit: an excluded parent counts only when it
		// is the bottom of the range itself.
		if pn, ok := w.flags[p]; ok && pn.excluded && p != w.bottom {
			continue
		}
		t, err := tree(p)
		if err != nil {
			return w.r.beyondBoundary(err)
		}
		if t == mine {
			n.follow = []plumbing.Hash{p}
			return nil
		}
	}
	return nil
}

func (w *walk) push(h plumbing.Hash, excluded bool) error {
	n, fresh, err := w.node(h)
	if err != nil {
		return err
	}
	if excluded {
		n.excluded = true
	}
	if fresh {
		heap.Push(&w.q, n)
	}
	return nil
}

// exclude marks h and, through the commits already read, its ancestors as
// excluded.
func (w *walk) exclude(h plumbing.Hash) error {
	if n, ok := w.flags[h]; ok {
		for stack := []*walkNode{n}; len(stack) > 0; {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n.excluded {
				continue
			}
			n.excluded = true
			for _, p := range n.parents {
				if pn, ok := w.flags[p]; ok {
					stack = append(stack, pn)
				}
			}
		}
		return nil
	}
	return w.push(h, true)
}

func (w *walk) onlyExcluded() bool {
	for _, n := range w.q {
		if !n.excluded {
			return false
		}
	}
	return true
}

// commitQueue is a max-heap by commit date; ties keep the order met.
type commitQueue []*walkNode

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	a, b := q[i].c.Committer.When, q[j].c.Committer.When
	if a.Equal(b) {
		return q[i].seq < q[j].seq
	}
	return a.After(b)
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(*walkNode)) }
func (q *commitQueue) Pop() any {
	old := *q
	n := old[len(old)-1]
	*q = old[:len(old)-1]
	return n
}

// mergeBase is git's merge-base: paint_down_to_common, which goes on
// until every queued commit is stale (below a common ancestor already
// found), then the common ancestors that are ancestors of another go.
// Stopping at the first common ancestor met is wrong when a clock went
// backwards: an older ancestor can come out of the date queue first.
func (r *Repo) mergeBase(a, b plumbing.Hash) (plumbing.Hash, error) {
	if a == b {
		return a, nil
	}
	shallow, err := r.shallow()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	const fromA, fromB, stale = 1, 2, 4
	w := &walk{r: r, shallow: shallow, flags: map[plumbing.Hash]*walkNode{}}
	paint := func(h plumbing.Hash, f uint8) error {
		n, _, err := w.node(h)
		if err != nil {
			return err
		}
		if n.paint&f == f {
			return nil
		}
		n.paint |= f
		if !n.queued {
			n.queued = true
			heap.Push(&w.q, n)
		}
		return nil
	}
	if err := paint(a, fromA); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := paint(b, fromB); err != nil {
		return plumbing.ZeroHash, err
	}
	var found []*walkNode
	live := func() bool {
		for _, n := range w.q {
			if n.paint&stale == 0 {
				return true
			}
		}
		return false
	}
	for w.q.Len() > 0 && live() {
		n := heap.Pop(&w.q).(*walkNode)
		n.queued = false
		f := n.paint
		if f&(fromA|fromB) == fromA|fromB {
			if f&stale == 0 {
				found = append(found, n)
			}
			f |= stale
		}
		for _, p := range n.parents {
			if err := paint(p, f); err != nil {
				return plumbing.ZeroHash, err
			}
		}
	}
	if len(found) == 0 {
		return plumbing.ZeroHash, errors.New("no common ancestor")
	}
	if len(found) == 1 {
		return found[0].c.Hash, nil
	}
	// A found commit below another found one is not a best common ancestor.
	below := map[plumbing.Hash]bool{}
	for _, f := range found {
		stack := append([]plumbing.Hash(nil), f.parents...)
		for len(stack) > 0 {
			h := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if below[h] {
				continue
			}
			below[h] = true
			n, _, err := w.node(h)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			stack = append(stack, n.parents...)
		}
	}
	for _, f := range found {
		if !below[f.c.Hash] {
			return f.c.Hash, nil
		}
	}
	return found[0].c.Hash, nil
}
