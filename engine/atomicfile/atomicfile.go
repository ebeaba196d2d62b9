// Package atomicfile replaces a file whole: readers see the old content or
// the new, and a crash leaves no half-written file. It is how gitalog
// writes its own files (dumps, the item cache); files git also writes (the
// index, refs) go through gitstore's lock-file protocol instead.
package atomicfile

import (
	"os"
	"path/filepath"
)

// File is a replacement for a file being written: it goes under its name
// only when Commit succeeds, so a file written in a stream (a dump's
// items, say) gets the same guarantee as one written at once.
type File struct {
	*os.File
	path string
	perm os.FileMode
}

// Create starts a replacement for path (mode perm), as a temporary file in
// the same directory so that the rename cannot cross file systems.
func Create(path string, perm os.FileMode) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return nil, err
	}
	return &File{File: tmp, path: path, perm: perm}, nil
}

// Commit puts the written content in place of path. On error nothing is
// left behind and path is as it was.
func (f *File) Commit() error {
	err := f.Chmod(f.perm)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Abort drops the replacement; path is left as it was.
func (f *File) Abort() {
	f.Close()
	os.Remove(f.Name())
}

// Write replaces path with data (mode perm).
func Write(path string, data []byte, perm os.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}
