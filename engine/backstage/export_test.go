package backstage

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/demo"
	"github.com/gitalog/gitalog/engine/query"
	"github.com/gitalog/gitalog/engine/review"
)

// demoExport builds the demo catalog and exports it with the default
// mapping.
func demoExport(t *testing.T) []Entity {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	t.Setenv("HOME", t.TempDir())
	if err := demo.Run(context.Background(), demo.Options{Dir: dir, Out: io.Discard}); err != nil {
		t.Fatal(err)
	}
	repo, err := review.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := repo.At("")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := query.Load(context.Background(), repo, rev)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Build(DefaultConfig(), cat, cat.Entities)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Build(DefaultConfig(), cat, cat.Entities)
	a, _ := Encode(ds)
	b, _ := Encode(again)
	if !bytes.Equal(a, b) {
		t.Fatal("two exports of one catalog differ")
	}
	return ds
}

func TestExportDemo(t *testing.T) {
	ds := demoExport(t)
	kinds := map[string]int{}
	byName := map[string]Entity{}
	for _, d := range ds {
		kinds[d.Kind]++
		byName[Ref(d.Kind, d.Metadata.Namespace, d.Metadata.Name)] = d
		if errs := Check(d); len(errs) > 0 {
			t.Errorf("%s: %v", d.Metadata.Name, errs)
		}
	}
	if kinds["Component"] != 6 || kinds["Group"] != 4 || kinds["User"] != 10 {
		t.Errorf("kinds: %v, want 6 components, 4 groups, 10 users", kinds)
	}
	web := byName["component:default/web-frontend"]
	if web.Spec["owner"] != "group:default/frontend" {
		t.Errorf("web-frontend's owner: %v", web.Spec["owner"])
	}
	if web.Metadata.Annotations["gitalog.dev/issues-unresolved"] == "" {
		t.Errorf("web-frontend has no issue counts: %v", web.Metadata.Annotations)
	}
	james := byName["user:default/james.chen"]
	if got := strings.Join(james.Spec["memberOf"].([]string), " "); got != "group:default/payments group:default/platform" {
		t.Errorf("james.chen memberOf %q", got)
	}

	out := t.TempDir()
	files, err := Write(out, "default", ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Errorf("wrote %v", files)
	}
	loc, _ := os.ReadFile(filepath.Join(out, LocationFile))
	if !strings.Contains(string(loc), "- ./components.yaml") {
		t.Errorf("catalog-info.yaml:\n%s", loc)
	}
}

func TestMappingErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"namespace: Bad_NS\n", `namespace "Bad_NS" is not a valid Backstage namespace`},
		{"components:\n  - blueprint: a\ngroups:\n  - blueprint: a\n", `blueprint "a" is mapped twice`},
		{"issues:\n  - blueprint: i\n", `issues[0]: component`},
		{"compnents: []\n", `field compnents not found`},
	} {
		if _, err := ParseConfig([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// The node script: every entity through catalog-model's own policies
// and its kind's validator; prints "ok N" or throws.
const validateJS = `
const m = require('@backstage/catalog-model');
const entities = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const policy = m.EntityPolicies.allOf([
  new m.DefaultNamespaceEntityPolicy(), new m.NoForeignRootFieldsEntityPolicy(),
  new m.FieldFormatEntityPolicy(), new m.SchemaValidEntityPolicy(),
]);
const validators = {Component: m.componentEntityV1alpha1Validator, Group: m.groupEntityV1alpha1Validator,
  User: m.userEntityV1alpha1Validator, Location: m.locationEntityV1alpha1Validator};
(async () => {
  for (const e of entities) {
    await policy.enforce(e);
    if (!(await validators[e.kind].check(e))) throw new Error('not accepted: ' + e.metadata.name);
    for (const r of [e.spec.owner, ...(e.spec.memberOf || []), ...(e.spec.members || []), ...(e.spec.dependsOn || [])].filter(Boolean)) {
      m.parseEntityRef(r);
    }
  }
  console.log('ok ' + entities.length);
})().catch(err => { console.error(String(err)); process.exit(1); });
`

// TestCatalogModelAcceptsTheExport validates the demo's export with the
// real @backstage/catalog-model, where node and npm can fetch it.
func TestCatalogModelAcceptsTheExport(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: it installs @backstage/catalog-model with npm")
	}
	node, err1 := exec.LookPath("node")
	npm, err2 := exec.LookPath("npm")
	if err1 != nil || err2 != nil {
		t.Skip("node or npm is not installed: the export is checked against the ported rules only")
	}
	ds := demoExport(t)
	ds = append(ds, Entity{APIVersion: APIVersion, Kind: "Location", Metadata: Metadata{Name: "gitalog", Namespace: "default"},
		Spec: map[string]any{"targets": []string{"./components.yaml"}}})
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--silent", "@backstage/catalog-model")
	install.Dir = work
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("npm could not fetch @backstage/catalog-model (%v), so the export is checked against the ported rules only:\n%s", err, out)
	}
	data, err := json.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(work, "entities.json"), data, 0o644)
	os.WriteFile(filepath.Join(work, "validate.js"), []byte(validateJS), 0o644)
	cmd := exec.CommandContext(ctx, node, "validate.js", "entities.json")
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("@backstage/catalog-model rejects the export: %v\n%s", err, out)
	}
	t.Logf("@backstage/catalog-model: %s", bytes.TrimSpace(out))
}

