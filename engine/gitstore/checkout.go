package gitstore

import (
	"os"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// writeFile writes data to p and, when final is not "", renames p to
// final; then it records the file's stat data in ie. A new file (final
// "") is created exclusively; a temp name is truncated, since a crash may
// have left it. The stat comes after the rename, which changes ctime, and
// git compares ctime. On error p is removed: no half-written file remains.
func writeFile(p, final string, data []byte, perm os.FileMode, ie *index.Entry) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if final == "" {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(p, flags, perm)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil && final != "" {
		err = os.Rename(p, final)
	}
	if err != nil {
		f.Close()
		os.Remove(p)
		return err
	}
	fi, err := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		fillStat(ie, fi)
	}
	return err
}
