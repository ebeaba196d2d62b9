package fanout

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/gitstore"
)

// commitState commits changes on an empty repository and returns the
// snapshot, for reading the state back.
func commitState(t *testing.T, store *gitstore.Store, parent gitstore.Head, ch []gitstore.Change) *gitstore.Snapshot {
	t.Helper()
	sig := store.DefaultSignature()
	h, err := store.Commit(t.Context(), gitstore.CommitRequest{Parent: parent.Commit, Changes: ch, Message: "t", Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := store.Snapshot(h)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestStateRoundTripPruneAndKeep(t *testing.T) {
	store, err := gitstore.Init(t.TempDir(), "main")
	if err != nil {
		t.Fatal(err)
	}
	head, _ := store.Head()
	empty := commitState(t, store, head, []gitstore.Change{{Path: "README", Content: []byte("x\n")}})
	st, err := Read(empty)
	if err != nil {
		t.Fatal(err)
	}
	for i, req := range []string{"/a/1/", "/a/2/", "/a/3/"} {
		st.Remember("issue-tag", req, "fp"+req, []byte(`[{"v":`+string(rune('0'+i))+`}]`))
	}
	st.Remember("issue-tag", "/a/big/", "fp", nil) // too big: nothing stored
	st.Listed("issue-tag", true)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ch, err := st.Changes(empty, Update{Prune: true, Used: map[string]bool{"issue-tag": true}, FullAt: now})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := st.Changes(empty, Update{Prune: true, Used: map[string]bool{"issue-tag": true}, FullAt: now})
	if len(ch) != len(again) {
		t.Fatal("changes differ between calls")
	}
	for i := range ch {
		if ch[i].Path != again[i].Path || !bytes.Equal(ch[i].Content, again[i].Content) {
			t.Fatalf("not deterministic: %s", ch[i].Path)
		}
	}
	head, _ = store.Head()
	snap := commitState(t, store, head, ch)
	st2, err := Read(snap)
	if err != nil || len(st2.Problems) > 0 {
		t.Fatal(err, st2.Problems)
	}
	if !st2.LastFull.Equal(now) || st2.Due(now.Add(23*time.Hour), DefaultFullRefresh) || !st2.Due(now.Add(24*time.Hour), DefaultFullRefresh) {
		t.Fatalf("last full refresh %v", st2.LastFull)
	}
	if r, ok := st2.Recall("issue-tag", "/a/1/", "fp/a/1/"); !ok || string(r) != `[{"v":0}]` {
		t.Fatalf("recall: %s %v", r, ok)
	}
	if _, ok := st2.Recall("issue-tag", "/a/2/", "other"); ok {
		t.Fatal("recalled under another fingerprint")
	}
	if _, ok := st2.Recall("issue-tag", "/a/big/", "fp"); ok {
		t.Fatal("recalled a result too big to store")
	}
	// /a/1/ reused, /a/2/ failed (kept), /a/3/ no longer listed: only
	// /a/3/ goes, and only with a whole list and Prune.
	st2.Keep("issue-tag", "/a/2/")
	st2.Listed("issue-tag", true)
	ch, _ = st2.Changes(snap, Update{Used: map[string]bool{"issue-tag": true}})
	if len(ch) != 0 {
		t.Fatalf("without Prune: %v", ch)
	}
	st2.Listed("issue-tag", false)
	if ch, _ = st2.Changes(snap, Update{Prune: true, Used: map[string]bool{"issue-tag": true}}); len(ch) != 0 {
		t.Fatalf("a partial list pruned: %v", ch)
	}
	st2.listed = nil
	st2.Listed("issue-tag", true)
	ch, _ = st2.Changes(snap, Update{Prune: true, Used: map[string]bool{"issue-tag": true}})
	head, _ = store.Head()
	st3, err := Read(commitState(t, store, head, ch))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for req := range st3.old["issue-tag"] {
		got = append(got, req)
	}
	slices.Sort(got)
	if strings.Join(got, " ") != "/a/1/ /a/2/" {
		t.Fatalf("after pruning: %v", got)
	}
	// A name the config no longer uses goes whole.
	ch, _ = st2.Changes(snap, Update{Prune: true, Used: map[string]bool{}})
	for _, c := range ch {
		if !c.Delete {
			t.Fatalf("unused name: %+v", c)
		}
	}
}
