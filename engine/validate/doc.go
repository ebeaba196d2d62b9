// Package validate checks a catalog repository the way `gitalog validate`
// reports it: every file under catalog/ is an entity in valid JSON, at the
// path of its blueprint and identifier, valid for its blueprint, and
// naming related entities that exist, with no identifier or alias that
// another entity of its blueprint has; and files the sync manages, and the
// fields it manages in hand-written files, are not edited by hand, in the
// worktree or (with a base) in the commits since the merge base. It reads the worktree, or HEAD of a bare repository,
// and history through the review reader and the store, never the git CLI.
// Findings carry file, JSON pointer and line, and print as text or as
// GitHub workflow annotations.
package validate
