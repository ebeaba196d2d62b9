package dump

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gitalog/gitalog/engine/atomicfile"
	"github.com/gitalog/gitalog/engine/jsonx"
)

// ManifestFile records which file holds which kind and selector, for
// configs that fetch one kind with several selectors, and the source the
// dump was made for, so that a replay cannot write one source's data
// over another's entities.
const ManifestFile = "manifest.json"

type manifest struct {
	// Source is the source of a config with sources: the dump was made
	// for; "" for a config without (and in dumps made before the field).
	Source string          `json:"source,omitempty"`
	Files  []manifestEntry `json:"files"`
}

type manifestEntry struct {
	Kind     string         `json:"kind"`
	Selector map[string]any `json:"selector"`
	File     string         `json:"file"`
	Items    int            `json:"items"`
}

// Writer writes one file per kind variant.
type Writer struct {
	Dir     string
	Source  string // recorded in the manifest; see Reader.Source
	mu      sync.Mutex
	entries []manifestEntry
	perKind map[string]int
}

// KindWriter streams one kind variant's items to its file; the file
// appears under its name only when Close succeeds.
type KindWriter struct {
	w        *Writer
	kind     string
	selector map[string]any
	name     string
	tmp      *atomicfile.File
	buf      *bufio.Writer
	n        int
}

// Begin starts the file of a kind variant: the first variant of a kind
// goes to <kind>.jsonl, later ones to <kind>.<n>.jsonl.
func (w *Writer) Begin(kind string, selector map[string]any) (*KindWriter, error) {
	w.mu.Lock()
	if w.perKind == nil {
		w.perKind = map[string]int{}
	}
	w.perKind[kind]++
	n := w.perKind[kind]
	w.mu.Unlock()
	name := kind + ".jsonl"
	if n > 1 {
		name = fmt.Sprintf("%s.%d.jsonl", kind, n)
	}
	tmp, err := atomicfile.Create(filepath.Join(w.Dir, name), 0o644)
	if err != nil {
		return nil, err
	}
	return &KindWriter{w: w, kind: kind, selector: selector, name: name, tmp: tmp, buf: bufio.NewWriterSize(tmp, 1<<20)}, nil
}

// Write appends items given as JSON values, one line each: their bytes
// as they are, compacted only when they span lines. The values must be
// valid JSON (as sentry.Source.Stream's are).
func (k *KindWriter) Write(items [][]byte) error {
	var compact bytes.Buffer
	for _, it := range items {
		if bytes.IndexByte(it, '\n') >= 0 || bytes.IndexByte(it, '\r') >= 0 {
			compact.Reset()
			if err := json.Compact(&compact, it); err != nil {
				return err
			}
			it = compact.Bytes()
		}
		k.buf.Write(it)
		if err := k.buf.WriteByte('\n'); err != nil {
			return err
		}
	}
	k.n += len(items)
	return nil
}

// Abort removes the unfinished file.
func (k *KindWriter) Abort() {
	k.tmp.Abort()
}

// Close puts the file in place and records it in the manifest.
func (k *KindWriter) Close() error {
	if err := k.buf.Flush(); err != nil {
		k.tmp.Abort()
		return err
	}
	if err := k.tmp.Commit(); err != nil {
		return err
	}
	k.w.mu.Lock()
	k.w.entries = append(k.w.entries, manifestEntry{k.kind, k.selector, k.name, k.n})
	k.w.mu.Unlock()
	return nil
}

// Write stores all items of a kind variant at once.
func (w *Writer) Write(kind string, selector map[string]any, items [][]byte) error {
	k, err := w.Begin(kind, selector)
	if err != nil {
		return err
	}
	if err := k.Write(items); err != nil {
		k.Abort()
		return err
	}
	return k.Close()
}

// Close writes the manifest.
func (w *Writer) Close() error {
	b, err := json.MarshalIndent(manifest{Source: w.Source, Files: w.entries}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(w.Dir, ManifestFile), append(b, '\n'), 0o644)
}

// Reader serves items from a dump folder.
type Reader struct {
	Dir      string
	manifest []manifestEntry
	source   string
}

// Source is the source the dump was made for: "" when it names none (a
// config without sources:, a dump from before dumps recorded it, or a
// folder without a manifest).
func (r *Reader) Source() string { return r.source }

// Open checks the folder and reads its manifest, if any.
func Open(dir string) (*Reader, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("replay folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("replay folder %s is not a directory", dir)
	}
	r := &Reader{Dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err == nil {
		var m manifest
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
		}
		r.manifest, r.source = m.Files, m.Source
	}
	return r, nil
}

// ReadItems reads items, as the JSON of each: one JSON array of items, or
// a sequence of JSON values (JSON lines, or any whitespace between values),
// each an item. The input is scanned once, checked as a sync checks
// Sentry's responses (nesting bounded), and nothing is decoded. Errors
// give the line.
func ReadItems(r io.Reader) ([][]byte, error) {
	data, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		if items, err := jsonx.SplitArray(data, nil); err == nil {
			return items, nil
		}
		// Not one array: a sequence of values that starts with one, or
		// an error, which the sequence's scan reports with its line.
	}
	items, err := jsonx.SplitValues(data, make([][]byte, 0, bytes.Count(data, []byte("\n"))+1))
	if err != nil {
		line := func(off int) int { return 1 + bytes.Count(data[:min(off, len(data))], []byte("\n")) }
		var se *jsonx.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("line %d: invalid JSON: %v", line(se.Offset), err)
		}
		var de *jsonx.DepthError
		if errors.As(err, &de) {
			return nil, fmt.Errorf("line %d: %w", line(de.Offset), err)
		}
		return nil, err
	}
	return items, nil
}

