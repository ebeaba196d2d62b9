package fanout

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Dir holds the state: Dir/<name>/<shard>.jsonl per fan-out name (a kind,
// or kind.attach), and LastFullPath.
const Dir = ".gitalog/fanout"

// LastFullPath records when the last full refresh completed (RFC 3339, UTC).
const LastFullPath = Dir + "/last-full-refresh"

// DefaultFullRefresh is how often a full refresh happens when the config
// does not say.
const DefaultFullRefresh = 24 * time.Hour

// shards is the number of files a name's entries are spread over: at 100k
// parents about 100 lines a file, so a parent that changed rewrites a
// small file rather than the whole state.
const shards = 1024

// Entry is one parent's stored result.
type Entry struct {
	Request     string          `json:"request"`
	Fingerprint string          `json:"fingerprint"`
	Result      json.RawMessage `json:"result"`
}

// entries are a name's entries by request.
type entries map[string]Entry

// State is the committed state of one commit, and what a sync does with
// it: it is the sentry.Memo of the sync. Safe for concurrent use.
type State struct {
	dir      string        // where it is committed: Dir, or a source's
	commit   plumbing.Hash // the commit it was read from
	old      map[string]entries
	LastFull time.Time // zero: never (or unreadable)
	// Full makes Recall find nothing: every parent is fetched again, and
	// every result stored anew.
	Full bool
	// Problems are lines or files that could not be read; they are
	// ignored (their parents are fetched), and said in the debug log.
	Problems []string

	mu      sync.Mutex
	touched map[string]map[string]*Entry // nil: forget the request's entry
	kept    map[string]map[string]bool
	listed  map[string]int // 1: a run saw a whole parent list; 2: one did not
	// Reused and Stored count Recall hits and Remember calls.
	Reused, Stored int
}

// Read reads the state of snap. A file or line that cannot be read is
// skipped and named in Problems: what it held is fetched again.
func Read(snap *gitstore.Snapshot) (*State, error) {
	return ReadAt(snap, Dir)
}

// ReadAt reads the state kept in dir (a source's own, under
// .gitalog/sources/<name>/fanout, in a catalog with several sources).
func ReadAt(snap *gitstore.Snapshot, dir string) (*State, error) {
	s := &State{dir: dir, commit: snap.Commit()}
	var err error
	s.old, s.Problems, err = readEntries(snap, dir)
	if err != nil {
		return nil, err
	}
	if b, err := snap.ReadFile(s.lastFullPath()); err == nil {
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b))); err == nil {
			s.LastFull = t
		} else {
			s.Problems = append(s.Problems, s.lastFullPath()+": not an RFC 3339 time")
		}
	}
	return s, nil
}

// Dir is where the state is committed.
func (s *State) Dir() string { return s.dir }

func (s *State) lastFullPath() string { return s.dir + "/last-full-refresh" }

func readEntries(snap *gitstore.Snapshot, dir string) (map[string]entries, []string, error) {
	out := map[string]entries{}
	var problems []string
	names, err := snap.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range names {
		if n.Mode != filemode.Dir {
			continue
		}
		files, err := snap.ReadDir(dir + "/" + n.Name)
		if err != nil {
			return nil, nil, err
		}
		es := entries{}
		for _, f := range files {
			if !f.Mode.IsFile() || !strings.HasSuffix(f.Name, ".jsonl") {
				continue
			}
			p := dir + "/" + n.Name + "/" + f.Name
			data, err := snap.ReadFile(p)
			if err != nil {
				return nil, nil, err
			}
			for i, line := range bytes.Split(data, []byte("\n")) {
				if len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				var e Entry
				if err := json.Unmarshal(line, &e); err != nil || e.Request == "" || e.Fingerprint == "" || len(e.Result) == 0 {
					problems = append(problems, fmt.Sprintf("%s:%d: not a fan-out entry", p, i+1))
					continue
				}
				es[e.Request] = e
			}
		}
		out[n.Name] = es
	}
	return out, problems, nil
}

// Due reports whether a full refresh is due at now, every period.
func (s *State) Due(now time.Time, period time.Duration) bool {
	return s.LastFull.IsZero() || !now.Before(s.LastFull.Add(period))
}

// Recall implements sentry.Memo.
func (s *State) Recall(name, request, fp string) ([]byte, bool) {
	if s.Full {
		return nil, false
	}
	e, ok := s.old[name][request]
	if !ok || e.Fingerprint != fp {
		return nil, false
	}
	s.mu.Lock()
	s.Reused++
	if s.touched == nil {
		s.touched = map[string]map[string]*Entry{}
	}
	if s.touched[name] == nil {
		s.touched[name] = map[string]*Entry{}
	}
	s.touched[name][request] = &e
	s.mu.Unlock()
	return e.Result, true
}

// Remember implements sentry.Memo.
func (s *State) Remember(name, request, fp string, result []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.touched == nil {
		s.touched = map[string]map[string]*Entry{}
	}
	if s.touched[name] == nil {
		s.touched[name] = map[string]*Entry{}
	}
	if result == nil {
		s.touched[name][request] = nil
		return
	}
	s.Stored++
	s.touched[name][request] = &Entry{Request: request, Fingerprint: fp, Result: result}
}

