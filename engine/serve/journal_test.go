package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rec(id, reqID string) Record {
	return Record{RequestID: reqID, Resource: "issue", Action: "created", Kind: "issue", ID: id, JSON: json.RawMessage(fmt.Sprintf(`{"id":%q}`, id))}
}

func mustAppend(t *testing.T, j *Journal, r Record) uint64 {
	t.Helper()
	seq, dup, err := j.Append(r)
	if err != nil || dup {
		t.Fatalf("Append(%s): seq %d dup %v err %v", r.ID, seq, dup, err)
	}
	return seq
}

func ids(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func TestJournalReplaysUnappliedAfterReopen(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, rec("1", "a"))
	s2 := mustAppend(t, j, rec("2", "b"))
	mustAppend(t, j, rec("3", "c"))
	if err := j.MarkApplied(s2); err != nil {
		t.Fatal(err)
	}
	// No Close: a kill -9 leaves the file as it is.
	j2, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if got := ids(j2.Pending()); len(got) != 1 || got[0] != "3" {
		t.Fatalf("pending after reopen = %v, want [3]", got)
	}
	// Replays of applied and pending deliveries are both recognised.
	for _, id := range []string{"a", "c"} {
		if _, dup, err := j2.Append(rec("x", id)); err != nil || !dup {
			t.Errorf("Append with Request-ID %s after reopen: dup %v err %v, want a replay", id, dup, err)
		}
	}
	if s := mustAppend(t, j2, rec("4", "d")); s != 4 {
		t.Errorf("next seq after reopen = %d, want 4", s)
	}
}

func TestJournalDropsTornTail(t *testing.T) {
	for _, cut := range []int{1, 4, headerSize, headerSize + 3} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			dir := t.TempDir()
			j, _ := OpenJournal(dir)
			mustAppend(t, j, rec("1", "a"))
			mustAppend(t, j, rec("2", "b"))
			j.Close()
			// A crash in the middle of the third append leaves part of it.
			third, _ := encodeRecord(Record{Seq: 3, Kind: "issue", ID: "3", JSON: json.RawMessage(`{}`)})
			appendBytes(t, filepath.Join(dir, journalName), third[:cut])
			j2, err := OpenJournal(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(j2.Pending()); len(got) != 2 {
				t.Fatalf("pending = %v, want [1 2]", got)
			}
			// The next append starts on a record boundary and survives.
			mustAppend(t, j2, rec("3", "c"))
			j2.Close()
			j3, err := OpenJournal(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer j3.Close()
			if got := ids(j3.Pending()); len(got) != 3 || got[2] != "3" {
				t.Fatalf("pending = %v, want [1 2 3]", got)
			}
		})
	}
}

func TestJournalTornLastRecordChecksum(t *testing.T) {
	dir := t.TempDir()
	j, _ := OpenJournal(dir)
	mustAppend(t, j, rec("1", "a"))
	mustAppend(t, j, rec("2", "b"))
	j.Close()
	// The last record's bytes are all there but not what was written (a
	// page that never reached the disk): its checksum drops it.
	flipLastByte(t, filepath.Join(dir, journalName), 0)
	j2, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if got := ids(j2.Pending()); len(got) != 1 || got[0] != "1" {
		t.Fatalf("pending = %v, want [1]", got)
	}
}

func TestJournalCorruptMiddleRecordIsAnError(t *testing.T) {
	dir := t.TempDir()
	j, _ := OpenJournal(dir)
	mustAppend(t, j, rec("1", "a"))
	mustAppend(t, j, rec("2", "b"))
	j.Close()
	b, _ := os.ReadFile(filepath.Join(dir, journalName))
	b[headerSize+2] ^= 0xff // inside the first record's payload
	os.WriteFile(filepath.Join(dir, journalName), b, 0o600)
	if _, err := OpenJournal(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenJournal = %v, want ErrCorrupt (dropping record 2 would lose an acknowledged event)", err)
	}
}

