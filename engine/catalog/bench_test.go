package catalog

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func benchEntity() *Entity {
	return &Entity{
		Identifier: "5100000001",
		Title:      "ConnectionError: permission denied for relation shipment",
		Blueprint:  "issue",
		Properties: map[string]any{
			"link":        "https://gen-org.sentry.io/issues/5100000001/",
			"status":      "unresolved",
			"isUnhandled": true,
		},
		Relations: map[string]any{"project": "north-gateway"},
	}
}

// BenchmarkEncode is the canonical file content of a benchmark issue.
func BenchmarkEncode(b *testing.B) {
	e := benchEntity()
	b.ReportAllocs()
	for b.Loop() {
		e.Encode()
	}
}

// BenchmarkPath is an entity's file path.
func BenchmarkPath(b *testing.B) {
	k := benchEntity().Key()
	b.ReportAllocs()
	for b.Loop() {
		Path(k)
	}
}

// BenchmarkReadState100k reads the state of a commit holding 100k managed
// entity files, as every sync does first.
func BenchmarkReadState100k(b *testing.B) {
	const n = 100000
	dir := filepath.Join(b.TempDir(), "repo")
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", dir).CombinedOutput(); err != nil {
		b.Fatalf("git init: %v\n%s", err, out)
	}
	s, err := gitstore.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	changes := make([]gitstore.Change, 0, n+1)
	var list strings.Builder
	for i := range n {
		stem := fmt.Sprint(5100000000 + i)
		changes = append(changes, gitstore.Change{Path: "catalog/issue/" + stem + Ext, Content: fmt.Appendf(nil, "{\"identifier\": %q}\n", stem)})
		list.WriteString(stem + "\n")
	}
	changes = append(changes, gitstore.Change{Path: ManagedDir + "/issue.txt", Content: []byte(list.String())})
	c, err := s.Commit(context.Background(), gitstore.CommitRequest{Ref: "refs/heads/main", Changes: changes, Message: "import",
		Author: object.Signature{Name: "Bench", Email: "bench@example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		snap, err := s.Snapshot(c)
		if err != nil {
			b.Fatal(err)
		}
		st, err := ReadState(snap)
		if err != nil || len(st.Managed["issue"]) != n {
			b.Fatalf("ReadState: %v, %d managed", err, len(st.Managed["issue"]))
		}
	}
}
