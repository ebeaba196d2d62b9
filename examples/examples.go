// Package examples holds the CI recipes that "gitalog init" writes into a
// new catalog and that examples/README.md explains: a scheduled sync and a
// pull-request review for GitHub Actions, and a scheduled sync for Jenkins.
package examples

import (
	"bytes"
	_ "embed"
	"maps"
)

var (
	//go:embed github-actions/gitalog-sync.yml
	syncWorkflow []byte
	//go:embed github-actions/gitalog-review.yml
	reviewWorkflow []byte
	//go:embed jenkins/Jenkinsfile
	jenkinsfile []byte
)

// Where each recipe goes in a catalog repository.
const (
	SyncWorkflowPath   = ".github/workflows/gitalog-sync.yml"
	ReviewWorkflowPath = ".github/workflows/gitalog-review.yml"
	JenkinsfilePath    = "Jenkinsfile"
)

var recipes = map[string][]byte{
	SyncWorkflowPath:   syncWorkflow,
	ReviewWorkflowPath: reviewWorkflow,
	JenkinsfilePath:    jenkinsfile,
}

// Recipes returns the CI recipes by their slash path in a catalog
// repository. The map and its slices are the caller's to keep.
func Recipes() map[string][]byte {
	out := maps.Clone(recipes)
	for k, v := range out {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

// OpsLevelRecipes are the recipes for a catalog made with init --opslevel:
// OpsLevel's Sentry integration reads its token as the secret
// sentry_api_token, that is SENTRY_API_TOKEN, so the recipes pass the CI
// secret under that name.
func OpsLevelRecipes() map[string][]byte {
	out := Recipes()
	for k, v := range out {
		out[k] = bytes.ReplaceAll(v, []byte("SENTRY_AUTH_TOKEN"), []byte("SENTRY_API_TOKEN"))
	}
	return out
}
