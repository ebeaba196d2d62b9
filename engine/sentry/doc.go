// Package sentry fetches raw items from Sentry's REST API: an HTTP client
// that follows Sentry's Link pagination, paces itself by the rate-limit
// headers and retries 429s and 5xx, and the kinds gitalog knows, each
// described as data (endpoint template, fan-out over a parent kind, extra
// keys) rather than as a hand-written loop.
package sentry
