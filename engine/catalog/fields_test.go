package catalog

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func TestFieldSet(t *testing.T) {
	var b FieldSetBuilder
	for _, f := range [][2]string{
		{"payments", "properties.pd_service_id"},
		{"pay", "relations.sentry_issues"},
		{"payments", "properties.pd_service_id"},
		{"payments-api", "properties.x"},
		{"payments", "relations.sentry_issues"},
	} {
		if err := b.Add(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Add("a\tb", "properties.x"); err == nil {
		t.Error("a stem with a tab was recorded")
	}
	if err := b.Add("a", "properties.x\ny"); err == nil {
		t.Error("a field with a line break was recorded")
	}
	s := b.Set()
	want := "pay\trelations.sentry_issues\npayments\tproperties.pd_service_id\npayments\trelations.sentry_issues\npayments-api\tproperties.x\n"
	if got := string(EncodeFieldSet(s)); got != want {
		t.Errorf("EncodeFieldSet =\n%q\nwant\n%q", got, want)
	}
	if got := parseFields([]byte(want)); !slices.Equal(got, s) {
		t.Errorf("parse(encode(s)) = %q, want %q", got, s)
	}
	if got := s.Of("payments"); !slices.Equal(got, []string{"properties.pd_service_id", "relations.sentry_issues"}) {
		t.Errorf("Of(payments) = %q", got)
	}
	if got := s.Of("pay"); !slices.Equal(got, []string{"relations.sentry_issues"}) {
		t.Errorf("Of(pay) = %q", got)
	}
	if got := s.Of("nope"); got != nil {
		t.Errorf("Of(nope) = %q", got)
	}
	if got := s.Stems(); !slices.Equal(got, []string{"pay", "payments", "payments-api"}) {
		t.Errorf("Stems() = %q", got)
	}
	if !s.Has("payments", "properties.pd_service_id") || s.Has("payments", "properties.x") || s.Has("pay", "properties.pd_service_id") {
		t.Error("Has is wrong")
	}
	var kept FieldSetBuilder
	kept.AddSet(s, func(stem, field string) bool { return stem != "payments" })
	if got := kept.Set(); !slices.Equal(got, FieldSet{"pay\trelations.sentry_issues", "payments-api\tproperties.x"}) {
		t.Errorf("AddSet = %q", got)
	}
	if len(EncodeFieldSet(nil)) != 0 {
		t.Error("an empty record has content")
	}
	// A hand-edited record: unsorted, CRLF, blank and tab-less lines.
	if got := parseFields([]byte("b\tproperties.y\r\n\nnonsense\na\tproperties.x\r\nb\tproperties.y\n")); !slices.Equal(got, FieldSet{"a\tproperties.x", "b\tproperties.y"}) {
		t.Errorf("parseFields = %q", got)
	}
}

// ReadState reads the records of a commit; a commit without them has none.
func TestReadStateFields(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	s, err := gitstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	commit := func(parent [20]byte, changes ...gitstore.Change) [20]byte {
		t.Helper()
		c, err := s.Commit(context.Background(), gitstore.CommitRequest{Parent: parent, Ref: "refs/heads/main", Changes: changes, Message: "m",
			Author: object.Signature{Name: "T", Email: "t@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1 := commit([20]byte{}, gitstore.Change{Path: "catalog/service/payments.json", Content: []byte("{}\n")})
	snap, err := s.Snapshot(c1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(snap)
	if err != nil || st.Fields == nil || len(st.Fields) != 0 {
		t.Fatalf("ReadState without records: %v, %v", st.Fields, err)
	}
	c2 := commit(c1, gitstore.Change{Path: FieldsPath("service"), Content: []byte("payments\tproperties.pd_service_id\n")})
	if snap, err = s.Snapshot(c2); err != nil {
		t.Fatal(err)
	}
	if st, err = ReadState(snap); err != nil {
		t.Fatal(err)
	}
	if got := st.Fields["service"]; !got.Has("payments", "properties.pd_service_id") || len(st.Fields) != 1 {
		t.Errorf("Fields = %q", st.Fields)
	}

	// The names of the hand-written services, for a skip transform.
	c3 := commit(c2,
		gitstore.Change{Path: "catalog/service/payments.json", Content: []byte(`{"identifier": "payments", "blueprint": "service", "aliases": ["pay"]}`)},
		gitstore.Change{Path: "catalog/service/pay.json", Content: []byte(`{"identifier": "pay", "blueprint": "service"}`)},
		gitstore.Change{Path: "catalog/service/search.json", Content: []byte(`{"identifier": "search", "blueprint": "service", "aliases": ["find"]}`)},
		gitstore.Change{Path: "catalog/service/misplaced.json", Content: []byte(`{"identifier": "elsewhere", "blueprint": "service", "aliases": ["lost"]}`)},
		gitstore.Change{Path: "catalog/service/broken.json", Content: []byte(`{`)},
		gitstore.Change{Path: "catalog/team/core.json", Content: []byte(`{"identifier": "core", "blueprint": "team", "aliases": ["platform"]}`)},
	)
	if snap, err = s.Snapshot(c3); err != nil {
		t.Fatal(err)
	}
	if st, err = ReadState(snap); err != nil {
		t.Fatal(err)
	}
	idx, clashes, err := IndexNames(snap, st, []string{"service"})
	if err != nil {
		t.Fatal(err)
	}
	if len(clashes) != 1 || clashes[0].Error() != `catalog/service/payments.json: the alias "pay" is also the identifier of catalog/service/pay.json` {
		t.Errorf("clashes = %v", clashes)
	}
	for name, want := range map[string]string{"payments": "payments", "pay": "pay", "find": "search", "lost": "", "elsewhere": "", "platform": ""} {
		if got, _ := idx.Lookup("service", name); got != want {
			t.Errorf("Lookup(service, %s) = %q, want %q", name, got, want)
		}
	}
}
