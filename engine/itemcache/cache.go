package itemcache

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/gitalog/gitalog/engine/atomicfile"
)

const magic = "gitalog item cache 3\n"

// Key names one item as mapped by one resource.
type Key struct {
	Item     [16]byte // leading half of the SHA-256 of the item's bytes
	Resource uint32   // the resource's index in the config
}

// ItemHash is the item part of a Key.
func ItemHash(raw []byte) [16]byte {
	s := sha256.Sum256(raw)
	return [16]byte(s[:16])
}

// Entity is what the cache keeps of one mapped entity.
type Entity struct {
	Blueprint, Identifier string
	Dir, Stem             string // its file: catalog/<Dir>/<Stem>.json
	Blob                  [20]byte
	Rels                  []Rel
}

// Rel is a relation value: a string, or a []any of strings.
type Rel struct {
	Name string
	Val  any
}

// Cache is a loaded cache file. Lookups are safe for concurrent use.
type Cache struct {
	// Catalog names the catalog the cache was written for (the engine's
	// choice of id): every entity of every entry is in it, with the
	// cached blob.
	Catalog [20]byte
	index   map[Key][]byte // the whole record, so a new file can reuse it
}

// Len is the number of entries.
func (c *Cache) Len() int { return len(c.index) }

// Lookup returns the record of k.
func (c *Cache) Lookup(k Key) (Record, bool) {
	rec, ok := c.index[k]
	return Record(rec), ok
}

// Record is one entry, encoded: what Lookup returns and Write stores.
type Record []byte

// Records lists the entries, in no particular order.
func (c *Cache) Records() []Record {
	out := make([]Record, 0, len(c.index))
	for _, r := range c.index {
		out = append(out, r)
	}
	return out
}

// Key is the record's key.
func (r Record) Key() Key {
	k, _, _ := readRecord(r)
	return k
}

// The file: magic, fingerprint, record count (uint32), the records, the
// catalog id, and a CRC-32C of everything before it. The catalog id comes
// last so that a sync can lay out the records while it commits and add
// the new catalog's id once the commit has landed. The CRC only detects
// damage; what an entry means is settled by the fingerprint.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Load reads the cache at path written with the fingerprint fp. No path,
// a missing file, or one written for another fingerprint is an empty
// cache; a damaged one is an empty cache and an error saying why.
func Load(path string, fp [32]byte) (*Cache, error) {
	c := &Cache{index: map[Key][]byte{}}
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	head := len(magic) + len(fp) + 4
	tail := len(c.Catalog) + 4
	if len(data) < head+tail || string(data[:len(magic)]) != magic {
		return c, fmt.Errorf("%s: not a gitalog item cache", path)
	}
	if [32]byte(data[len(magic):]) != fp {
		return c, nil // another binary, config or blueprints: start afresh
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(body):]) {
		return c, fmt.Errorf("%s: checksum mismatch", path)
	}
	// The count sizes the index once instead of growing it all the way.
	c.index = make(map[Key][]byte, min(int(binary.LittleEndian.Uint32(data[head-4:])), len(data)/20))
	rest := data[head : len(data)-tail]
	for len(rest) > 0 {
		k, n, err := readRecord(rest)
		if err != nil {
			clear(c.index)
			return c, fmt.Errorf("%s: %w", path, err)
		}
		c.index[k] = rest[:n:n]
		rest = rest[n:]
	}
	c.Catalog = [20]byte(data[len(data)-tail:])
	return c, nil
}

// readRecord reads the key and the length of the record at the start of b.
func readRecord(b []byte) (Key, int, error) {
	var k Key
	if len(b) < len(k.Item) {
		return k, 0, errors.New("truncated record")
	}
	copy(k.Item[:], b)
	i := len(k.Item)
	res, n := binary.Uvarint(b[i:])
	if n <= 0 || res > 1<<31 {
		return k, 0, errors.New("bad record key")
	}
	i += n
	size, n := binary.Uvarint(b[i:])
	if n <= 0 || size > uint64(len(b)-i-n) {
		return k, 0, errors.New("bad record length")
	}
	k.Resource = uint32(res)
	return k, i + n + int(size), nil
}

