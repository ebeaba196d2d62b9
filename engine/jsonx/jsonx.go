package jsonx

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// SyntaxError is a decoding error at a byte offset.
type SyntaxError struct {
	Offset int
	msg    string
}

func (e *SyntaxError) Error() string { return e.msg }

// Decode decodes exactly one JSON value (surrounding white space allowed).
func Decode(data []byte) (any, error) {
	return new(Decoder).Decode(data)
}

// Decoder reuses object keys across calls: items of one kind repeat the
// same keys, and sharing their strings saves an allocation per key. A
// Decoder is not safe for concurrent use; give each goroutine its own.
type Decoder struct {
	keys map[string]string
}

// Decode decodes exactly one JSON value (surrounding white space allowed).
func (dd *Decoder) Decode(data []byte) (any, error) {
	if dd.keys == nil {
		dd.keys = make(map[string]string, 256)
	}
	d := decoder{data: data, keys: dd.keys}
	d.skip()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return v, nil
}

// MaxDepth bounds nesting, so hostile input cannot exhaust the stack: a
// container at depth MaxDepth (the top value is at 0) is one too many.
// encoding/json allows 10,000 levels; Sentry's responses nest a handful,
// and a 60 KB response nested 9,995 deep became a 200 MB entity file.
const MaxDepth = 512

// DepthError is input nested deeper than MaxDepth. Unlike a body cut
// short, it is no transient fault: the same request gets the same bytes.
type DepthError struct{ Offset int }

func (e *DepthError) Error() string {
	return fmt.Sprintf("JSON nested deeper than %d levels (at byte %d)", MaxDepth, e.Offset)
}

type decoder struct {
	data []byte
	i    int
	keys map[string]string
}

// maxKeys bounds the key cache, so items with unique keys cannot grow it.
const maxKeys = 4096

func (d *decoder) errf(format string, args ...any) error {
	return &SyntaxError{Offset: d.i, msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) skip() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.i >= len(d.data) {
		return nil, d.errf("unexpected end of JSON input")
	}
	if depth >= MaxDepth && (d.data[d.i] == '{' || d.data[d.i] == '[') {
		return nil, &DepthError{Offset: d.i}
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.object(depth, nil)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.lit("true")
	case c == 'f':
		return false, d.lit("false")
	case c == 'n':
		return nil, d.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	default:
		return nil, d.errf("invalid character %q looking for beginning of value", c)
	}
}

func (d *decoder) lit(s string) error {
	if len(d.data)-d.i < len(s) || string(d.data[d.i:d.i+len(s)]) != s {
		return d.errf("invalid literal, expected %s", s)
	}
	d.i += len(s)
	return nil
}

