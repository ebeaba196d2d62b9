// Package scaffold makes a directory a catalog (gitalog init): a git
// repository with the default gitalog.yaml and blueprints committed, and
// .sentryclirc ignored. It never overwrites a file that is there.
package scaffold
