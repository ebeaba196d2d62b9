package review

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
)

// LogEntry is one commit that created, changed or deleted an entity.
type LogEntry struct {
	Commit  plumbing.Hash
	Author  string
	When    time.Time // author date
	Subject string
	Change  EntityChange
}

// ErrNoHistory is returned by Log for an entity that never existed.
var ErrNoHistory = errors.New("no history")

// History is an entity's log.
type History struct {
	Entries []LogEntry // newest first
	// Boundary is the commit where a shallow clone's history stops: its
	// parents were not fetched, so whether it or anything before it touched
	// the entity is unknown. Zero when the history is complete.
	Boundary plumbing.Hash
	// AtBoundary is the entity as the boundary commit has it, when it has
	// it: all that is known of its earlier history, and in a clone of
	// depth 1 the only sign that it exists at all.
	AtBoundary *LogEntry
}

// Log returns the commits that created, changed or deleted the entity, newest
// first, following first parents from HEAD. A commit is skipped as soon as
// its catalog tree, then its blueprint's tree, equals its parent's; only
// then is the file looked up, and only changed versions are decoded. In a
// shallow clone the walk stops at the boundary, which History names.
func (r *Repo) Log(ctx context.Context, key catalog.Key) (*History, error) {
	head, err := r.head()
	if err != nil {
		return nil, err
	}
	shallow, err := r.shallow()
	if err != nil {
		return nil, err
	}
	p := catalog.Path(key)
	bpDir := catalog.Dir + "/" + catalog.EncodeDir(key.Blueprint)
	h := &History{}
	cur, err := r.version(head, bpDir, p)
	if err != nil {
		return nil, err
	}
	for cur != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if shallow[cur.commit] {
			// Its parents are not here: comparing with nothing would
			// report the entity as created in a commit that may not
			// have touched it.
			h.Boundary = cur.commit
			break
		}
		c, err := r.commit(cur.commit)
		if err != nil {
			return nil, err
		}
		var par *version
		if len(c.ParentHashes) > 0 {
			if par, err = r.version(c.ParentHashes[0], bpDir, p); err != nil {
				return nil, err
			}
		}
		parOrEmpty := par
		if parOrEmpty == nil {
			parOrEmpty = &version{}
		}
		if cur.catalog != parOrEmpty.catalog && cur.bpHash() != parOrEmpty.bpHash() {
			a, aok, err := parOrEmpty.file()
			if err != nil {
				return nil, err
			}
			b, bok, err := cur.file()
			if err != nil {
				return nil, err
			}
			if aok != bok || a != b {
				var from *gitstore.Snapshot
				if par != nil {
					from = par.sn
				} else if from, err = r.Store.Snapshot(plumbing.ZeroHash); err != nil {
					return nil, err
				}
				ec, err := compareFile(from, cur.sn, p, key.Blueprint, aok, bok)
				if err != nil {
					return nil, err
				}
				subject, _, _ := strings.Cut(c.Message, "\n")
				h.Entries = append(h.Entries, LogEntry{Commit: c.Hash, Author: c.Author.Name, When: c.Author.When,
					Subject: strings.TrimSpace(subject), Change: ec})
			}
		}
		cur = par
	}
	if !h.Boundary.IsZero() {
		if _, ok, _ := cur.file(); ok {
			c, err := r.commit(cur.commit)
			if err != nil {
				return nil, err
			}
			data, err := cur.sn.ReadFile(p)
			if err != nil {
				return nil, err
			}
			subject, _, _ := strings.Cut(c.Message, "\n")
			h.AtBoundary = &LogEntry{Commit: c.Hash, Author: c.Author.Name, When: c.Author.When,
				Subject: strings.TrimSpace(subject), Change: EntityChange{Title: entityTitle(data)}}
		}
	}
	if len(h.Entries) > 0 || h.AtBoundary != nil {
		return h, nil
	}
	if !h.Boundary.IsZero() {
		return nil, fmt.Errorf("%w for %s: entity %s/%s never existed in the history of this shallow clone, which stops at %s; %s", ErrNoHistory, p, key.Blueprint, key.Identifier, short(h.Boundary), unshallowHint)
	}
	return nil, fmt.Errorf("%w for %s: entity %s/%s never existed in HEAD's first-parent history", ErrNoHistory, p, key.Blueprint, key.Identifier)
}

const unshallowHint = `"git fetch --unshallow" fetches the rest`

// version is one commit's view of an entity's path, resolved lazily.
type version struct {
	commit      plumbing.Hash
	sn          *gitstore.Snapshot
	catalog     plumbing.Hash // zero when absent
	bpDir, path string

	bpLooked bool
	bp       plumbing.Hash // zero when absent

	looked bool
	blob   plumbing.Hash
	exists bool
}

func (r *Repo) version(commit plumbing.Hash, bpDir, p string) (*version, error) {
	sn, err := r.Store.Snapshot(commit)
	if err != nil {
		return nil, err
	}
	v := &version{commit: commit, sn: sn, bpDir: bpDir, path: p}
	if e, ok := sn.Lookup(catalog.Dir); ok {
		v.catalog = e.Hash
	}
	return v, nil
}

// bpHash is the blueprint folder's tree, looked up on first use only.
func (v *version) bpHash() plumbing.Hash {
	if !v.bpLooked && v.sn != nil && !v.catalog.IsZero() {
		if e, ok := v.sn.Lookup(v.bpDir); ok {
			v.bp = e.Hash
		}
	}
	v.bpLooked = true
	return v.bp
}

func (v *version) file() (plumbing.Hash, bool, error) {
	if v.sn == nil || v.bpHash().IsZero() {
		return plumbing.ZeroHash, false, nil
	}
	if !v.looked {
		e, ok := v.sn.Lookup(v.path)
		v.looked, v.exists = true, ok && isFile(e)
		if v.exists {
			v.blob = e.Hash
		}
	}
	return v.blob, v.exists, nil
}

// RenderLog writes an entity's history for a terminal: per commit its short
// hash, date and subject, then what changed (as in RenderText).
func RenderLog(w io.Writer, key catalog.Key, h *History) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s/%s (%s)\n", printable(key.Blueprint), printable(key.Identifier), catalog.Path(key))
	for i := range h.Entries {
		e := &h.Entries[i]
		fmt.Fprintf(bw, "\n%s %s %s\n", short(e.Commit), e.When.Format("2006-01-02 15:04:05 -0700"), printable(e.Subject))
		line := fmt.Sprintf("  %s %s", e.Change.Change.mark(), e.Change.Change)
		if t := titleText(e.Change.Title); t != "" {
			line += "  " + t
		}
		fmt.Fprintln(bw, line)
		writeFields(bw, &e.Change, "      ")
	}
	if e := h.AtBoundary; e != nil {
		fmt.Fprintf(bw, "\n%s %s %s\n", short(e.Commit), e.When.Format("2006-01-02 15:04:05 -0700"), printable(e.Subject))
		line := fmt.Sprintf("  present at %s (the shallow boundary; its earlier history is not in this clone)", short(e.Commit))
		if t := titleText(e.Change.Title); t != "" {
			line += "  " + t
		}
		fmt.Fprintln(bw, line)
	}
	if !h.Boundary.IsZero() {
		fmt.Fprintf(bw, "\nHistory stops at %s, the boundary of this shallow clone; %s.\n", short(h.Boundary), unshallowHint)
	}
	return bw.Flush()
}

// entityTitle is a file's title, or nil when it cannot be decoded: the
// title only decorates the line.
func entityTitle(data []byte) any {
	e, err := catalog.Decode(data)
	if err != nil {
		return nil
	}
	return e.Title
}
