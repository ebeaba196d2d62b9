package review

import (
	"encoding/json"
	"io"
)

// The JSON rendering; see the package doc for its documented shape.
type jsonDiff struct {
	From     *string           `json:"from"`
	To       *string           `json:"to"`
	Summary  map[string]Counts `json:"summary"`
	Entities []jsonEntity      `json:"entities"`
}

type jsonEntity struct {
	Blueprint  string          `json:"blueprint"`
	Identifier string          `json:"identifier"`
	Change     Kind            `json:"change"`
	Title      json.RawMessage `json:"title"`
	Path       string          `json:"path"`
	Fields     []jsonField     `json:"fields"`
	Error      string          `json:"error,omitempty"`
}

type jsonField struct {
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

func hashOrNull(r Rev) *string {
	if r.Commit.IsZero() {
		return nil
	}
	s := r.Commit.String()
	return &s
}

// RenderJSON writes d as one indented JSON object.
func RenderJSON(w io.Writer, d *Diff) error {
	out := jsonDiff{From: hashOrNull(d.From), To: hashOrNull(d.To), Summary: map[string]Counts{}, Entities: []jsonEntity{}}
	for bp, c := range d.Summary {
		out.Summary[bp] = *c
	}
	for i := range d.Entities {
		e := &d.Entities[i]
		je := jsonEntity{Blueprint: e.Blueprint, Identifier: e.Identifier, Change: e.Change,
			Title: canonical(e.Title), Path: e.Path, Fields: []jsonField{}, Error: e.Err}
		for _, c := range e.Fields {
			f := jsonField{Path: c.Path}
			if c.HadOld {
				f.Old = canonical(c.Old)
			}
			if c.HasNew {
				f.New = canonical(c.New)
			}
			je.Fields = append(je.Fields, f)
		}
		out.Entities = append(out.Entities, je)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// JSONValue is a field value as the JSON rendering writes it (canonical
// JSON); nil when the field is absent.
func JSONValue(v any, present bool) json.RawMessage {
	if !present {
		return nil
	}
	return canonical(v)
}
