package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

const handWritten = `{
  "identifier": "payments",
  "title": "Payments",
  "blueprint": "service",
  "aliases": ["pay"],
  "properties": {
    "tier": "gold",
    "owner": {"team": "core"},
    "language": "go"
  },
  "relations": {
    "team": "core"
  }
}
`

func set(section, name string, v any) FieldChange {
	return FieldChange{Section: section, Name: name, Value: v}
}

func del(section, name string) FieldChange {
	return FieldChange{Section: section, Name: name, Remove: true}
}

func TestPatchFields(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      string
		changes []FieldChange
		want    string
	}{
		{"replace a value in place", handWritten, []FieldChange{set("properties", "tier", "silver")},
			strings.Replace(handWritten, `"tier": "gold"`, `"tier": "silver"`, 1)},
		{"a new key goes last in its section, whatever its name", handWritten, []FieldChange{set("properties", "pd_service_id", "PX12")},
			strings.Replace(handWritten, `"language": "go"`, "\"language\": \"go\",\n    \"pd_service_id\": \"PX12\"", 1)},
		{"a structured value is indented to its depth", handWritten, []FieldChange{set("properties", "owner", map[string]any{"team": "core", "oncall": []any{"ann", 2}})},
			strings.Replace(handWritten, `"owner": {"team": "core"}`, "\"owner\": {\n      \"oncall\": [\n        \"ann\",\n        2\n      ],\n      \"team\": \"core\"\n    }", 1)},
		{"remove a middle key", handWritten, []FieldChange{del("properties", "owner")},
			strings.Replace(handWritten, "    \"owner\": {\"team\": \"core\"},\n", "", 1)},
		{"remove the last key", handWritten, []FieldChange{del("properties", "language")},
			strings.Replace(handWritten, "\"owner\": {\"team\": \"core\"},\n    \"language\": \"go\"", "\"owner\": {\"team\": \"core\"}", 1)},
		{"remove the only key leaves the section", handWritten, []FieldChange{del("relations", "team")},
			strings.Replace(handWritten, "\"relations\": {\n    \"team\": \"core\"\n  }", "\"relations\": {}", 1)},
		{"then add to the empty section", handWritten, []FieldChange{del("relations", "team"), set("relations", "sentry_issues", []any{"1", "2"})},
			strings.Replace(handWritten, "    \"team\": \"core\"\n  }", "    \"sentry_issues\": [\n      \"1\",\n      \"2\"\n    ]\n  }", 1)},
		{"remove what is not there", handWritten, []FieldChange{del("properties", "nope"), del("relations", "nope")}, handWritten},
		{"a missing section is added at the end",
			"{\n\t\"identifier\": \"a\",\n\t\"blueprint\": \"service\"\n}\n",
			[]FieldChange{set("properties", "pd", map[string]any{"id": 1})},
			"{\n\t\"identifier\": \"a\",\n\t\"blueprint\": \"service\",\n\t\"properties\": {\n\t\t\"pd\": {\n\t\t\t\"id\": 1\n\t\t}\n\t}\n}\n"},
		{"four spaces", "{\n    \"identifier\": \"a\",\n    \"properties\": {}\n}", []FieldChange{set("properties", "x", []any{true})},
			"{\n    \"identifier\": \"a\",\n    \"properties\": {\n        \"x\": [\n            true\n        ]\n    }\n}"},
		{"CRLF stays CRLF", strings.ReplaceAll(handWritten, "\n", "\r\n"), []FieldChange{set("properties", "ids", []any{1}), del("properties", "tier")},
			strings.ReplaceAll(strings.Replace(strings.Replace(handWritten, "    \"tier\": \"gold\",\n", "", 1), `"language": "go"`, "\"language\": \"go\",\n    \"ids\": [\n      1\n    ]", 1), "\n", "\r\n")},
		{"null section", "{\n  \"identifier\": \"a\",\n  \"relations\": null\n}\n", []FieldChange{set("relations", "r", "x")},
			"{\n  \"identifier\": \"a\",\n  \"relations\": {\n    \"r\": \"x\"\n  }\n}\n"},
		{"one-line file", `{"identifier": "a", "properties": {"x": 1}}`, []FieldChange{set("properties", "y", []any{"z"}), set("relations", "r", "s")},
			`{"identifier": "a", "properties": {"x": 1, "y": ["z"]}, "relations": {"r": "s"}}`},
		{"one-line file, remove", `{"identifier": "a", "properties": {"x": 1, "y": 2, "z": 3}}`, []FieldChange{del("properties", "y"), del("properties", "z")},
			`{"identifier": "a", "properties": {"x": 1}}`},
		{"escaped keys", "{\n  \"properties\": {\n    \"a\\u0062\": 1\n  }\n}", []FieldChange{set("properties", "ab", 2), set("properties", "q\"", 3)},
			"{\n  \"properties\": {\n    \"a\\u0062\": 2,\n    \"q\\\"\": 3\n  }\n}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := PatchFields([]byte(c.in), c.changes)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
			checkPatched(t, []byte(c.in), got, c.changes)
		})
	}
}

