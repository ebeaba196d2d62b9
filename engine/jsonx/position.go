package jsonx

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// LineCol gives the 1-based line and column (in characters) of data[off],
// so every JSON error gitalog reports points at a place the same way.
func LineCol(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, 1 + utf8.RuneCount(before)
}

// SkipValue reads past the value dec is at, however deep, for the callers
// that walk a file's tokens to find where a JSON pointer's value starts.
func SkipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
