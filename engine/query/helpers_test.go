package query

import (
	"context"
	"fmt"
	"testing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/go-git/go-git/v5/plumbing/object"
)

const testBlueprints = `[
 {"identifier": "team", "title": "team", "schema": {"properties": {}}, "relations": {"members": {"target": "user", "many": true}}},
 {"identifier": "user", "title": "user", "schema": {"properties": {"role": {"type": "string"}}}},
 {"identifier": "project", "title": "project", "schema": {"properties": {}}, "relations": {"team": {"target": "team"}}},
 {"identifier": "issue", "title": "issue", "schema": {"properties": {"status": {"type": "string"}, "count": {"type": "number"}}},
  "relations": {"project": {"target": "project"}, "assignee": {"target": "user"}}}
]`

// makeCatalog commits the entities and the blueprints to a new
// repository and opens it.
func makeCatalog(t testing.TB, es []*catalog.Entity) *review.Repo {
	t.Helper()
	return makeCatalogIn(t, t.TempDir(), es)
}

func makeCatalogIn(t testing.TB, dir string, es []*catalog.Entity) *review.Repo {
	t.Helper()
	st, err := gitstore.Init(dir, "main")
	if err != nil {
		t.Fatal(err)
	}
	ch := []gitstore.Change{{Path: "blueprints/all.json", Content: []byte(testBlueprints)}}
	for _, e := range es {
		ch = append(ch, gitstore.Change{Path: catalog.Path(e.Key()), Content: e.Encode()})
	}
	sig := object.Signature{Name: "t", Email: "t@example.com"}
	if _, err := st.Commit(context.Background(), gitstore.CommitRequest{Changes: ch, Message: "catalog", Author: sig}); err != nil {
		t.Fatal(err)
	}
	repo, err := review.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// smallCatalog: two teams, three users, two projects, n issues.
func smallCatalog(n int) []*catalog.Entity {
	ent := func(bp, id string, props, rels map[string]any) *catalog.Entity {
		if props == nil {
			props = map[string]any{}
		}
		if rels == nil {
			rels = map[string]any{}
		}
		return &catalog.Entity{Blueprint: bp, Identifier: id, Title: id, Properties: props, Relations: rels}
	}
	es := []*catalog.Entity{
		ent("team", "core", nil, map[string]any{"members": []any{"ann", "bob"}}),
		ent("team", "web", nil, map[string]any{"members": []any{"cid"}}),
		ent("user", "ann", map[string]any{"role": "admin"}, nil),
		ent("user", "bob", map[string]any{"role": "member"}, nil),
		ent("user", "cid", map[string]any{"role": "member"}, nil),
		ent("project", "api", nil, map[string]any{"team": "core"}),
		ent("project", "site", nil, map[string]any{"team": "web"}),
	}
	users := []string{"ann", "bob", "cid"}
	statuses := []string{"unresolved", "resolved", "ignored"}
	for i := range n {
		es = append(es, ent("issue", fmt.Sprintf("i%06d", i),
			map[string]any{"status": statuses[i%3], "count": i},
			map[string]any{"project": []string{"api", "site"}[i%2], "assignee": users[i%3]}))
	}
	return es
}

func load(t testing.TB, repo *review.Repo) *Catalog {
	t.Helper()
	rev, err := repo.At("")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(context.Background(), repo, rev)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
