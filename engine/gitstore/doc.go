// Package gitstore is gitalog's repository layer. It records each sync as a
// single commit by writing git objects directly (blobs, only the trees on
// changed paths, the commit) and moving the branch with a compare-and-swap,
// so the cost of a sync grows with the size of its change set rather than
// with the size of the catalog.
//
// go-git does the reading and the codecs: objects come from its object
// storage, refs from its reference storage, trees and commits through its
// decoders, the index through plumbing/format/index, the config through
// plumbing/format/config, pack indexes through idxfile, and pushes and
// fetches through the user's own git (so their credentials apply), or
// go-git's transport without one. What is gitalog's own: streaming a
// sync's new blobs into one pack while items flow (Spool), building only
// the changed trees, the journaled worktree update, git's lock-file
// protocol for refs and the index (heldLock), and the refusal of
// repository formats it would corrupt (checkFormat).
//
// Writes are ordered for crash safety: objects first, then index.lock,
// then a journal in the git dir, then the ref, then the changed worktree
// files and the index. Commit and MoveRef share that sequence (land). A
// process killed at any point leaves a repository that `git fsck --strict`
// accepts, and Recover (called by Commit, MoveRef and CheckWorktree)
// redoes the interrupted worktree update from the journal; a failure
// after the ref moved is a WorktreeError.
//
// Callers that may run concurrently with another gitalog process should
// hold Lock around Recover/CheckWorktree/Commit: the ref CAS detects races
// with any git writer, but the worktree update assumes a single writer.
package gitstore
