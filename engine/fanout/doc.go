// Package fanout keeps, in the catalog's commit, what each fan-out parent's
// children were at the last sync: per parent, a fingerprint of the parent
// fields the children depend on (with the request itself) and the
// children's raw result. A resync whose parent fingerprint is unchanged
// reuses the stored result instead of asking Sentry (sentry.Memo), so an
// unchanged resync makes the list requests and not one per issue.
//
// The state is committed under .gitalog/fanout/, like the managed lists,
// because every CI run starts from a fresh clone: a cache in the git dir
// would make CI pay the full fan-out on every run. The files are sharded
// by request so that a commit rewrites only the shards of parents that
// changed, one sorted line per parent, so their bytes depend only on
// their content. A full refresh (sync --full, or the automatic one every
// sentry.fullRefresh) asks for everything again; its time is recorded in
// the same directory so that fresh clones honour the period.
package fanout
