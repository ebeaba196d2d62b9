package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gitalog/gitalog/engine/jsonx"
)

// FieldChange is one field PatchFields sets or removes.
type FieldChange struct {
	Section string // "properties" or "relations"
	Name    string
	Value   any  // the new value, any value Encode takes
	Remove  bool // remove the key instead
}

// PatchFields changes fields of an entity file a person wrote, and
// nothing else: a changed key's value is replaced where it stands, a new
// key goes at the end of its section (the section at the end of the file
// when there is none), a removed key takes its line with it, and every
// other byte (order, layout, indentation, line endings) stays. New values
// are encoded as Encode writes them, indented like the file's keys
// (spaces or tabs, and their width, as the file has them); a one-line
// object gets a one-line value. A change to the value a key already has
// (compared as JSON) changes nothing, so the result is data itself when
// no change does anything.
//
// data must be a JSON object without duplicate keys; the error otherwise
// starts with the line and column. Changes apply in order, each to the
// result of the one before; a field is meant to appear once.
func PatchFields(data []byte, changes []FieldChange) ([]byte, error) {
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	doc, err := scanDoc(data)
	if err != nil {
		return nil, err
	}
	for i, ch := range changes {
		if ch.Section != "properties" && ch.Section != "relations" {
			return nil, fmt.Errorf("cannot patch section %q: only properties and relations", ch.Section)
		}
		if i > 0 && !bytes.Equal(doc.data, data) {
			// The previous change moved what follows it.
			if doc, err = scanDoc(data); err != nil {
				return nil, err
			}
		}
		if data, err = doc.apply(ch); err != nil {
			return nil, err
		}
	}
	return data, nil
}

