package catalog

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeNamePlainUnchanged(t *testing.T) {
	for _, id := range []string{
		"python-fastapi", "4605173695", "john@example.com", "a", "python-fastapi-production",
		"a.b", "x_y", "a+b=c,d", "con-tabulation", "console", "com10", "nul-1", "auxiliary",
		strings.Repeat("a", maxName),
	} {
		if got := EncodeName(id); got != id {
			t.Errorf("EncodeName(%q) = %q, want it unchanged", id, got)
		}
		if got, ok := DecodeName(id); !ok || got != id {
			t.Errorf("DecodeName(%q) = %q, %v", id, got, ok)
		}
	}
	for _, bp := range []string{"sentryIssue", "project", "sentryProject", "issue-tag"} {
		if got := EncodeDir(bp); got != bp {
			t.Errorf("EncodeDir(%q) = %q, want it unchanged", bp, got)
		}
	}
}

func TestEncodeNameExamples(t *testing.T) {
	for _, tc := range []struct{ id, name, dir string }{
		{"Foo", "^foo", "Foo"},
		{"foo", "foo", "foo"},
		{"PYTHON-FASTAPI-2", "^p^y^t^h^o^n-^f^a^s^t^a^p^i-2", "PYTHON-FASTAPI-2"},
		{"a/b", "a%2fb", "a%2fb"},
		{"..", "%2e%2e", "%2e%2e"},
		{".", "%2e", "%2e"},
		{".hidden", "%2ehidden", "%2ehidden"},
		{"trailing.", "trailing%2e", "trailing%2e"},
		{"trailing ", "trailing%20", "trailing%20"},
		{"CON", "%43^o^n", "%43ON"},
		{"con", "%63on", "%63on"},
		{"con.txt", "%63on.txt", "%63on.txt"},
		{"Con.tar.gz", "%43on.tar.gz", "%43on.tar.gz"},
		{"LPT1", "%4c^p^t1", "%4cPT1"},
		{"nul", "%6eul", "%6eul"},
		{"aux.json", "%61ux.json", "%61ux.json"},
		{"com1", "%63om1", "%63om1"},
		{"a:b*c?d\"e<f>g|h\\i", "a%3ab%2ac%3fd%22e%3cf%3eg%7ch%5ci", "a%3ab%2ac%3fd%22e%3cf%3eg%7ch%5ci"},
		{"tab\there\x00nul", "tab%09here%00nul", "tab%09here%00nul"},
		{"Jürgen", "^j%c3%bcrgen", "J%c3%bcrgen"},
		{"100%", "100%25", "100%25"},
		{"^x", "%5ex", "%5ex"},
		{"a~b", "a%7eb", "a%7eb"},
	} {
		if got := EncodeName(tc.id); got != tc.name {
			t.Errorf("EncodeName(%q) = %q, want %q", tc.id, got, tc.name)
		}
		if got := EncodeDir(tc.id); got != tc.dir {
			t.Errorf("EncodeDir(%q) = %q, want %q", tc.id, got, tc.dir)
		}
		if got, ok := DecodeName(tc.name); !ok || got != tc.id {
			t.Errorf("DecodeName(%q) = %q, %v; want %q", tc.name, got, ok, tc.id)
		}
		if got, ok := DecodeDir(tc.dir); !ok || got != tc.id {
			t.Errorf("DecodeDir(%q) = %q, %v; want %q", tc.dir, got, ok, tc.id)
		}
	}
}

func TestDecodeNameRejects(t *testing.T) {
	for _, name := range []string{
		"", "Foo", "a/b", "%", "%4", "%zz", "%4A", "^", "^A", "^1", "x~0123456789abcdef",
		"a%2db",   // '-' is plain; EncodeName never escapes it
		"con",     // EncodeName escapes a device name
		"%2e",     // fine
		"a b",     // space must be escaped
		".hidden", // leading dot must be escaped
	} {
		id, ok := DecodeName(name)
		if name == "%2e" {
			if !ok || id != "." {
				t.Errorf("DecodeName(%q) = %q, %v", name, id, ok)
			}
			continue
		}
		if ok {
			t.Errorf("DecodeName(%q) = %q, true; EncodeName never produces it", name, id)
		}
	}
	if _, ok := DecodeDir("Foo"); !ok {
		t.Errorf("DecodeDir keeps upper case")
	}
}

