package serve

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"time"
)

// Record is one accepted webhook event in the journal.
type Record struct {
	Seq       uint64          `json:"seq"`
	RequestID string          `json:"request_id,omitempty"`
	Resource  string          `json:"resource"`
	Action    string          `json:"action,omitempty"`
	Kind      string          `json:"kind"` // the mapping kind the item feeds ("issue")
	ID        string          `json:"id"`
	JSON      json.RawMessage `json:"json"`
	// At is when a push was accepted: its items' push time.
	At time.Time `json:"at,omitzero"`
}

// A record on disk is a 12-byte header (payload length, CRC-32C of the
// payload, CRC-32C of those 8 bytes; big endian) followed by the JSON
// payload. The payload's checksum tells a torn append (a crash in the
// middle of a write) from a record; the header's own checksum tells a
// torn last record (its length sound, its end beyond the file) from a
// corrupt length, which would otherwise cut every record after it.
const headerSize = 12

// maxRecord bounds a record's payload so a garbage length in a torn header
// cannot make Open allocate gigabytes.
const maxRecord = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Journal is the append-only log of accepted events plus the durable mark of
// the last applied sequence number. Applied records are kept (up to
// keepApplied of them after a compaction) so that a redelivery with the same
// Request-ID is recognised after a restart too.
type Journal struct {
	dir string

	mu      gosync.Mutex
	f       *os.File
	size    int64
	records []Record // every record in the file, in seq order
	applied uint64   // the last applied seq
	nextSeq uint64
	seen    map[string]uint64 // Request-ID -> seq
	// keepApplied is how many applied records a compaction keeps (for
	// replay detection); compactAt is the file size that triggers one.
	keepApplied int
	compactAt   int64
}

// ErrCorrupt is returned by OpenJournal for a damaged record that is not the
// last one: that is not a torn append, and dropping it (with every record
// after it) would lose acknowledged events.
var ErrCorrupt = errors.New("journal is corrupt")

const (
	journalName = "journal"
	appliedName = "applied"
)

// JournalDir is where serve keeps its journal inside a git dir.
func JournalDir(gitDir string) string { return filepath.Join(gitDir, "gitalog-serve") }

// OpenJournal opens (or creates) the journal in dir. A torn last record is
// dropped: its append never returned, so it was never acknowledged.
func OpenJournal(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{dir: dir, seen: map[string]uint64{}, keepApplied: 4096, compactAt: 16 << 20}
	applied, err := readApplied(filepath.Join(dir, appliedName))
	if err != nil {
		return nil, err
	}
	j.applied = applied
	path := filepath.Join(dir, journalName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	recs, good, err := readRecords(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > good {
		// A torn tail: cut it so the next append starts on a record boundary.
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, fmt.Errorf("journal: dropping a torn record at offset %d: %w", good, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	j.f, j.size, j.records = f, good, recs
	j.nextSeq = j.applied + 1
	for _, r := range recs {
		if r.RequestID != "" {
			j.seen[r.RequestID] = r.Seq
		}
		if r.Seq >= j.nextSeq {
			j.nextSeq = r.Seq + 1
		}
	}
	return j, nil
}

// readRecords reads the records of f and returns them and the offset after
// the last whole one.
func readRecords(f *os.File, path string) ([]Record, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("journal: %w", err)
	}
	total := fi.Size()
	r := bufio.NewReader(f)
	var recs []Record
	var off int64
	var hdr [headerSize]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			// EOF: clean end; ErrUnexpectedEOF: a torn header.
			return recs, off, nil
		}
		n := int64(binary.BigEndian.Uint32(hdr[0:4]))
		sum := binary.BigEndian.Uint32(hdr[4:8])
		end := off + headerSize + n
		if crc32.Checksum(hdr[0:8], castagnoli) != binary.BigEndian.Uint32(hdr[8:12]) {
			if zeros(f, off, total) {
				return recs, off, nil // a tail the file system zero-filled
			}
			return nil, 0, fmt.Errorf("%s: record header at offset %d: %w (checksum mismatch with %d bytes after it; move the file away to start over, losing its unapplied events)", path, off, ErrCorrupt, total-off-headerSize)
		}
		if end > total {
			return recs, off, nil // torn: the payload never made it
		}
		if n > maxRecord {
			return nil, 0, fmt.Errorf("%s: record at offset %d: %w (length %d)", path, off, ErrCorrupt, n)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return recs, off, nil
		}
		var rec Record
		bad := crc32.Checksum(payload, castagnoli) != sum || json.Unmarshal(payload, &rec) != nil
		if bad {
			if end == total {
				return recs, off, nil // the last record, torn
			}
			return nil, 0, fmt.Errorf("%s: record at offset %d: %w (checksum mismatch with %d bytes after it; move the file away to start over, losing its unapplied events)", path, off, ErrCorrupt, total-end)
		}
		recs = append(recs, rec)
		off = end
	}
}

// zeros reports whether f holds only zero bytes from off to total.
func zeros(f *os.File, off, total int64) bool {
	buf := make([]byte, 32<<10)
	for off < total {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), total-off)], off)
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
		if err != nil && n == 0 {
			return false
		}
		off += int64(n)
	}
	return true
}

