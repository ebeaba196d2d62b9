package catalog

import (
	"slices"
	"testing"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// A managed list as the sync writes it, and as a hand may leave it.
func TestParseManaged(t *testing.T) {
	for _, c := range []struct {
		in   string
		want StemSet
	}{
		{"", StemSet{}},
		{"a\nb\nc\n", StemSet{"a", "b", "c"}},
		{"c\r\n\n a \nb\na\nc", StemSet{"a", "b", "c"}},
		{"12\n123\n12\n1", StemSet{"1", "12", "123"}},
	} {
		got := parseManaged([]byte(c.in))
		if !slices.Equal(got, c.want) {
			t.Errorf("parseManaged(%q) = %q, want %q", c.in, got, c.want)
		}
		for _, s := range c.want {
			if !got.Has(s) {
				t.Errorf("parseManaged(%q).Has(%q) = false", c.in, s)
			}
		}
		if got.Has("zz") || got.Has("") {
			t.Errorf("parseManaged(%q) has what it does not list", c.in)
		}
	}
}

// lookup finds a stem's file in a directory's tree order, where "12.json"
// comes before "123.json" and a directory sorts as if its name ended in /.
func TestDirFilesLookup(t *testing.T) {
	h := func(b byte) plumbing.Hash { return plumbing.Hash{b} }
	d := DirFiles{
		{Name: "1-2.json", Hash: h(1), Mode: filemode.Regular},
		{Name: "12.json", Hash: h(2), Mode: filemode.Regular},
		{Name: "123.json", Hash: h(3), Mode: filemode.Regular},
		{Name: "a.json.json", Hash: h(5), Mode: filemode.Regular},
		{Name: "a.json", Hash: h(4), Mode: filemode.Dir}, // "a.json/" sorts after "a.json.json"
		{Name: "b.txt", Hash: h(6), Mode: filemode.Regular},
	}
	if !slices.IsSortedFunc(d, func(a, b gitstore.Entry) int { return gitCompare(a, b) }) {
		t.Fatal("fixture is not in git order")
	}
	for stem, want := range map[string]byte{"1-2": 1, "12": 2, "123": 3, "a": 4, "a.json": 5} {
		if got, ok := d.Lookup(stem); !ok || got != h(want) {
			t.Errorf("lookup(%q) = %v, %v", stem, got, ok)
		}
	}
	for _, stem := range []string{"1", "b", "b.txt", "", "13"} {
		if _, ok := d.Lookup(stem); ok {
			t.Errorf("lookup(%q) found a file", stem)
		}
	}
	if _, ok := DirFiles(nil).Lookup("12"); ok {
		t.Error("an empty directory has a file")
	}
}

// gitCompare is git's tree order: names compared as bytes, a directory's
// as if it ended in "/".
func gitCompare(a, b gitstore.Entry) int {
	an, bn := a.Name, b.Name
	if a.Mode == filemode.Dir {
		an += "/"
	}
	if b.Mode == filemode.Dir {
		bn += "/"
	}
	switch {
	case an < bn:
		return -1
	case an > bn:
		return 1
	}
	return 0
}
