package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitalog/gitalog/engine/jsonx"
)

// Relation is a blueprint's relation to entities of another blueprint.
type Relation struct {
	Title    string `json:"title"`
	Target   string `json:"target"`
	Required bool   `json:"required"`
	Many     bool   `json:"many"`
	// Rules, when set, say which entities the relation holds: those of
	// Target for which every rule matches (OpsLevel's relationship
	// management rules). The sync states them; see Set.RuleRelations.
	Rules []Rule `json:"rules,omitempty"`
}

// Blueprint is the part of a Port blueprint that gitalog uses. Keys that
// only Port's UI or its server-side computations use (mirror, calculation
// and aggregation properties, team inheritance, ...) are dropped on reading.
type Blueprint struct {
	Identifier string
	Title      string
	// Properties holds each property's schema as written, Port-only keys
	// included; Compile decides what of it is JSON Schema.
	Properties map[string]json.RawMessage
	Required   []string
	Relations  map[string]Relation
	// Source is the file the blueprint came from, for messages.
	Source string
}

type rawBlueprint struct {
	Identifier string `json:"identifier"`
	Title      string `json:"title"`
	Schema     struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	} `json:"schema"`
	Relations map[string]Relation `json:"relations"`
}

// Parse reads the blueprints in data, which holds one blueprint object or an
// array of them (Port's export and its integrations' blueprints.json use
// both). name is used in messages and as each blueprint's Source.
func Parse(name string, data []byte) ([]*Blueprint, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, positioned(name, data, err)
	}
	var raws []rawBlueprint
	switch trimmed := bytes.TrimLeft(raw, " \t\r\n"); {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, positioned(name, data, err)
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		raws = make([]rawBlueprint, 1)
		if err := json.Unmarshal(data, &raws[0]); err != nil {
			return nil, positioned(name, data, err)
		}
	default:
		line, col := jsonx.LineCol(data, len(data)-len(bytes.TrimLeft(data, " \t\r\n")))
		return nil, fmt.Errorf("%s:%d:%d: expected a blueprint object or an array of them", name, line, col)
	}

	var errs []error
	bps := make([]*Blueprint, 0, len(raws))
	array := raw[len(raw)-len(bytes.TrimLeft(raw, " \t\r\n"))] == '['
	for i, r := range raws {
		if r.Identifier == "" {
			errs = append(errs, fmt.Errorf("%s: blueprint %d: missing identifier", name, i))
			continue
		}
		bp := &Blueprint{
			Identifier: r.Identifier,
			Title:      r.Title,
			Properties: r.Schema.Properties,
			Required:   r.Schema.Required,
			Relations:  r.Relations,
			Source:     name,
		}
		if bp.Properties == nil {
			bp.Properties = map[string]json.RawMessage{}
		}
		if bp.Relations == nil {
			bp.Relations = map[string]Relation{}
		}
		var at []any
		if array {
			at = []any{i}
		}
		errs = append(errs, parseRules(name, data, at, bp)...)
		bps = append(bps, bp)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return bps, nil
}

// LoadDir reads dir/*.json in name order, so that messages and the order of
// the result don't depend on the file system.
func LoadDir(dir string) ([]*Blueprint, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading blueprints: %w", err)
	}
	var all []*Blueprint
	for _, ent := range entries {
		if ent.IsDir() || !strings.HasSuffix(ent.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, ent.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		bps, err := Parse(path, data)
		if err != nil {
			return nil, err
		}
		all = append(all, bps...)
	}
	return all, nil
}

// positioned turns encoding/json's byte offsets into name:line:col, the form
// editors and CI annotations understand.
func positioned(name string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the offending byte as read.
		line, col := jsonx.LineCol(data, int(syn.Offset)-1)
		return fmt.Errorf("%s:%d:%d: %s", name, line, col, syn.Error())
	case errors.As(err, &typ):
		// Offset is the end of the offending value; its last byte is on the
		// same line as its start for all scalars.
		line, col := jsonx.LineCol(data, int(typ.Offset)-1)
		what := "value"
		if typ.Field != "" {
			what = fmt.Sprintf("%q", typ.Field)
		}
		want := typ.Type.Kind().String()
		switch want {
		case "slice":
			want = "array"
		case "struct", "map":
			want = "object"
		case "bool":
			want = "boolean"
		}
		return fmt.Errorf("%s:%d:%d: %s must be %s %s, not %s", name, line, col, what, article(want), want, typ.Value)
	}
	return fmt.Errorf("%s: %w", name, err)
}

func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an"
	}
	return "a"
}
