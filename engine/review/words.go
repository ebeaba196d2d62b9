package review

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// LongValue is the length (in characters) above which a changed value is
// shown as a word diff rather than as old → new.
const LongValue = 60

// Op is one piece of a word diff.
type Op struct {
	Kind diffmatchpatch.Operation // DiffEqual, DiffDelete or DiffInsert
	Text string
}

// display is how a value is compared in a word diff: a string's own text,
// anything else's canonical JSON.
func display(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(canonical(v))
}

// isLong reports whether a field change should be shown as a word diff:
// both sides present and either long or on several lines.
func isLong(c FieldChange) bool {
	if !c.HadOld || !c.HasNew {
		return false
	}
	for _, v := range []any{c.Old, c.New} {
		s := display(v)
		if utf8.RuneCountInString(s) > LongValue || strings.ContainsRune(s, '\n') {
			return true
		}
	}
	return false
}

// wordDiff compares two field values word by word. Strings are compared as
// text; other values (and a string against a non-string) by their JSON.
func wordDiff(old, new any) []Op {
	a, b := display(old), display(new)
	_, as := old.(string)
	_, bs := new.(string)
	if as != bs {
		a, b = string(canonical(old)), string(canonical(new))
	}
	return Words(a, b)
}

// Words is a word-level diff of two texts: each word, run of spaces, line
// break and punctuation character is one token, so a change never splits a
// word.
func Words(a, b string) []Op {
	ids := map[string]rune{}
	var toks []string
	enc := func(s string) []rune {
		var out []rune
		for _, t := range tokenize(s) {
			r, ok := ids[t]
			if !ok {
				r = tokenRune(len(toks))
				ids[t] = r
				toks = append(toks, t)
			}
			out = append(out, r)
		}
		return out
	}
	ra, rb := enc(a), enc(b)
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	ds := dmp.DiffCleanupSemantic(dmp.DiffMainRunes(ra, rb, false))
	byRune := make(map[rune]string, len(toks))
	for t, r := range ids {
		byRune[r] = t
	}
	var out []Op
	for _, d := range ds {
		var sb strings.Builder
		for _, r := range d.Text {
			sb.WriteString(byRune[r])
		}
		if sb.Len() == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Kind == d.Type {
			out[n-1].Text += sb.String()
			continue
		}
		out = append(out, Op{Kind: d.Type, Text: sb.String()})
	}
	return out
}

// tokenRune numbers tokens with runes that survive a round trip through a
// Go string (no surrogates).
func tokenRune(i int) rune {
	r := rune(i + 1)
	if r >= 0xD800 {
		r += 0x800
	}
	return r
}

func tokenize(s string) []string {
	var out []string
	class := func(r rune) int {
		switch {
		case r == '\n':
			return 0
		case unicode.IsSpace(r):
			return 1
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			return 2
		}
		return 3
	}
	start, prev := 0, -1
	for i, r := range s {
		c := class(r)
		if i > start && (c != prev || c == 0 || c == 3) {
			out = append(out, s[start:i])
			start = i
		}
		prev = c
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// elide shortens long unchanged stretches, keeping context runes at the
// ends that touch a change.
func elide(ops []Op, context, max int) []Op {
	out := make([]Op, len(ops))
	copy(out, ops)
	for i := range out {
		if out[i].Kind != diffmatchpatch.DiffEqual {
			continue
		}
		r := []rune(out[i].Text)
		if len(r) <= max {
			continue
		}
		first, last := i == 0, i == len(out)-1
		var head, tail string
		if !first {
			head = string(r[:context])
		}
		if !last {
			tail = string(r[len(r)-context:])
		}
		out[i].Text = head + "…" + tail
	}
	return out
}
