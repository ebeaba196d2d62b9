// Package extract runs OpsLevel extract definitions: the extractors:
// section of an OpsLevel custom integration, each of which polls an HTTP
// API (Liquid templates for the URL, headers and body; a jq iterator,
// external_id and exclude; for_each fan-out over another extractor's items;
// a next_cursor from a header or the payload) and yields the items that
// transforms map onto the catalog.
//
// Parse compiles a definition once, every jq expression and Liquid
// template and every secret it names, so that a mistake is reported with
// its file, line, column, extractor and key before any request is sent.
// A Source streams the items of one kind, through the same HTTP client as
// gitalog's Sentry kinds (engine/sentry): retries, Retry-After and
// rate-limit headers, bounded concurrency, response size and request time,
// and secret values redacted from every error and log line.
//
// Where OpsLevel's docs are silent, the choices are these: a next_cursor
// that gives null, false, an empty string or no output ends the chain; a
// cursor that repeats one of its chain, or a chain longer than max_pages,
// is an error (never an endless loop); items of one kind with equal
// external ids are one item, the later one winning; a parent whose item is
// excluded is not fanned out; a request only goes to a scheme, host and
// port written in the url template (or, if it writes none, to the first
// request's), so a Link header pointing elsewhere cannot carry the token
// there.
//
// With gitalog.yaml's sources:, an extractor may run for one source only
// (source:), and ParseFor binds a definition to a source: it keeps that
// source's extractors, resolves only their secrets, each from
// NAME_<SOURCE> before NAME (one API key per organization, or one shared),
// and templates see the source as source.
package extract
