// Package engine wires gitalog's pipeline: fetch raw items (Sentry or a
// dump), map them through the compiled jq config, validate them against
// the blueprints, encode them as canonical files and commit the change set
// to the git repository as one commit.
package engine
