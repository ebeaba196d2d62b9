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
