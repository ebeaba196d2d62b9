// Package commands is gitalog's command line: one file per verb, each
// reading its flags, making one call into an engine package (engine/sync,
// engine/scaffold, engine/validate, engine/review, ...) and printing the
// result (a sync's summary through commands/summary).
// Errors are returned, never printed here: main prints them once and maps
// them to exit codes with ExitCode.
package commands
