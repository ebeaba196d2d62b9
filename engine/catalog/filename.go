package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// File names must be safe and distinct on Linux, macOS (case-insensitive)
// and Windows, and must never leave the catalog directory. The encoding
// keeps plain identifiers (lowercase letters, digits, - _ . @ + = ,) as
// they are and escapes everything else, so that the encoded alphabet has no
// upper-case letters and two identifiers can never collide on a
// case-insensitive file system:
//
//	upper-case letter X  -> ^x
//	any other byte       -> %hh (lower-case hex)
//	a leading '.' and a trailing '.' -> %2e (no hidden files, no "..",
//	                        nothing Windows would strip)
//	a Windows device name (CON, NUL, COM1, ...) before the first '.'
//	                     -> its first byte escaped
//
// Names longer than maxName bytes are cut and suffixed with '~' and a hash
// of the identifier; '~' appears in no other encoded name, so the mapping
// stays injective, and the file itself holds the exact identifier.
const maxName = 200

// Ext is the file extension of entity files.
const Ext = ".json"

func plainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '@' || c == '+' || c == '=' || c == ','
}

var windowsReserved = map[string]bool{
	"con": true, "prn": true, "aux": true, "nul": true,
	"com0": true, "com1": true, "com2": true, "com3": true, "com4": true, "com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt0": true, "lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
	"com¹": true, "com²": true, "com³": true, "lpt¹": true, "lpt²": true, "lpt³": true,
}

const hexDigits = "0123456789abcdef"

// EncodeName returns the file name (without extension) for an identifier.
func EncodeName(id string) string { return encode(id, false) }

// EncodeDir returns the directory name for a blueprint identifier. Unlike
// entity names it keeps upper-case letters (Port's blueprints are
// camelCase, e.g. sentryIssue): blueprints are few and declared, so two
// that differ only in case are refused when they are loaded instead.
func EncodeDir(blueprint string) string { return encode(blueprint, true) }

func encode(id string, keepUpper bool) string {
	plain := true
	for i := 0; i < len(id); i++ {
		if !plainByte(id[i]) && !(keepUpper && id[i] >= 'A' && id[i] <= 'Z') {
			plain = false
			break
		}
	}
	if plain && id != "" && id[0] != '.' && id[len(id)-1] != '.' && !reservedStem(id) && len(id) <= maxName {
		return id
	}
	var b strings.Builder
	b.Grow(len(id) + 8)
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c == '.' && (i == 0 || i == len(id)-1):
			escapeByte(&b, c)
		case i == 0 && reservedStem(id):
			escapeByte(&b, c)
		case c >= 'A' && c <= 'Z' && keepUpper:
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte('^')
			b.WriteByte(c + ('a' - 'A'))
		case plainByte(c):
			b.WriteByte(c)
		default:
			escapeByte(&b, c)
		}
	}
	name := b.String()
	if len(name) > maxName {
		sum := sha256.Sum256([]byte(id))
		cut := maxName - 1 - 16
		// Never cut inside an escape, so the prefix stays readable.
		for cut > 0 && (name[cut-1] == '^' || name[cut-1] == '%' || cut >= 2 && name[cut-2] == '%') {
			cut--
		}
		name = name[:cut] + "~" + hex.EncodeToString(sum[:8])
	}
	return name
}

func escapeByte(b *strings.Builder, c byte) {
	b.WriteByte('%')
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&15])
}

func reservedStem(id string) bool {
	stem := id
	if i := strings.IndexByte(stem, '.'); i >= 0 {
		stem = stem[:i]
	}
	if len(stem) < 3 || len(stem) > 6 {
		return false
	}
	return windowsReserved[strings.ToLower(stem)]
}

// DecodeName reverses EncodeName. ok is false for hashed (over-long) names
// and for names EncodeName never produces; the identifier of such a file
// must be read from its content.
func DecodeName(name string) (id string, ok bool) { return decode(name, false) }

// DecodeDir reverses EncodeDir.
func DecodeDir(name string) (blueprint string, ok bool) { return decode(name, true) }

func decode(name string, keepUpper bool) (id string, ok bool) {
	if strings.IndexByte(name, '~') >= 0 {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '^':
			if i+1 >= len(name) || name[i+1] < 'a' || name[i+1] > 'z' {
				return "", false
			}
			b.WriteByte(name[i+1] - ('a' - 'A'))
			i++
		case c == '%':
			if i+2 >= len(name) {
				return "", false
			}
			hi, lo := unhex(name[i+1]), unhex(name[i+2])
			if hi < 0 || lo < 0 {
				return "", false
			}
			b.WriteByte(byte(hi<<4 | lo))
			i += 2
		case plainByte(c) || keepUpper && c >= 'A' && c <= 'Z':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	id = b.String()
	if id == "" || encode(id, keepUpper) != name {
		return "", false
	}
	return id, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// Dir is the directory that holds the catalog's entity files.
const Dir = "catalog"

// Path returns the slash path of an entity's file relative to the
// repository root: catalog/<blueprint>/<identifier>.json.
func Path(k Key) string {
	return Dir + "/" + EncodeDir(k.Blueprint) + "/" + EncodeName(k.Identifier) + Ext
}

// ParsePath is the inverse of Path for names that can be decoded.
func ParsePath(p string) (k Key, ok bool) {
	rest, found := strings.CutPrefix(p, Dir+"/")
	if !found {
		return k, false
	}
	dir, file, found := strings.Cut(rest, "/")
	if !found || strings.Contains(file, "/") || !strings.HasSuffix(file, Ext) {
		return k, false
	}
	bp, ok1 := DecodeDir(dir)
	id, ok2 := DecodeName(strings.TrimSuffix(file, Ext))
	if !ok1 || !ok2 {
		return k, false
	}
	return Key{bp, id}, true
}

// CheckIdentifier reports why an identifier cannot name a file.
func CheckIdentifier(id string) error {
	if id == "" {
		return fmt.Errorf("identifier is empty")
	}
	return nil
}
