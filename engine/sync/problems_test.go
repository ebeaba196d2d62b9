package sync

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/schema"
)

// sortProblems must give what a stable sort of the path-ordered problems
// by (error first, blueprint, identifier) gives.
func TestSortProblems(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 10, 1000, 20000} { // 20000: sorted in two halves
		slots := map[pathKey]*slot{}
		for range n {
			bp := []string{"issue", "project"}[r.IntN(2)]
			// Identifiers sharing their first 8 bytes, holding NULs, or
			// prefixes of one another, besides plain numbers.
			id := fmt.Sprint(r.IntN(n + 1))
			switch r.IntN(4) {
			case 1:
				id = "sentry-issue-" + id
			case 2:
				id = string(rune('a'+r.IntN(3))) + strings.Repeat("\x00", r.IntN(3)) + fmt.Sprint(r.IntN(3))
			case 3:
				id = "é" + id[:r.IntN(len(id)+1)]
			}
			sl := &slot{File: catalog.File{Key: catalog.Key{Blueprint: bp, Identifier: id}, Dir: bp, Stem: id}}
			for j := range r.IntN(3) {
				sl.probs = append(sl.probs, schema.Problem{Blueprint: bp, Identifier: id, Pointer: fmt.Sprint(j), Warning: r.IntN(2) == 0})
			}
			slots[pathKey{bp, id}] = sl
		}
		var all []*slot
		for _, sl := range slots {
			all = append(all, sl)
		}
		sort.Slice(all, func(i, j int) bool { return all[i].before(all[j]) })
		var want []schema.Problem
		for _, sl := range all {
			want = append(want, sl.probs...)
		}
		sort.SliceStable(want, func(i, j int) bool {
			a, b := want[i], want[j]
			if a.Warning != b.Warning {
				return !a.Warning
			}
			if a.Blueprint != b.Blueprint {
				return a.Blueprint < b.Blueprint
			}
			return a.Identifier < b.Identifier
		})
		got := sortProblems(slots)
		if len(want) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("n=%d: got %v\nwant %v", n, got, want)
		}
	}
}

// BenchmarkSortProblems: 100k relation warnings, one per entity, as the
// benchmark mapping gives them.
func BenchmarkSortProblems(b *testing.B) {
	slots := benchSlots()
	b.ResetTimer()
	for range b.N {
		sortProblems(slots)
	}
}

func benchSlots() map[pathKey]*slot {
	slots := map[pathKey]*slot{}
	for i := range 100000 {
		id := fmt.Sprint(5100000000 + i*7919%100000)
		slots[pathKey{"issue", id}] = &slot{File: catalog.File{Key: catalog.Key{Blueprint: "sentryIssue", Identifier: id}, Dir: "issue", Stem: id}, probs: []schema.Problem{{Blueprint: "sentryIssue", Identifier: id, Pointer: "/relations/project", Reason: "no project", Warning: true}}}
	}
	return slots
}
