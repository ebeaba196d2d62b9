package jsonx

// NotArrayError is SplitArray's answer for a valid JSON value that is not
// an array; Kind names what it is ("an object", "a string", ...).
type NotArrayError struct{ Kind string }

func (e *NotArrayError) Error() string { return "expected a JSON array, got " + e.Kind }

// SplitArray checks that data is exactly one valid JSON value (surrounding
// white space allowed), by encoding/json's rules, and when it is an array
// returns the bytes of its elements, without decoding them: sub-slices of
// data, appended to out. Invalid JSON gives a *SyntaxError; valid JSON
// that is not an array a *NotArrayError. It checks with the decoder's
// skipping scanner, which builds nothing.
func SplitArray(data []byte, out [][]byte) ([][]byte, error) {
	out, _, err := SplitArrayMember(data, "", out, nil)
	return out, err
}

// SplitArrayMember is SplitArray that also finds, in the same pass, each
// element's top-level member named key: members[i] is its raw value for
// out[i] (the last one when the key repeats, as decoding keeps the last),
// or nil when that element is not an object or lacks the key.
func SplitArrayMember(data []byte, key string, out, members [][]byte) ([][]byte, [][]byte, error) {
	d := decoder{data: data}
	d.skip()
	if d.i >= len(data) {
		return out, members, d.errf("unexpected end of JSON input")
	}
	if data[d.i] != '[' {
		first := d.i
		if err := d.skipValue(0); err != nil {
			return out, members, err
		}
		if err := d.end(); err != nil {
			return out, members, err
		}
		return out, members, &NotArrayError{Kind: splitKindOf(data[first:])}
	}
	err := d.elements(']', func() error {
		start := d.i
		var member []byte
		var err error
		if key != "" && d.i < len(data) && data[d.i] == '{' {
			member, err = d.skipObjectMember(1, &key)
		} else {
			err = d.skipValue(1)
		}
		if err != nil {
			return err
		}
		out = append(out, data[start:d.i:d.i])
		if key != "" {
			members = append(members, member)
		}
		return nil
	})
	if err != nil {
		return out, members, err
	}
	return out, members, d.end()
}

// skipObjectMember is skipValue for an object at depth, returning the raw
// value of its (last) member whose key is *key; with a nil key it only
// skips (and is skipValue's object case).
func (d *decoder) skipObjectMember(depth int, key *string) ([]byte, error) {
	var member []byte
	err := d.elements('}', func() error {
		match, err := d.memberIs(key)
		if err != nil {
			return err
		}
		start := d.i
		if err := d.skipValue(depth + 1); err != nil {
			return err
		}
		if match {
			member = d.data[start:d.i:d.i]
		}
		return nil
	})
	return member, err
}

// memberIs reads an object member's key and the ':' after it, and reports
// whether the key is *key (never for a nil key). A page splits 30 keys per
// item: comparing bytes costs less than memberKey's map of wanted keys.
func (d *decoder) memberIs(key *string) (bool, error) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return false, d.errf("expected a string key in an object")
	}
	match := false
	if key == nil {
		if err := d.skipString(); err != nil {
			return false, err
		}
	} else if raw, ok := d.plainKey(); ok {
		match = string(raw) == *key
		d.i += len(raw) + 2
	} else {
		k, err := d.key() // escapes: compare the decoded key
		if err != nil {
			return false, err
		}
		match = k == *key
	}
	d.skip()
	if d.i >= len(d.data) || d.data[d.i] != ':' {
		return false, d.errf("expected ':' after an object key")
	}
	d.i++
	d.skip()
	return match, nil
}

// end checks that only white space follows the value.
func (d *decoder) end() error {
	d.skip()
	if d.i < len(d.data) {
		return d.errf("data after its JSON value (invalid character %q)", d.data[d.i])
	}
	return nil
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

// SplitValues checks that data is a sequence of valid JSON values (white
// space between and around them, as in JSON lines), by the same rules and
// nesting bound as SplitArray, and returns the bytes of each, appended to
// out, without decoding them. A value cut short by the end of data is
// reported at its start, where a reader looks for it, as encoding/json's
// stream decoder says it: "unexpected EOF".
func SplitValues(data []byte, out [][]byte) ([][]byte, error) {
	d := decoder{data: data}
	for d.skip(); d.i < len(data); d.skip() {
		start := d.i
		if err := d.skipValue(0); err != nil {
			if se, ok := err.(*SyntaxError); ok && se.Offset >= len(data) {
				return out, &SyntaxError{Offset: start, msg: "unexpected EOF"}
			}
			return out, err
		}
		out = append(out, data[start:d.i:d.i])
	}
	return out, nil
}
