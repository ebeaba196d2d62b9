package catalog

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/itchyny/gojq"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func bigInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}

// richEntity exercises every value type Encode accepts.
func richEntity() *Entity {
	return &Entity{
		Identifier: "4605173695",
		Title:      "ZeroDivisionError: division by zero <a href=\"x\">&amp;</a>",
		Blueprint:  "sentryIssue",
		Properties: map[string]any{
			"zeta":      "last",
			"alpha":     "first",
			"count":     json.Number("1"),
			"userCount": 0,
			"ratio":     0.25,
			"huge":      bigInt("123456789012345678901234567890"),
			"unicode":   "Jürgen — 日本語 🚀",
			"control":   "tab\tnl\nnul\x00del\x7f",
			"isUnh":     true,
			"nothing":   nil,
			"emptyList": []any{},
			"emptyObj":  map[string]any{},
			"nested":    map[string]any{"b": []any{1, "two", map[string]any{"z": 1, "a": 2}}, "a": false},
			"Upper":     "sorted bytewise: upper case before lower",
		},
		Relations: map[string]any{
			"project":  "python-fastapi",
			"envs":     []any{"python-fastapi-production", "python-fastapi-staging"},
			"assignee": nil,
		},
	}
}

func TestEncodeGolden(t *testing.T) {
	got := richEntity().Encode()
	golden := filepath.Join("testdata", "rich_entity.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Encode differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}

func TestEncodeShape(t *testing.T) {
	got := string(richEntity().Encode())
	for _, want := range []string{
		"{\n  \"blueprint\": \"sentryIssue\",\n  \"identifier\": \"4605173695\",\n  \"properties\": {\n    \"Upper\"",
		`"title": "ZeroDivisionError: division by zero <a href=\"x\">&amp;</a>"`, // no HTML escaping
		`"unicode": "Jürgen — 日本語 🚀"`,                                            // UTF-8 unescaped
		`"control": "tab\tnl\nnul\u0000del\u007f"`,
		`"huge": 123456789012345678901234567890`,
		`"emptyList": []`,
		`"emptyObj": {}`,
		"\"b\": [\n        1,\n        \"two\",\n        {\n          \"a\": 2,\n          \"z\": 1\n        }\n      ]",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("encoding lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "}\n") || strings.HasSuffix(got, "\n\n") {
		t.Errorf("encoding must end with exactly one newline: %q", got[len(got)-5:])
	}
	if strings.Contains(got, "\t") || strings.Contains(got, "\\u003c") || strings.Contains(got, "\\u0026") {
		t.Errorf("encoding has tabs or HTML escapes:\n%s", got)
	}
	// Icon and team only appear when set.
	if strings.Contains(got, `"icon"`) || strings.Contains(got, `"team"`) {
		t.Errorf("unset icon/team were written:\n%s", got)
	}
	e := richEntity()
	e.Icon, e.Team = "Sentry", []any{"platform"}
	got = string(e.Encode())
	if !strings.Contains(got, `"icon": "Sentry"`) || !strings.Contains(got, "\"team\": [\n    \"platform\"\n  ]") {
		t.Errorf("icon/team missing:\n%s", got)
	}
	// nil maps encode as empty objects, not null.
	got = string((&Entity{Identifier: "x", Blueprint: "b"}).Encode())
	want := "{\n  \"blueprint\": \"b\",\n  \"identifier\": \"x\",\n  \"properties\": {},\n  \"relations\": {},\n  \"title\": null\n}\n"
	if got != want {
		t.Errorf("minimal entity:\n%s\nwant\n%s", got, want)
	}
}

// TestEncodeNumbers pins how numbers are written: as jq (1.7, gojq) prints
// them, whatever Go type holds them.
func TestEncodeNumbers(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{0, "0"},
		{-7, "-7"},
		{3.0, "3"},
		{0.1, "0.1"},
		{-2.5, "-2.5"},
		{1e300, "1e+300"},
		{1e21, "1e+21"},
		{4605173695.0, "4605173695"},
		{bigInt("98765432109876543210"), "98765432109876543210"},
		{json.Number("42"), "42"},
		{json.Number("-0"), "0"},
		{json.Number("1.0"), "1"},
		{json.Number("1e2"), "100"},
		{json.Number("2.50"), "2.5"},
		{json.Number("98765432109876543210"), "98765432109876543210"},
	} {
		var b bytes.Buffer
		EncodeValue(&b, tc.v)
		if b.String() != tc.want {
			t.Errorf("EncodeValue(%T %v) = %s, want %s", tc.v, tc.v, b.String(), tc.want)
		}
	}
}

// jqValues are documents on which jq 1.6 and 1.7 agree with each other, so
// Encode must print them exactly as `jq -S .` does. (jq 1.6 prints 1e17 as
// 1e+17 and rounds integers above 2^53; those are pinned above instead.)
var jqValues = []string{
	`{"b":1,"a":[1,2.5,-3,0.001,1e100,123456789012],"c":{"y":null,"x":true,"w":false}}`,
	`{"html":"<script>&amp;</script>","u":"Jürgen ☃ 𝄞","ctl":"\u0001\u001f\u007f\t\r\n\"\\/","ls":"\u2028\u2029"}`,
	`{"empty":{},"list":[],"deep":[[[[{}]]]],"str":""}`,
	`{"identifier":"4605173695","title":"ZeroDivisionError: division by zero","blueprint":"issue","properties":{"link":"https://test-org.sentry.io/issues/4605173695/","status":"unresolved","isUnhandled":true,"count":17,"userCount":0},"relations":{"project":"python-fastapi"}}`,
	`{"B":1,"a":2,"_":3,"é":4,"Z":5,"aa":6,"a b":7,"1":8}`,
	`[0.5,100,1.25e-3,12.0,7E2,-1.5E+3]`,
	`{"identifier":"payments","title":"Payments","blueprint":"service","aliases":["pay","payments-api"],"properties":{},"relations":{}}`,
}

func TestEncodeMatchesJQ(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Skip("jq not on PATH")
	}
	for _, doc := range jqValues {
		v := decodeAny(t, doc)
		var b bytes.Buffer
		EncodeValue(&b, v)
		b.WriteByte('\n')
		cmd := exec.Command(jq, "-S", ".")
		cmd.Stdin = strings.NewReader(doc)
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("jq: %v", err)
		}
		if b.String() != string(want) {
			t.Errorf("Encode differs from jq -S . for %s:\n--- Encode\n%s--- jq\n%s", doc, b.String(), want)
		}
	}
}

