// Package review reads a catalog repository's history and turns it into
// something people can review: the entity-level difference between two
// revisions (Compare), each entity's field-by-field change (FieldChanges,
// which sync summaries and commit messages use too), the history of one
// entity (Log), the commits of a range with the entity files each changed
// (Commits, for validate's hand-edit check), and renderings as text,
// GitHub-flavoured markdown (for pull-request comments and job summaries)
// and JSON. Revisions resolve through go-git (Resolve, Range, MergeBase);
// trees and blobs come from gitalog's store; a shallow clone's boundary is
// named, never walked past.
//
// Only files under catalog/ count; .gitalog/, blueprints/ and the config
// are ignored. Trees are compared by hash first: identical subtrees are
// skipped, and only blobs whose hashes differ are read and decoded, so the
// cost grows with the size of the change, not of the catalog.
//
// # Text
//
// A header naming both revisions, a table of counts per blueprint, then per
// blueprint one line per entity ("+" created, "~" changed, "-" deleted)
// followed by its fields:
//
//	properties.status: "unresolved" → "resolved"
//
// Values are canonical JSON. When either side of a change is long (more than
// LongValue characters) or spans lines, the change is shown as a word diff
// on the following lines, with deletions as [-old-] and insertions as
// {+new+}; long unchanged stretches are elided with "…".
//
// # Markdown
//
// A heading, validate's result when the caller gives it (pass, or N errors
// and the first findings), a summary table (blueprint | created | changed |
// deleted) of every blueprint, and per blueprint a collapsible <details>
// section listing its entities, deletions first, with their field changes.
// With Links, an entity's identifier links to its file at the pull
// request's head (a deleted one to its old file at the base); an entity
// whose properties hold an http(s) link, permalink or url (its Sentry
// page) links to it too. Identifiers, paths and short values are code
// spans; titles and word diffs are escaped text (HTML and markdown
// punctuation escaped, @mentions and #references defused) with
// <del>old</del> and <b>new</b>. The whole output stays under
// MarkdownOptions.MaxBytes (default MaxMarkdown, under CommentLimit, the
// review workflow's limit on a comment): when not every entity fits, the
// blueprints take turns, one entity each, until the next does not fit, so
// each shows a fair share; each section then ends with "… and N more" and
// the output with "… N more entities not shown".
//
// # JSON
//
// One object, stable across versions (keys may be added, never removed or
// renamed):
//
//	{
//	  "from": "<commit hash>" | null,     // null: the empty tree (before the root commit)
//	  "to": "<commit hash>",
//	  "summary": {"<blueprint>": {"created": 1, "changed": 2, "deleted": 0}},
//	  "entities": [
//	    {
//	      "blueprint": "issue",
//	      "identifier": "4605173695",
//	      "change": "created" | "changed" | "deleted",
//	      "title": <the title, from the new version, or the old one when deleted>,
//	      "path": "catalog/issue/4605173695.json",
//	      "fields": [{"path": "properties.status", "old": "unresolved", "new": "resolved"}],
//	      "error": "..."                  // only when a file could not be decoded
//	    }
//	  ]
//	}
//
// "old" is left out when the field did not exist, "new" when it no longer
// exists; a JSON null means the field was present and null. Created
// entities list every field they set (with no "old"); deleted entities list
// none. Entities are sorted by blueprint, then change (created, changed,
// deleted), then identifier; "fields" by path. "entities" is never cut.
package review