func TestEncodeNameLong(t *testing.T) {
	long := strings.Repeat("x", maxName+1)
	a, b := EncodeName(long), EncodeName(long+"y")
	for _, n := range []string{a, b} {
		if len(n)+len(Ext) > 255 || len(n) > maxName || !strings.Contains(n, "~") {
			t.Errorf("long name %q (%d bytes)", n, len(n))
		}
		if _, ok := DecodeName(n); ok {
			t.Errorf("hashed name %q decodes", n)
		}
	}
	if a == b {
		t.Errorf("two long identifiers share a name")
	}
	// A cut never splits an escape.
	for pad := 0; pad < 4; pad++ {
		id := strings.Repeat("a", pad) + strings.Repeat("É/", 120)
		n := EncodeName(id)
		prefix, _, _ := strings.Cut(n, "~")
		if strings.HasSuffix(prefix, "%") || strings.HasSuffix(prefix, "^") || len(prefix) >= 2 && prefix[len(prefix)-2] == '%' {
			t.Errorf("cut inside an escape: %q", prefix)
		}
		checkSafe(t, id, n, false)
	}
}

func TestPathParsePath(t *testing.T) {
	for _, k := range []Key{
		{"sentryIssue", "4605173695"},
		{"sentryUser", "John.Doe@example.com"},
		{"project", "CON"},
		{"a/b", "../../etc/passwd"},
	} {
		p := Path(k)
		parts := strings.Split(p, "/")
		if parts[0] != Dir || len(parts) != 3 || parts[1] == ".." || parts[1] == "." || strings.HasPrefix(parts[2], ".") {
			t.Errorf("Path(%v) = %q escapes the catalog", k, p)
		}
		got, ok := ParsePath(p)
		if !ok || got != k {
			t.Errorf("ParsePath(%q) = %v, %v; want %v", p, got, ok, k)
		}
	}
	for _, p := range []string{"catalog/x.json", "other/a/b.json", "catalog/a/b.txt", "catalog/a/b/c.json", "catalog/a/B.json"} {
		if k, ok := ParsePath(p); ok {
			t.Errorf("ParsePath(%q) = %v, true", p, k)
		}
	}
	if CheckIdentifier("") == nil || CheckIdentifier("x") != nil {
		t.Errorf("CheckIdentifier")
	}
}

var reservedNames = map[string]bool{}

func init() {
	for _, n := range []string{"con", "prn", "aux", "nul"} {
		reservedNames[n] = true
	}
	for _, p := range []string{"com", "lpt"} {
		for _, d := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³"} {
			reservedNames[p+d] = true
		}
	}
	reservedNames["conin$"], reservedNames["conout$"] = true, true
}

// checkSafe asserts that name (EncodeName or EncodeDir of id) is a safe
// file name on Linux, macOS and Windows.
func checkSafe(t *testing.T, id, name string, dir bool) {
	t.Helper()
	file := name
	if !dir {
		file += Ext
	}
	if name == "" {
		t.Errorf("%q encodes to an empty name", id)
		return
	}
	if len(file) > 255 {
		t.Errorf("%q: %d bytes is too long", id, len(file))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c >= 0x7f || strings.IndexByte(`/\:*?"<>|`, c) >= 0 {
			t.Errorf("%q encodes to %q with unsafe byte %q", id, name, c)
			return
		}
		if !dir && c >= 'A' && c <= 'Z' {
			t.Errorf("%q encodes to %q with upper case", id, name)
			return
		}
	}
	if name[0] == '.' || name[len(name)-1] == '.' || name[0] == ' ' || name[len(name)-1] == ' ' {
		t.Errorf("%q encodes to %q: leading or trailing dot or space", id, name)
	}
	stem, _, _ := strings.Cut(strings.ToLower(name), ".")
	stem = strings.TrimRight(stem, " ")
	if reservedNames[stem] {
		t.Errorf("%q encodes to the Windows device name %q", id, name)
	}
	if !utf8.ValidString(name) {
		t.Errorf("%q encodes to invalid UTF-8 %q", id, name)
	}
}

