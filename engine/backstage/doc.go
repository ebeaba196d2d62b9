// Package backstage writes the catalog as Backstage descriptor files
// (gitalog export backstage), so that a gitalog repository can also be a
// Backstage location: projects become Components, teams Groups, members
// Users, and each project's issues annotations on its Component (counts
// by status): Backstage's catalog holds the software and who owns it,
// and 100k issues as Resources would swamp it.
//
// Names follow @backstage/catalog-model's rules (names.go); every entity
// written is checked against them before anything is written.
package backstage
