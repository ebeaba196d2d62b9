// Package porttest holds, for tests, the files a Port user brings
// unchanged: Port's default Sentry mapping followed by seed 001's project
// and issue mappings (shared/port-sentry's port-and-seed-config.yaml),
// Port's blueprints.json and seed 001's two blueprints. Tests written
// against the issue and project blueprints run on these, and so keep
// showing that Port's files run as they are.
package porttest

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed port/gitalog.yaml port/blueprints/*.json
var portFS embed.FS

// Files returns Port's files by their path in a catalog (gitalog.yaml,
// blueprints/*.json), for scaffold.Options.Extra.
func Files() map[string][]byte {
	out := map[string][]byte{}
	_ = fs.WalkDir(portFS, "port", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := portFS.ReadFile(p)
		if err != nil {
			return err
		}
		out[strings.TrimPrefix(p, "port/")] = b
		return nil
	})
	return out
}
