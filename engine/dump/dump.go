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
	"strings"
	"sync"

	"github.com/itchyny/gojq"
)

// ManifestFile records which file holds which kind and selector, for
// configs that fetch one kind with several selectors.
const ManifestFile = "manifest.json"

type manifestEntry struct {
	Kind     string         `json:"kind"`
	Selector map[string]any `json:"selector"`
	File     string         `json:"file"`
	Items    int            `json:"items"`
}

// Writer writes one file per kind variant.
type Writer struct {
	Dir     string
	mu      sync.Mutex
	entries []manifestEntry
	perKind map[string]int
}

// Write stores items of a kind variant. The first variant of a kind goes
// to <kind>.jsonl, later ones to <kind>.<n>.jsonl.
func (w *Writer) Write(kind string, selector map[string]any, items []any) error {
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
	var b bytes.Buffer
	for _, it := range items {
		line, err := gojq.Marshal(it)
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := writeFileAtomic(filepath.Join(w.Dir, name), b.Bytes()); err != nil {
		return err
	}
	w.mu.Lock()
	w.entries = append(w.entries, manifestEntry{kind, selector, name, len(items)})
	w.mu.Unlock()
	return nil
}

// Close writes the manifest.
func (w *Writer) Close() error {
	b, err := json.MarshalIndent(map[string]any{"files": w.entries}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(w.Dir, ManifestFile), append(b, '\n'))
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Reader serves items from a dump folder.
type Reader struct {
	Dir      string
	manifest []manifestEntry
}

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
		var m struct {
			Files []manifestEntry `json:"files"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
		}
		r.manifest = m.Files
	}
	return r, nil
}

// Fetch returns the items of a kind; variantKey is matched against the
// manifest's selectors (see sentry.Variant), falling back to <kind>.jsonl.
func (r *Reader) Fetch(ctx context.Context, kind string, selector map[string]any) ([]any, error) {
	name := kind + ".jsonl"
	want, _ := json.Marshal(selector)
	for _, e := range r.manifest {
		got, _ := json.Marshal(e.Selector)
		if e.Kind == kind && bytes.Equal(got, want) {
			name = e.File
			break
		}
	}
	path := filepath.Join(r.Dir, filepath.Base(name))
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("replay: %s does not exist (the dump has no items of kind %q)", path, kind)
		}
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	items, err := ReadItems(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return items, nil
}

// ReadItems reads raw items: one JSON array of items, or a sequence of JSON
// values (JSON lines, or any whitespace between values), each an item.
// Errors give the line.
func ReadItems(r io.Reader) ([]any, error) {
	data, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var items []any
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		if err != nil {
			off := dec.InputOffset()
			var se *json.SyntaxError
			if errors.As(err, &se) {
				off = se.Offset
			} else {
				// A value cut short: name the line where it starts.
				for int(off) < len(data) && strings.ContainsRune(" \t\r\n", rune(data[off])) {
					off++
				}
			}
			line := 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n"))
			return nil, fmt.Errorf("line %d: invalid JSON: %v", line, err)
		}
		items = append(items, v)
	}
	if len(items) == 1 {
		if arr, ok := items[0].([]any); ok {
			return arr, nil
		}
	}
	if items == nil {
		items = []any{}
	}
	return items, nil
}
