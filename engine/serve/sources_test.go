package serve

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/internal/testrepo"
	"github.com/gitalog/gitalog/engine/notify"
	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/sync"
)

// sourcesRepo is a catalog whose gitalog.yaml has sources: eu and us.
func sourcesRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	t.Setenv("HOME", t.TempDir())
	if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: testrepo.Author, Sources: []string{"eu", "us"}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A serve of a catalog with sources syncs one of them: without --source
// (or with one the file does not name) it would accept webhooks and fail
// every batch, so it refuses to start, before it listens.
func TestServeWithSourcesNeedsSource(t *testing.T) {
	dir := sourcesRepo(t)
	for _, tt := range []struct {
		source string
		want   []string
	}{
		{"", []string{"--source", "gitalog.yaml", "eu, us"}},
		{"nope", []string{"--source nope", "gitalog.yaml", "eu, us"}},
	} {
		t.Run("source="+tt.source, func(t *testing.T) {
			listened := false
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			err := Run(ctx, Config{
				Sync:    sync.Options{Dir: dir, Source: tt.source, Author: testrepo.Author},
				Listen:  "127.0.0.1:0",
				Options: Options{Secret: testSecret, CommitInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)},
				Ready:   func(*Server, net.Addr) { listened = true; stop() },
			})
			if err == nil || listened {
				t.Fatalf("Run started (listened: %v, error: %v)", listened, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	t.Run("source=eu", func(t *testing.T) {
		r := startServe(t, Config{Sync: sync.Options{Dir: dir, Source: "eu", Author: testrepo.Author}, Options: Options{CommitInterval: time.Hour}})
		r.shutdown(t)
	})
}

// serve --source NAME tells of its source's commits only, with that
// source's delivery state, as sync --source does; the first source also
// tells of the commits no source made.
func TestServeNotifiesItsSourcesCommits(t *testing.T) {
	for _, tt := range []struct {
		source string
		want   []string
	}{
		{"us", []string{"created us-1"}},
		{"eu", []string{"created eu-1", "created hand-1"}},
	} {
		t.Run(tt.source, func(t *testing.T) {
			dir := sourcesRepo(t)
			hook := newHookSink(t)
			cfg := filepath.Join(dir, "gitalog.yaml")
			b, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg, append(b, "\nnotify:\n  - webhook: "+hook.srv.URL+"\n    name: hook\n"...), 0o644); err != nil {
				t.Fatal(err)
			}
			git := func(args ...string) string {
				return testrepo.Git(t, dir, append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
			}
			git("commit", "-qam", "notify the hook")
			start := strings.TrimSpace(git("rev-parse", "HEAD"))
			for _, n := range []string{"eu", "us"} {
				git("update-ref", notify.SourceRefPrefix(n)+"hook", start)
			}
			for _, c := range []struct{ id, msg string }{
				{"eu-1", "sync(eu): sentryIssue +1\n\nGitalog-Source: eu"},
				{"hand-1", "an issue by hand"},
				{"us-1", "sync(us): sentryIssue +1\n\nGitalog-Source: us"},
			} {
				p := filepath.Join(dir, "catalog", "sentryIssue", c.id+".json")
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(`{"identifier": "`+c.id+`", "title": "`+c.id+`", "blueprint": "sentryIssue", "properties": {}}`+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				git("add", p)
				git("commit", "-qm", c.msg)
			}
			r := startServe(t, Config{Sync: sync.Options{Dir: dir, Source: tt.source, Author: testrepo.Author}, Options: Options{CommitInterval: time.Hour}, Notify: fastNotify()})
			r.shutdown(t) // the last round delivers what is pending
			got, _ := hook.received()
			var evs []string
			for _, p := range got {
				evs = append(evs, p.Event+" "+p.Identifier)
			}
			slices.Sort(evs)
			if !slices.Equal(evs, tt.want) {
				t.Errorf("serve --source %s sent %q, want %q", tt.source, evs, tt.want)
			}
			if at := strings.TrimSpace(git("rev-parse", notify.SourceRefPrefix(tt.source)+"hook")); at != strings.TrimSpace(git("rev-parse", "HEAD")) {
				t.Errorf("the source's state is at %s, not at the head", at)
			}
			if at := notifiedAt(t, dir, "hook"); at != "" {
				t.Errorf("serve --source %s wrote the unsourced state %s", tt.source, notify.RefPrefix+"hook")
			}
		})
	}
}
