package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// checkSplit compares SplitArray's verdict and elements with encoding/json's.
func checkSplit(t *testing.T, data []byte) {
	t.Helper()
	got, err := SplitArray(data, nil)
	if nesting(data) > MaxDepth && json.Valid(data) {
		// Valid for encoding/json, but too deep for jsonx.
		if de := new(DepthError); !errors.As(err, &de) {
			t.Fatalf("%.40q...: %d levels deep; SplitArray said %v", data, nesting(data), err)
		}
		return
	}
	if !json.Valid(data) {
		var se *SyntaxError
		if de := new(DepthError); errors.As(err, &de) && nesting(data) > MaxDepth {
			return // deeper than allowed before the syntax error
		}
		if !errors.As(err, &se) {
			t.Fatalf("%q: encoding/json says invalid; SplitArray said %v", data, err)
		}
		if se.Offset < 0 || se.Offset > len(data) {
			t.Fatalf("%q: offset %d out of range", data, se.Offset)
		}
		return
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // 1E700 is valid JSON, but no float64
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if _, isArray := v.([]any); !isArray {
		var na *NotArrayError
		if !errors.As(err, &na) {
			t.Fatalf("%q: valid non-array; SplitArray said %v", data, err)
		}
		if want := map[bool]string{true: "an object"}[v != nil && reflect.TypeOf(v).Kind() == reflect.Map]; want != "" && na.Kind != want {
			t.Fatalf("%q: kind %q", data, na.Kind)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: valid array; SplitArray said %v", data, err)
	}
	var want []json.RawMessage
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%q: %d elements, want %d", data, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%q: element %d is %q, want %q", data, i, got[i], want[i])
		}
	}
}

var splitCases = []string{
	`[]`, ` [ ] `, `[1]`, `[1,2,3]`, "[\n{\"a\": [1, {\"b\": null}]} ,\t\"x\" ]\r\n",
	`[-0, 0.5, 1e10, -1.5E-3, 12345678901234567890, 1E700]`, `[true,false,null]`,
	`["\u00e9\"\\\/\b\f\n\r\t", "é", "\ud83d\ude00"]`, `[{"id":"1"},{"id":2}]`,
	// Not arrays.
	`{}`, `{"a":1}`, `"s"`, `1`, `true`, `null`, ` 3 `,
	// Invalid.
	``, ` `, `[`, `]`, `[,]`, `[1,]`, `[1 2]`, `[01]`, `[1.]`, `[.5]`, `[1e]`, `[-]`, `[+1]`,
	`[tru]`, `[nul]`, `[True]`, `["a]`, `["\x"]`, `["\u12G4"]`, `["\u12"]`, "[\"a\x01\"]", "[\"\t\"]",
	`[{"a"}]`, `[{"a":}]`, `[{a:1}]`, `[{"a":1,}]`, `[{"a":1 "b":2}]`, `[] []`, `[]x`, `{}x`, `[1]]`,
	`[{]`, `[[}]`, "[\"\xff\"]", "[\"\xc3\"]", "\xef\xbb\xbf[]", `[1,,2]`, `["a":1]`,
}

func TestSplitArrayTable(t *testing.T) {
	for _, c := range splitCases {
		checkSplit(t, []byte(c))
	}
}

func TestSplitArrayDepth(t *testing.T) {
	for _, n := range []int{MaxDepth - 1, MaxDepth, MaxDepth + 1, MaxDepth + 2, 9999, 10000, 10001, 10002} {
		data := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
		checkSplit(t, data)
		obj := []byte(strings.Repeat(`{"a":`, n-1) + "[" + strings.Repeat("}", n-1) + "]")
		checkSplit(t, obj)
		wrapped := []byte("[" + strings.Repeat(`{"a":`, n-1) + "1" + strings.Repeat("}", n-1) + "]")
		checkSplit(t, wrapped)
	}
}

func TestSplitArrayAppends(t *testing.T) {
	prev := [][]byte{[]byte("x")}
	got, err := SplitArray([]byte(`[1,"a"]`), prev)
	if err != nil || len(got) != 3 || string(got[0]) != "x" || string(got[2]) != `"a"` {
		t.Fatalf("got %q, %v", got, err)
	}
}

// checkMembers compares SplitArrayMember's members with a decode of each
// element.
func checkMembers(t *testing.T, data []byte, key string) {
	t.Helper()
	items, members, err := SplitArrayMember(data, key, nil, nil)
	plain, perr := SplitArray(data, nil)
	if (err == nil) != (perr == nil) || len(items) != len(plain) {
		t.Fatalf("%q: SplitArrayMember %d items, %v; SplitArray %d, %v", data, len(items), err, len(plain), perr)
	}
	if err != nil {
		return
	}
	if len(members) != len(items) {
		t.Fatalf("%q: %d members for %d items", data, len(members), len(items))
	}
	for i, it := range items {
		v, err := Decode(it)
		if err != nil {
			t.Fatal(err)
		}
		m, isObj := v.(map[string]any)
		want, present := m[key]
		got := members[i]
		if (got != nil) != (isObj && present) {
			t.Fatalf("%q %q: member %q, want present %v", it, key, got, isObj && present)
		}
		if got == nil {
			continue
		}
		gv, err := Decode(got)
		if err != nil {
			t.Fatalf("%q %q: member %q: %v", it, key, got, err)
		}
		if !reflect.DeepEqual(gv, want) {
			t.Fatalf("%q %q: member %q, want %v", it, key, got, want)
		}
	}
}

