//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package gitstore

import "os"

func tryLock(f *os.File) (bool, error) { return false, errLockUnsupported }

func unlockFile(f *os.File) {}
