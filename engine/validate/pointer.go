package validate

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gitalog/gitalog/engine/jsonx"
)

// pointerLine finds the line of the key (or array element) that a JSON
// pointer names in data. When the full pointer is not there (a missing
// required property, say) it gives the line of the deepest part that is,
// and 0 when not even the first part is.
func pointerLine(data []byte, ptr string) int {
	if ptr == "" || ptr[0] != '/' {
		return 0
	}
	segs := strings.Split(ptr[1:], "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	line := 0
	for _, seg := range segs {
		tok, err := dec.Token()
		if err != nil {
			return line
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return line
		}
		found := false
		switch d {
		case '{':
			for !found && dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return line
				}
				if k, _ := kt.(string); k == seg {
					// A key never spans lines, so its end is on its line.
					line, _ = jsonx.LineCol(data, int(dec.InputOffset())-1)
					found = true
				} else if jsonx.SkipValue(dec) != nil {
					return line
				}
			}
		case '[':
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 {
				return line
			}
			for i := 0; !found && dec.More(); i++ {
				if i == idx {
					off := int(dec.InputOffset())
					for off < len(data) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
						off++
					}
					line, _ = jsonx.LineCol(data, off)
					found = true
				} else if jsonx.SkipValue(dec) != nil {
					return line
				}
			}
		}
		if !found {
			return line
		}
	}
	return line
}
