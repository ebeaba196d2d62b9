// Package template renders the Liquid templates of OpsLevel extract
// definitions (a request's URL, headers and body) with Shopify's dialect, as
// implemented by github.com/osteele/liquid: only nil and false are falsy, an
// undefined variable renders empty, and a filter or tag that does not exist
// is an error when the template is compiled, not when a request is made.
//
// Secrets are read through one filter, {{ 'sentry_api_token' | secret }},
// whose input must be a quoted name, so that every secret a definition uses
// is known, and resolved, before its first request.
package template
