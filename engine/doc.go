// Package engine is the root of gitalog's engine and holds no code: each
// job is a package of its own. A sync runs in sync (fetch, map, validate,
// plan, commit, push), reading items from sentry or dump, mapping them with
// mapping, checking them with schema, planning against catalog and writing
// through gitstore; scaffold makes a catalog (init), config reads its
// settings, validate checks it, review reads its history (diff, log).
package engine