func decodeAny(t testing.TB, doc string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return v
}

func TestDecodeRoundTrip(t *testing.T) {
	for name, e := range map[string]*Entity{
		"rich":    richEntity(),
		"minimal": {Identifier: "x", Blueprint: "b"},
		"iconTeam": {Identifier: "John@Example.com", Blueprint: "sentryUser", Title: "John",
			Icon: "Sentry", Team: []any{"a", "b"}, Properties: map[string]any{"n": 1.5}},
		"aliases": {Identifier: "payments", Blueprint: "service", Aliases: []string{"pay", "payments-api"}},
		"invalidUTF8": {Identifier: "x", Blueprint: "b", Title: "bad \xff\xfe byte",
			Properties: map[string]any{"k\xc3": "v\xe2\x82"}},
	} {
		t.Run(name, func(t *testing.T) {
			data := e.Encode()
			d, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v\n%s", err, data)
			}
			if d.Identifier != e.Identifier && name != "invalidUTF8" || d.Blueprint != e.Blueprint {
				t.Errorf("key %v, want %v", d.Key(), e.Key())
			}
			// Canonical: encoding what was decoded gives the same bytes.
			if again := d.Encode(); !bytes.Equal(again, data) {
				t.Errorf("Encode(Decode(x)) != x:\n%s\n---\n%s", again, data)
			}
		})
	}
	// Non-canonical layouts are accepted and canonicalised.
	hand := "{\"identifier\":\"a\",\"blueprint\":\"b\",\"title\":\"T\",\"properties\":{\"n\":1.0,\"m\":1e2},\"relations\":null}"
	d, err := Decode([]byte(hand))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"blueprint\": \"b\",\n  \"identifier\": \"a\",\n  \"properties\": {\n    \"m\": 100,\n    \"n\": 1\n  },\n  \"relations\": {},\n  \"title\": \"T\"\n}\n"
	if got := string(d.Encode()); got != want {
		t.Errorf("canonicalised hand-written file:\n%s\nwant\n%s", got, want)
	}
	if !reflect.DeepEqual(d.Key(), Key{"b", "a"}) || d.Key().String() != "b/a" {
		t.Errorf("Key = %v", d.Key())
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "EOF"},
		{`[]`, "cannot unmarshal"},
		{`{"identifier":1,"blueprint":"b"}`, `"identifier" must be a string`},
		{`{"blueprint":"b"}`, `"identifier" must be a string`},
		{`{"identifier":"a"}`, `"blueprint" must be a string`},
		{`{"identifier":"a","blueprint":"b","properties":[]}`, `"properties" must be an object`},
		{`{"identifier":"a","blueprint":"b","relations":"x"}`, `"relations" must be an object`},
		{`{"identifier":"a",`, "unexpected EOF"},
		{`{"identifier":"a","blueprint":"b","aliases":"x"}`, `"aliases" must be an array of strings`},
		{`{"identifier":"a","blueprint":"b","aliases":["x",1]}`, `"aliases"/1 must be a string`},
	} {
		_, err := Decode([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

func TestEncodeUnknownTypeStillValidJSON(t *testing.T) {
	var b bytes.Buffer
	EncodeValue(&b, map[string]any{"x": struct{ A int }{1}, "y": int64(3)})
	if !json.Valid(b.Bytes()) {
		t.Errorf("invalid JSON: %s", b.String())
	}
}

// TestWriteStringMatchesGojq: the direct string writer gives gojq's bytes
// for every valid string (invalid UTF-8 is the one documented difference).
func TestWriteStringMatchesGojq(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "\x00\x01\x1f\x7f", "\b\f\n\r\t", "é中😀", "<>&\u2028\u2029", "~ !"} {
		var b bytes.Buffer
		writeString(&b, s)
		want, _ := gojq.Marshal(s)
		if b.String() != string(want) {
			t.Errorf("%q: wrote %s, gojq %s", s, b.String(), want)
		}
	}
}

func FuzzWriteString(f *testing.F) {
	f.Add("plain")
	f.Add("\x00é\xff")
	f.Fuzz(func(t *testing.T, s string) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		var b bytes.Buffer
		writeString(&b, s)
		want, _ := gojq.Marshal(s)
		if b.String() != string(want) {
			t.Fatalf("%q: wrote %s, gojq %s", s, b.String(), want)
		}
	})
}

// The direct top-level writer must match encoding the entity's map.
func TestEncodeMatchesToMap(t *testing.T) {
	for _, e := range []*Entity{
		{Identifier: "a", Blueprint: "b"},
		{Identifier: "x\"y", Title: "T", Blueprint: "issue", Properties: map[string]any{"n": 3, "f": 1.5, "big": json.Number("123456789012345678901234567890"), "s": []any{"a", nil, true}}, Relations: map[string]any{"p": "q", "m": []any{"1"}}},
		{Identifier: "i", Blueprint: "b", Icon: "Sentry", Team: []any{"t1"}, Properties: map[string]any{}, Title: nil},
		{Identifier: "i", Blueprint: "b", Team: "t", Properties: map[string]any{"deep": map[string]any{"a": map[string]any{"b": []any{map[string]any{}}}}}},
		{Identifier: "payments", Blueprint: "service", Title: "Payments", Aliases: []string{"pay", "Payments \"API\"", "日本"}},
		{Identifier: "i", Blueprint: "b", Aliases: []string{}},
	} {
		var want bytes.Buffer
		EncodeValue(&want, e.ToMap())
		want.WriteByte('\n')
		if got := e.Encode(); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("Encode(%+v) =\n%s\nwant\n%s", e, got, want.Bytes())
		}
	}
}

