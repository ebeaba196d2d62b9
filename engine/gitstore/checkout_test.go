//go:build unix

package gitstore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)

	// A staged file: created exclusively, stat data as lstat reports it.
	p := filepath.Join(dir, "new.json")
	var ie index.Entry
	if err := writeFile(p, "", []byte("data"), 0o777, &ie); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v, want 0755 (0777 less the umask)", fi.Mode())
	}
	var want index.Entry
	fillStat(&want, fi)
	if ie != want {
		t.Fatalf("stat data %+v, lstat says %+v", ie, want)
	}
	if err := writeFile(p, "", []byte("again"), 0o666, &ie); err == nil {
		t.Fatal("staged write over an existing file succeeded")
	}
	if b, _ := os.ReadFile(p); string(b) != "data" {
		t.Fatalf("existing file changed to %q", b)
	}

	// Through a temp name (a stale one is replaced) and a rename: the stat
	// data, ctime included, is the final file's.
	final := filepath.Join(dir, "f.json")
	tmp := tmpName(final)
	os.WriteFile(tmp, []byte("stale and longer"), 0o644)
	if err := writeFile(tmp, final, []byte("v2"), 0o666, &ie); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temp file left: %v", err)
	}
	fi, _ = os.Lstat(final)
	fillStat(&want, fi)
	if ie != want || fi.Mode().Perm() != 0o644 {
		t.Fatalf("stat data %+v, lstat says %+v (mode %v)", ie, want, fi.Mode())
	}
	if b, _ := os.ReadFile(final); string(b) != "v2" {
		t.Fatalf("content %q", b)
	}

	// A failed rename leaves no temp file behind.
	os.Mkdir(filepath.Join(dir, "isdir"), 0o777)
	os.WriteFile(filepath.Join(dir, "isdir", "x"), nil, 0o644)
	bad := filepath.Join(dir, "isdir")
	if err := writeFile(tmpName(bad), bad, []byte("x"), 0o666, &ie); err == nil {
		t.Fatal("rename over a non-empty directory succeeded")
	}
	if _, err := os.Lstat(tmpName(bad)); !os.IsNotExist(err) {
		t.Fatalf("temp file left after a failed rename: %v", err)
	}
}
