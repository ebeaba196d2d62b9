package mapping

import (
	"testing"

	"github.com/gitalog/gitalog/engine/jsonx"
)

// BenchmarkMapIssue maps one Sentry issue with the benchmark's mapping
// (bench/issues.yaml: 8 jq expressions, Port's Sentry issue mapping).
func BenchmarkMapIssue(b *testing.B) {
	cfg, err := Load("../../bench/issues.yaml")
	if err != nil {
		b.Fatal(err)
	}
	item, err := jsonx.Decode([]byte(`{"id":"4605173695","shortId":"PYTHON-FASTAPI-2","title":"ZeroDivisionError: division by zero","culprit":"index","permalink":"https://test-org.sentry.io/issues/4605173695/","level":"error","status":"unresolved","statusDetails":{},"substatus":"new","platform":"python","project":{"id":"4504931759095808","name":"python-fastapi","slug":"python-fastapi","platform":"python-fastapi"},"type":"error","metadata":{"value":"division by zero","type":"ZeroDivisionError"},"isUnhandled":true,"count":"1","userCount":0,"firstSeen":"2023-11-06T08:31:27.058163Z","lastSeen":"2023-11-06T08:31:27.058163Z"}`))
	if err != nil {
		b.Fatal(err)
	}
	r := cfg.Resources[0]
	b.ReportAllocs()
	for b.Loop() {
		if es, issues := r.Map(item); len(es) != 1 || issues != nil {
			b.Fatal(es, issues)
		}
	}
}

// BenchmarkMapTeam maps one Sentry team with the default gitalog.yaml's
// team resource, whose fields need gojq (map, select, if): the cost of
// running jq programs, which the fast paths of BenchmarkMapIssue skip.
func BenchmarkMapTeam(b *testing.B) {
	cfg, err := Load("../../blueprints/gitalog.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var r *Resource
	for _, res := range cfg.Resources {
		if res.Kind == "team" {
			r = res
		}
	}
	item, err := jsonx.Decode([]byte(`{"id":"4502938","slug":"backend","name":"Backend","dateCreated":"2023-03-31T06:18:37.281000Z","isMember":true,"teamRole":"admin","memberCount":3,"projects":[{"id":"1","slug":"python-fastapi"},{"id":"2","slug":"web-frontend"},{"id":"3","slug":"payments"}],"__members":[{"id":"1","email":"jane@example.com","user":{"email":"jane@example.com"}},{"id":"2","email":"tom@example.com","user":{"email":"tom@example.com"}},{"id":"3","email":"pending@example.com","user":null}]}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if es, issues := r.Map(item); len(es) != 1 || issues != nil {
			b.Fatal(es, issues)
		}
	}
}
