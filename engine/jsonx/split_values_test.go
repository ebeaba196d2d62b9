package jsonx

import (
	"errors"
	"strings"
	"testing"
)

// SplitValues gives each value of a sequence as its bytes, and says where
// a bad one is: a value cut short at its start.
func TestSplitValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		off  int // the error's offset; -1: no error
	}{
		{"", nil, -1},
		{" \n", nil, -1},
		{`{"a":1}` + "\n" + `[2] "s"` + "\r\n3\n", []string{`{"a":1}`, `[2]`, `"s"`, `3`}, -1},
		{`{"a":1}{"b":2}`, []string{`{"a":1}`, `{"b":2}`}, -1},
		{"1\n{\"a\":", []string{"1"}, 2},
		{"1\n{\"a\" 1}", []string{"1"}, 7},
		{"[" + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth+1), nil, MaxDepth},
	} {
		got, err := SplitValues([]byte(tc.in), nil)
		var gs []string
		for _, v := range got {
			gs = append(gs, string(v))
		}
		if strings.Join(gs, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q: values %q, want %q", tc.in, gs, tc.want)
		}
		off := -1
		var se *SyntaxError
		var de *DepthError
		switch {
		case errors.As(err, &se):
			off = se.Offset
		case errors.As(err, &de):
			off = de.Offset
		case err != nil:
			t.Errorf("%q: %T %v", tc.in, err, err)
		}
		if off != tc.off {
			t.Errorf("%q: error %v at %d, want at %d", tc.in, err, off, tc.off)
		}
	}
	if _, err := SplitValues([]byte("1\n{\"a\":"), nil); err == nil || err.Error() != "unexpected EOF" {
		t.Errorf("cut short: %v", err)
	}
}
