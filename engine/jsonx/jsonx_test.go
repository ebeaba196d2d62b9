package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func stdDecode(data []byte) (any, error) {
	// encoding/json nests up to 10,000 levels; jsonx stops at MaxDepth.
	if nesting(data) > MaxDepth {
		return nil, &DepthError{}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, &SyntaxError{}
	}
	// Trailing garbage the Decoder leaves unread must fail too.
	rest := data[dec.InputOffset():]
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, &SyntaxError{}
	}
	return v, nil
}

// nesting is how many containers deep data goes, strings aside.
func nesting(data []byte) int {
	depth, most, inStr := 0, 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '[' || c == '{':
			depth++
			most = max(most, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return most
}

var cases = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e10`, `-12.5E-3`, `12345678901234567890123`,
	`"plain"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00x"`, `"\ud83dx"`,
	"\"raw \xff bytes\"", "\"caf\xc3\xa9\"", `{"a":1,"a":2}`, ` { "a" : [ 1 , { "b" : null } ] } `,
	`{"id":"4605173695","count":"1","userCount":0,"stats":{"24h":[[1699174800,0]]},"assignedTo":null}`,
	`[1,]`, `{"a":1,}`, `{"a" 1}`, `01`, `1.`, `1e`, `-`, `"unterminated`, `[1 2]`, `tru`, `nul`, "\"ctl \x01\"", `{"a":1}x`, ``, `   `,
}

func TestMatchesEncodingJSON(t *testing.T) {
	for _, c := range cases {
		check(t, []byte(c))
	}
	if b, err := os.ReadFile("../sentry/sentrytest/testdata/openapi-subset.json"); err == nil {
		check(t, b)
	}
}

func check(t *testing.T, data []byte) {
	t.Helper()
	want, werr := stdDecode(data)
	got, gerr := Decode(data)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%q: encoding/json err %v, jsonx err %v", data, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n jsonx %#v\n  json %#v", data, got, want)
	}
}

func TestDecoderReuse(t *testing.T) {
	var d Decoder
	for _, c := range cases {
		want, werr := stdDecode([]byte(c))
		got, gerr := d.Decode([]byte(c))
		if (werr != nil) != (gerr != nil) || werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: reused decoder differs", c)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { check(t, data) })
}

func BenchmarkDecodeIssue(b *testing.B) {
	issue := []byte(`{"id":"4605173695","shareId":null,"shortId":"PYTHON-FASTAPI-2","title":"ZeroDivisionError: division by zero","culprit":"index","permalink":"https://test-org.sentry.io/issues/4605173695/","logger":null,"level":"error","status":"unresolved","statusDetails":{},"substatus":"new","isPublic":false,"platform":"python","project":{"id":"4504931759095808","name":"python-fastapi","slug":"python-fastapi","platform":"python-fastapi"},"type":"error","metadata":{"value":"division by zero","type":"ZeroDivisionError","filename":"app.py","function":"index","display_title_with_tree_label":false,"in_app_frame_mix":"mixed"},"numComments":0,"assignedTo":null,"isBookmarked":false,"isSubscribed":false,"subscriptionDetails":null,"hasSeen":false,"annotations":[],"issueType":"error","issueCategory":"error","isUnhandled":true,"count":"1","userCount":0,"firstSeen":"2023-11-06T08:31:27.058163Z","lastSeen":"2023-11-06T08:31:27.058163Z","stats":{"24h":[[1699174800,0],[1699178400,0],[1699182000,0],[1699250400,0],[1699254000,0],[1699257600,1]]}}`)
	b.Run("jsonx", func(b *testing.B) {
		b.SetBytes(int64(len(issue)))
		var d Decoder
		for b.Loop() {
			if _, err := d.Decode(issue); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(issue)))
		for b.Loop() {
			if _, err := stdDecode(issue); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDecodeKeys: projecting keeps exactly the chosen keys of a full
// decode, and fails exactly when a full decode fails.
func TestDecodeKeys(t *testing.T) {
	keys := map[string]bool{"a": true, "id": true, "stats": true}
	for _, c := range append(cases, `{"a":1,"b":{"x":[1,2,{"y":"\u00e9"}]},"id":"7"}`, `{"b":"\ud83d\ude00","a":[]}`, `{"b":[1,}`, `{"b":"\x"}`) {
		checkKeys(t, []byte(c), keys)
	}
}

func checkKeys(t *testing.T, data []byte, keys map[string]bool) {
	t.Helper()
	full, ferr := stdDecode(data)
	var d Decoder
	got, gerr := d.DecodeKeys(data, keys)
	if (ferr != nil) != (gerr != nil) {
		t.Fatalf("%q: full err %v, projected err %v", data, ferr, gerr)
	}
	if ferr != nil {
		return
	}
	if m, ok := full.(map[string]any); ok {
		for k := range m {
			if !keys[k] {
				delete(m, k)
			}
		}
	}
	if !reflect.DeepEqual(got, full) {
		t.Fatalf("%q:\n projected %#v\n full      %#v", data, got, full)
	}
}

func FuzzDecodeKeys(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkKeys(t, data, map[string]bool{"a": true, "b": true, "id": true})
	})
}

// Nesting deeper than MaxDepth fails with a DepthError, for a full and a
// projected decode and for splitting a page alike, however deep: the
// 9,995 levels of a hostile response included.
func TestDecodeDepth(t *testing.T) {
	for _, n := range []int{MaxDepth - 1, MaxDepth, MaxDepth + 1, MaxDepth + 2, 9995, 10001} {
		tooDeep := n > MaxDepth // n brackets: the innermost is at depth n-1
		for _, data := range []string{
			strings.Repeat("[", n) + strings.Repeat("]", n),
			`{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + "}",
			`{"b":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + "}", // skipped by the projection
		} {
			var d Decoder
			_, err := Decode([]byte(data))
			_, kerr := d.DecodeKeys([]byte(data), map[string]bool{"a": true})
			_, serr := SplitArray([]byte("["+data+"]"), nil)
			for what, err := range map[string]error{"Decode": err, "DecodeKeys": kerr} {
				if de := new(DepthError); errors.As(err, &de) != tooDeep || (err != nil) != tooDeep {
					t.Errorf("%s, depth %d: err %v", what, n, err)
				}
			}
			// In a page the item is one level deeper.
			if de := new(DepthError); errors.As(serr, &de) != (n >= MaxDepth) || (serr != nil) != (n >= MaxDepth) {
				t.Errorf("SplitArray, depth %d: err %v", n, serr)
			}
		}
	}
	// Within the limit, the result is encoding/json's.
	for _, n := range []int{1, 100, MaxDepth} {
		check(t, []byte(strings.Repeat("[", n)+strings.Repeat("]", n)))
	}
}
