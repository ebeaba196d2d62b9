// Package sync runs one sync: it fetches the items of every resource (from
// Sentry or a dump), maps them through the compiled config, validates them
// against the blueprints, plans the change against the branch's catalog
// and commits it as one commit, pushing when asked. It owns the item
// pipeline and the item cache's glue, the doubts that keep entities from
// being deleted, the time limit, push retries and the unpushed marker, and
// the Result that says what a sync did (as data; the commands render it).
//
// The standard library's sync is imported as gosync inside the package.
package sync
