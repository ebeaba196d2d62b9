package query

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/itchyny/gojq"
)

// Limits bound a query's jq evaluation as a mapping's are bounded, but
// higher: one evaluation covers the whole catalog, not one item.
var Limits = mapping.Limits{Timeout: time.Minute, MaxSteps: 2_000_000_000, MaxMemory: mapping.DefaultLimits.MaxMemory}

// JQ runs src over the array of entities, with $catalog (blueprint ->
// identifier -> entity) and related(relation), and calls emit with each
// output.
func (c *Catalog) JQ(src string, limits mapping.Limits, emit func(any) error) error {
	prog, err := mapping.CompileQuery(src, []string{"$catalog"}, limits,
		gojq.WithFunction("related", 1, 1, c.related))
	if err != nil {
		return err
	}
	cat := make(map[string]any, len(c.index))
	for bp, m := range c.index {
		cat[bp] = m
	}
	return prog.Each(c.objects, []any{cat}, emit)
}

// related resolves the input entity's relation to the entities it names:
// an entity (null when it is not in the catalog) for a single relation, a
// list of them for a many one, null for an empty relation.
func (c *Catalog) related(v any, args []any) any {
	name, ok := args[0].(string)
	if !ok {
		return fmt.Errorf("related: the relation's name must be a string, got %s", show(args[0]))
	}
	e, _ := v.(map[string]any)
	bp, _ := e["blueprint"].(string)
	rels, _ := e["relations"].(map[string]any)
	if bp == "" || rels == nil {
		return fmt.Errorf("related(%q): the input is not an entity (an object with blueprint and relations): %s", name, show(v))
	}
	target, known := c.Target(bp, name)
	if !known {
		have := slices.Sorted(mapKeys(c.targets[bp]))
		if _, there := rels[name]; there {
			return fmt.Errorf("related(%q): blueprint %s's relation %q has no target in blueprints/", name, bp, name)
		}
		return fmt.Errorf("related(%q): blueprint %s has no relation %q (it has: %s)", name, bp, name, strings.Join(have, ", "))
	}
	one := func(id any) any {
		s, ok := id.(string)
		if !ok {
			return nil
		}
		if t, ok := c.Lookup(target, s); ok {
			return t
		}
		return nil
	}
	switch x := rels[name].(type) {
	case nil:
		return nil
	case []any:
		out := make([]any, len(x))
		for i, id := range x {
			out[i] = one(id)
		}
		return out
	default:
		return one(x)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func show(v any) string {
	b, err := gojq.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

var quote = strconv.Quote
