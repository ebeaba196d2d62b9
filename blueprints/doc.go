// Package blueprints embeds gitalog's defaults: the blueprints of Port's
// Sentry integration (and seed 001's project and issue), and the default
// gitalog.yaml that maps every Sentry kind onto them. `gitalog init`
// writes them into a new catalog; `gitalog init --opslevel` writes
// opslevel/ instead: OpsLevel's Sentry integration and its two component
// types.
package blueprints

import (
	"embed"
	"io/fs"
	"path"
	"sort"
)

//go:embed *.json gitalog.yaml opslevel/*.json opslevel/gitalog.yaml
var files embed.FS

// Config is the default gitalog.yaml.
func Config() []byte {
	b, _ := files.ReadFile("gitalog.yaml")
	return b
}

// Files returns the default blueprint files by name (e.g. "sentry.json").
func Files() map[string][]byte {
	out := map[string][]byte{}
	names, _ := fs.Glob(files, "*.json")
	sort.Strings(names)
	for _, n := range names {
		b, _ := files.ReadFile(n)
		out[n] = b
	}
	return out
}

// OpsLevel returns the OpsLevel defaults by their path in a catalog:
// gitalog.yaml and blueprints/<name>.json.
func OpsLevel() map[string][]byte {
	out := map[string][]byte{}
	out["gitalog.yaml"], _ = files.ReadFile("opslevel/gitalog.yaml")
	names, _ := fs.Glob(files, "opslevel/*.json")
	for _, n := range names {
		b, _ := files.ReadFile(n)
		out["blueprints/"+path.Base(n)] = b
	}
	return out
}
