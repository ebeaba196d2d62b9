// Package scaffold makes a directory a catalog (gitalog init): a git
// repository with the default gitalog.yaml and blueprints committed, and
// .sentryclirc ignored. It never overwrites a file that is there.
//
// For a catalog of several sources (init --sources) it also makes the
// gitalog.yaml with a sources: section and per-source identifiers, and the
// CI recipes that run one job per source (SourcesConfig, SourcesRecipes):
// generated from the default config and the one-sync recipes, so that a
// fix to those is a fix to these.
package scaffold
