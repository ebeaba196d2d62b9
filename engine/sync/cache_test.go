package sync

import (
	"bytes"
	"context"
	"errors"
	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/config"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/itemcache"
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
	"github.com/gitalog/gitalog/schema"
)

func mustConfig(t *testing.T, f *fixture) *mapping.Config {
	t.Helper()
	cfg, err := mapping.Load(filepath.Join(f.dir, config.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mustBlueprints(t *testing.T, f *fixture) *schema.Set {
	t.Helper()
	store, err := gitstore.Open(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	bps, err := config.Blueprints(store, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return bps
}

// agreesWithMapping asserts that mapping every item afresh, without the
// item cache, would change nothing: whatever the cache skipped, the
// catalog is what the mapping gives.
func (f *fixture) agreesWithMapping() {
	f.t.Helper()
	o := f.options()
	o.DryRun, o.NoCache = true, true
	res, err := Run(context.Background(), o)
	if err != nil {
		f.t.Fatalf("dry run without the cache: %v", err)
	}
	if res.Cached != 0 {
		f.t.Fatalf("a sync without the cache mapped %d items from it", res.Cached)
	}
	if !res.NoChange {
		var b bytes.Buffer
		writeSummary(&b, res, Verbose)
		f.t.Fatalf("the catalog differs from what mapping every item gives:\n%s", b.String())
	}
}

// edit replaces old with new in a file of the repository and commits it.
func (f *fixture) edit(rel, old, new string) {
	f.t.Helper()
	p := filepath.Join(f.dir, rel)
	data, err := os.ReadFile(p)
	if err != nil {
		f.t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		f.t.Fatalf("%s does not contain %q", rel, old)
	}
	if err := os.WriteFile(p, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "edit "+rel)
}

// cacheConfig maps issues, which Sentry lists raw when nothing fans out
// over them, and projects, which it does not.
const cacheConfig = `resources:
  - kind: project
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .slug
          title: .name
          blueprint: '"project"'
          properties:
            platform: .platform
  - kind: issue
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: ".id"
          title: ".title"
          blueprint: '"issue"'
          properties:
            link: ".permalink"
            status: ".status"
            isUnhandled: ".isUnhandled"
          relations:
            project: ".project.slug"
`

func newCacheFixture(t *testing.T) *fixture {
	f := newFixture(t, sentrytest.Demo())
	if err := os.WriteFile(filepath.Join(f.dir, config.ConfigFile), []byte(cacheConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "issues and projects")
	return f
}

func TestItemCacheGivesWhatMappingGives(t *testing.T) {
	f := newCacheFixture(t)
	cache := filepath.Join(f.dir, ".git", itemCacheFile)
	res := f.mustSync()
	if res.Cached != 0 {
		t.Fatalf("the first sync mapped %d items from a cache", res.Cached)
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("no item cache after a sync: %v", err)
	}
	f.checkRepo()
	f.agreesWithMapping()

	issues := res.Items["issue"]
	res = f.mustSync()
	if !res.NoChange || res.Cached < issues {
		t.Fatalf("unchanged resync: NoChange %v, %d items from the cache, want at least the %d issues", res.NoChange, res.Cached, issues)
	}

	t.Run("upstream change", func(t *testing.T) {
		var resolved, added string
		f.srv.Update(func(d *sentrytest.Dataset) {
			resolved = d.IssueIDs("unresolved")[0]
			d.ResolveIssue(resolved)
			added = d.AddIssue("payments", "KeyError: 'currency'", "payments.api in charge", "error")
		})
		res := f.mustSync()
		// Every kind's items are cached (projects, with their organization
		// attached, as well as issues); the changed issues are not.
		items := 0
		for _, n := range res.Items {
			items += n
		}
		if res.Commit.IsZero() || res.Cached == 0 || res.Cached >= items {
			t.Fatalf("commit %v, %d of %d items from the cache", res.Commit, res.Cached, items)
		}
		if !strings.Contains(f.git("show", "HEAD:catalog/issue/"+added+".json"), "KeyError") {
			t.Fatal("the new issue's file is not in HEAD")
		}
		f.checkRepo()
		f.agreesWithMapping()
	})

	t.Run("hand edit of a synced file", func(t *testing.T) {
		id := f.data.IssueIDs("unresolved")[1]
		rel := "catalog/issue/" + id + ".json"
		orig, err := os.ReadFile(filepath.Join(f.dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		f.edit(rel, `"status": "unresolved"`, `"status": "edited by hand"`)
		res := f.mustSync()
		if res.Commit.IsZero() || len(res.Changed) != 1 || res.Changed[0].Identifier != id {
			t.Fatalf("the sync did not put back the edited file: %+v", res.Changed)
		}
		if got, _ := os.ReadFile(filepath.Join(f.dir, rel)); !bytes.Equal(got, orig) {
			t.Fatalf("%s is\n%s\nwant\n%s", rel, got, orig)
		}
		f.checkRepo()
		f.agreesWithMapping()
	})

	// The managed lists are part of what the cache was written for: a name
	// taken off by hand makes its file hand-written, cache or not.
	t.Run("hand edit of a managed list", func(t *testing.T) {
		id := f.data.IssueIDs("unresolved")[2]
		list := filepath.Join(f.dir, catalog.ManagedDir, "issue.txt")
		before, err := os.ReadFile(list)
		if err != nil {
			t.Fatal(err)
		}
		f.edit(filepath.Join(catalog.ManagedDir, "issue.txt"), id+"\n", "")
		defer func() {
			os.WriteFile(list, before, 0o644)
			f.git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "managed again")
		}()
		res := f.mustSync()
		want := "catalog/issue/" + id + ".json"
		if len(res.Conflicts) != 1 || res.Conflicts[0] != want {
			t.Fatalf("conflicts %v, want [%s]", res.Conflicts, want)
		}
		f.checkRepo()
		f.agreesWithMapping()
	})

	t.Run("config change", func(t *testing.T) {
		f.edit(config.ConfigFile, `          title: ".title"`, `          title: '.title + " (" + .level + ")"'`)
		res := f.mustSync()
		if res.Cached != 0 || res.Counts["issue"] == nil || res.Counts["issue"].Changed != res.Items["issue"] {
			t.Fatalf("after a config change: %d items from the cache, counts %+v", res.Cached, res.Counts["issue"])
		}
		f.checkRepo()
		f.agreesWithMapping()
		if res := f.mustSync(); !res.NoChange || res.Cached == 0 {
			t.Fatalf("the cache was not rebuilt for the new config: NoChange %v, %d cached", res.NoChange, res.Cached)
		}
	})

	t.Run("blueprint change", func(t *testing.T) {
		f.edit(filepath.Join(config.BlueprintsDir, "issue.json"), `"title": "issue"`, `"title": "Sentry issue"`)
		res := f.mustSync()
		if res.Cached != 0 || !res.NoChange {
			t.Fatalf("after a blueprint change: %d items from the cache, NoChange %v", res.Cached, res.NoChange)
		}
		f.agreesWithMapping()
	})

	t.Run("damaged cache", func(t *testing.T) {
		data, err := os.ReadFile(cache)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0xff
		if err := os.WriteFile(cache, data, 0o644); err != nil {
			t.Fatal(err)
		}
		f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(d.IssueIDs("unresolved")[0]) })
		res := f.mustSync()
		if res.Cached != 0 || res.Commit.IsZero() {
			t.Fatalf("with a damaged cache: %d items from it, commit %v", res.Cached, res.Commit)
		}
		f.checkRepo()
		f.agreesWithMapping()
		if res := f.mustSync(); res.Cached == 0 {
			t.Fatal("the damaged cache was not replaced")
		}
	})

	// Entries are checked against the catalog unless the cache was written
	// for the very catalog the sync commits on. Forged entries, each with
	// a blob that exists nowhere, written for another catalog, must all
	// be found wrong and the items mapped again.
	t.Run("entries for another catalog", func(t *testing.T) {
		fp, err := cacheFingerprint(mustConfig(t, f), mustBlueprints(t, f))
		if err != nil {
			t.Fatal(err)
		}
		c, err := itemcache.Load(cache, fp)
		if err != nil || c.Len() == 0 {
			t.Fatalf("loading the cache: %d entries, %v", c.Len(), err)
		}
		var forged []itemcache.Record
		for _, r := range c.Records() {
			es, err := r.Entities()
			if err != nil {
				t.Fatal(err)
			}
			for i := range es {
				es[i].Blob[0] ^= 0xff
			}
			forged = append(forged, itemcache.Encode(nil, r.Key(), es))
		}
		if err := itemcache.Write(cache, fp, [20]byte{1}, forged); err != nil {
			t.Fatal(err)
		}
		f.srv.Update(func(d *sentrytest.Dataset) { d.ResolveIssue(d.IssueIDs("unresolved")[0]) })
		res := f.mustSync()
		if res.Cached != 0 || res.Commit.IsZero() || len(res.Deleted) != 1 || len(res.Changed) != 0 {
			t.Fatalf("with forged entries: %d items from the cache, commit %v, %d changed, %d deleted", res.Cached, res.Commit, len(res.Changed), len(res.Deleted))
		}
		f.checkRepo()
		f.agreesWithMapping()
	})

	t.Run("no-cache", func(t *testing.T) {
		o := f.options()
		o.NoCache = true
		res, err := Run(context.Background(), o)
		if err != nil || res.Cached != 0 || !res.NoChange {
			t.Fatalf("--no-cache: err %v, %d cached, NoChange %v", err, res.Cached, res.NoChange)
		}
		if res := f.mustSync(); res.Cached == 0 {
			t.Fatal("--no-cache left no cache behind")
		}
	})
}

// A mapping that reads the clock gives new entities every time: the cache
// must never freeze its first result.
func TestItemCacheSkipsImpureMappings(t *testing.T) {
	f := newCacheFixture(t)
	f.edit(config.ConfigFile, `            link: ".permalink"`, `            link: '.permalink + "?at=" + (now | tostring)'`)
	f.mustSync()
	res := f.mustSync()
	if c := res.Counts["issue"]; c == nil || c.Changed != res.Items["issue"] {
		t.Fatalf("a mapping calling now: counts %+v, want all %d issues changed", c, res.Items["issue"])
	}
	if res.Cached >= res.Items["issue"] {
		t.Fatalf("%d items from the cache, of %d issues", res.Cached, res.Items["issue"])
	}
	f.checkRepo()
}

// Two items that give one entity: the later one's entity is the file,
// and only its entry may say the file is in the catalog.
func TestItemCacheDuplicateEntities(t *testing.T) {
	dir := t.TempDir()
	replay := filepath.Join(dir, "replay")
	if err := os.MkdirAll(replay, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(lines ...string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(replay, "issue.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte(`resources:
  - kind: issue
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .key
          title: .title
          blueprint: '"issue"'
`), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, sentrytest.Demo())
	sync := func() *Result {
		t.Helper()
		o := f.options()
		o.Replay, o.ConfigPath = replay, cfg
		res, err := Run(context.Background(), o)
		// Two items of one resource giving one entity is a doubt: the
		// sync is partial, and still commits.
		if err != nil && !errors.Is(err, catalog.ErrPartial) {
			t.Fatal(err)
		}
		return res
	}
	write(`{"id":"1","key":"k","title":"first"}`, `{"id":"2","key":"k","title":"second"}`)
	sync()
	if got := f.git("show", "HEAD:catalog/issue/k.json"); !strings.Contains(got, "second") {
		t.Fatalf("k.json:\n%s", got)
	}
	// The later item goes: the earlier one's entity must be written now,
	// though its bytes are the same as last time.
	write(`{"id":"1","key":"k","title":"first"}`)
	res := sync()
	if got := f.git("show", "HEAD:catalog/issue/k.json"); !strings.Contains(got, "first") || res.Commit.IsZero() {
		t.Fatalf("k.json after the later item went:\n%s", got)
	}
	f.checkRepo()
}