// Keep implements sentry.Memo.
func (s *State) Keep(name, request string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kept == nil {
		s.kept = map[string]map[string]bool{}
	}
	if s.kept[name] == nil {
		s.kept[name] = map[string]bool{}
	}
	s.kept[name][request] = true
}

// Listed implements sentry.Memo.
func (s *State) Listed(name string, whole bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listed == nil {
		s.listed = map[string]int{}
	}
	if whole {
		s.listed[name] |= 1
	} else {
		s.listed[name] |= 2
	}
}

// Update says how the state changes in the sync's commit.
type Update struct {
	// Prune lets the entries of parents no run saw go: set only when
	// the sync fetched everything without an error. Even then a name is
	// pruned only when each of its runs went through a whole parent list.
	Prune bool
	// Used are the names the config's resources use; with Prune, the
	// state of any other name goes.
	Used map[string]bool
	// FullAt, when set, is recorded as the last full refresh.
	FullAt time.Time
}

// Changes are the file changes that make snap's state this sync's. snap
// is normally the commit the state was read from; after a push race it
// is the remote's newer one, whose state this sync's results then update.
func (s *State) Changes(snap *gitstore.Snapshot, u Update) ([]gitstore.Change, error) {
	base := s.old
	redo := snap.Commit() != s.commit
	lastFull := u.FullAt
	if redo {
		// The remote's state, with what this sync read on top: the
		// commit it was read from may be one the redo drops (an unpushed
		// sync of this source, reset to the remote), and what it held,
		// reused rather than fetched again this time, must not go with it.
		theirs, _, err := readEntries(snap, s.dir)
		if err != nil {
			return nil, err
		}
		base = make(map[string]entries, len(theirs)+len(s.old))
		for n, es := range theirs {
			base[n] = maps.Clone(es)
		}
		for n, es := range s.old {
			if base[n] == nil {
				base[n] = entries{}
			}
			maps.Copy(base[n], es)
		}
		if lastFull.IsZero() && !s.LastFull.IsZero() {
			lastFull = s.LastFull
			if b, err := snap.ReadFile(s.lastFullPath()); err == nil {
				if t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b))); err == nil && !t.Before(s.LastFull) {
					lastFull = time.Time{} // the remote's is as recent
				}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := map[string]bool{}
	for n := range base {
		names[n] = true
	}
	for n := range s.touched {
		names[n] = true
	}
	var out []gitstore.Change
	for _, name := range slices.Sorted(maps.Keys(names)) {
		old := base[name]
		prune := u.Prune && (s.listed[name] == 1 || !u.Used[name])
		next := make(entries, len(old))
		dirty := map[int]bool{}
		if redo {
			// Every shard is compared with the remote's file below.
			for req := range old {
				dirty[shard(req)] = true
			}
		}
		for req, e := range old {
			_, touched := s.touched[name][req]
			if prune && (!u.Used[name] || !touched && !s.kept[name][req]) {
				dirty[shard(req)] = true
				continue
			}
			next[req] = e
		}
		for req, e := range s.touched[name] {
			o, had := next[req]
			switch {
			case e == nil:
				if had {
					delete(next, req)
					dirty[shard(req)] = true
				}
			case !had || o.Fingerprint != e.Fingerprint || !bytes.Equal(o.Result, e.Result):
				next[req] = *e
				dirty[shard(req)] = true
			}
		}
		if len(dirty) == 0 {
			continue
		}
		byShard := map[int][]Entry{}
		for req, e := range next {
			if sh := shard(req); dirty[sh] {
				byShard[sh] = append(byShard[sh], e)
			}
		}
		for _, sh := range slices.Sorted(maps.Keys(dirty)) {
			p := shardPath(s.dir, name, sh)
			es := byShard[sh]
			if len(es) == 0 {
				if _, ok := snap.Lookup(p); ok {
					out = append(out, gitstore.Change{Path: p, Delete: true})
				}
				continue
			}
			data, err := encodeShard(es)
			if err != nil {
				return nil, err
			}
			if e, ok := snap.Lookup(p); ok && e.Hash == gitstore.BlobHash(data) {
				continue
			}
			out = append(out, gitstore.Change{Path: p, Content: data})
		}
	}
	if !lastFull.IsZero() {
		data := []byte(lastFull.UTC().Format(time.RFC3339) + "\n")
		if e, ok := snap.Lookup(s.lastFullPath()); !ok || e.Hash != gitstore.BlobHash(data) {
			out = append(out, gitstore.Change{Path: s.lastFullPath(), Content: data})
		}
	}
	return out, nil
}

// ShardPath is the file of a name's shard.
func ShardPath(name string, sh int) string { return shardPath(Dir, name, sh) }

func shardPath(dir, name string, sh int) string {
	return fmt.Sprintf("%s/%s/%03x.jsonl", dir, name, sh)
}

// shard is the shard of a request.
func shard(request string) int {
	h := sha256.Sum256([]byte(request))
	return int(binary.BigEndian.Uint16(h[:2])) % shards
}

// encodeShard is a shard's file: one line per entry, sorted by request.
func encodeShard(es []Entry) ([]byte, error) {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Request, b.Request) })
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, e := range es {
		if err := enc.Encode(e); err != nil { // one line, with its newline
			return nil, fmt.Errorf("encoding the fan-out entry of %s: %w", e.Request, err)
		}
	}
	return b.Bytes(), nil
}