func TestSplitArrayMember(t *testing.T) {
	objs := []string{
		`{"id":"1"}`, ` { "a" : [1,{"id":2}] , "id" : 17 } `, `{"id":"1","id":"2"}`, `{}`, `[]`, `"id"`,
		`{"\u0069d":"esc"}`, `{"i\"d":1,"id":{"x":[1,"]}"]}}`, `{"a":"}\\","id":null}`, `{"id":true}`,
		`{"a":{"id":1}}`, `{"é":1,"id":-2.5e3}`, "{\"id\":\"\xff\"}", `{"a":1e5,"id":"x"}`, "{\"\xff\":1}",
	}
	for _, k := range []string{"id", "a", "é", `i"d`, "missing", "\uFFFD"} {
		checkMembers(t, []byte("["+strings.Join(objs, ",")+"]"), k)
		checkMembers(t, []byte(`{"id":1}`), k)
		checkMembers(t, []byte(`[[{"id":1}]]`), k)
	}
	items, members, err := SplitArrayMember([]byte(`[{"id":1},2]`), "id", [][]byte{nil}, [][]byte{nil})
	if err != nil || len(items) != 3 || len(members) != 3 || string(members[1]) != "1" || members[2] != nil {
		t.Fatalf("appending: %q %q %v", items, members, err)
	}
}

func FuzzSplitArray(f *testing.F) {
	for _, c := range splitCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSplit(t, data)
		checkMembers(t, data, "id")
		checkMembers(t, data, "a")
	})
}

func BenchmarkSplitArray(b *testing.B) {
	// An issue as the fake Sentry lists it.
	item := `{"id":"5100294471","shareId":null,"shortId":"BLUE-API-1Z9","title":"RuntimeError: list index out of range in cart","culprit":"search.indexer in apply_search","permalink":"https://gen-org.sentry.io/issues/5100294471/","logger":null,"level":"fatal","status":"resolved","statusDetails":{},"substatus":null,"isPublic":false,"platform":"php","priority":"high","priorityLockedAt":null,"seerFixabilityScore":null,"seerAutofixLastTriggered":null,"seerExplorerAutofixLastTriggered":null,"project":{"id":"4506200000000000","name":"blue-api","slug":"blue-api","platform":"php-laravel"},"type":"error","issueType":"error","issueCategory":"error","metadata":{"type":"RuntimeError","value":"list index out of range in cart","filename":"search.indexer","function":"apply_search","display_title_with_tree_label":false,"in_app_frame_mix":"mixed"},"numComments":0,"assignedTo":null,"isBookmarked":false,"isSubscribed":false,"subscriptionDetails":null,"hasSeen":false,"annotations":[],"isUnhandled":true,"count":"287","userCount":170,"firstSeen":"2025-06-02T02:16:10.042017Z","lastSeen":"2025-06-02T09:07:21.310944Z","stats":{"24h":[[1748772000,0],[1748775600,0],[1748779200,0],[1748782800,0],[1748786400,0],[1748790000,0],[1748793600,0],[1748797200,0],[1748800800,0],[1748804400,0],[1748808000,0],[1748811600,0],[1748815200,0],[1748818800,0],[1748822400,0],[1748826000,0],[1748829600,1],[1748833200,0],[1748836800,0],[1748840400,2],[1748844000,2],[1748847600,2],[1748851200,2],[1748854800,2]]},"lifetime":{"count":"287","userCount":170,"firstSeen":"2025-06-02T02:16:10.042017Z","lastSeen":"2025-06-02T09:07:21.310944Z","stats":null},"filtered":null,"matchingEventId":null,"matchingEventEnvironment":null,"derivedData":{"blocker":"","hasOpenFixPr":false,"hasRootCause":false,"isAssigned":false,"lastCompletedAutofixStep":"","lastProgressedAt":null,"progress":"","status":"none","viewCount":0}}`
	data := []byte("[" + strings.TrimSuffix(strings.Repeat(item+",", 100), ",") + "]")
	for _, key := range []string{"", "id"} {
		b.Run("key="+key, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var out, ids [][]byte
			for b.Loop() {
				var err error
				if out, ids, err = SplitArrayMember(data, key, out[:0], ids[:0]); err != nil || len(out) != 100 {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSplitArrayEveryByte: each byte value at each place of a string that
// spans the eight-byte steps reads as encoding/json reads it.
func TestSplitArrayEveryByte(t *testing.T) {
	for pos := 0; pos < 18; pos++ {
		for c := 0; c < 256; c++ {
			s := strings.Repeat("a", pos) + string([]byte{byte(c)}) + strings.Repeat("é", 9-pos/2)
			checkSplit(t, []byte(`["`+s+`"]`))
			checkSplit(t, []byte(`[{"id":"`+s+`\"","x":1}]`))
		}
	}
}
