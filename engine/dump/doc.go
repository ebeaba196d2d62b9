// Package dump writes raw items to a folder of JSON-lines files, one per
// kind, and reads them back as a source, so a sync can be replayed offline
// exactly as the mapping saw the data.
package dump
