package sync

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/extract/extracttest"
	"github.com/gitalog/gitalog/engine/fanout"
	"github.com/gitalog/gitalog/engine/internal/testrepo"
)

// detailRequests are the Honeycomb fake's requests for SLO details since
// the count before.
func detailRequests(f *extracttest.Fake, before int) []string {
	var out []string
	for _, r := range f.Requests()[before:] {
		if strings.HasPrefix(r.Path, "/1/slos/__all__/") {
			out = append(out, r.Path)
		}
	}
	return out
}

// A for_each extractor with depends_on keeps its parents' results in the
// committed fan-out state: an unchanged resync, in the same clone or a
// fresh one, asks only for the parents; a moved parent is fetched again;
// --full fetches all.
func TestFanoutExtractorDependsOn(t *testing.T) {
	f := extracttest.NewHoneycomb()
	defer f.Close()
	setenv(t, f.Env)
	r := newOLRepo(t)
	src := strings.Replace(example(t, "honeycomb-for-each.yaml", f.URL), "    for_each: honeycomb_slos\n", "    for_each: honeycomb_slos\n    depends_on: [name, description]\n", 1)
	r.write("gitalog.yaml", src)
	r.write("blueprints/slo.json", sloBlueprint)
	r.commit("the honeycomb guide, with depends_on")
	r.mustSync()
	if n := len(detailRequests(f, 0)); n != 3 {
		t.Fatalf("first sync: %d detail requests", n)
	}
	state := r.git("ls-files", fanout.Dir+"/"+extract.MemoName("honeycomb_slo_details"))
	if len(strings.Fields(state)) == 0 {
		t.Fatal("the first sync committed no fan-out state for the extractor")
	}
	files := r.files("slo")

	dir := filepath.Join(t.TempDir(), "clone")
	testrepo.Git(t, filepath.Dir(dir), "clone", "-q", r.dir, dir)
	clone := &olRepo{t: t, dir: dir}
	for _, c := range []struct {
		name string
		r    *olRepo
	}{{"same clone", r}, {"fresh clone", clone}} {
		t.Run(c.name, func(t *testing.T) {
			before := len(f.Requests())
			res, err := c.r.sync()
			if err != nil {
				t.Fatal(err)
			}
			if got := detailRequests(f, before); len(got) != 0 || len(f.Requests())-before != 1 {
				t.Fatalf("unchanged resync: detail requests %q", got)
			}
			if !res.NoChange || !res.Commit.IsZero() {
				t.Fatalf("unchanged resync committed %v", res.Commit)
			}
			if got := c.r.files("slo"); strings.Join(got, " ") != strings.Join(files, " ") {
				t.Fatalf("slo %v, want %v", got, files)
			}
		})
	}

	f.Items["honeycomb_slos"][0]["description"] = "moved"
	before := len(f.Requests())
	clone.t = t
	if _, err := clone.sync(); err != nil {
		t.Fatal(err)
	}
	if got := detailRequests(f, before); len(got) != 1 || got[0] != "/1/slos/__all__/slo1AbC" {
		t.Fatalf("moved parent: detail requests %q", got)
	}

	before = len(f.Requests())
	o := r.options()
	o.Full = true
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got := detailRequests(f, before); len(got) != 3 {
		t.Fatalf("--full: detail requests %q", got)
	}
}
