package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// Entity is Port's entity shape. Values are what gojq produces: nil, bool,
// int, float64, *big.Int, json.Number, string, []any and map[string]any.
type Entity struct {
	Identifier string
	Title      any // a string, or nil when the mapping gave none
	Blueprint  string
	Properties map[string]any
	Relations  map[string]any
	// Icon and Team are Port's optional keys; they are written only when a
	// mapping sets them, so that files of users who don't map them stay small.
	Icon any
	Team any
	// Aliases are other names the entity is known by (OpsLevel's aliases):
	// a rule or a transform that looks an entity up by name finds it by
	// its identifier or any of them. Written only when there are some, so
	// that files without them (all of Port's) keep their bytes.
	Aliases []string
}

// Key identifies an entity within a catalog.
type Key struct {
	Blueprint  string
	Identifier string
}

func (e *Entity) Key() Key { return Key{e.Blueprint, e.Identifier} }

func (k Key) String() string { return k.Blueprint + "/" + k.Identifier }

// ToMap returns the entity as a JSON object, as written to its file.
func (e *Entity) ToMap() map[string]any {
	props, rels := e.Properties, e.Relations
	if props == nil {
		props = map[string]any{}
	}
	if rels == nil {
		rels = map[string]any{}
	}
	m := map[string]any{
		"identifier": e.Identifier,
		"title":      e.Title,
		"blueprint":  e.Blueprint,
		"properties": props,
		"relations":  rels,
	}
	if e.Icon != nil {
		m["icon"] = e.Icon
	}
	if e.Team != nil {
		m["team"] = e.Team
	}
	if len(e.Aliases) > 0 {
		m["aliases"] = aliasValues(e.Aliases)
	}
	return m
}

// aliasValues is a list of strings (aliases, identifiers) as the JSON
// array gojq and the encoders handle.
func aliasValues(aliases []string) []any {
	out := make([]any, len(aliases))
	for i, a := range aliases {
		out[i] = a
	}
	return out
}

// Encode returns the canonical file content of the entity: sorted keys,
// two-space indent, UTF-8 left unescaped, numbers as jq prints them, and a
// trailing newline. The same entity always encodes to the same bytes, so a
// file changes only when upstream data does.
func (e *Entity) Encode() []byte {
	b := encodeBufs.Get().(*bytes.Buffer)
	b.Reset()
	e.EncodeTo(b)
	// Exactly sized: a sync keeps the bytes of every changed file until it
	// commits, and a grown buffer is up to twice the file.
	out := make([]byte, b.Len())
	copy(out, b.Bytes())
	encodeBufs.Put(b)
	return out
}

// EncodeTo appends what Encode returns to b. It writes the top-level keys
// in their sorted order directly rather than through ToMap: it runs once
// per entity per sync, and most entities turn out unchanged.
func (e *Entity) EncodeTo(b *bytes.Buffer) {
	b.WriteString("{\n")
	field := func(name string, v any) {
		b.WriteString("  \"")
		b.WriteString(name)
		b.WriteString("\": ")
		encodeValue(b, v, 1)
	}
	object := func(name string, m map[string]any) {
		if m == nil {
			m = map[string]any{}
		}
		field(name, m)
		b.WriteString(",\n")
	}
	// Sorted: aliases, blueprint, icon, identifier, properties, relations,
	// team, title.
	if len(e.Aliases) > 0 {
		b.WriteString("  \"aliases\": [\n")
		for i, a := range e.Aliases {
			b.WriteString("    ")
			writeString(b, a)
			if i < len(e.Aliases)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString("  ],\n")
	}
	field("blueprint", e.Blueprint)
	b.WriteString(",\n")
	if e.Icon != nil {
		field("icon", e.Icon)
		b.WriteString(",\n")
	}
	field("identifier", e.Identifier)
	b.WriteString(",\n")
	object("properties", e.Properties)
	object("relations", e.Relations)
	if e.Team != nil {
		field("team", e.Team)
		b.WriteString(",\n")
	}
	field("title", e.Title)
	b.WriteString("\n}\n")
}

var encodeBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// EncodeValue writes v canonically (as Encode does), without a trailing newline.
func EncodeValue(b *bytes.Buffer, v any) { encodeValue(b, v, 0) }

func encodeValue(b *bytes.Buffer, v any, depth int) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		var arr [16]string // most objects: no allocation for their keys
		keys := arr[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString("{\n")
		for i, k := range keys {
			indent(b, depth+1)
			writeScalar(b, k)
			b.WriteString(": ")
			encodeValue(b, v[k], depth+1)
			if i < len(keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		indent(b, depth)
		b.WriteByte('}')
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, x := range v {
			indent(b, depth+1)
			encodeValue(b, x, depth+1)
			if i < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		indent(b, depth)
		b.WriteByte(']')
	case []string:
		// A relation's identifiers, when Go code rather than jq made them.
		encodeValue(b, aliasValues(v), depth)
	default:
		writeScalar(b, v)
	}
}

func writeScalar(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case string:
		writeString(b, x)
		return
	case nil:
		b.WriteString("null")
		return
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
		return
	case json.Number:
		// gojq.Marshal writes a json.Number verbatim ("1.0", "1e2"); read
		// it as gojq reads its input, so a decoded file re-encodes as jq
		// prints it.
		v = parseNumber(x)
	}
	switch x := v.(type) {
	case int:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(x), 10))
	case float64, *big.Int:
		out, _ := gojq.Marshal(v)
		b.Write(out)
	default:
		// Values reach us from gojq or encoding/json only; anything else is a
		// programming error, but a file must still be valid JSON.
		writeString(b, fmt.Sprint(v))
	}
}

