// Package itemcache remembers what each raw item mapped to in the last
// sync: its entities' file names, blob ids and relations. A resync looks
// every item's bytes up and skips decoding, mapping, validating and
// encoding the ones that did not change, which is nearly all of them.
//
// An entry is only a hint. The engine keys the whole file on everything a
// mapping result depends on besides the item (the gitalog binary, the
// config and the blueprints), stores only items whose mapping is pure and
// problem-free, and uses an entry only when the catalog it commits on
// holds exactly the cached blobs, so a stale or wrong entry costs time,
// never a wrong file.
package itemcache
