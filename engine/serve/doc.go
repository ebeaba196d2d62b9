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
// The package knows the sync engine only through the Applier and Resyncer
// funcs, so the command wires the real engine and tests inject fakes.
package serve