// writeString writes a JSON string as jq (and gojq.Marshal) does: only ",
// \ and control characters escaped (DEL too), UTF-8 left as it is. Invalid
// UTF-8 is written as a raw U+FFFD rather than gojq's escape, so that a
// decoded file re-encodes to the same bytes. It writes straight into the
// buffer: strings are most of an entity file.
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if ' ' <= c && c <= '~' && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteRune(utf8.RuneError)
			i++
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// parseNumber is gojq's reading of a json.Number: an int when it fits, a
// float64 when it has a fraction or exponent, else a *big.Int.
func parseNumber(n json.Number) any {
	if i, err := n.Int64(); err == nil && math.MinInt <= i && i <= math.MaxInt {
		return int(i)
	}
	if strings.ContainsAny(n.String(), ".eE") {
		if f, err := n.Float64(); err == nil {
			return f
		}
	}
	if bi, ok := new(big.Int).SetString(n.String(), 10); ok {
		return bi
	}
	if strings.HasPrefix(n.String(), "-") {
		return math.Inf(-1)
	}
	return math.Inf(1)
}

const spaces = "                                                                "

func indent(b *bytes.Buffer, depth int) {
	if n := 2 * depth; n <= len(spaces) {
		b.WriteString(spaces[:n])
		return
	}
	b.WriteString(strings.Repeat("  ", depth))
}

// Decode parses an entity file. It accepts any valid JSON layout, not only
// the canonical one, so that hand-edited files can be read.
func Decode(data []byte) (*Entity, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	e := &Entity{Title: m["title"], Icon: m["icon"], Team: m["team"]}
	var ok bool
	if e.Identifier, ok = m["identifier"].(string); !ok {
		return nil, fmt.Errorf(`"identifier" must be a string`)
	}
	if e.Blueprint, ok = m["blueprint"].(string); !ok {
		return nil, fmt.Errorf(`"blueprint" must be a string`)
	}
	if p, ok := m["properties"]; ok && p != nil {
		if e.Properties, ok = p.(map[string]any); !ok {
			return nil, fmt.Errorf(`"properties" must be an object`)
		}
	}
	if r, ok := m["relations"]; ok && r != nil {
		if e.Relations, ok = r.(map[string]any); !ok {
			return nil, fmt.Errorf(`"relations" must be an object`)
		}
	}
	if a, ok := m["aliases"]; ok && a != nil {
		list, ok := a.([]any)
		if !ok {
			return nil, fmt.Errorf(`"aliases" must be an array of strings`)
		}
		if len(list) > 0 {
			e.Aliases = make([]string, len(list))
		}
		for i, x := range list {
			if e.Aliases[i], ok = x.(string); !ok {
				return nil, fmt.Errorf(`"aliases"/%d must be a string`, i)
			}
		}
	}
	return e, nil
}

// EncodeCompact writes v as canonical JSON on one line (sorted keys).
func EncodeCompact(b *bytes.Buffer, v any) { encodeLine(b, v, ",", ":") }

// encodeLine writes v on one line, canonically but for the separators
// between elements (comma) and after keys (colon).
func encodeLine(b *bytes.Buffer, v any, comma, colon string) {
	switch v := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b.WriteString(comma)
			}
			writeString(b, k)
			b.WriteString(colon)
			encodeLine(b, v[k], comma, colon)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteString(comma)
			}
			encodeLine(b, x, comma, colon)
		}
		b.WriteByte(']')
	case []string:
		encodeLine(b, aliasValues(v), comma, colon)
	default:
		writeScalar(b, v)
	}
}
