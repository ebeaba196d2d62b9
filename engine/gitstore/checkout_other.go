//go:build !linux

package gitstore

import (
	"os"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// writeFile writes data to p and, when final is not "", renames p to
// final; then it records the file's stat data in ie. The stat comes after
// the rename, which changes ctime. On error p is removed.
func writeFile(p, final string, data []byte, perm os.FileMode, ie *index.Entry) error {
	if err := os.WriteFile(p, data, perm); err != nil {
		os.Remove(p)
		return err
	}
	if final != "" {
		if err := os.Rename(p, final); err != nil {
			os.Remove(p)
			return err
		}
		p = final
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	fillStat(ie, fi)
	return nil
}
