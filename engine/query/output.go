package query

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/itchyny/gojq"
)

// The output formats.
const (
	FormatJSON  = "json"  // each output, indented, as jq prints it
	FormatJSONL = "jsonl" // one row a line, compact
	FormatTable = "table" // one row a line, aligned columns
)

// Output writes a query's outputs. For jsonl and table an output that is
// a list counts as its elements, one row each, so that a search's list
// of entities and `.[] | select(...)` print alike.
type Output struct {
	w      *bufio.Writer
	format string
	fields []string
	rows   []any // table only: the widths need every row
}

// NewOutput checks the format and fields.
func NewOutput(w io.Writer, format string, fields []string) (*Output, error) {
	switch format {
	case FormatJSON, FormatJSONL, FormatTable:
	default:
		return nil, fmt.Errorf("unknown format %q (json, jsonl or table)", format)
	}
	if len(fields) > 0 && format != FormatTable {
		return nil, fmt.Errorf("--fields is for --format table")
	}
	for _, f := range fields {
		if f == "" || strings.HasPrefix(f, ".") || strings.HasSuffix(f, ".") || strings.Contains(f, "..") {
			return nil, fmt.Errorf("--fields: %q is not a field (want names like identifier,title,status or properties.status)", f)
		}
	}
	return &Output{w: bufio.NewWriterSize(w, 64<<10), format: format, fields: fields}, nil
}

// Write takes one output of the query.
func (o *Output) Write(v any) error {
	switch o.format {
	case FormatJSON:
		var b bytes.Buffer
		catalog.EncodeValue(&b, v)
		b.WriteByte('\n')
		_, err := o.w.Write(b.Bytes())
		return err
	case FormatJSONL:
		for _, r := range rows(v) {
			b, err := gojq.Marshal(r)
			if err != nil {
				return err
			}
			o.w.Write(b)
			if err := o.w.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	}
	o.rows = append(o.rows, rows(v)...)
	return nil
}

func rows(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// Close writes the table, if any, and flushes.
func (o *Output) Close() error {
	if o.format == FormatTable && len(o.rows) > 0 {
		fields := o.fields
		if len(fields) == 0 {
			fields = defaultFields(o.rows[0])
		}
		tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
		head := make([]string, len(fields))
		for i, f := range fields {
			head[i] = strings.ToUpper(f)
		}
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		cells := make([]string, len(fields))
		for _, r := range o.rows {
			for i, f := range fields {
				cells[i] = cell(field(r, f))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return o.w.Flush()
}

// defaultFields are an entity's blueprint, identifier and title, an
// object's keys, or the value itself.
func defaultFields(r any) []string {
	m, ok := r.(map[string]any)
	if !ok {
		return []string{"value"}
	}
	if _, ok := m["identifier"]; ok {
		if _, ok := m["blueprint"]; ok {
			return []string{"blueprint", "identifier", "title"}
		}
	}
	return slices.Sorted(mapKeys(m))
}

// field reads a dotted path of r; a first name r lacks is looked up in
// its properties, then its relations, so that an entity's "status" is
// properties.status. "value" of a scalar is the scalar.
func field(r any, f string) any {
	m, ok := r.(map[string]any)
	if !ok {
		if f == "value" {
			return r
		}
		return nil
	}
	parts := strings.Split(f, ".")
	if _, there := m[parts[0]]; !there {
		for _, in := range []string{"properties", "relations"} {
			if sub, ok := m[in].(map[string]any); ok {
				if _, there := sub[parts[0]]; there {
					m = sub
					break
				}
			}
		}
	}
	var cur any = m
	for _, p := range parts {
		cm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = cm[p]
	}
	return cur
}

// cell prints a value on one line: a string as it is, a list of strings
// joined with commas, anything else as compact JSON.
func cell(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	default:
		if strs, ok := stringList(v); ok {
			s = strings.Join(strs, ",")
			break
		}
		b, _ := gojq.Marshal(v)
		s = string(b)
	}
	// One row a line, one cell a column: no control characters.
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func stringList(v any) ([]string, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(l))
	for i, e := range l {
		if out[i], ok = e.(string); !ok {
			return nil, false
		}
	}
	return out, true
}
