package jsonx

import (
	"fmt"
	"unicode/utf8"
)

// NotArrayError is SplitArray's answer for a valid JSON value that is not
// an array; Kind names what it is ("an object", "a string", ...).
type NotArrayError struct{ Kind string }

func (e *NotArrayError) Error() string { return "expected a JSON array, got " + e.Kind }

// SplitArray checks that data is exactly one valid JSON value (surrounding
// white space allowed), by encoding/json's rules, and when it is an array
// returns the bytes of its elements, without decoding them: sub-slices of
// data, appended to out. Invalid JSON gives a *SyntaxError; valid JSON
// that is not an array a *NotArrayError.
func SplitArray(data []byte, out [][]byte) ([][]byte, error) {
	out, _, err := SplitArrayMember(data, "", out, nil)
	return out, err
}

// SplitArrayMember is SplitArray that also finds, in the same pass, each
// element's top-level member named key: members[i] is its raw value for
// out[i] (the last one when the key repeats, as decoding keeps the last),
// or nil when that element is not an object or lacks the key.
func SplitArrayMember(data []byte, key string, out, members [][]byte) ([][]byte, [][]byte, error) {
	s := splitScanner{data: data, key: key}
	s.space()
	if s.i >= len(data) {
		return out, members, s.fail("unexpected end of JSON input")
	}
	if data[s.i] != '[' {
		s.key = ""
		if err := s.value(1); err != nil {
			return out, members, err
		}
		if err := s.end(); err != nil {
			return out, members, err
		}
		return out, members, &NotArrayError{Kind: splitKindOf(data[s.first():])}
	}
	s.i++ // [
	s.space()
	if s.i < len(data) && data[s.i] == ']' {
		s.i++
		return out, members, s.end()
	}
	for {
		s.space()
		start := s.i
		s.member = nil
		if err := s.value(2); err != nil {
			return out, members, err
		}
		out = append(out, data[start:s.i:s.i])
		if key != "" {
			members = append(members, s.member)
		}
		s.space()
		if s.i >= len(data) {
			return out, members, s.fail("unexpected end of JSON input")
		}
		switch data[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return out, members, s.end()
		default:
			return out, members, s.fail(fmt.Sprintf("invalid character %q after array element", data[s.i]))
		}
	}
}

// splitKindOf names the JSON value b starts with, in error messages' words.
func splitKindOf(b []byte) string {
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// splitMaxDepth is encoding/json's nesting limit: deeper input is invalid.
const splitMaxDepth = 10000

// splitPlain marks the bytes a string holds that need no closer look.
var splitPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// splitScanner validates without building anything. It is separate from
// the decoder so that splitting a page never allocates per value.
type splitScanner struct {
	data []byte
	i    int
	// key is the member SplitArrayMember looks for in the elements (at
	// depth 2); member is its value in the current element.
	key    string
	member []byte
}

func (s *splitScanner) fail(msg string) error { return &SyntaxError{Offset: s.i, msg: msg} }

func (s *splitScanner) first() int {
	j := 0
	for j < len(s.data) && splitIsSpace(s.data[j]) {
		j++
	}
	return j
}

func splitIsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *splitScanner) space() {
	for s.i < len(s.data) && splitIsSpace(s.data[s.i]) {
		s.i++
	}
}

// end checks that only white space follows the value.
func (s *splitScanner) end() error {
	s.space()
	if s.i < len(s.data) {
		return s.fail(fmt.Sprintf("data after its JSON value (invalid character %q)", s.data[s.i]))
	}
	return nil
}

// value checks one value at s.i; depth counts the containers it is in,
// itself included when it is one.
func (s *splitScanner) value(depth int) error {
	if s.i >= len(s.data) {
		return s.fail("unexpected end of JSON input")
	}
	switch c := s.data[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		if depth > splitMaxDepth {
			return s.fail("exceeded max depth")
		}
		return s.object(depth)
	case c == '[':
		if depth > splitMaxDepth {
			return s.fail("exceeded max depth")
		}
		return s.array(depth)
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	default:
		return s.fail(fmt.Sprintf("invalid character %q looking for beginning of value", c))
	}
}

func (s *splitScanner) lit(want string) error {
	if len(s.data)-s.i < len(want) || string(s.data[s.i:s.i+len(want)]) != want {
		return s.fail("invalid literal, expected " + want)
	}
	s.i += len(want)
	return nil
}

func (s *splitScanner) object(depth int) error {
	s.i++ // {
	s.space()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		return nil
	}
	look := depth == 2 && s.key != ""
	for {
		s.space()
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return s.fail("expected a string key in an object")
		}
		ks := s.i
		if err := s.str(); err != nil {
			return err
		}
		match := look && splitKeyIs(s.data[ks:s.i], s.key)
		s.space()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return s.fail("expected ':' after an object key")
		}
		s.i++
		s.space()
		vs := s.i
		if err := s.value(depth + 1); err != nil {
			return err
		}
		if match {
			s.member = s.data[vs:s.i:s.i]
		}
		s.space()
		if s.i >= len(s.data) {
			return s.fail("unexpected end of JSON input")
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail(fmt.Sprintf("invalid character %q after object value", s.data[s.i]))
		}
	}
}

func (s *splitScanner) array(depth int) error {
	s.i++ // [
	s.space()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.space()
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.space()
		if s.i >= len(s.data) {
			return s.fail("unexpected end of JSON input")
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail(fmt.Sprintf("invalid character %q after array element", s.data[s.i]))
		}
	}
}

func (s *splitScanner) str() error {
	s.i++ // "
	d := s.data
	for {
		for s.i < len(d) && splitPlain[d[s.i]] {
			s.i++
		}
		if s.i >= len(d) {
			return s.fail("unexpected end of JSON input in a string")
		}
		switch c := d[s.i]; {
		case c == '"':
			s.i++
			return nil
		case c == '\\':
			if s.i+1 >= len(d) {
				return s.fail("unexpected end of JSON input in a string")
			}
			switch d[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if len(d)-s.i < 6 {
					return s.fail("unexpected end of JSON input in a \\u escape")
				}
				for _, h := range d[s.i+2 : s.i+6] {
					if !splitIsHex(h) {
						return s.fail("invalid character in a \\u escape")
					}
				}
				s.i += 6
			default:
				return s.fail(fmt.Sprintf("invalid escape \\%c in a string", d[s.i+1]))
			}
		default:
			return s.fail(fmt.Sprintf("invalid control character %q in a string", c))
		}
	}
}

func splitIsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (s *splitScanner) number() error {
	d := s.data
	if d[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(d) && d[s.i] >= '0' && d[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(d) && d[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return s.fail("invalid number")
	}
	if s.i < len(d) && d[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.fail("invalid number: no digits after the decimal point")
		}
	}
	if s.i < len(d) && (d[s.i] == 'e' || d[s.i] == 'E') {
		s.i++
		if s.i < len(d) && (d[s.i] == '+' || d[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.fail("invalid number: no digits in the exponent")
		}
	}
	return nil
}

// splitKeyIs reports whether the quoted key k is key.
func splitKeyIs(k []byte, key string) bool {
	if len(k) < 2 {
		return false
	}
	inner := k[1 : len(k)-1]
	simple := true
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			simple = false
			break
		}
	}
	if simple {
		return string(inner) == key
	}
	v, err := Decode(k)
	return err == nil && v == key
}
