package schema

import (
	"encoding/json"
	"slices"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// accepter says whether a value is certainly valid. It exists because the
// validator allocates a few times per call, which on 100k entities shows up
// as GC work shared by every goroutine; nearly all Port properties are a
// type with perhaps an enum or a format, and those can be checked in place.
// An accepter only ever accepts early: when it says false, the validator
// runs, so it decides every failure and words every message.
type accepter func(v any) bool

// fastPath returns an accepter for a property schema made only of keywords
// it fully understands, or nil.
func fastPath(m map[string]any) accepter {
	for k := range m {
		switch k {
		case "type", "enum", "format", "items":
		default:
			return nil
		}
	}
	typ, ok := m["type"].(string)
	if !ok {
		return nil
	}
	var enum []string
	if raw, ok := m["enum"]; ok {
		list, ok := raw.([]any)
		if !ok || typ != "string" {
			return nil
		}
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				return nil
			}
			enum = append(enum, s)
		}
	}
	var format func(any) bool
	if raw, ok := m["format"]; ok {
		name, ok := raw.(string)
		if !ok {
			return nil
		}
		// The same lookup as the compiler's: ours first, then the
		// validator's; a format neither knows is not checked.
		if format = portFormats[name]; format == nil {
			format = jsonschema.Formats[name]
		}
	}
	if _, ok := m["items"]; ok && typ != "array" {
		return nil
	}

	switch typ {
	case "string":
		return func(v any) bool {
			s, ok := v.(string)
			return ok && (enum == nil || slices.Contains(enum, s)) && (format == nil || format(s))
		}
	case "boolean":
		return func(v any) bool { _, ok := v.(bool); return ok }
	case "number":
		return func(v any) bool {
			switch v.(type) {
			case int, float64, json.Number:
				return true
			}
			return false
		}
	case "object":
		return func(v any) bool { _, ok := v.(map[string]any); return ok }
	case "array":
		var item accepter
		if raw, ok := m["items"]; ok {
			im, ok := raw.(map[string]any)
			if !ok {
				return nil
			}
			if item = fastPath(im); item == nil {
				return nil
			}
		}
		return func(v any) bool {
			list, ok := v.([]any)
			if !ok {
				return false
			}
			if item != nil {
				for _, x := range list {
					if !item(x) {
						return false
					}
				}
			}
			return true
		}
	}
	return nil
}