// Setting a value a key already has, however it is written, changes no
// byte.
func TestPatchFieldsIdempotent(t *testing.T) {
	in := []byte("{\n  \"properties\": {\"n\": 1.0, \"o\": {\"b\": [1e0], \"a\": null}, \"s\": \"\\u00e9\"},\n  \"relations\": {\"r\": [\"x\"]}\n}\n")
	got, err := PatchFields(in, []FieldChange{
		set("properties", "n", 1), set("properties", "o", map[string]any{"a": nil, "b": []any{1}}),
		set("properties", "s", "é"), set("relations", "r", []string{"x"}), del("properties", "gone"),
	})
	if err != nil || !bytes.Equal(got, in) {
		t.Errorf("PatchFields = %v\n%s", err, got)
	}
}

func TestPatchFieldsErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"{\n  \"identifier\": \"a\",,\n}", "2:21: invalid JSON: invalid character ','"},
		{"\n [1, 2]", "2:2: an entity file must hold a JSON object"},
		{"{\n  \"identifier\": \"a\",\n  \"identifier\": \"b\"\n}", `3:3: duplicate key "identifier"`},
		{"{\"properties\": {\"x\": 1,\n \"x\": 2}}", `2:2: duplicate key "x"`},
		{"{\"properties\": {\"x\": {\"deep\": [{\"k\": 1, \"\\u006b\": 2}]}}}", `1:41: duplicate key "k"`},
		{"{\"properties\": \"x\"}", `1:16: "properties" must be an object`},
		{"", "1:1: invalid JSON"},
	} {
		_, err := PatchFields([]byte(c.in), []FieldChange{set("properties", "y", 1)})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("PatchFields(%q) = %v, want an error starting %q", c.in, err, c.want)
		}
	}
	// Checked also when no change would touch the file.
	if _, err := PatchFields([]byte("{\"a\": 1, \"a\": 1}"), nil); err == nil || !strings.HasPrefix(err.Error(), `1:10: duplicate key "a"`) {
		t.Errorf("duplicate keys without changes: %v", err)
	}
	if _, err := PatchFields([]byte(`{}`), []FieldChange{set("title", "x", 1)}); err == nil {
		t.Error("a change outside properties and relations was made")
	}
}