// Stream passes the raw JSON values of a kind's file to fn in batches,
// without decoding them, so that a sync can decode them in parallel and
// never hold the whole file. A file holding one JSON array is read whole.
//
// lines gives each value's line in the file, for error messages; the
// values are not checked here (the decoder will), so reading never
// becomes the slow single-threaded step.
func (r *Reader) Stream(ctx context.Context, kind string, selector map[string]any, batch int, fn func(raw [][]byte, where []string) error) error {
	return r.StreamChunks(ctx, kind, selector, batch, func(raw [][]byte, where []string, _ func()) error {
		return fn(raw, where)
	})
}

// StreamChunks is Stream for a consumer that says when it is done with a
// batch: calling release lets the reader reuse the memory the batch's
// values point into (reading 190 MB into fresh memory costs more than
// the reading). Not calling it is safe; the memory is then collected.
// release is nil for a file holding one JSON array, whose batches share
// no recycled memory.
func (r *Reader) StreamChunks(ctx context.Context, kind string, selector map[string]any, batch int, fn func(raw [][]byte, where []string, release func()) error) error {
	path := r.file(kind, selector)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("replay: %s does not exist (the dump has no items of kind %q)", path, kind)
		}
		return fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	// A small look at the start, then the file itself: a buffered reader
	// would copy every byte once more on its way to the chunks.
	first := make([]byte, 64)
	n, err := io.ReadFull(f, first)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("replay: %w", err)
	}
	first = first[:n]
	rd := io.MultiReader(bytes.NewReader(first), f)
	if t := bytes.TrimLeft(first, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		items, err := ReadItems(rd)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for lo := 0; lo < len(items); lo += batch {
			raws := items[lo:min(lo+batch, len(items))]
			where := make([]string, len(raws))
			for i := range raws {
				where[i] = fmt.Sprintf("%s: item %d", path, lo+i+1)
			}
			if err := fn(raws, where, nil); err != nil {
				return err
			}
		}
		return nil
	}
	return streamLines(ctx, rd, path, batch, streamChunk, fn)
}

// streamChunk is how much of a dump file is read at a time.
const streamChunk = 1 << 20

// streamLines passes on the non-blank lines of rd, batch by batch. Lines
// point into the chunks read from the file (a line that spans chunks is
// copied once): the items' bytes are not copied again on their way to
// the workers.
func streamLines(ctx context.Context, rd io.Reader, path string, batch, chunkSize int, fn func(raw [][]byte, where []string, release func()) error) error {
	var raws [][]byte
	var where []string
	var held []*chunk // the chunks raws point into
	line := 0
	var cur *chunk
	// The reader's own reference to the chunk it read last, so that it
	// too goes back to the pool once its batches are released.
	defer func() {
		if cur != nil {
			cur.unref()
		}
	}()
	var carry []byte // the start of a line the last chunk cut
	flush := func() error {
		if len(raws) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		hs := held
		var once sync.Once
		release := func() {
			once.Do(func() {
				for _, c := range hs {
					c.unref()
				}
			})
		}
		err := fn(raws, where, release)
		raws, where, held = nil, nil, nil
		return err
	}
	add := func(b []byte) error {
		line++
		if t := bytes.TrimSpace(b); len(t) > 0 {
			if len(held) == 0 || held[len(held)-1] != cur {
				cur.refs.Add(1)
				held = append(held, cur)
			}
			raws = append(raws, t[:len(t):len(t)])
			where = append(where, path+":"+strconv.Itoa(line))
			if len(raws) == batch {
				return flush()
			}
		}
		return nil
	}
	for {
		prev := cur
		cur = newChunk(max(chunkSize, 2*len(carry)))
		buf := cur.buf[:len(carry)]
		copy(buf, carry)
		if prev != nil {
			prev.unref() // the reader's own reference
		}
		n, err := io.ReadFull(rd, buf[len(carry):cap(buf)])
		buf = buf[:len(carry)+n]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return fmt.Errorf("%s: %w", path, err)
		}
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			if err := add(buf[:i]); err != nil {
				return err
			}
			buf = buf[i+1:]
		}
		carry = buf
		if eof {
			if len(carry) > 0 {
				if err := add(carry); err != nil {
					return err
				}
			}
			return flush()
		}
	}
}

// chunk is a read buffer shared by the batches whose values point into
// it; it goes back to the pool when the reader and every batch are done.
type chunk struct {
	buf  []byte
	refs atomic.Int32
}

var chunks sync.Pool

func newChunk(size int) *chunk {
	if c, ok := chunks.Get().(*chunk); ok && cap(c.buf) >= size {
		c.refs.Store(1)
		return c
	}
	c := &chunk{buf: make([]byte, 0, size)}
	c.refs.Store(1)
	return c
}

func (c *chunk) unref() {
	if c.refs.Add(-1) == 0 && cap(c.buf) == streamChunk {
		chunks.Put(c)
	}
}

// file is the file holding a kind variant: the manifest's, else <kind>.jsonl.
func (r *Reader) file(kind string, selector map[string]any) string {
	name := kind + ".jsonl"
	want, _ := json.Marshal(selector)
	for _, e := range r.manifest {
		got, _ := json.Marshal(e.Selector)
		if e.Kind == kind && bytes.Equal(got, want) {
			name = e.File
			break
		}
	}
	return filepath.Join(r.Dir, filepath.Base(name))
}