// object decodes an object; with keys, only those keys' values are built
// (the others are checked and skipped).
func (d *decoder) object(depth int, keys map[string]bool) (any, error) {
	m := make(map[string]any)
	err := d.elements('}', func() error {
		k, wanted, err := d.memberKey(keys)
		if err != nil {
			return err
		}
		if !wanted {
			return d.skipValue(depth + 1)
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return err
		}
		m[k] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// memberKey reads an object member's key and the colon after it, and says
// whether want has the key (a nil want wants every key). Most keys are
// unwanted when projecting: a plain one is looked up raw and skipped
// without making a string of it.
func (d *decoder) memberKey(want map[string]bool) (string, bool, error) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return "", false, d.errf("expected a string key in an object")
	}
	var k string
	wanted := true
	switch {
	case want == nil:
	case len(want) == 0:
		wanted = false
	default:
		if raw, ok := d.plainKey(); ok {
			wanted = want[string(raw)]
		}
	}
	if wanted {
		var err error
		if k, err = d.key(); err != nil {
			return "", false, err
		}
		wanted = want == nil || want[k]
	} else if err := d.skipString(); err != nil {
		return "", false, err
	}
	d.skip()
	if d.i >= len(d.data) || d.data[d.i] != ':' {
		return "", false, d.errf("expected ':' after an object key")
	}
	d.i++
	d.skip()
	return k, wanted, nil
}

func (d *decoder) array(depth int) (any, error) {
	a := make([]any, 0, 4)
	err := d.elements(']', func() error {
		v, err := d.value(depth + 1)
		if err != nil {
			return err
		}
		a = append(a, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (d *decoder) number() (any, error) {
	start := d.i
	if err := d.scanNumber(); err != nil {
		return nil, err
	}
	return json.Number(d.data[start:d.i]), nil
}

// scanNumber moves past a number, checking its syntax, without building it.
func (d *decoder) scanNumber() error {
	if d.data[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i < len(d.data) && d.data[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return d.errf("invalid number")
	}
	if d.i < len(d.data) && d.data[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return d.errf("invalid number: no digits after the decimal point")
		}
	}
	if d.i < len(d.data) && (d.data[d.i] == 'e' || d.data[d.i] == 'E') {
		d.i++
		if d.i < len(d.data) && (d.data[d.i] == '+' || d.data[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return d.errf("invalid number: no digits in the exponent")
		}
	}
	return nil
}

// plainKey returns the bytes of the key at d.i when it has no escapes
// and is plain ASCII (then they are the key itself), without moving.
func (d *decoder) plainKey() ([]byte, bool) {
	start := d.i + 1
	for j := start; j < len(d.data); j++ {
		c := d.data[j]
		if c == '"' {
			return d.data[start:j], true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return nil, false
		}
	}
	return nil, false
}

// key reads an object key, from the cache when it has been seen before.
func (d *decoder) key() (string, error) {
	start := d.i + 1
	for j := start; j < len(d.data); j++ {
		c := d.data[j]
		if c == '"' {
			if k, ok := d.keys[string(d.data[start:j])]; ok {
				d.i = j + 1
				return k, nil
			}
			break
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	k, err := d.str()
	if err == nil && d.keys != nil && len(d.keys) < maxKeys {
		d.keys[k] = k
	}
	return k, err
}

func (d *decoder) str() (string, error) {
	d.i++ // "
	start := d.i
	// Fast path: no escapes, plain ASCII or valid UTF-8.
	for d.i < len(d.data) {
		c := d.data[d.i]
		if c == '"' {
			s := d.data[start:d.i]
			d.i++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return string([]rune(string(s))), nil // invalid bytes become U+FFFD
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", d.errf("invalid control character in string")
		}
		d.i++
	}
	buf := make([]byte, 0, d.i-start+16)
	buf = append(buf, d.data[start:d.i]...)
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			if utf8.Valid(buf) {
				return string(buf), nil
			}
			return string([]rune(string(buf))), nil
		case c < 0x20:
			return "", d.errf("invalid control character in string")
		case c != '\\':
			buf = append(buf, c)
			d.i++
			continue
		}
		d.i++
		if d.i >= len(d.data) {
			break
		}
		e := d.data[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.errf("invalid \\u escape in string")
			}
			if utf16.IsSurrogate(r) {
				r2 := replacementRune
				if d.i+1 < len(d.data) && d.data[d.i] == '\\' && d.data[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					if lo, ok := d.hex4(); ok {
						if dec := utf16.DecodeRune(r, lo); dec != replacementRune {
							r2 = dec
						} else {
							d.i = save
						}
					} else {
						d.i = save
					}
				}
				r = r2
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", d.errf("invalid escape %q in string", "\\"+string(e))
		}
	}
	return "", d.errf("unexpected end of JSON input in a string")
}

const replacementRune = utf8.RuneError

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.i < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(d.data[d.i:d.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(n), true
}

// DecodeKeys is Decode, except that when the value is an object only the
// given keys are kept; the others are checked for syntax but not built,
// which is most of the cost. Values that are not objects decode whole.
func (dd *Decoder) DecodeKeys(data []byte, keys map[string]bool) (any, error) {
	if dd.keys == nil {
		dd.keys = make(map[string]string, 256)
	}
	d := decoder{data: data, keys: dd.keys}
	d.skip()
	if d.i >= len(d.data) || d.data[d.i] != '{' {
		return dd.Decode(data)
	}
	v, err := d.object(0, keys)
	if err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return v, nil
}

// elements walks the members of the container whose opening bracket is at
// d.i, calling fn at the start of each (fn moves past it), up to close.
func (d *decoder) elements(close byte, fn func() error) error {
	d.i++
	d.skip()
	if d.i < len(d.data) && d.data[d.i] == close {
		d.i++
		return nil
	}
	for {
		d.skip()
		if err := fn(); err != nil {
			return err
		}
		d.skip()
		if d.i >= len(d.data) {
			return d.errf("unexpected end of JSON input")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case close:
			d.i++
			return nil
		default:
			after := "object key:value pair"
			if close == ']' {
				after = "array element"
			}
			return d.errf("invalid character %q after %s", d.data[d.i], after)
		}
	}
}

// skipValue checks one value's syntax without building it.
func (d *decoder) skipValue(depth int) error {
	if d.i >= len(d.data) {
		return d.errf("unexpected end of JSON input")
	}
	if depth >= MaxDepth && (d.data[d.i] == '{' || d.data[d.i] == '[') {
		return &DepthError{Offset: d.i}
	}
	switch c := d.data[d.i]; {
	case c == '"':
		return d.skipString()
	case c == '{':
		_, err := d.skipObjectMember(depth, nil)
		return err
	case c == '[':
		return d.elements(']', func() error { return d.skipValue(depth + 1) })
	case c == 't':
		return d.lit("true")
	case c == 'f':
		return d.lit("false")
	case c == 'n':
		return d.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.scanNumber()
	default:
		return d.errf("invalid character %q looking for beginning of value", c)
	}
}

// plain marks the bytes a string can hold without a closer look.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (d *decoder) skipString() error {
	d.i++ // "
	for d.i < len(d.data) {
		// Most of an item's bytes are plain string bytes: skip them in a
		// tight loop before the switch.
		for d.i < len(d.data) && plain[d.data[d.i]] {
			d.i++
		}
		if d.i >= len(d.data) {
			break
		}
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			return nil
		case c < 0x20:
			return d.errf("invalid control character in string")
		case c == '\\':
			d.i++
			if d.i >= len(d.data) {
				return d.errf("unexpected end of JSON input in a string")
			}
			switch d.data[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				d.i++
				if _, ok := d.hex4(); !ok {
					return d.errf("invalid \\u escape in string")
				}
			default:
				return d.errf("invalid escape in string")
			}
		default:
			d.i++
		}
	}
	return d.errf("unexpected end of JSON input in a string")
}