func TestEncodeNameSafe(t *testing.T) {
	ids := []string{"CON", "con", "Con.txt", "lpt1", "LPT1.log", "com9", "nul.", " a", "a ", ".", "..",
		"...", "a\x00b", "\x7f", "é", "\u202e", strings.Repeat("Ab/", 200), "conin$", "CONOUT$"}
	for c := 0; c < 256; c++ {
		ids = append(ids, string([]byte{byte(c)}), "a"+string([]byte{byte(c)}), string([]byte{byte(c)})+"a")
	}
	for _, id := range ids {
		n := EncodeName(id)
		checkSafe(t, id, n, false)
		checkSafe(t, id, EncodeDir(id), true)
		if !strings.Contains(n, "~") {
			if got, ok := DecodeName(n); !ok || got != id {
				t.Errorf("DecodeName(EncodeName(%q)) = %q, %v", id, got, ok)
			}
		}
	}
}

func TestEncodeNameDistinct(t *testing.T) {
	seen := map[string]string{}
	ids := []string{"Foo", "foo", "FOO", "fOo", "^foo", "%5efoo", "a.b", "a%2eb", ".a", "%2ea",
		"con", "CON", "%63on", "a b", "a%20b", "x~y", "É", "é", "\xc3\x89"}
	for c := 0; c < 256; c++ {
		ids = append(ids, string([]byte{byte(c)}))
	}
	for _, id := range ids {
		n := strings.ToLower(EncodeName(id)) // case-insensitive file systems
		if prev, ok := seen[n]; ok && prev != id {
			t.Errorf("%q and %q both encode to %q (case-insensitively)", prev, id, n)
		}
		seen[n] = id
	}
}

// FuzzEncodeName checks every property of entity file names on arbitrary
// pairs of identifiers.
func FuzzEncodeName(f *testing.F) {
	for _, s := range [][2]string{
		{"python-fastapi", "Python-Fastapi"}, {"4605173695", "4605173695 "}, {"john@example.com", "John@Example.com"},
		{"CON", "con"}, {"con.txt", "CON.TXT"}, {"LPT1", "lpt1"}, {".", ".."}, {"a.", ".a"},
		{"a/b", "a\\b"}, {"%2e", "."}, {"^a", "A"}, {strings.Repeat("x", 300), strings.Repeat("x", 301)},
		{strings.Repeat("É", 150), strings.Repeat("é", 150)}, {"\x00", "\xff"}, {"com¹", "COM¹"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if a == "" || b == "" {
			return // identifiers are never empty (CheckIdentifier)
		}
		na, nb := EncodeName(a), EncodeName(b)
		checkSafe(t, a, na, false)
		checkSafe(t, a, EncodeDir(a), true)
		hashed := strings.Contains(na, "~")
		if len(na) > maxName || hashed && len(a) <= maxName/3 {
			// Every byte encodes to at most 3, so short identifiers never hash.
			t.Errorf("EncodeName(%q) = %q: %d bytes, hashed %v", a, na, len(na), hashed)
		}
		if !hashed {
			if got, ok := DecodeName(na); !ok || got != a {
				t.Errorf("DecodeName(%q) = %q, %v; want %q", na, got, ok, a)
			}
		} else if _, ok := DecodeName(na); ok {
			t.Errorf("hashed name %q decodes", na)
		}
		if d := EncodeDir(a); !strings.Contains(d, "~") {
			if got, ok := DecodeDir(d); !ok || got != a {
				t.Errorf("DecodeDir(%q) = %q, %v; want %q", d, got, ok, a)
			}
		}
		if a != b && strings.EqualFold(na, nb) {
			t.Errorf("%q and %q collide (case-insensitively) as %q / %q", a, b, na, nb)
		}
		if a == b && na != nb {
			t.Errorf("EncodeName is not deterministic")
		}
		if a != b && EncodeDir(a) == EncodeDir(b) {
			t.Errorf("EncodeDir(%q) == EncodeDir(%q)", a, b)
		}
		// Names that DecodeName accepts come from exactly that identifier.
		if id, ok := DecodeName(a); ok && EncodeName(id) != a {
			t.Errorf("DecodeName(%q) = %q but EncodeName(%q) = %q", a, id, id, EncodeName(id))
		}
	})
}
