package gitstore

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Change sets (or, with Delete, removes) the file at Path, a slash path
// relative to the root. Deleting a directory removes everything under it;
// deleting a missing path is not an error.
type Change struct {
	Path    string
	Content []byte
	// Hash, when set, is BlobHash(Content), which the caller computed
	// already (a sync hashes every entity to compare it with HEAD).
	Hash   plumbing.Hash
	Delete bool
}

// CommitRequest describes one commit.
type CommitRequest struct {
	Parent  plumbing.Hash          // expected current commit of Ref (zero = unborn)
	Ref     plumbing.ReferenceName // branch to move; "" = HEAD (followed if symbolic)
	Changes []Change
	// Spool, when set, holds blobs of Changes already written (see
	// Spool); the commit publishes it and stores only the other objects.
	// A spooled change's Content, when set, is used for the checkout.
	Spool     *Spool
	Message   string
	Author    object.Signature // zero When means now
	Committer object.Signature // zero value means the author
}

// packThreshold is where one packfile beats many loose objects: above it,
// loose objects cost an inode and a rename each and slow every later read.
const packThreshold = 256

// testHookBeforeCAS runs after the journal is written and before the ref
// moves, testHookAfterCAS after the ref moved and before the worktree
// follows; an error stops the commit there as a crash would.
var testHookBeforeCAS, testHookAfterCAS func() error

type pendingObj struct {
	typ  plumbing.ObjectType
	data []byte
}

// objSet is the set of objects a commit introduces, kept in memory so the
// worktree update can use contents without reading them back. Only those
// in order are written (spooled blobs are in m for the checkout only).
type objSet struct {
	order   []plumbing.Hash
	m       map[plumbing.Hash]pendingObj
	spooled *Spool
}

func (o *objSet) add(h plumbing.Hash, t plumbing.ObjectType, data []byte) plumbing.Hash {
	if h.IsZero() {
		h = hashObject(t, data)
	}
	if _, ok := o.m[h]; !ok {
		o.m[h] = pendingObj{t, data}
		o.order = append(o.order, h)
	}
	return h
}

type changeNode struct {
	files map[string]*Change
	dirs  map[string]*changeNode
}

func newChangeNode() *changeNode {
	return &changeNode{files: map[string]*Change{}, dirs: map[string]*changeNode{}}
}

func buildChangeTree(changes []Change) (*changeNode, error) {
	root := newChangeNode()
	for i := range changes {
		c := &changes[i]
		if err := checkPath(c.Path); err != nil {
			return nil, err
		}
		n, dirs := root, strings.Split(c.Path, "/")
		for _, d := range dirs[:len(dirs)-1] {
			if n.dirs[d] == nil {
				n.dirs[d] = newChangeNode()
			}
			n = n.dirs[d]
		}
		name := dirs[len(dirs)-1]
		if n.files[name] != nil {
			return nil, fmt.Errorf("path %q appears twice in the change set", c.Path)
		}
		n.files[name] = c
	}
	return root, nil
}

