package serve

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/internal/testrepo"
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
