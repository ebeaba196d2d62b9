package notify

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"gopkg.in/yaml.v3"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/extract/extracttest"
	"github.com/gitalog/gitalog/engine/gitstore"
)

type repo struct {
	t    *testing.T
	st   *gitstore.Store
	head plumbing.Hash
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	st, err := gitstore.Init(filepath.Join(t.TempDir(), "r.git"), "main")
	if err != nil {
		t.Fatal(err)
	}
	return &repo{t: t, st: st}
}

// commit writes the entities (nil Properties and Title "" mean delete).
func (r *repo) commit(msg string, es ...*catalog.Entity) plumbing.Hash {
	r.t.Helper()
	var ch []gitstore.Change
	for _, e := range es {
		p := catalog.Path(e.Key())
		if e.Properties == nil {
			ch = append(ch, gitstore.Change{Path: p, Delete: true})
			continue
		}
		ch = append(ch, gitstore.Change{Path: p, Content: e.Encode()})
	}
	sig := object.Signature{Name: "T", Email: "t@example.com", When: time.Unix(1700000000, 0)}
	h, err := r.st.Commit(context.Background(), gitstore.CommitRequest{Parent: r.head, Changes: ch, Message: msg, Author: sig})
	if err != nil {
		r.t.Fatal(err)
	}
	r.head = h
	return h
}

func (r *repo) ref(s *Sink) plumbing.Hash {
	r.t.Helper()
	h, _, err := r.st.ResolveRef(s.Ref())
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

func issue(id, title, status string, count int, extra map[string]any) *catalog.Entity {
	props := map[string]any{"link": "https://sentry.example/issues/" + id + "/", "status": status, "count": count}
	for k, v := range extra {
		props[k] = v
	}
	return &catalog.Entity{Identifier: id, Title: title, Blueprint: "issue", Properties: props, Relations: map[string]any{"project": "backend"}}
}

func deleted(bp, id string) *catalog.Entity {
	return &catalog.Entity{Identifier: id, Blueprint: bp}
}

// parse compiles a notify: list written in YAML.
func parse(t *testing.T, src string, env map[string]string) *Config {
	t.Helper()
	cfg, _, err := parseErr(src, env)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func parseErr(src string, env map[string]string) (*Config, []string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, nil, err
	}
	root := doc.Content[0]
	return Parse("gitalog.yaml", root.Content[1], extracttest.Compiler("gitalog.yaml"), func(k string) string { return env[k] })
}

func newNotifier(r *repo, cfg *Config) *Notifier {
	return New(r.st, cfg, Options{Backoff: time.Millisecond, Attempts: 2, Logger: slog.New(slog.DiscardHandler)})
}

// tcpListener is seed 002's dummy server: one message per connection.
func tcpListener(t *testing.T) (string, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	msgs := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(c)
			c.Close()
			msgs <- string(b)
		}
	}()
	return ln.Addr().String(), msgs
}

func drain(ch <-chan string) []string {
	var out []string
	for {
		select {
		case m := <-ch:
			out = append(out, m)
		default:
			return out
		}
	}
}

func yamlList(lines ...string) string { return "notify:\n" + strings.Join(lines, "\n") + "\n" }