// buildTree rewrites the tree oldHash with the changes under n. Only trees
// on changed paths are read and re-encoded; untouched subtrees keep their
// ids. empty reports that nothing is left (git stores no empty subtrees).
func (s *Store) buildTree(ctx context.Context, oldHash plumbing.Hash, n *changeNode, prefix string, objs *objSet) (plumbing.Hash, bool, error) {
	if err := ctx.Err(); err != nil {
		return plumbing.ZeroHash, false, err
	}
	old, err := s.readTree(oldHash)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	fail := func(name, why string) (plumbing.Hash, bool, error) {
		return plumbing.ZeroHash, false, fmt.Errorf("%s%s: %s", prefix, name, why)
	}
	repl := map[string]*Entry{} // nil value: remove
	for name, ch := range n.files {
		oe, has := FindEntry(old, name)
		sub := n.dirs[name]
		switch {
		case ch.Delete:
			if has && sub == nil {
				repl[name] = nil
			}
			continue
		case sub != nil:
			return fail(name, "both a file and a directory in the change set")
		case has && isDir(oe):
			return fail(name, "is a directory; delete it before writing a file there")
		}
		h := ch.Hash
		if h.IsZero() {
			h = BlobHash(ch.Content)
		}
		mode := filemode.Regular
		if has && oe.Mode == filemode.Executable {
			mode = filemode.Executable
		}
		if has && oe.Hash == h && oe.Mode == mode {
			continue
		}
		switch {
		case objs.spooled.Has(h):
			if len(ch.Content) > 0 {
				objs.m[h] = pendingObj{plumbing.BlobObject, ch.Content}
			}
		case len(ch.Content) == 0 && h != emptyBlob:
			return fail(name, "no content for blob "+h.String())
		default:
			objs.add(h, plumbing.BlobObject, ch.Content)
		}
		repl[name] = &Entry{Name: name, Hash: h, Mode: mode}
	}
	for name, sub := range n.dirs {
		oe, has := FindEntry(old, name)
		if f := n.files[name]; f != nil && f.Delete {
			has = false // replaced whole
		} else if has && !isDir(oe) {
			return fail(name, "is a file, cannot hold paths below it")
		}
		base := plumbing.ZeroHash
		if has {
			base = oe.Hash
		}
		h, empty, err := s.buildTree(ctx, base, sub, prefix+name+"/", objs)
		switch {
		case err != nil:
			return plumbing.ZeroHash, false, err
		case empty:
			if _, ok := FindEntry(old, name); ok {
				repl[name] = nil
			}
		case !has || oe.Hash != h:
			repl[name] = &Entry{Name: name, Hash: h, Mode: filemode.Dir}
		}
	}
	if len(repl) == 0 {
		return oldHash, len(old) == 0, nil
	}
	// old is already in tree order; merging the few new entries in avoids
	// re-sorting a 100k-entry directory on every sync.
	var added []Entry
	for _, e := range repl {
		if e != nil {
			added = append(added, *e)
		}
	}
	sortEntries(added)
	out := make([]Entry, 0, len(old)+len(added))
	for _, e := range old {
		if _, ok := repl[e.Name]; ok {
			continue
		}
		for ; len(added) > 0 && compareEntries(added[0], e) < 0; added = added[1:] {
			out = append(out, added[0])
		}
		out = append(out, e)
	}
	if out = append(out, added...); len(out) == 0 {
		return plumbing.ZeroHash, true, nil
	}
	h := objs.add(plumbing.ZeroHash, plumbing.TreeObject, encodeTree(out))
	s.trees.put(h, out) // the worktree diff and the next sync take it parsed
	return h, false, nil
}

// Commit records req.Changes on top of req.Parent as one commit and moves
// req.Ref to it if it still points at req.Parent (else ErrRefMoved). When
// the ref is checked out in a worktree, the changed files and their index
// entries are updated too, after the changed paths are checked again
// under index.lock as CheckWorktree does (ErrDirty). A pending
// interrupted update is recovered first.
func (s *Store) Commit(ctx context.Context, req CommitRequest) (plumbing.Hash, error) {
	if err := s.Recover(); err != nil {
		return plumbing.ZeroHash, err
	}
	target, err := s.targetRef(req.Ref)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	// Checked again under the ref lock; failing early avoids writing
	// objects for a commit that cannot land.
	if err := s.expectRef(target, req.Parent); err != nil {
		return plumbing.ZeroHash, err
	}
	c := &object.Commit{Author: req.Author, Committer: req.Committer, Message: req.Message}
	if c.Author.When.IsZero() {
		c.Author.When = time.Now()
	}
	if c.Committer.Name == "" && c.Committer.Email == "" {
		c.Committer = c.Author
	}
	if c.Committer.When.IsZero() {
		c.Committer.When = time.Now()
	}
	for _, sig := range []*object.Signature{&c.Author, &c.Committer} {
		sig.Name, sig.Email = strings.TrimSpace(sig.Name), strings.TrimSpace(sig.Email)
		if err := checkSignature(*sig); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("signature %q <%s>: %w", sig.Name, sig.Email, err)
		}
	}
	root, err := buildChangeTree(req.Changes)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	oldTree, err := s.commitTree(req.Parent)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	// Sized for the blobs not spooled, a few trees and the commit.
	n := max(len(req.Changes)-req.Spool.Len(), 0) + 8
	objs := &objSet{m: make(map[plumbing.Hash]pendingObj, n), order: make([]plumbing.Hash, 0, n), spooled: req.Spool}
	newTree, empty, err := s.buildTree(ctx, oldTree, root, "", objs)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if empty {
		newTree = objs.add(plumbing.ZeroHash, plumbing.TreeObject, nil)
	}
	if newTree == oldTree {
		return plumbing.ZeroHash, ErrNoChanges
	}
	c.TreeHash = newTree
	if !req.Parent.IsZero() {
		c.ParentHashes = []plumbing.Hash{req.Parent}
	}
	if c.Message != "" && !strings.HasSuffix(c.Message, "\n") {
		c.Message += "\n"
	}
	o := &plumbing.MemoryObject{}
	if err := c.Encode(o); err != nil {
		return plumbing.ZeroHash, err
	}
	r, _ := o.Reader()
	data, _ := io.ReadAll(r)
	commit := objs.add(plumbing.ZeroHash, plumbing.CommitObject, data)
	// Git convention (and better locality for readers): commit, trees, blobs.
	slices.SortStableFunc(objs.order, func(a, b plumbing.Hash) int { return int(objs.m[a].typ) - int(objs.m[b].typ) })
	if err := ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := req.Spool.publish(); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing objects: %w", err)
	}
	if err := s.writeObjects(objs); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing objects: %w", err)
	}
	var upd *update
	if s.checkedOut(target) {
		if upd, err = s.planUpdate(oldTree, newTree, objs, nil); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	subject, _, _ := strings.Cut(strings.TrimSpace(req.Message), "\n")
	reflogMsg := "commit: " + subject
	if req.Parent.IsZero() {
		reflogMsg = "commit (initial): " + subject
	}
	landed, err := s.land(target, req.Parent, commit, upd, c.Committer, reflogMsg)
	if !landed {
		return plumbing.ZeroHash, err
	}
	return commit, err
}