func checkJSON(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var v any
	err := json.Unmarshal(data, &v)
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := jsonx.LineCol(data, int(syn.Offset)-1)
		return fmt.Errorf("%d:%d: invalid JSON: %v", line, col, syn)
	}
	if err == nil {
		err = errors.New("not valid JSON")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// jsonObject is where an object's parts are in the file: its braces and,
// per member, the key's start and the value's span.
type jsonObject struct {
	open, close int // offsets of '{' and '}'
	members     []jsonMember
}

type jsonMember struct {
	key                        string
	keyStart, valStart, valEnd int
}

func (o *jsonObject) find(key string) int {
	for i, m := range o.members {
		if m.key == key {
			return i
		}
	}
	return -1
}

// scanner walks JSON that json.Valid accepted, so it checks only what
// Valid does not: that keys are not repeated.
type scanner struct{ data []byte }

func (s *scanner) ws(i int) int {
	for i < len(s.data) {
		switch s.data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// value returns the end of the value at i (no whitespace before it).
func (s *scanner) value(i int) (int, error) {
	switch s.data[i] {
	case '{':
		o, err := s.object(i)
		if err != nil {
			return 0, err
		}
		return o.close + 1, nil
	case '[':
		i = s.ws(i + 1)
		if s.data[i] == ']' {
			return i + 1, nil
		}
		for {
			end, err := s.value(i)
			if err != nil {
				return 0, err
			}
			i = s.ws(end)
			if s.data[i] == ']' {
				return i + 1, nil
			}
			i = s.ws(i + 1) // the comma
		}
	case '"':
		return s.stringEnd(i), nil
	}
	for i < len(s.data) && !strings.ContainsRune(",}] \t\r\n", rune(s.data[i])) {
		i++
	}
	return i, nil
}

func (s *scanner) stringEnd(i int) int {
	for i++; ; i++ {
		switch s.data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

func (s *scanner) object(i int) (*jsonObject, error) {
	o := &jsonObject{open: i}
	i = s.ws(i + 1)
	if s.data[i] == '}' {
		o.close = i
		return o, nil
	}
	for {
		keyEnd := s.stringEnd(i)
		raw := s.data[i:keyEnd]
		var key string
		if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
			key = string(raw[1 : len(raw)-1])
		} else if err := json.Unmarshal(raw, &key); err != nil {
			return nil, err
		}
		if o.find(key) >= 0 {
			line, col := jsonx.LineCol(s.data, i)
			return nil, fmt.Errorf("%d:%d: duplicate key %s", line, col, quote(key))
		}
		valStart := s.ws(s.ws(keyEnd) + 1) // past the colon
		valEnd, err := s.value(valStart)
		if err != nil {
			return nil, err
		}
		o.members = append(o.members, jsonMember{key: key, keyStart: i, valStart: valStart, valEnd: valEnd})
		i = s.ws(valEnd)
		if s.data[i] == '}' {
			o.close = i
			return o, nil
		}
		i = s.ws(i + 1) // the comma
	}
}

// validKey is s as writeString writes it and JSON decoders read it back:
// each byte of invalid UTF-8 a U+FFFD.
func validKey(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r) // ranging gives U+FFFD for each invalid byte
	}
	return b.String()
}

func quote(s string) string {
	var b bytes.Buffer
	writeString(&b, s)
	return b.String()
}

// patchDoc is a scanned entity file and the layout it is written in.
type patchDoc struct {
	data []byte
	top  *jsonObject
	nl   string // "\n", or "\r\n" for a CRLF file
	unit string // one level of indentation
}

func scanDoc(data []byte) (*patchDoc, error) {
	s := &scanner{data: data}
	start := s.ws(0)
	if start >= len(data) || data[start] != '{' {
		line, col := jsonx.LineCol(data, start)
		return nil, fmt.Errorf("%d:%d: an entity file must hold a JSON object", line, col)
	}
	top, err := s.object(start)
	if err != nil {
		return nil, err
	}
	// Nothing but whitespace can follow: json.Valid saw to that.
	d := &patchDoc{data: data, top: top, nl: "\n"}
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		d.nl = "\r\n"
	}
	d.unit = d.detectUnit()
	return d, nil
}

// lineIndent is the whitespace that starts the line of data[off], and
// whether only whitespace comes before off on that line.
func (d *patchDoc) lineIndent(off int) (string, bool) {
	start := bytes.LastIndexByte(d.data[:off], '\n') + 1
	pre := d.data[start:off]
	ind := pre[:len(pre)-len(bytes.TrimLeft(pre, " \t"))]
	return string(ind), len(ind) == len(pre)
}

// multiline reports whether o is written over several lines (its members
// on their own lines), rather than on one.
func (d *patchDoc) multiline(o *jsonObject) bool {
	if len(o.members) == 0 {
		return bytes.IndexByte(d.data[o.open:o.close], '\n') >= 0
	}
	return bytes.IndexByte(d.data[o.open:o.members[len(o.members)-1].keyStart], '\n') >= 0
}

// detectUnit is the file's indentation step: what the top level's keys
// are indented by beyond its brace, or else what a section's keys are
// beyond their section's key; two spaces, the canonical step, otherwise.
func (d *patchDoc) detectUnit() string {
	step := func(o *jsonObject, base string) string {
		if !d.multiline(o) || len(o.members) == 0 {
			return ""
		}
		ind, own := d.lineIndent(o.members[len(o.members)-1].keyStart)
		if own && len(ind) > len(base) && strings.HasPrefix(ind, base) {
			return ind[len(base):]
		}
		return ""
	}
	braceInd, _ := d.lineIndent(d.top.open)
	if u := step(d.top, braceInd); u != "" {
		return u
	}
	for _, m := range d.top.members {
		if (m.key == "properties" || m.key == "relations") && d.data[m.valStart] == '{' {
			s := &scanner{data: d.data}
			o, err := s.object(m.valStart)
			if err != nil {
				continue
			}
			keyInd, _ := d.lineIndent(m.keyStart)
			if u := step(o, keyInd); u != "" {
				return u
			}
		}
	}
	return "  "
}

// memberIndent is the indentation for a new member of o, whose brace's
// key (or, for the top level, brace) is on a line indented by base.
func (d *patchDoc) memberIndent(o *jsonObject, base string) string {
	if n := len(o.members); n > 0 {
		if ind, own := d.lineIndent(o.members[n-1].keyStart); own {
			return ind
		}
	}
	return base + d.unit
}

// encode is v as Encode writes it, its lines indented from ind; on one
// line when inline.
func (d *patchDoc) encode(v any, ind string, inline bool) string {
	var b bytes.Buffer
	if inline {
		encodeInline(&b, v)
		return b.String()
	}
	EncodeValue(&b, v)
	enc := b.String()
	if !strings.Contains(enc, "\n") {
		return enc
	}
	var out strings.Builder
	for i, line := range strings.Split(enc, "\n") {
		if i > 0 {
			trimmed := strings.TrimLeft(line, " ")
			out.WriteString(d.nl)
			out.WriteString(ind)
			out.WriteString(strings.Repeat(d.unit, (len(line)-len(trimmed))/2))
			line = trimmed
		}
		out.WriteString(line)
	}
	return out.String()
}

// encodeInline writes v on one line as a person does: canonical keys
// and values, ", " and ": " between them.
func encodeInline(b *bytes.Buffer, v any) { encodeLine(b, v, ", ", ": ") }

func (d *patchDoc) member(key string, v any, ind string, inline bool) string {
	return quote(key) + ": " + d.encode(v, ind, inline)
}

func (d *patchDoc) splice(from, to int, s string) []byte {
	out := make([]byte, 0, len(d.data)-(to-from)+len(s))
	out = append(out, d.data[:from]...)
	out = append(out, s...)
	return append(out, d.data[to:]...)
}

func (d *patchDoc) apply(ch FieldChange) ([]byte, error) {
	// The key as it will read back: invalid UTF-8 is written as U+FFFD.
	ch.Name = validKey(ch.Name)
	i := d.top.find(ch.Section)
	if i < 0 {
		if ch.Remove {
			return d.data, nil
		}
		return d.add(d.top, d.braceIndent(), ch.Section, map[string]any{ch.Name: ch.Value}), nil
	}
	sec := d.top.members[i]
	switch d.data[sec.valStart] {
	case '{':
	case 'n': // null: no fields yet
		if ch.Remove {
			return d.data, nil
		}
		keyInd, _ := d.lineIndent(sec.keyStart)
		return d.splice(sec.valStart, sec.valEnd, d.encode(map[string]any{ch.Name: ch.Value}, keyInd, !d.multiline(d.top))), nil
	default:
		line, col := jsonx.LineCol(d.data, sec.valStart)
		return nil, fmt.Errorf("%d:%d: %q must be an object", line, col, ch.Section)
	}
	s := &scanner{data: d.data}
	o, err := s.object(sec.valStart)
	if err != nil {
		return nil, err
	}
	keyInd, _ := d.lineIndent(sec.keyStart)
	j := o.find(ch.Name)
	switch {
	case j < 0 && ch.Remove:
		return d.data, nil
	case j < 0:
		return d.add(o, keyInd, ch.Name, ch.Value), nil
	case ch.Remove:
		return d.remove(o, j), nil
	}
	m := o.members[j]
	if same, err := d.holds(m, ch.Value); err != nil || same {
		return d.data, err
	}
	ind, own := d.lineIndent(m.keyStart)
	if !own {
		ind = d.memberIndent(o, keyInd)
	}
	return d.splice(m.valStart, m.valEnd, d.encode(ch.Value, ind, !d.multiline(o))), nil
}

// braceIndent is the indentation of the top level's brace line.
func (d *patchDoc) braceIndent() string {
	ind, _ := d.lineIndent(d.top.open)
	return ind
}

// holds reports whether member m's value is v, as JSON.
func (d *patchDoc) holds(m jsonMember, v any) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(d.data[m.valStart:m.valEnd]))
	dec.UseNumber()
	var old any
	if err := dec.Decode(&old); err != nil {
		return false, err
	}
	var a, b bytes.Buffer
	EncodeCompact(&a, old)
	EncodeCompact(&b, v)
	return bytes.Equal(a.Bytes(), b.Bytes()), nil
}

