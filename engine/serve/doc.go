// Package serve is gitalog's always-on mode: an HTTP server that takes
// Sentry Integration Platform webhooks, checks their signature, appends
// each accepted event to a journal in the git dir (fsynced before the 2xx,
// so nothing acknowledged is lost), and applies the journal in batches
// through the sync engine, one commit per batch, with a periodic full
// resync. The journal is the only state of its own: after a crash the next
// start applies what it holds and was not marked applied, and because
// applying the same issue state twice changes nothing, a crash between a
// commit and its mark is harmless.
//
// Notifications (notify.go) run beside the batcher, in a goroutine of their
// own: each commit wakes it, and it delivers through engine/notify exactly
// as a sync does (same events, refs, idempotency keys), so that a sink
// that is down waits with backoff without holding up a commit, and what
// serve leaves undelivered at shutdown the next start or sync sends.
//
// The package knows the sync engine only through the Applier and Resyncer
// funcs, so the command wires the real engine and tests inject fakes.
package serve
