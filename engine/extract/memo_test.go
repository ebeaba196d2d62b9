package extract_test

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gitalog/gitalog/engine/extract"
	"github.com/gitalog/gitalog/engine/extract/extracttest"
)

// memo is an in-memory sentry.Memo whose entries carry over between
// Sources, as the committed fan-out state does between syncs.
type memo struct {
	mu     sync.Mutex
	full   bool
	fps    map[string]string // name \x00 request -> fingerprint
	vals   map[string][]byte
	kept   []string
	listed map[string]bool
}

func newMemo() *memo {
	return &memo{fps: map[string]string{}, vals: map[string][]byte{}, listed: map[string]bool{}}
}

func (m *memo) Recall(name, request, fp string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := name + "\x00" + request
	if m.full || m.fps[k] != fp {
		return nil, false
	}
	return m.vals[k], true
}

func (m *memo) Remember(name, request, fp string, result []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := name + "\x00" + request
	if result == nil {
		delete(m.fps, k)
		delete(m.vals, k)
		return
	}
	m.fps[k], m.vals[k] = fp, result
}

func (m *memo) Keep(name, request string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kept = append(m.kept, name+"\x00"+request)
}

func (m *memo) Listed(name string, whole bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listed[name] = whole
}

// honeycombDepends is the Honeycomb guide with depends_on on the details.
func honeycombDepends(t *testing.T, f *extracttest.Fake) *extract.Definition {
	t.Helper()
	data, err := os.ReadFile("../../examples/opslevel/honeycomb-for-each.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(extracttest.WithHost(data, f.URL)), "    for_each: honeycomb_slos\n", "    for_each: honeycomb_slos\n    depends_on: [name, description]\n", 1)
	lists, err := extracttest.ExtractorLists([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	d, err := extract.Parse("gitalog.yaml", extracttest.Compiler("gitalog.yaml"), env(f.Env), lists...)
	if err != nil {
		t.Fatal(err)
	}
	if e := d.Extractor("honeycomb_slo_details"); e == nil || len(e.DependsOn) != 2 {
		t.Fatal("depends_on not parsed")
	}
	return d
}

// failPath answers 404 to requests for a path, as a broken child would.
type failPath struct{ path string }

func (fp failPath) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == fp.path {
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json"}},
			Body: http.NoBody, Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// run streams the details with m as the memo; it returns the requests
// made and the items' ids.
func runMemo(t *testing.T, f *extracttest.Fake, d *extract.Definition, m *memo, o extract.Options) ([]string, []string, error) {
	t.Helper()
	before := len(f.Requests())
	s, _ := source(t, d, o)
	s.Memo = m
	items, _, err := stream(s, "honeycomb_slo_details")
	var paths []string
	for _, r := range f.Requests()[before:] {
		paths = append(paths, r.Path)
	}
	var got []string
	for _, it := range items {
		got = append(got, it["id"].(string)+"-"+it["opslevel_slug"].(string))
	}
	return paths, got, err
}

func TestMemoForEachDependsOn(t *testing.T) {
	f := extracttest.NewHoneycomb()
	defer f.Close()
	d := honeycombDepends(t, f)
	m := newMemo()
	want := strings.Join(f.IDs("honeycomb_slo_details"), " ")

	paths, got, err := runMemo(t, f, d, m, extract.Options{})
	if err != nil || len(paths) != 4 || strings.Join(got, " ") != want {
		t.Fatalf("first run: %v requests %q items %q", err, paths, got)
	}
	if len(m.fps) != 3 || !m.listed[extract.MemoName("honeycomb_slo_details")] {
		t.Fatalf("stored %d entries, listed %v", len(m.fps), m.listed)
	}
	for k, v := range m.vals {
		if strings.Contains(k, "hc-fake-key") || strings.Contains(string(v), "hc-fake-key") || strings.Contains(k, "/1/slos") {
			t.Fatalf("the stored request names the rendered request: %q", k)
		}
	}

	// Unchanged parents: only the parent list is asked.
	paths, got, err = runMemo(t, f, d, m, extract.Options{})
	if err != nil || len(paths) != 1 || paths[0] != "/1/slos/__all__" || strings.Join(got, " ") != want {
		t.Fatalf("unchanged run: %v requests %q items %q", err, paths, got)
	}

	// A parent whose declared field moved is fetched again, in this run.
	f.Items["honeycomb_slos"][1]["description"] = "moved"
	paths, _, err = runMemo(t, f, d, m, extract.Options{})
	if err != nil || len(paths) != 2 || paths[1] != "/1/slos/__all__/slo2AbC" {
		t.Fatalf("moved parent: %v requests %q", err, paths)
	}
	// A field not declared does not matter.
	f.Items["honeycomb_slos"][1]["other"] = "x"
	if paths, _, _ = runMemo(t, f, d, m, extract.Options{}); len(paths) != 1 {
		t.Fatalf("undeclared field: requests %q", paths)
	}

	// A full refresh fetches every parent.
	m.full = true
	if paths, _, _ = runMemo(t, f, d, m, extract.Options{}); len(paths) != 4 {
		t.Fatalf("full: requests %q", paths)
	}
	m.full = false

	// A failed child keeps its old entry, and the run is no complete list.
	old := map[string]string{}
	for k, v := range m.fps {
		old[k] = v
	}
	f.Items["honeycomb_slos"][2]["description"] = "moved too"
	_, _, err = runMemo(t, f, d, m, extract.Options{HTTPClient: &http.Client{Transport: failPath{"/1/slos/__all__/slo3AbC"}}, MaxAttempts: 1})
	if err == nil {
		t.Fatal("a failed child did not fail the kind")
	}
	if len(m.kept) != 1 || old[m.kept[0]] == "" || m.fps[m.kept[0]] != old[m.kept[0]] || m.listed[extract.MemoName("honeycomb_slo_details")] {
		t.Fatalf("kept %q, listed %v", m.kept, m.listed)
	}
	paths, got, err = runMemo(t, f, d, m, extract.Options{})
	if err != nil || len(paths) != 2 || paths[1] != "/1/slos/__all__/slo3AbC" || strings.Join(got, " ") != want {
		t.Fatalf("after the failure: %v requests %q items %q", err, paths, got)
	}
}

// Exclude applies to stored results: they are kept before it.
func TestMemoExcludeChangeApplies(t *testing.T) {
	f := extracttest.NewHoneycomb()
	defer f.Close()
	m := newMemo()
	if _, _, err := runMemo(t, f, honeycombDepends(t, f), m, extract.Options{}); err != nil {
		t.Fatal(err)
	}
	d := honeycombDepends(t, f)
	d.Extractor("honeycomb_slo_details").Exclude = extracttest.JQ(`.opslevel_slug == "edge"`)
	paths, got, err := runMemo(t, f, d, m, extract.Options{})
	if err != nil || len(paths) != 1 || strings.Contains(strings.Join(got, " "), "edge") || len(got) != 4 {
		t.Fatalf("%v requests %q items %q", err, paths, got)
	}
}
