// Package config finds and reads a catalog's settings: gitalog.yaml and
// blueprints/ from the worktree, HEAD of a bare repository or an explicit
// path, and the branch a user names on the command line, checked as git
// checks it.
package config
