package sentry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// orgPath is the organization details endpoint; the project kind attaches
// its answer, so the check's request is not repeated.
const orgPath = "/organizations/{org}/"

// CheckAccess asks for the organization's details before any fetch, so a
// Sentry that cannot be reached, a refused token or a wrong organization
// fails the run at once, with what to check, instead of failing every
// kind (which would read as a partial sync). set names where the URL,
// organization and token came from.
func (s *Source) CheckAccess(ctx context.Context, set Settings) error {
	path, _, err := tmplEnv{org: s.Org}.expand(orgPath, true)
	if err != nil {
		return err
	}
	_, err = s.onceObject(endpointCtx(ctx, orgPath), path, "org:read")
	if err == nil || ctx.Err() != nil {
		return err
	}
	at := s.Client.BaseURL()
	var he *HTTPError
	var ue *UnreachableError
	switch {
	case errors.As(err, &ue) && ue.TLS:
		return fmt.Errorf("cannot reach Sentry at %s (URL from %s): %w; check the URL and the server's certificate (a private CA goes in SSL_CERT_FILE)", at, set.URLFrom, err)
	case errors.As(err, &ue):
		return fmt.Errorf("cannot reach Sentry at %s (URL from %s): %w; check the URL and the network", at, set.URLFrom, err)
	case errors.As(err, &he) && he.Status == http.StatusUnauthorized:
		return fmt.Errorf("Sentry at %s refused the token from %s: %w", at, set.TokenFrom, err)
	case errors.As(err, &he) && he.Status == http.StatusForbidden:
		return fmt.Errorf("the token from %s may not read organization %q at %s: %w; it needs the org:read scope and access to that organization (organization from %s)", set.TokenFrom, s.Org, at, err, set.OrgFrom)
	case errors.As(err, &he) && he.Status == http.StatusNotFound:
		return fmt.Errorf("Sentry at %s has no organization %q that this token can see: %w; check the organization (from %s) and the URL (from %s)", at, s.Org, err, set.OrgFrom, set.URLFrom)
	}
	return fmt.Errorf("checking access to organization %q at %s: %w", s.Org, at, err)
}