// portCatalog is a catalog with Port's Sentry blueprints' relations.
type portCatalog map[string]map[string]string

func (c portCatalog) Target(bp, rel string) (string, bool) {
	t, ok := c[bp][rel]
	return t, ok
}

func (c portCatalog) HasBlueprint(bp string) bool {
	_, ok := c[bp]
	return ok
}

func (c portCatalog) HasProperty(bp, name string) bool {
	return bp == "sentryIssue" && name == "status" || bp == "sentryTeam" && name == "projects"
}

func (c portCatalog) Relations(bp string) []string {
	var out []string
	for r := range c[bp] {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Port's blueprints name a project's team `team` and an issue's projects
// `projectEnvironment`, where the default mapping says teams and project:
// a blueprint without the named relation is read through its relations
// to a group and to a component, so Port's files export with owners and
// issue counts unchanged.
func TestExportPortBlueprints(t *testing.T) {
	cat := portCatalog{
		"sentryProject": {"team": "sentryTeam"},
		"sentryIssue":   {"projectEnvironment": "sentryProject", "assignedTo": "sentryUser"},
		"sentryTeam":    {"members": "sentryUser"},
		"sentryUser":    {},
	}
	e := func(bp, id string, props, rels map[string]any) *catalog.Entity {
		return &catalog.Entity{Blueprint: bp, Identifier: id, Title: id, Properties: props, Relations: rels}
	}
	ents := []*catalog.Entity{
		e("sentryTeam", "platform", map[string]any{}, map[string]any{"members": []any{"ana@example.com"}}),
		e("sentryUser", "ana@example.com", map[string]any{}, map[string]any{}),
		e("sentryProject", "backend-api-production", map[string]any{}, map[string]any{"team": "platform"}),
		e("sentryProject", "web-production", map[string]any{}, map[string]any{"team": nil}),
		e("sentryIssue", "1", map[string]any{"status": "unresolved"}, map[string]any{"projectEnvironment": []any{"backend-api-production"}, "assignedTo": "ana@example.com"}),
		e("sentryIssue", "2", map[string]any{"status": "resolved"}, map[string]any{"projectEnvironment": []any{"backend-api-production"}}),
	}
	ds, err := Build(DefaultConfig(), cat, ents)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Entity{}
	for _, d := range ds {
		byName[Ref(d.Kind, d.Metadata.Namespace, d.Metadata.Name)] = d
	}
	api := byName["component:default/backend-api-production"]
	if api.Spec["owner"] != "group:default/platform" {
		t.Errorf("owner = %v, want the group its team relation names", api.Spec["owner"])
	}
	if a := api.Metadata.Annotations; a["gitalog.dev/issues"] != "2" || a["gitalog.dev/issues-unresolved"] != "1" || a["gitalog.dev/issues-resolved"] != "1" {
		t.Errorf("issue counts = %v, want 2 (1 unresolved, 1 resolved)", a)
	}
	if web := byName["component:default/web-production"]; web.Spec["owner"] != "group:default/unowned" {
		t.Errorf("a project without a team: owner = %v", web.Spec["owner"])
	}
}

// A user's mapping that names a blueprint or a relation the catalog does
// not have is refused, each name with where it is: a typo would drop
// every User, or every Group's members, without a word. The default
// mapping's relations are looked for instead (TestExportPortBlueprints).
func TestUserMappingNamesWhatExists(t *testing.T) {
	cat := portCatalog{
		"sentryProject": {"team": "sentryTeam"},
		"sentryIssue":   {"projectEnvironment": "sentryProject"},
		"sentryTeam":    {"members": "sentryUser"},
		"sentryUser":    {},
	}
	p := filepath.Join(t.TempDir(), "mapping.yaml")
	err := os.WriteFile(p, []byte(`components:
  - blueprint: sentryProject
    owner: {relation: tema}
groups:
  - blueprint: sentryTeam
    members: membrs
users:
  - blueprint: sentryUsr
issues:
  - blueprint: sentryIssue
    component: projet
    status: statsu
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(cfg, cat, nil)
	for _, want := range []string{
		p + `: components[0].owner.relation: blueprint sentryProject has no relation "tema" (it has relations team)`,
		p + `: groups[0].members: blueprint sentryTeam has no relation "membrs" (it has relations members)`,
		p + `: users[0].blueprint: no blueprint "sentryUsr" in the catalog`,
		p + `: issues[0].component: blueprint sentryIssue has no relation "projet" (it has relations projectEnvironment)`,
		p + `: issues[0].status: blueprint sentryIssue has no property "statsu"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nwant it to say %s", err, want)
		}
	}
	// Spelt right, the same mapping builds.
	data, _ := os.ReadFile(p)
	fixed := strings.NewReplacer("tema", "team", "membrs", "members", "sentryUsr", "sentryUser", "projet", "projectEnvironment", "statsu", "status").Replace(string(data))
	if err := os.WriteFile(p, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err = LoadConfig(p); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(cfg, cat, nil); err != nil {
		t.Errorf("the corrected mapping: %v", err)
	}
}
