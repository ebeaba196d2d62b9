//go:build linux

package gitstore

import (
	"os"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// writeFile writes data to p and, when final is not "", renames p to
// final; then it records the file's stat data in ie. It costs open,
// write, rename, fstat and close, where os.WriteFile plus Lstat adds four
// fcntl calls, an epoll registration and a path lookup per file, which
// adds up over the 100k files of a first checkout. A new file (final ""
// means p is its place in a fresh staging directory) is created
// exclusively; a temp name is truncated, since a crash may have left it.
// The fstat comes after the rename, which changes ctime, and git
// compares ctime. On error p is removed: no half-written file remains.
func writeFile(p, final string, data []byte, perm os.FileMode, ie *index.Entry) error {
	flags := syscall.O_WRONLY | syscall.O_CREAT | syscall.O_CLOEXEC
	if final == "" {
		flags |= syscall.O_EXCL
	} else {
		flags |= syscall.O_TRUNC
	}
	var fd int
	var err error
	for {
		fd, err = syscall.Open(p, flags, uint32(perm.Perm()))
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	fail := func(op, path string, err error) error {
		syscall.Close(fd)
		syscall.Unlink(p)
		return &os.PathError{Op: op, Path: path, Err: err}
	}
	for b := data; len(b) > 0; {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fail("write", p, err)
		}
		if n == 0 {
			return fail("write", p, syscall.EIO)
		}
		b = b[n:]
	}
	if final != "" {
		if err := syscall.Rename(p, final); err != nil {
			return fail("rename", final, err)
		}
		p = final // from here on, an error leaves the complete file in place
	}
	var st syscall.Stat_t
	for {
		err = syscall.Fstat(fd, &st)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		syscall.Close(fd)
		return &os.PathError{Op: "fstat", Path: p, Err: err}
	}
	if err := syscall.Close(fd); err != nil {
		return &os.PathError{Op: "close", Path: p, Err: err}
	}
	fillStatT(ie, &st)
	return nil
}