// checkPatched: the result decodes to the entity with the changes
// applied, and patching it again changes nothing.
func checkPatched(t *testing.T, in, got []byte, changes []FieldChange) {
	t.Helper()
	if !json.Valid(got) {
		t.Fatalf("invalid JSON:\n%s", got)
	}
	want := decodeLoose(t, in)
	for _, ch := range changes {
		m := want[ch.Section]
		if m == nil {
			m = map[string]any{}
			want[ch.Section] = m
		}
		// A decoder reads each invalid UTF-8 byte of a key as U+FFFD, so
		// "\xa4" names the key a file holds as "\x8c" or "\ufffd".
		name := validKey(ch.Name)
		if ch.Remove {
			delete(m, name)
		} else {
			m[name] = ch.Value
		}
	}
	have := decodeLoose(t, got)
	var a, b bytes.Buffer
	EncodeValue(&a, toAny(have))
	EncodeValue(&b, toAny(want))
	if a.String() != b.String() {
		t.Fatalf("decode(patch(x)) != apply(decode(x)):\n%s\n---\n%s\n--- patched file\n%s", a.String(), b.String(), got)
	}
	again, err := PatchFields(got, changes)
	if err != nil || !bytes.Equal(again, got) {
		t.Fatalf("patching again: %v\n%s\n--- was\n%s", err, again, got)
	}
}

// decodeLoose decodes a file's top level, with properties and relations
// as maps (empty when missing or null).
func decodeLoose(t *testing.T, data []byte) map[string]map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	out := map[string]map[string]any{"top": {}}
	for k, v := range top {
		if k == "properties" || k == "relations" {
			m, _ := v.(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			out[k] = m
			continue
		}
		out["top"][k] = v
	}
	for _, k := range []string{"properties", "relations"} {
		if out[k] == nil {
			out[k] = map[string]any{}
		}
	}
	return out
}

func toAny(m map[string]map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestPatchFieldsRandom: entity files written in many layouts (indent
// width, tabs, CRLF, one-line objects, key order, spacing), random
// changes; the result always decodes to the expected entity, and is
// stable.
func TestPatchFieldsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 15))
	for i := range 3000 {
		in := randomFile(r)
		changes := randomChanges(r, in)
		got, err := PatchFields(in, changes)
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, in)
		}
		checkPatched(t, in, got, changes)
	}
}

func FuzzPatchFields(f *testing.F) {
	f.Add([]byte(handWritten), "tier", "\"x\"", false)
	f.Add([]byte("{\r\n\t\"properties\": {\"a\": 1}\r\n}"), "a", "", true)
	f.Add([]byte(`{"relations":null}`), "b", "[1,{}]", false)
	f.Fuzz(func(t *testing.T, data []byte, name, value string, remove bool) {
		var v any
		if !remove {
			dec := json.NewDecoder(strings.NewReader(value))
			dec.UseNumber()
			if dec.Decode(&v) != nil || TooDeep(v) {
				return
			}
		}
		changes := []FieldChange{{Section: "properties", Name: name, Value: v, Remove: remove}}
		got, err := PatchFields(data, changes)
		if err != nil {
			return // not an object without duplicate keys, say
		}
		var top map[string]any
		if json.Unmarshal(data, &top) != nil {
			t.Fatalf("patched what is not an object: %q", data)
		}
		if p, ok := top["properties"]; ok && p != nil {
			if _, ok := p.(map[string]any); !ok {
				t.Fatalf("patched a properties that is not an object: %q", data)
			}
		}
		checkPatched(t, data, got, changes)
	})
}

var randomKeys = []string{"a", "b", "status", "tier", "pd_service_id", "é", "q\"uote", "sentry_issues", "x/y"}

func randomValue(r *rand.Rand, depth int) any {
	n := 7
	if depth > 2 {
		n = 5
	}
	switch r.IntN(n) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return []any{-3, 0, 7, 12345678901}[r.IntN(4)]
	case 3:
		return []any{1.5, json.Number("2.50"), json.Number("1e2"), -0.25}[r.IntN(4)]
	case 4:
		return []string{"", "gold", "tab\there", "line\nbreak", "日本", "\\", "\u2028"}[r.IntN(7)]
	case 5:
		l := make([]any, r.IntN(3))
		for i := range l {
			l[i] = randomValue(r, depth+1)
		}
		return l
	default:
		m := map[string]any{}
		for range r.IntN(3) {
			m[randomKeys[r.IntN(len(randomKeys))]] = randomValue(r, depth+1)
		}
		return m
	}
}