// land is the one way a ref moves under a worktree, for Commit and
// MoveRef: it moves target from old to new by compare-and-swap and, when
// upd is not nil, brings the worktree and the index along. index.lock is
// taken first, as git checkout does, so that a git command holding it
// stops the move before the ref moves, not the worktree update after, and
// no git add lands between the read of the index and its replacement.
// landed says whether the ref moved; an error after it did is a
// WorktreeError (Recover finishes the update).
func (s *Store) land(target plumbing.ReferenceName, old, new plumbing.Hash, upd *update, sig object.Signature, msg string) (landed bool, err error) {
	var ilock *heldLock
	if upd != nil {
		if ilock, err = s.lockIndex(); err != nil {
			return false, err
		}
		defer ilock.release()
		// The caller's CheckWorktree ran before the trees and objects were
		// built and written; a file edited, created or staged since then
		// is caught here, under index.lock, before the ref moves. The
		// index is cached, so this costs an lstat per changed path.
		paths := make([]string, len(upd.ops))
		for i, op := range upd.ops {
			paths[i] = op.Path
		}
		if err = s.checkWorktree(old, paths); err == nil {
			err = s.writeJournal(journal{old: old, new: new})
		}
		if err != nil {
			return false, err
		}
	}
	if testHookBeforeCAS != nil {
		if err := testHookBeforeCAS(); err != nil {
			return false, err
		}
	}
	if err := s.casRef(target, old, new, sig, msg); err != nil {
		if upd != nil {
			s.removeJournal()
		}
		return false, err
	}
	if upd == nil {
		return true, nil
	}
	if testHookAfterCAS != nil {
		if err := testHookAfterCAS(); err != nil {
			return true, err
		}
	}
	// From here on the move stands; nothing is cancelled, so the
	// worktree is not left half-updated.
	if err := upd.apply(ilock); err != nil {
		if _, ok := err.(*keptFiles); ok {
			// Done but for the user's files: a journal would have
			// Recover overwrite them.
			s.removeJournal()
		}
		return true, &WorktreeError{Ref: target, Commit: new, Err: err}
	}
	return true, s.removeJournal()
}

func (s *Store) writeObjects(objs *objSet) error {
	if len(objs.order) > packThreshold {
		return s.writePack(objs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range objs.order {
		if s.st.HasEncodedObject(h) == nil {
			continue
		}
		o := objs.m[h]
		if got, err := s.st.SetEncodedObject(memObject(o.typ, o.data)); err != nil || got != h {
			return fmt.Errorf("storing %s: got %s, %v", h, got, err)
		}
	}
	return nil
}
