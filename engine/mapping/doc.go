// Package mapping loads gitalog's configuration (Port's port-app-config
// format: resources of a kind, a selector and jq entity mappings), compiles
// every jq expression once, turns raw items into entities, and resolves
// Port's search-rule relations against the mapped catalog.
package mapping
