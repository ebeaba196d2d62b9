// Package schema reads Port-format blueprints and checks catalog entities
// against them the way Port would, so that a catalog that passes here can be
// pushed to Port unchanged and a Port user's blueprints work as they are.
//
// Parse and LoadDir read blueprint files; Compile turns them into a Set,
// compiling each blueprint's property schemas once with JSON Schema. A Set is
// read-only after Compile, so Validate and CheckRelations may be called from
// many goroutines at once. Problems carry JSON pointers into the entity file
// (such as /properties/status) so that a user can find the offending value.
//
// Relations are checked in two steps because their targets may not be known
// until the whole catalog is built: Validate checks their shape, and
// CheckRelations, given a way to ask whether an entity exists, their targets.
//
// A relation may carry rules (OpsLevel's relationship management rules),
// which say which target entities it holds; they are checked when the
// blueprints are read and compiled, and evaluated by Rule.Match and, for
// many entities at once, a Matcher.
package schema