// layout is how randomFile writes a file.
type layout struct {
	unit, nl, colon string
	inline          func() bool
	r               *rand.Rand
}

func randomFile(r *rand.Rand) []byte {
	l := layout{
		unit:  []string{"  ", "    ", "\t", " ", "\t\t"}[r.IntN(5)],
		nl:    []string{"\n", "\r\n"}[r.IntN(2)],
		colon: []string{": ", ":", " : "}[r.IntN(3)],
		r:     r,
	}
	allInline := r.IntN(6) == 0
	l.inline = func() bool { return allInline || r.IntN(5) == 0 }
	type kv struct {
		k string
		v any
	}
	top := []kv{{"identifier", "payments"}, {"blueprint", "service"}, {"title", "Payments"}}
	if r.IntN(3) == 0 {
		top = append(top, kv{"aliases", []any{"pay"}})
	}
	for _, sec := range []string{"properties", "relations"} {
		switch r.IntN(5) {
		case 0: // missing
		case 1:
			top = append(top, kv{sec, nil})
		default:
			m := map[string]any{}
			for range r.IntN(4) {
				m[randomKeys[r.IntN(len(randomKeys))]] = randomValue(r, 1)
			}
			top = append(top, kv{sec, m})
		}
	}
	r.Shuffle(len(top), func(i, j int) { top[i], top[j] = top[j], top[i] })
	var b strings.Builder
	inline := allInline
	b.WriteString("{")
	for i, e := range top {
		if i > 0 {
			b.WriteString(",")
		}
		if inline {
			b.WriteString(" ")
		} else {
			b.WriteString(l.nl + l.unit)
		}
		b.WriteString(quote(e.k) + l.colon)
		l.write(&b, e.v, 1)
	}
	if !inline {
		b.WriteString(l.nl)
	}
	b.WriteString("}")
	if r.IntN(2) == 0 {
		b.WriteString(l.nl)
	}
	return []byte(b.String())
}

func (l layout) write(b *strings.Builder, v any, depth int) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		l.r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		inline := l.inline()
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			if inline {
				if i > 0 {
					b.WriteString(" ")
				}
			} else {
				b.WriteString(l.nl + strings.Repeat(l.unit, depth+1))
			}
			b.WriteString(quote(k) + l.colon)
			l.write(b, x[k], depth+1)
		}
		if !inline && len(keys) > 0 {
			b.WriteString(l.nl + strings.Repeat(l.unit, depth))
		}
		b.WriteString("}")
	case []any:
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			l.write(b, e, depth+1)
		}
		b.WriteString("]")
	default:
		var buf bytes.Buffer
		if n, ok := x.(json.Number); ok {
			buf.WriteString(n.String()) // as a person may write it
		} else {
			writeScalar(&buf, x)
		}
		b.WriteString(buf.String())
	}
}

func randomChanges(r *rand.Rand, in []byte) []FieldChange {
	var top map[string]any
	if err := json.Unmarshal(in, &top); err != nil {
		panic(fmt.Sprintf("%v: %s", err, in))
	}
	var out []FieldChange
	seen := map[[2]string]bool{}
	for range 1 + r.IntN(4) {
		sec := []string{"properties", "relations"}[r.IntN(2)]
		m, _ := top[sec].(map[string]any)
		name := randomKeys[r.IntN(len(randomKeys))]
		if seen[[2]string{sec, name}] { // a field changes once
			continue
		}
		seen[[2]string{sec, name}] = true
		switch r.IntN(4) {
		case 0:
			out = append(out, del(sec, name))
		case 1:
			if v, ok := m[name]; ok { // the value it has
				out = append(out, set(sec, name, v))
				continue
			}
			fallthrough
		default:
			out = append(out, set(sec, name, randomValue(r, 1)))
		}
	}
	return out
}
