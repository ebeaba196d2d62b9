//go:build linux

package gitstore

import (
	"os"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// fillStat records the stat fields git keeps in the index so that git (and
// CheckWorktree) can tell an untouched file without rehashing it.
func fillStat(ie *index.Entry, fi os.FileInfo) {
	ie.ModifiedAt, ie.Size = fi.ModTime(), uint32(fi.Size())
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	ie.ModifiedAt = time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec))
	ie.CreatedAt = time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec))
	ie.Size = uint32(st.Size)
	ie.Dev = uint32(st.Dev)
	ie.Inode = uint32(st.Ino)
	ie.UID = st.Uid
	ie.GID = st.Gid
}

// statKey identifies a version of a file (the index) by its stat data;
// git replaces the index by rename, so a rewrite changes the inode too.
func statKey(fi os.FileInfo) (indexKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return indexKey{}, false
	}
	return indexKey{
		size:  uint64(fi.Size()),
		ino:   uint64(st.Ino),
		mtime: fi.ModTime().UnixNano(),
		ctime: time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)).UnixNano(),
	}, true
}

// linked reports whether a file has more than one name.
func linked(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink > 1
}
