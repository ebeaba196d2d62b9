package catalog

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Printable escapes control characters (\x00 as `\x00`) and invalid
// UTF-8, so that identifiers and titles from upstream can neither break a
// commit object (git refuses NUL) nor drive a terminal.
func Printable(s string) string {
	ok := utf8.ValidString(s)
	for i := 0; ok && i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			ok = false
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// OneLine is s printable on one line: whitespace runs made one space, cut
// to n runes with an ellipsis.
func OneLine(s string, n int) string {
	s = Printable(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