// Encode appends the record of k mapping to es to dst.
func Encode(dst []byte, k Key, es []Entity) Record {
	var body []byte
	body = binary.AppendUvarint(body, uint64(len(es)))
	for _, e := range es {
		for _, s := range []string{e.Blueprint, e.Identifier, e.Dir, e.Stem} {
			body = appendString(body, s)
		}
		body = append(body, e.Blob[:]...)
		body = binary.AppendUvarint(body, uint64(len(e.Rels)))
		for _, r := range e.Rels {
			body = appendString(body, r.Name)
			switch v := r.Val.(type) {
			case string:
				body = append(body, 0)
				body = appendString(body, v)
			case []any:
				body = append(body, 1)
				body = binary.AppendUvarint(body, uint64(len(v)))
				for _, s := range v {
					body = appendString(body, s.(string))
				}
			default:
				panic(fmt.Sprintf("itemcache: relation %s: unsupported %T", r.Name, r.Val))
			}
		}
	}
	dst = append(dst, k.Item[:]...)
	dst = binary.AppendUvarint(dst, uint64(k.Resource))
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...)
}

// Cacheable reports whether Encode can store v as a relation value.
func Cacheable(v any) bool {
	switch v := v.(type) {
	case string:
		return true
	case []any:
		for _, s := range v {
			if _, ok := s.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Entities decodes a record. Its strings share the record's bytes, which
// must not be modified afterwards.
func (r Record) Entities() ([]Entity, error) {
	_, n, err := readRecord(r)
	if err != nil || n != len(r) {
		return nil, errors.New("itemcache: bad record")
	}
	// Records are slices of the loaded file, which nothing modifies: the
	// strings share its bytes instead of copying each record.
	d := decoder{b: r, s: unsafe.String(unsafe.SliceData(r), len(r)), i: len(Key{}.Item)}
	d.uvarint() // resource
	d.uvarint() // body length
	count := d.uvarint()
	if count > uint64(len(r)) {
		return nil, errors.New("itemcache: bad record")
	}
	es := make([]Entity, count)
	for i := range es {
		e := &es[i]
		e.Blueprint, e.Identifier, e.Dir, e.Stem = d.str(), d.str(), d.str(), d.str()
		d.bytes(e.Blob[:])
		nr := d.uvarint()
		if nr > uint64(len(r)) {
			return nil, errors.New("itemcache: bad record")
		}
		if nr > 0 {
			e.Rels = make([]Rel, nr)
		}
		for j := range e.Rels {
			e.Rels[j].Name = d.str()
			switch d.byte() {
			case 0:
				e.Rels[j].Val = d.str()
			case 1:
				n := d.uvarint()
				if n > uint64(len(r)) {
					return nil, errors.New("itemcache: bad record")
				}
				l := make([]any, n)
				for m := range l {
					l[m] = d.str()
				}
				e.Rels[j].Val = l
			default:
				d.bad = true
			}
		}
	}
	if d.bad || d.i != len(r) {
		return nil, errors.New("itemcache: bad record")
	}
	return es, nil
}

// decoder reads a record: b and s hold the same bytes, s for substrings.
type decoder struct {
	b   []byte
	s   string
	i   int
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		d.bad, d.i = true, len(d.b)
		return 0
	}
	d.i += n
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.i) {
		d.bad, d.i = true, len(d.b)
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

func (d *decoder) bytes(dst []byte) {
	if len(d.b)-d.i < len(dst) {
		d.bad, d.i = true, len(d.b)
		return
	}
	copy(dst, d.b[d.i:])
	d.i += len(dst)
}

func (d *decoder) byte() byte {
	if d.i >= len(d.b) {
		d.bad = true
		return 0xff
	}
	c := d.b[d.i]
	d.i++
	return c
}

// File is a cache file being written: its records laid out, waiting for
// the id of the catalog they are in.
type File struct {
	buf []byte
}

// NewFile lays out recs for a cache with fingerprint fp.
func NewFile(fp [32]byte, recs []Record) *File {
	size := len(magic) + len(fp) + 4 + 20 + 4
	for _, r := range recs {
		size += len(r)
	}
	b := make([]byte, 0, size)
	b = append(b, magic...)
	b = append(b, fp[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(recs)))
	for _, r := range recs {
		b = append(b, r...)
	}
	return &File{buf: b}
}

// Write replaces the cache at path with f, written for the catalog cat,
// which must hold every entity of every record. It writes a temporary
// file and renames it, so a reader sees the old cache or the new one,
// and a crash leaves no half-written cache.
func (f *File) Write(path string, cat [20]byte) error {
	b := append(f.buf, cat[:]...) // NewFile left room: no copy
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o644)
}

// Write writes a cache file of recs in one go; see File.
func Write(path string, fp [32]byte, cat [20]byte, recs []Record) error {
	return NewFile(fp, recs).Write(path, cat)
}
