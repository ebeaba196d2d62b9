package mapping

import (
	"strings"
)

// A resource's field expressions are also compiled into one jq program
// that yields all of them at once: running gojq has a fixed cost per run
// (it allocates an environment and stacks), which dominated mapping when
// every field was a run of its own. Each field keeps Port's semantics
// inside the combined program: its first output, null when it has none,
// and its own error caught so that it nulls that field only.

// errorMark tags a caught error in the combined output; the NUL keeps it
// from colliding with any value a mapping can produce from JSON input.
const errorMark = "\x00gitalog:error"

type combined struct {
	prog  *Program
	slots []*Program
	index map[*Program]int
	fast  bool // every slot has a direct evaluation
}

func (r *Resource) fieldPrograms() []*Program {
	progs := []*Program{r.Identifier, r.Blueprint, r.Title, r.Icon, r.Team}
	for _, p := range r.Properties {
		progs = append(progs, p.Program)
	}
	for _, rel := range r.Relations {
		progs = append(progs, rel.Expr)
	}
	if r.OpsLevel != nil {
		progs = append(progs, r.OpsLevel.Aliases...)
		progs = append(progs, r.OpsLevel.Tags...)
	}
	out := progs[:0]
	for _, p := range progs {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// compileCombined builds the combined program; on any trouble it leaves
// the resource to run its fields one by one, which is always correct.
func (r *Resource) compileCombined(env func() []string, g *guard, source any) {
	slots := r.fieldPrograms()
	var b strings.Builder
	b.WriteString("[")
	for i, p := range slots {
		if i > 0 {
			b.WriteString(",\n")
		}
		// Newlines keep a trailing # comment in a field from swallowing
		// the rest of the program.
		b.WriteString("(try ([first(\n")
		b.WriteString(p.Source)
		b.WriteString("\n)] | .[0]) catch [\"\\u0000gitalog:error\", .])")
	}
	b.WriteString("]")
	prog, err := compileJQSource(b.String(), "port.entity.mappings", env, g, source)
	if err != nil {
		return
	}
	c := &combined{prog: prog, slots: slots, index: make(map[*Program]int, len(slots)), fast: true}
	for i, p := range slots {
		c.index[p] = i
		if p.fast == nil {
			c.fast = false
		}
	}
	r.combined = c
}

// evalAll runs the combined program; ok is false when it could not be
// used for this item, and the caller falls back to running fields singly.
func (c *combined) evalAll(sc *scope, item any) (vals []any, ok bool) {
	if c.fast {
		vals = make([]any, len(c.slots))
		for i, p := range c.slots {
			v, ok := p.fast.eval(item)
			if !ok {
				vals = nil
				break
			}
			vals[i] = v
		}
		if vals != nil {
			return vals, true
		}
	}
	out, err := c.prog.first(sc, item)
	if err != nil {
		return nil, false
	}
	vals, ok = out.([]any)
	if !ok || len(vals) != len(c.slots) {
		return nil, false
	}
	return vals, true
}

// caught returns the message of a caught error value.
func caught(v any) (string, bool) {
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return "", false
	}
	if s, _ := arr[0].(string); s != errorMark {
		return "", false
	}
	if msg, ok := arr[1].(string); ok {
		return msg, true
	}
	// gojq words an error raised with a non-string value this way.
	return "error: " + show(arr[1]), true
}