// Aliases are a top-level list in sorted key order, and absent when there
// are none, so that a file without them keeps its bytes.
func TestEncodeAliases(t *testing.T) {
	e := &Entity{Identifier: "payments", Blueprint: "service", Title: "Payments", Aliases: []string{"pay", "payments-api"}}
	want := "{\n  \"aliases\": [\n    \"pay\",\n    \"payments-api\"\n  ],\n  \"blueprint\": \"service\",\n  \"identifier\": \"payments\",\n  \"properties\": {},\n  \"relations\": {},\n  \"title\": \"Payments\"\n}\n"
	if got := string(e.Encode()); got != want {
		t.Errorf("Encode =\n%s\nwant\n%s", got, want)
	}
	d, err := Decode([]byte(want))
	if err != nil || !slices.Equal(d.Aliases, e.Aliases) {
		t.Fatalf("Decode: %v, aliases %q", err, d.Aliases)
	}
	for _, in := range []string{`{"identifier":"a","blueprint":"b"}`, `{"identifier":"a","blueprint":"b","aliases":[]}`, `{"identifier":"a","blueprint":"b","aliases":null}`} {
		d, err := Decode([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if d.Aliases != nil || strings.Contains(string(d.Encode()), "aliases") {
			t.Errorf("%s: aliases %q, encoded\n%s", in, d.Aliases, d.Encode())
		}
	}
}