// add appends key: v to o, whose key (or brace) line is indented by base.
func (d *patchDoc) add(o *jsonObject, base, key string, v any) []byte {
	if !d.multiline(o) && (len(o.members) > 0 || !d.multiline(d.top)) {
		// A one-line object, or an empty one in a one-line file.
		if n := len(o.members); n > 0 {
			return d.splice(o.members[n-1].valEnd, o.members[n-1].valEnd, ", "+d.member(key, v, "", true))
		}
		return d.splice(o.open+1, o.close, d.member(key, v, "", true))
	}
	ind := d.memberIndent(o, base)
	if n := len(o.members); n > 0 {
		end := o.members[n-1].valEnd
		return d.splice(end, end, ","+d.nl+ind+d.member(key, v, ind, false))
	}
	return d.splice(o.open+1, o.close, d.nl+ind+d.member(key, v, ind, false)+d.nl+base)
}

// remove takes member j out of o with its line, and the comma that
// separated it; the last member leaves "{}".
func (d *patchDoc) remove(o *jsonObject, j int) []byte {
	switch n := len(o.members); {
	case n == 1:
		return d.splice(o.open+1, o.close, "")
	case j < n-1:
		return d.splice(o.members[j].keyStart, o.members[j+1].keyStart, "")
	default:
		return d.splice(o.members[j-1].valEnd, o.members[j].valEnd, "")
	}
}