func TestJournalCompactionKeepsReplayIDs(t *testing.T) {
	dir := t.TempDir()
	j, _ := OpenJournal(dir)
	j.compactAt, j.keepApplied = 1, 2
	for i := 1; i <= 5; i++ {
		mustAppend(t, j, rec(fmt.Sprint(i), fmt.Sprint("r", i)))
	}
	if err := j.MarkApplied(5); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j2, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if len(j2.records) != 2 || j2.Depth() != 0 {
		t.Fatalf("after compaction: %d records, depth %d; want 2 applied records", len(j2.records), j2.Depth())
	}
	if _, dup, _ := j2.Append(rec("x", "r5")); !dup {
		t.Error("a recent Request-ID is not recognised after compaction")
	}
	if s := mustAppend(t, j2, rec("6", "r6")); s != 6 {
		t.Errorf("seq after compaction = %d, want 6", s)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func flipLastByte(t *testing.T, path string, fromEnd int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1-fromEnd] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Events that arrive while a batch is applied are pending when it is
// marked: compaction keeps them, so a busy server's journal still shrinks.
func TestJournalCompactionKeepsPending(t *testing.T) {
	dir := t.TempDir()
	j, _ := OpenJournal(dir)
	j.compactAt, j.keepApplied = 1, 1
	for i := 1; i <= 6; i++ {
		mustAppend(t, j, rec(fmt.Sprint(i), fmt.Sprint("r", i)))
	}
	if err := j.MarkApplied(4); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j2, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if got := ids(j2.records); len(got) != 3 || got[0] != "4" {
		t.Fatalf("records after compaction %v, want [4 5 6]", got)
	}
	if got := ids(j2.Pending()); len(got) != 2 || got[0] != "5" || got[1] != "6" {
		t.Fatalf("pending after compaction %v, want [5 6]", got)
	}
}

// A length that is wrong in a record with records after it looks like a
// torn tail (its end beyond the file) but is not one: the header's own
// checksum tells them apart, and the acknowledged events after it are not
// cut away.
func TestJournalCorruptLengthIsAnError(t *testing.T) {
	for _, bit := range []byte{0x01, 0x80} {
		dir := t.TempDir()
		j, _ := OpenJournal(dir)
		mustAppend(t, j, rec("1", "a"))
		mustAppend(t, j, rec("2", "b"))
		mustAppend(t, j, rec("3", "c"))
		j.Close()
		path := filepath.Join(dir, journalName)
		b, _ := os.ReadFile(path)
		b[1] ^= bit // the first record's length
		os.WriteFile(path, b, 0o600)
		if _, err := OpenJournal(dir); !errors.Is(err, ErrCorrupt) {
			t.Errorf("bit %#x: OpenJournal = %v, want ErrCorrupt", bit, err)
		}
		if after, _ := os.ReadFile(path); len(after) != len(b) {
			t.Errorf("bit %#x: the journal was cut from %d to %d bytes", bit, len(b), len(after))
		}
	}
}

// A record too large for a reader to accept is refused at Append, not
// written to stop the next start.
func TestJournalAppendRefusesOversizedRecord(t *testing.T) {
	j, _ := OpenJournal(t.TempDir())
	defer j.Close()
	big := rec("1", "a")
	big.JSON = json.RawMessage(`"` + strings.Repeat("x", maxRecord) + `"`)
	if _, _, err := j.Append(big); err == nil {
		t.Fatal("Append of an oversized record succeeded")
	}
	mustAppend(t, j, rec("2", "b"))
}

// A crash can leave the file's new tail zero-filled: that is a torn
// append, not corruption.
func TestJournalZeroFilledTail(t *testing.T) {
	dir := t.TempDir()
	j, _ := OpenJournal(dir)
	mustAppend(t, j, rec("1", "a"))
	mustAppend(t, j, rec("2", "b"))
	j.Close()
	appendBytes(t, filepath.Join(dir, journalName), make([]byte, 300))
	j2, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if got := ids(j2.Pending()); len(got) != 2 {
		t.Fatalf("pending = %v, want [1 2]", got)
	}
}

// Large events do not make a compacted journal stay over its threshold
// and be rewritten at every batch: applied records keep only what
// recognises a redelivery.
func TestJournalCompactionOfLargeEvents(t *testing.T) {
	dir := t.TempDir()
	j, _ := OpenJournal(dir)
	defer j.Close()
	j.compactAt, j.keepApplied = 64<<10, 100
	big := strings.Repeat("x", 5000)
	var last uint64
	for i := range 60 {
		r := rec(fmt.Sprint(i), fmt.Sprint("r", i))
		r.JSON = json.RawMessage(fmt.Sprintf(`{"id":"%d","culprit":%q}`, i, big))
		last = mustAppend(t, j, r)
	}
	if err := j.MarkApplied(last); err != nil {
		t.Fatal(err)
	}
	if j.size >= 64<<10 {
		t.Fatalf("journal is %d bytes after compaction, over the threshold that triggered it", j.size)
	}
	if _, dup, _ := j.Append(rec("x", "r59")); !dup {
		t.Error("a Request-ID is not recognised after compaction")
	}
	// Small batches after it append, and do not rewrite the file each time.
	fi0, _ := os.Stat(filepath.Join(dir, journalName))
	for i := range 5 {
		s := mustAppend(t, j, rec(fmt.Sprint("s", i), fmt.Sprint("s", i)))
		if err := j.MarkApplied(s); err != nil {
			t.Fatal(err)
		}
	}
	fi1, _ := os.Stat(filepath.Join(dir, journalName))
	if fi1.Size() <= fi0.Size() {
		t.Errorf("journal shrank from %d to %d bytes over five small batches: it was compacted again", fi0.Size(), fi1.Size())
	}
}
