package itemcache

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func sampleRecords() ([]Key, [][]Entity, []Record) {
	keys := []Key{
		{Item: ItemHash([]byte(`{"id":"1"}`)), Resource: 0},
		{Item: ItemHash([]byte(`{"id":"1"}`)), Resource: 3}, // same item, another resource
		{Item: ItemHash([]byte(`{"id":"2"}`)), Resource: 0},
		{Item: ItemHash([]byte(`{"id":"3"}`)), Resource: 0},
	}
	ents := [][]Entity{
		{{Blueprint: "sentryIssue", Identifier: "1", Dir: "sentryIssue", Stem: "1", Blob: [20]byte{1},
			Rels: []Rel{{"project", "api"}, {"assignees", []any{"a@x", "b@x"}}, {"none", []any{}}}}},
		{{Blueprint: "issue", Identifier: "1", Dir: "issue", Stem: "1", Blob: [20]byte{2}},
			{Blueprint: "issue", Identifier: "1/x", Dir: "issue", Stem: "1%2Fx", Blob: [20]byte{3}}},
		nil, // the selector rejected it: no entity, and that is cached too
		{{Blueprint: "b", Identifier: "ünïcode \x00", Dir: "b", Stem: "x", Blob: [20]byte{19: 9}}},
	}
	recs := make([]Record, len(keys))
	for i := range keys {
		recs[i] = Encode(nil, keys[i], ents[i])
	}
	return keys, ents, recs
}

func TestWriteLoadRoundTrip(t *testing.T) {
	keys, ents, recs := sampleRecords()
	path := filepath.Join(t.TempDir(), "sub", "items.cache")
	fp, cat := [32]byte{7}, [20]byte{5}
	if err := Write(path, fp, cat, recs); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, fp)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != len(keys) || c.Catalog != cat {
		t.Fatalf("Len %d Catalog %x", c.Len(), c.Catalog)
	}
	for i, k := range keys {
		rec, ok := c.Lookup(k)
		if !ok {
			t.Fatalf("key %d missing", i)
		}
		if string(rec) != string(recs[i]) {
			t.Fatalf("key %d: record differs from the one written", i)
		}
		got, err := rec.Entities()
		if err != nil {
			t.Fatal(err)
		}
		want := ents[i]
		if want == nil {
			want = []Entity{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("key %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if _, ok := c.Lookup(Key{Item: ItemHash([]byte(`{"id":"1"} `)), Resource: 0}); ok {
		t.Fatal("an item one byte longer hit")
	}
	if _, ok := c.Lookup(Key{Item: keys[0].Item, Resource: 1}); ok {
		t.Fatal("another resource's entry hit")
	}
	// Nothing is left behind but the cache.
	files, _ := os.ReadDir(filepath.Dir(path))
	if len(files) != 1 {
		t.Fatalf("files next to the cache: %v", files)
	}
}

func TestLoadIgnoresOtherFingerprintsAndDamage(t *testing.T) {
	_, _, recs := sampleRecords()
	dir := t.TempDir()
	path := filepath.Join(dir, "items.cache")
	fp := [32]byte{7}
	if err := Write(path, fp, [20]byte{}, recs); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)

	c, err := Load(path, [32]byte{8})
	if err != nil || c.Len() != 0 {
		t.Fatalf("another fingerprint: Len %d, err %v", c.Len(), err)
	}
	c, err = Load(filepath.Join(dir, "missing"), fp)
	if err != nil || c.Len() != 0 {
		t.Fatalf("missing file: Len %d, err %v", c.Len(), err)
	}
	c, err = Load("", fp)
	if err != nil || c.Len() != 0 {
		t.Fatalf("no path: Len %d, err %v", c.Len(), err)
	}
	damaged := map[string][]byte{
		"empty":     {},
		"truncated": good[:len(good)-10],
		"flipped":   append(append([]byte{}, good[:len(good)/2]...), append([]byte{good[len(good)/2] ^ 1}, good[len(good)/2+1:]...)...),
		"not ours":  []byte("PACK\x00\x00\x00\x02 and so on and so forth, long enough to pass the length check at the start of the file...."),
	}
	for name, data := range damaged {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, fp)
		if err == nil || c.Len() != 0 {
			t.Errorf("%s: Len %d, err %v; want an empty cache and an error", name, c.Len(), err)
		}
	}
}

func TestEntitiesRejectsBadRecords(t *testing.T) {
	_, _, recs := sampleRecords()
	rec := recs[0]
	for cut := 0; cut < len(rec); cut++ {
		if _, err := rec[:cut].Entities(); err == nil {
			t.Fatalf("a record cut at %d of %d decoded", cut, len(rec))
		}
	}
	if _, err := append(append(Record{}, rec...), 0).Entities(); err == nil {
		t.Fatal("a record with a trailing byte decoded")
	}
}

func TestCacheable(t *testing.T) {
	for _, v := range []any{"x", "", []any{}, []any{"a", "b"}} {
		if !Cacheable(v) {
			t.Errorf("Cacheable(%#v) = false", v)
		}
	}
	for _, v := range []any{nil, 1.0, true, []any{"a", 1.0}, map[string]any{}, []string{"a"}} {
		if Cacheable(v) {
			t.Errorf("Cacheable(%#v) = true", v)
		}
	}
}

func BenchmarkLoad100k(b *testing.B) {
	recs := make([]Record, 100000)
	for i := range recs {
		id := []byte{byte(i), byte(i >> 8), byte(i >> 16)}
		recs[i] = Encode(nil, Key{Item: ItemHash(id)}, []Entity{{Blueprint: "sentryIssue", Identifier: "5100012345", Dir: "sentryIssue", Stem: "5100012345", Rels: []Rel{{"project", "north-gateway"}}}})
	}
	path := filepath.Join(b.TempDir(), "items.cache")
	if err := Write(path, [32]byte{}, [20]byte{}, recs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if c, err := Load(path, [32]byte{}); err != nil || c.Len() != len(recs) {
			b.Fatal(err)
		}
	}
}
