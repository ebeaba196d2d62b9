package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitalog/gitalog/engine/scaffold"
	"github.com/gitalog/gitalog/engine/scaffold/porttest"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/engine/sync"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// With sources:, `plan --format json` prints one object a source; each
// says whose it is in "source_name" (the "source" line says where the
// items came from, which two sources on one Sentry share). Without
// sources: the key is left out (the goldens of TestRenderRealPlan).
func TestJSONNamesItsSource(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "catalog")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	author := &object.Signature{Name: "Test", Email: "test@example.com"}
	if _, err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Author: author, Branch: "main", Extra: porttest.Files()}); err != nil {
		t.Fatal(err)
	}
	data := sentrytest.Demo()
	srv := sentrytest.NewHandler(data)
	cfg := "sources:\n"
	for _, n := range []string{"eu", "us"} {
		cfg += fmt.Sprintf("  - name: %s\n    url: %s\n    org: %s\n", n, srv.URL, data.OrgSlug())
	}
	cfg += `resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: $source + "-" + .slug
          title: .name
          blueprint: '"project"'
`
	cfgPath := filepath.Join(t.TempDir(), "gitalog.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SENTRY_AUTH_TOKEN": sentrytest.Token}
	o := sync.Options{Dir: dir, ConfigPath: cfgPath, Env: func(k string) string { return env[k] }, HTTPClient: srv.Client(), Author: author, Plan: true}
	res, err := sync.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sources) != 2 {
		t.Fatalf("%d source results, want 2", len(res.Sources))
	}
	for i, want := range []string{"eu", "us"} {
		var b bytes.Buffer
		if err := JSON(&b, res.Sources[i]); err != nil {
			t.Fatal(err)
		}
		var got struct {
			SourceName *string `json:"source_name"`
			Changes    struct {
				Create []struct{ Identifier string } `json:"create"`
			} `json:"changes"`
		}
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.SourceName == nil || *got.SourceName != want {
			t.Errorf("source %s's plan: source_name %v:\n%s", want, got.SourceName, b.String())
		}
		if len(got.Changes.Create) == 0 || got.Changes.Create[0].Identifier[:len(want)+1] != want+"-" {
			t.Errorf("source %s's plan creates %+v", want, got.Changes.Create)
		}
	}
	var b bytes.Buffer
	if err := JSON(&b, &sync.Result{}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte(`"source_name"`)) {
		t.Errorf("a plan of no source has a source_name:\n%s", b.String())
	}
}
