package catalog

// MaxValueDepth is how many levels of arrays and objects one value of an
// entity (a property, a relation, the title, icon or team) may nest. Each
// level costs a line's indentation in the entity's file: 60 KB of input
// nested 9,995 deep became a 200 MB file. Port's entities nest a few
// levels; validation refuses a deeper value.
const MaxValueDepth = 64

// TooDeep reports whether v nests arrays and objects more than
// MaxValueDepth levels deep. It looks no deeper than that, so a hostile
// value costs no more than its first MaxValueDepth levels.
func TooDeep(v any) bool { return tooDeep(v, 0) }

func tooDeep(v any, depth int) bool {
	switch x := v.(type) {
	case map[string]any:
		if depth == MaxValueDepth {
			return true
		}
		for _, e := range x {
			if tooDeep(e, depth+1) {
				return true
			}
		}
	case []any:
		if depth == MaxValueDepth {
			return true
		}
		for _, e := range x {
			if tooDeep(e, depth+1) {
				return true
			}
		}
	}
	return false
}
