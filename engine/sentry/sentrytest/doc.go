// Package sentrytest is an in-process fake of the parts of Sentry's REST API
// that gitalog reads: organization, projects, teams, members, issues and tag
// values, with Sentry's exact Link-header pagination, rate-limit headers,
// error bodies and object shapes (checked against Sentry's OpenAPI schema in
// testdata).
//
// It backs unit and end-to-end tests, the offline `gitalog demo` (Demo) and
// benchmarks over generated organizations of hundreds of thousands of issues
// (Generate). Faults, a windowed rate limiter, latency and small page sizes
// can be switched on to exercise a client's error handling, and so can a
// hostile server's tricks (a Link header repeating its cursor, a gzip bomb,
// a body dripped a byte at a time, an error body quoting the Authorization
// header) to exercise its bounds.
//
// Deliberate simplifications, each chosen so clients see Sentry's behaviour
// where it matters to a sync: cursors are offsets ("0:<offset>:<is_prev>"),
// which clients must treat as opaque anyway; the rate limit is one budget
// for the whole server rather than per endpoint; the organization issue
// list does not filter by the statsPeriod time range; search supports
// is:, level:, environment: and free text on the title, and ignores other
// filters such as assigned:. The organization issue list omits the fields
// Sentry only sends for expand[] (inbox, integrationIssues,
// latestEventHasAttachments, owners, sentryAppIssues, sessionCount); the
// conformance test relaxes exactly those required fields.
package sentrytest
