package sentrytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// relaxedRequired lists schema-required fields the fake omits, per path.
// Sentry itself only sends them when asked with expand[] (the README's
// caveat): inbox, integrationIssues, latestEventHasAttachments, owners,
// sentryAppIssues, and sessionCount (expand=sessions).
var relaxedRequired = map[string][]string{
	"/api/0/organizations/{organization_id_or_slug}/issues/": {
		"inbox", "integrationIssues", "latestEventHasAttachments", "owners", "sentryAppIssues", "sessionCount",
	},
}

// toJSONSchema rewrites OpenAPI 3.0 into JSON Schema 2020-12: nullable:true
// becomes a "null" type (and a null enum member), since draft validators
// ignore the nullable keyword and would reject every null.
func toJSONSchema(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = toJSONSchema(val)
		}
		if out["nullable"] == true {
			delete(out, "nullable")
			if t, ok := out["type"].(string); ok {
				out["type"] = []any{t, "null"}
				if e, ok := out["enum"].([]any); ok && !containsNil(e) {
					out["enum"] = append(e, nil)
				}
			} else {
				// Untyped (e.g. oneOf) nullable schemas: allow null beside them.
				return map[string]any{"anyOf": []any{out, map[string]any{"type": "null"}}}
			}
		}
		delete(out, "example")
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = toJSONSchema(val)
		}
		return out
	}
	return v
}

func containsNil(e []any) bool {
	for _, v := range e {
		if v == nil {
			return true
		}
	}
	return false
}

func removeRequired(schema map[string]any, fields []string) {
	obj := schema
	if items, ok := schema["items"].(map[string]any); ok {
		obj = items
	}
	req, _ := obj["required"].([]any)
	var kept []any
	for _, r := range req {
		drop := false
		for _, f := range fields {
			if r == f {
				drop = true
			}
		}
		if !drop {
			kept = append(kept, r)
		}
	}
	obj["required"] = kept
}

func loadSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile("testdata/openapi-subset.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Schema{}
	n := 0
	for path, ops := range doc.Paths {
		s := ops["get"].Responses["200"].Content["application/json"].Schema
		if s == nil {
			continue
		}
		js := toJSONSchema(s).(map[string]any)
		if f := relaxedRequired[path]; f != nil {
			removeRequired(js, f)
		}
		b, _ := json.Marshal(js)
		c := jsonschema.NewCompiler()
		c.Draft = jsonschema.Draft2020
		c.AssertFormat = true
		n++
		name := fmt.Sprintf("mem://schema/%d.json", n)
		if err := c.AddResource(name, bytes.NewReader(b)); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		sch, err := c.Compile(name)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out[path] = sch
	}
	return out
}

// TestOpenAPIConformance fetches every endpoint for every object of the
// demo and of a generated dataset and validates each body against the
// schema of that path.
func TestOpenAPIConformance(t *testing.T) {
	schemas := loadSchemas(t)
	for name, d := range map[string]*Dataset{
		"demo":      Demo(),
		"generated": Generate(GenOptions{Seed: 7, Projects: 12, Issues: 700, Teams: 4, Members: 23}),
	} {
		t.Run(name, func(t *testing.T) {
			s := NewServer(d, WithPageSize(37))
			defer s.Close()
			org := d.OrgSlug()
			covered := map[string]int{}
			check := func(template, path string) []map[string]any {
				t.Helper()
				sch := schemas[template]
				if sch == nil {
					t.Fatalf("no schema for %s", template)
				}
				var items []map[string]any
				for url := path; url != ""; {
					r := get(t, s, url)
					if r.Status != 200 {
						t.Fatalf("GET %s: %d %s", url, r.Status, r.Body)
					}
					var v any
					if err := json.Unmarshal(r.Body, &v); err != nil {
						t.Fatal(err)
					}
					if err := sch.Validate(v); err != nil {
						t.Fatalf("GET %s does not match %s:\n%#v", url, template, err)
					}
					covered[template]++
					url = ""
					if arr, ok := v.([]any); ok {
						for _, it := range arr {
							items = append(items, it.(map[string]any))
						}
						if l := parseLink(t, r.Header.Get("Link")); l.nextResults {
							url = l.nextURL
						}
					}
				}
				return items
			}
			const p = "/api/0/"
			check(p+"organizations/{organization_id_or_slug}/", p+"organizations/"+org+"/")
			check(p+"projects/", p+"projects/")
			check(p+"organizations/{organization_id_or_slug}/projects/", p+"organizations/"+org+"/projects/")
			check(p+"organizations/{organization_id_or_slug}/teams/", p+"organizations/"+org+"/teams/")
			check(p+"organizations/{organization_id_or_slug}/teams/", p+"organizations/"+org+"/teams/?detailed=0")
			check(p+"organizations/{organization_id_or_slug}/members/", p+"organizations/"+org+"/members/")
			for _, tm := range d.Teams {
				check(p+"teams/{organization_id_or_slug}/{team_id_or_slug}/members/", p+"teams/"+org+"/"+tm.Slug+"/members/")
			}
			all := check(p+"organizations/{organization_id_or_slug}/issues/", p+"organizations/"+org+"/issues/?query=&project=-1")
			if len(all) != d.NumIssues() {
				t.Fatalf("org issues: got %d, want %d", len(all), d.NumIssues())
			}
			check(p+"organizations/{organization_id_or_slug}/issues/", p+"organizations/"+org+"/issues/?statsPeriod=14d&query=is:resolved")
			for _, pr := range d.Projects {
				check(p+"projects/{organization_id_or_slug}/{project_id_or_slug}/issues/", p+"projects/"+org+"/"+pr.Slug+"/issues/?query=")
				// By id, as OpsLevel's Sentry guide asks for them.
				check(p+"projects/{organization_id_or_slug}/{project_id_or_slug}/issues/", p+"projects/"+org+"/"+pr.ID+"/issues/")
				for _, key := range []string{"environment", "level", "release"} {
					check(p+"projects/{organization_id_or_slug}/{project_id_or_slug}/tags/{key}/values/",
						fmt.Sprintf("%sprojects/%s/%s/tags/%s/values/", p, org, pr.Slug, key))
				}
			}
			for _, it := range all {
				id := it["id"].(string)
				check(p+"organizations/{organization_id_or_slug}/issues/{issue_id}/", p+"organizations/"+org+"/issues/"+id+"/")
				for _, key := range []string{"environment", "level", "release"} {
					check(p+"organizations/{organization_id_or_slug}/issues/{issue_id}/tags/{key}/values/",
						fmt.Sprintf("%sorganizations/%s/issues/%s/tags/%s/values/", p, org, id, key))
				}
			}
			for path := range schemas {
				if covered[path] == 0 && !strings.Contains(path, "releases") {
					t.Errorf("endpoint %s not exercised", path)
				}
			}
		})
	}
}

// TestNullableRewrite guards the schema translation itself: a null must
// pass where the schema says nullable and fail where it does not.
func TestNullableRewrite(t *testing.T) {
	schemas := loadSchemas(t)
	sch := schemas["/api/0/organizations/{organization_id_or_slug}/issues/{issue_id}/"]
	d := Demo()
	var issue map[string]any
	b, _ := json.Marshal(d.issueDetail(d.sorted[0]))
	json.Unmarshal(b, &issue)
	issue["assignedTo"] = nil
	issue["substatus"] = nil
	if err := sch.Validate(issue); err != nil {
		t.Fatalf("nullable fields rejected null: %v", err)
	}
	issue["title"] = nil
	if err := sch.Validate(issue); err == nil {
		t.Fatal("non-nullable title accepted null")
	}
}