func readApplied(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

func encodeRecord(rec Record) ([]byte, error) {
	payload, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	if len(payload) > maxRecord {
		return nil, fmt.Errorf("record of %d bytes, over the journal's limit of %d", len(payload), maxRecord)
	}
	buf := make([]byte, headerSize, headerSize+len(payload))
	binary.BigEndian.PutUint32(buf[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(buf[4:8], crc32.Checksum(payload, castagnoli))
	binary.BigEndian.PutUint32(buf[8:12], crc32.Checksum(buf[0:8], castagnoli))
	return append(buf, payload...), nil
}

// Append writes rec durably (fsync) and gives it the next sequence number.
// A record whose RequestID the journal already holds is not written:
// dup is then true.
func (j *Journal) Append(rec Record) (seq uint64, dup bool, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return 0, false, errors.New("journal is closed")
	}
	if rec.RequestID != "" {
		if s, ok := j.seen[rec.RequestID]; ok {
			return s, true, nil
		}
	}
	rec.Seq = j.nextSeq
	buf, err := encodeRecord(rec)
	if err != nil {
		return 0, false, fmt.Errorf("journal: %w", err)
	}
	if _, err := j.f.Write(buf); err != nil {
		// Cut whatever part made it so that the file ends on a boundary.
		j.f.Truncate(j.size)
		j.f.Seek(j.size, io.SeekStart)
		return 0, false, fmt.Errorf("journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		j.f.Truncate(j.size)
		j.f.Seek(j.size, io.SeekStart)
		return 0, false, fmt.Errorf("journal: %w", err)
	}
	j.size += int64(len(buf))
	j.nextSeq++
	j.records = append(j.records, rec)
	if rec.RequestID != "" {
		j.seen[rec.RequestID] = rec.Seq
	}
	return rec.Seq, false, nil
}

// Pending returns the records not yet marked applied, in order.
func (j *Journal) Pending() []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Record(nil), j.pendingLocked()...)
}

func (j *Journal) pendingLocked() []Record {
	i := len(j.records)
	for i > 0 && j.records[i-1].Seq > j.applied {
		i--
	}
	return j.records[i:]
}

// Depth is how many records wait to be applied.
func (j *Journal) Depth() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pendingLocked())
}

// Applied is the last sequence number marked applied.
func (j *Journal) Applied() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.applied
}

// MarkApplied durably records that every record up to seq is in the
// catalog. It is called after the commit: a crash before it makes the next
// start apply those records again, which changes nothing.
func (j *Journal) MarkApplied(seq uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if seq <= j.applied {
		return nil
	}
	if err := writeDurably(filepath.Join(j.dir, appliedName), []byte(strconv.FormatUint(seq, 10)+"\n")); err != nil {
		return fmt.Errorf("journal: marking %d applied: %w", seq, err)
	}
	j.applied = seq
	if j.size >= j.compactAt {
		if err := j.compactLocked(); err != nil {
			return err
		}
	}
	return nil
}

// compactLocked rewrites the journal with its pending records and the last
// keepApplied applied ones, so that it does not grow without bound (even
// when events keep arriving during every batch) while replays of recent
// deliveries are still recognised.
func (j *Journal) compactLocked() error {
	pending := len(j.pendingLocked())
	first := len(j.records) - pending - j.keepApplied
	keep := append([]Record(nil), j.records[max(first, 0):]...)
	var data []byte
	for i, r := range keep {
		if i < len(keep)-pending {
			// An applied record is kept only to recognise a redelivery:
			// its payload goes, so what a compaction keeps stays small
			// however large the events were.
			r.JSON, r.Resource, r.Action = nil, "", ""
			keep[i] = r
		}
		b, err := encodeRecord(r)
		if err != nil {
			return fmt.Errorf("journal: compacting: %w", err)
		}
		data = append(data, b...)
	}
	path := filepath.Join(j.dir, journalName)
	if err := writeDurably(path, data); err != nil {
		return fmt.Errorf("journal: compacting: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("journal: compacting: %w", err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return fmt.Errorf("journal: compacting: %w", err)
	}
	j.f.Close()
	j.f, j.size = f, int64(len(data))
	// The next compaction waits until the file has grown well past what
	// this one kept (pending events can be large), so a busy journal is
	// not rewritten at every batch.
	j.compactAt = max(j.compactAt, 2*j.size)
	j.records = keep
	j.seen = map[string]uint64{}
	for _, r := range j.records {
		if r.RequestID != "" {
			j.seen[r.RequestID] = r.Seq
		}
	}
	return nil
}

// Close closes the journal file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// writeDurably replaces path with data so that after a crash it holds the
// old content or the new, and the new survives a power loss once this
// returns: the temp file and the directory are both fsynced.
func writeDurably(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
