package sentrytest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDemoShape(t *testing.T) {
	d := Demo()
	if d.OrgSlug() != "acme-corp" || len(d.Projects) != 6 || len(d.Teams) != 4 || len(d.Members) != 10 || d.NumIssues() != 40 {
		t.Fatalf("demo sizes: %d projects %d teams %d members %d issues", len(d.Projects), len(d.Teams), len(d.Members), d.NumIssues())
	}
	platforms, levels, perProject, assigned := map[string]bool{}, map[string]bool{}, map[string]int{}, 0
	for _, p := range d.Projects {
		platforms[p.Platform] = true
	}
	for _, id := range d.IssueIDs("") {
		is := d.Issue(id)
		levels[is.Level] = true
		perProject[is.Project.Slug]++
		if is.AssignedTo != nil {
			assigned++
		}
	}
	if len(platforms) != 6 || len(levels) < 4 || len(perProject) != 6 || assigned < 5 {
		t.Fatalf("demo variety: platforms %v levels %v projects %v assigned %d", platforms, levels, perProject, assigned)
	}
}

func TestDeterministic(t *testing.T) {
	snapshot := func(d *Dataset) string {
		s := NewHandler(d, WithPageSize(100))
		var b strings.Builder
		for _, p := range []string{"/api/0/organizations/" + d.OrgSlug() + "/issues/?query=", "/api/0/projects/", "/api/0/organizations/" + d.OrgSlug() + "/members/"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", p, nil)
			req.Header.Set("Authorization", "Bearer "+Token)
			s.ServeHTTP(rec, req)
			b.Write(rec.Body.Bytes())
		}
		return b.String()
	}
	if snapshot(Demo()) != snapshot(Demo()) {
		t.Fatal("Demo is not deterministic")
	}
	o := GenOptions{Seed: 42, Projects: 5, Issues: 300, Teams: 3, Members: 12}
	if snapshot(Generate(o)) != snapshot(Generate(o)) {
		t.Fatal("Generate is not deterministic")
	}
	o2 := o
	o2.Seed = 43
	if reflect.DeepEqual(Generate(o).IssueIDs(""), Generate(o2).IssueIDs("")) && snapshot(Generate(o)) == snapshot(Generate(o2)) {
		t.Fatal("seed has no effect")
	}
}

func TestGenerateSizes(t *testing.T) {
	d := Generate(GenOptions{Seed: 1, Projects: 40, Issues: 5000, Teams: 15, Members: 60})
	if len(d.Projects) != 40 || len(d.Teams) != 15 || len(d.Members) != 60 || d.NumIssues() != 5000 {
		t.Fatal("sizes not honoured")
	}
	slugs := map[string]bool{}
	for _, p := range d.Projects {
		if slugs[p.Slug] {
			t.Fatalf("duplicate project slug %s", p.Slug)
		}
		slugs[p.Slug] = true
	}
	short := map[string]bool{}
	for _, id := range d.IssueIDs("") {
		s := d.Issue(id).ShortID()
		if short[s] {
			t.Fatalf("duplicate short id %s", s)
		}
		short[s] = true
	}
}

// TestGenerateLarge checks that a 300k dataset is whole and pages like the
// API. How fast it is generated is BenchmarkGenerate100k's to say: a wall-time
// bound here failed on a loaded machine under -race.
func TestGenerateLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large dataset")
	}
	start := time.Now()
	d := Generate(GenOptions{Seed: 9, Projects: 200, Issues: 300000, Teams: 30, Members: 400})
	if d.NumIssues() != 300000 {
		t.Fatal(d.NumIssues())
	}
	t.Logf("generated 300k issues in %v", time.Since(start))
	s := NewHandler(d)
	start = time.Now()
	pages := 0
	url := "/api/0/organizations/" + d.OrgSlug() + "/issues/?query=is:unresolved"
	for url != "" && pages < 200 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+Token)
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatal(rec.Code)
		}
		var items []json.RawMessage
		json.Unmarshal(rec.Body.Bytes(), &items)
		if len(items) != 100 {
			t.Fatalf("page %d has %d items", pages, len(items))
		}
		pages++
		l := parseLink(t, rec.Header().Get("Link"))
		url = strings.TrimPrefix(l.nextURL, "http://example.com")
	}
	t.Logf("200 pages in %v", time.Since(start))
}

func BenchmarkIssuePages(b *testing.B) {
	d := Generate(GenOptions{Seed: 9, Projects: 100, Issues: 300000})
	s := NewHandler(d)
	org := d.OrgSlug()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off := (i * 100) % 150000
		req := httptest.NewRequest("GET", "/api/0/organizations/"+org+"/issues/?query=&cursor=0:"+strconv.Itoa(off)+":0", nil)
		req.Header.Set("Authorization", "Bearer "+Token)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

func BenchmarkGenerate100k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Generate(GenOptions{Seed: int64(i), Issues: 100000})
	}
}
