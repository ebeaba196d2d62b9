// Package extracttest holds fakes of the HTTP APIs that OpsLevel's
// custom-integration guides poll (Jira, PagerDuty, Honeycomb, OpsLevel's
// GraphQL API), each with the items it serves, and a gojq-backed
// extract.Compiler, for tests of engine/extract and of the syncs built on
// it. Production code does not import it.
package extracttest
