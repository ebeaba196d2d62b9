// Package mapping loads gitalog's configuration (Port's port-app-config
// format: resources of a kind, a selector and jq entity mappings), compiles
// every jq expression once, turns raw items into entities, and resolves
// Port's search-rule relations against the mapped catalog.
//
// A config with sources: (several Sentry organizations) is compiled once
// more for each source it syncs (Config.ForSource) rather than evaluating
// $source per item: the name is then a constant of every program, `$source`
// alone takes the fast path, programs that do not name it are compiled as
// without sources, and the digest a mapping cache keys on is the source's.
package mapping
