package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// normalize makes a gojq value one the validator understands, in the form
// the catalog writes it: *big.Int becomes json.Number, NaN null and an
// infinity the largest float, as gojq encodes them. Values that need no
// change, which is nearly all of them, are returned as they are, without
// allocating.
func normalize(v any) any {
	if !needsNormalizing(v) {
		return v
	}
	return normalized(v)
}

func needsNormalizing(v any) bool {
	switch v := v.(type) {
	case *big.Int:
		return true
	case float64:
		return math.IsNaN(v) || math.IsInf(v, 0)
	case []any:
		for _, x := range v {
			if needsNormalizing(x) {
				return true
			}
		}
	case map[string]any:
		for _, x := range v {
			if needsNormalizing(x) {
				return true
			}
		}
	}
	return false
}

func normalized(v any) any {
	switch v := v.(type) {
	case *big.Int:
		if v == nil {
			return nil
		}
		return json.Number(v.String())
	case float64:
		switch {
		case math.IsNaN(v):
			return nil
		case math.IsInf(v, 1):
			return math.MaxFloat64
		case math.IsInf(v, -1):
			return -math.MaxFloat64
		}
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalized(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normalized(x)
		}
		return out
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// escapePointer escapes one JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// splitPointer splits a pointer as the validator writes it: RFC 6901 tokens
// that are URL-path-escaped on top.
func splitPointer(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs
}

func lookup(v any, segs []string) (any, bool) {
	for _, s := range segs {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[s]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// display shows a value as JSON, cut short so that one long description
// does not drown a message.
func display(v any) string {
	b, err := gojq.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	const limit = 80
	if len(b) <= limit {
		return string(b)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…"
}

func displayList(list []any) string {
	const limit = 10
	parts := make([]string, 0, min(len(list), limit)+1)
	for i, x := range list {
		if i == limit {
			parts = append(parts, fmt.Sprintf("... (%d more)", len(list)-limit))
			break
		}
		parts = append(parts, display(x))
	}
	return strings.Join(parts, ", ")
}

// describe names a value's JSON type and shows it, e.g. `number 42`.
func describe(v any) string {
	t := jsonTypeOf(v)
	if v == nil {
		return t
	}
	return t + " " + display(v)
}

func jsonTypeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int, int64, float64, *big.Int, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("Go value of type %T", v)
}
