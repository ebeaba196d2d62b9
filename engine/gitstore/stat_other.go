//go:build !linux

package gitstore

import (
	"os"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// fillStat without ctime/inode data: git then falls back to rehashing
// when those fields differ, which is slower but still correct.
func fillStat(ie *index.Entry, fi os.FileInfo) {
	ie.ModifiedAt = fi.ModTime()
	ie.CreatedAt = fi.ModTime()
	ie.Size = uint32(fi.Size())
}

// statKey has no inode or ctime to go by here, so the index is not cached.
func statKey(fi os.FileInfo) (indexKey, bool) { return indexKey{}, false }

// linked reports whether a file has more than one name; unknown here.
func linked(fi os.FileInfo) bool { return false }
