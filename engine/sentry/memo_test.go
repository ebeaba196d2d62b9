package sentry

import "testing"

func TestEndpoint(t *testing.T) {
	for _, k := range []string{"issue-tag", "project-tag", "issue", "team"} {
		t.Log(k, Endpoint(Kinds[k].Path))
	}
	cases := map[string]string{
		Kinds["issue-tag"].Path:         "/organizations/{org}/issues/{id}/tags/{key}/values/",
		Kinds["project-tag"].Path:       "/projects/{org}/{slug}/tags/{key}/values/",
		Kinds["team"].Attach[0].Path:    "/teams/{org}/{slug}/members/",
		Kinds["issue"].Path:             "/organizations/{org}/issues/",
		"/organizations/{org}/{x.y?}/z": "/organizations/{org}/{slug}/z",
	}
	for in, want := range cases {
		if got := Endpoint(in); got != want {
			t.Errorf("Endpoint(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMemoNames(t *testing.T) {
	if got := MemoNames("issue-tag", map[string]any{"tag": "release"}); len(got) != 1 || got[0] != "issue-tag" {
		t.Errorf("issue-tag: %v", got)
	}
	if got := MemoNames("team", map[string]any{"includeMembers": true}); len(got) != 1 || got[0] != "team.members" {
		t.Errorf("team with members: %v", got)
	}
	for _, k := range []string{"team", "project-tag", "issue", "project", "user"} {
		if got := MemoNames(k, nil); len(got) != 0 {
			t.Errorf("%s: %v", k, got)
		}
	}
}
