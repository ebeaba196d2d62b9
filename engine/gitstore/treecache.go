package gitstore

import (
	"container/list"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// treeCache keeps recently parsed trees for every reader of one Store, so
// a sync parses a 100k-entry directory once instead of once per stage.
// Cached slices are shared and must never be modified. It is bounded by
// the number of entries held (roughly 60 bytes each).
type treeCache struct {
	mu      sync.Mutex
	m       map[plumbing.Hash]*list.Element
	lru     list.List // front = most recent; values are *treeCacheItem
	entries int
}

type treeCacheItem struct {
	h  plumbing.Hash
	es []Entry
}

// treeCacheBudget holds two versions of a 100k-entry directory and the
// small trees around them, about 25 MB at most.
var treeCacheBudget = 400_000

func (c *treeCache) get(h plumbing.Hash) ([]Entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[h]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*treeCacheItem).es, true
}

func (c *treeCache) put(h plumbing.Hash, es []Entry) {
	n := len(es) + 1 // empty trees still cost a slot
	if n > treeCacheBudget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[plumbing.Hash]*list.Element{}
	}
	if el, ok := c.m[h]; ok {
		c.lru.MoveToFront(el)
		return
	}
	for c.entries+n > treeCacheBudget {
		el := c.lru.Back()
		it := el.Value.(*treeCacheItem)
		c.lru.Remove(el)
		delete(c.m, it.h)
		c.entries -= len(it.es) + 1
	}
	c.m[h] = c.lru.PushFront(&treeCacheItem{h: h, es: es})
	c.entries += n
}
