package sync

import (
	"errors"
	"github.com/gitalog/gitalog/engine/catalog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// TestSyncUnderFaults: whatever goes wrong upstream, a sync deletes
// nothing the failed kind feeds, names the endpoint and status, leaves a
// repository git accepts, and the next good sync finishes the job.
func TestSyncUnderFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   sentrytest.Fault
		timeout time.Duration
		want    []string // in the error
	}{
		{"5xx mid-pagination", sentrytest.Fault{PathContains: "/issues/", Status: 502, AfterRequests: 2}, 0, []string{"/issues/", "502"}},
		{"truncated body", sentrytest.Fault{PathContains: "/teams/", TruncateBody: true}, 0, []string{"/teams/", "unexpected EOF"}},
		{"invalid JSON", sentrytest.Fault{PathContains: "/teams/", Status: 200, Body: `[{"slug":`}, 0, []string{"/teams/", "not valid JSON"}},
		// After the access check (whose 401 fails the sync outright).
		{"401", sentrytest.Fault{PathContains: "/organizations/", Status: 401, AfterRequests: 1}, 0, []string{"401", "invalid, expired or revoked"}},
		{"403 members", sentrytest.Fault{PathContains: "/members/", Status: 403}, 0, []string{"/members/", "403", `"member:read"`}},
		{"403 issues", sentrytest.Fault{PathContains: "/issues/", Status: 403}, 0, []string{"/issues/", "403", `"event:read"`}},
		{"404 of a parent", sentrytest.Fault{PathContains: "/organizations/acme-corp/projects/", Status: 404}, 0, []string{"/projects/", "404"}},
		{"timeout", sentrytest.Fault{PathContains: "/backend-api/tags/", Delay: 2 * time.Second}, 300 * time.Millisecond, []string{"/backend-api/tags/", "timed out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, sentrytest.Demo())
			f.mustSync()
			before := catalogFiles(t, f.dir)
			var gone []string
			f.srv.Update(func(d *sentrytest.Dataset) {
				for _, id := range d.IssueIDs("unresolved")[:3] {
					gone = append(gone, id)
					d.DeleteIssue(id)
				}
			})
			f.srv.AddFault(tc.fault)
			o := f.options()
			o.Retry = RetryOptions{MaxAttempts: 3, Backoff: time.Millisecond, MaxWait: 10 * time.Millisecond}
			if tc.timeout > 0 {
				c := *f.srv.Client()
				c.Timeout = tc.timeout
				o.HTTPClient = &c
			}
			res, err := Run(t.Context(), o)
			if !errors.Is(err, catalog.ErrPartial) || res == nil || len(res.FetchErrors) == 0 {
				t.Fatalf("want a partial sync with fetch errors, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), sentrytest.Token) {
				t.Fatal("the token is in the error")
			}
			after := catalogFiles(t, f.dir)
			deleted := 0
			for _, p := range before {
				if contains(after, p) {
					continue
				}
				// Only what upstream lost, of a blueprint no failed kind feeds.
				bp := strings.Split(p, "/")[1]
				doubted := false
				for _, d := range res.Doubts {
					doubted = doubted || d.touches(bp)
				}
				if doubted || !contains(gone, strings.TrimSuffix(strings.Split(p, "/")[2], ".json")) {
					t.Errorf("%s was deleted after a failed fetch (doubts %+v)", p, res.Doubts)
				}
				if bp == "issue" {
					deleted++
				}
			}
			f.checkRepo()

			// The next good sync deletes what upstream really lost.
			f.srv = sentrytest.NewHandler(f.data)
			res2, err := f.sync()
			if err != nil {
				t.Fatalf("good sync after the fault: %v", err)
			}
			if res2.Counts["issue"] != nil {
				deleted += res2.Counts["issue"].Deleted
			}
			if deleted != 3 {
				t.Fatalf("the two syncs deleted %d issues, want 3", deleted)
			}
			f.checkRepo()
		})
	}
}

func TestSyncRetries429Storm(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	f.srv.AddFault(sentrytest.Fault{PathContains: "/issues/", Status: http.StatusTooManyRequests, Times: 4})
	o := f.options()
	o.Retry = RetryOptions{MaxAttempts: 6, Backoff: time.Millisecond, MaxWait: 50 * time.Millisecond}
	res, err := Run(t.Context(), o)
	if err != nil {
		t.Fatalf("a passing 429 storm must not fail the sync: %v", err)
	}
	if res.Retries < 4 {
		t.Fatalf("retries = %d, want >= 4", res.Retries)
	}
	f.checkRepo()
}

func TestSyncHostileIdentifiers(t *testing.T) {
	f := newFixture(t, sentrytest.Demo())
	hostile := []string{"../../etc/passwd", "/abs", "Foo", "foo", "CON", "con.txt", `a\b:c*d?e"f<g>h|i`, "x\x00y", ".hidden", "trailing.", strings.Repeat("long-", 80), "ünïcödé", "a%2fb", "^x"}
	dir := t.TempDir()
	var items []string
	for _, id := range hostile {
		items = append(items, `{"id": `+jsonKey(id)+`, "title": "t", "status": "unresolved", "isUnhandled": false, "permalink": "https://x.example/i", "project": {"slug": "p"}}`)
	}
	if err := os.WriteFile(filepath.Join(dir, "issue.jsonl"), []byte(strings.Join(items, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := issueConfig(t)
	o := f.options()
	o.Replay, o.ConfigPath = dir, cfg
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	f.checkRepo()
	files := catalogFiles(t, f.dir)
	if len(files) != len(hostile) {
		t.Fatalf("%d files for %d identifiers: %v", len(files), len(hostile), files)
	}
	seen := map[string]bool{}
	for _, p := range files {
		if !strings.HasPrefix(p, "catalog/issue/") {
			t.Fatalf("%s escapes catalog/issue/", p)
		}
		low := strings.ToLower(p)
		if seen[low] {
			t.Fatalf("%s collides case-insensitively", p)
		}
		seen[low] = true
		e := readEntity(t, filepath.Join(f.dir, p))
		if !contains(hostile, e["identifier"].(string)) {
			t.Fatalf("%s holds identifier %q", p, e["identifier"])
		}
	}
}

func catalogFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(dir, "catalog")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
