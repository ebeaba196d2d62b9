package gitstore

import (
	"fmt"
	"io"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// ReadBlobs reads many blobs in one pass, calling fn with each one's
// index in hs and content, in order, from one goroutine. ReadBlob opens
// the packfile afresh for every object (go-git's storage without kept
// descriptors), which costs a catalog of 100k files seconds in open(2);
// this keeps the packs open for the pass, on a storage of its own, so
// the Store's lock is not held meanwhile either.
func (s *Store) ReadBlobs(hs []plumbing.Hash, fn func(i int, data []byte) error) error {
	fs := dotgit.NewRepositoryFilesystem(osfs.New(s.gitDir), osfs.New(s.commonDir))
	st := filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(cache.MiByte),
		filesystem.Options{AlternatesFS: osfs.New("/"), KeepDescriptors: true})
	defer st.Close()
	for i, h := range hs {
		obj, err := st.EncodedObject(plumbing.BlobObject, h)
		if err != nil {
			return fmt.Errorf("object %s: %w", h, err)
		}
		if obj.Size() < 0 || obj.Size() > 1<<31 {
			return fmt.Errorf("object %s: implausible size %d", h, obj.Size())
		}
		r, err := obj.Reader()
		if err != nil {
			return fmt.Errorf("object %s: %w", h, err)
		}
		data := make([]byte, obj.Size())
		_, err = io.ReadFull(r, data)
		r.Close()
		if err != nil {
			return fmt.Errorf("object %s: %w", h, err)
		}
		if err := fn(i, data); err != nil {
			return err
		}
	}
	return nil
}
