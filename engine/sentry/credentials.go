package sentry

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitalog/gitalog/engine/secretenv"
)

// DefaultURL is sentry.io, as sentry-cli defaults to.
const DefaultURL = "https://sentry.io"

// Settings are the resolved connection settings. TokenFrom names where the
// token came from (never the token itself), for messages.
type Settings struct {
	// Source names the source of a config with several ("" for one).
	Source          string
	URL, Org, Token string
	URLFrom         string
	OrgFrom         string
	TokenFrom       string
}

// Env looks up an environment variable; os.Getenv in production.
type Env func(string) string

// ResolveSettings finds the Sentry URL, organization and token, first found
// wins:
//
//	token: SENTRY_AUTH_TOKEN, SENTRY_AUTH_TOKEN_FILE,
//	       OCEAN__INTEGRATION__CONFIG__SENTRY_TOKEN, .sentryclirc [auth] token
//	url:   SENTRY_URL, OCEAN__INTEGRATION__CONFIG__SENTRY_HOST, the config's
//	       sentry.url, .sentryclirc [defaults] url, https://sentry.io
//	org:   SENTRY_ORG, OCEAN__INTEGRATION__CONFIG__SENTRY_ORGANIZATION, the
//	       config's sentry.org, .sentryclirc [defaults] org
//
// .sentryclirc is looked up as sentry-cli does: from dir up to the root,
// the nearest file winning, then ~/.sentryclirc.
func ResolveSettings(env Env, dir, cfgURL, cfgOrg, cfgFile string) (Settings, error) {
	rc, err := loadRC(env, dir)
	if err != nil {
		return Settings{}, err
	}
	var s Settings
	if err := s.pickToken(env, rc); err != nil {
		return Settings{}, err
	}
	pick(&s.URL, &s.URLFrom,
		[2]string{"SENTRY_URL", env("SENTRY_URL")},
		[2]string{"OCEAN__INTEGRATION__CONFIG__SENTRY_HOST", env("OCEAN__INTEGRATION__CONFIG__SENTRY_HOST")},
		[2]string{cfgFile + " (sentry.url)", cfgURL},
		[2]string{rc.urlFrom, rc.url},
		[2]string{"default", DefaultURL})
	pick(&s.Org, &s.OrgFrom,
		[2]string{"SENTRY_ORG", env("SENTRY_ORG")},
		[2]string{"OCEAN__INTEGRATION__CONFIG__SENTRY_ORGANIZATION", env("OCEAN__INTEGRATION__CONFIG__SENTRY_ORGANIZATION")},
		[2]string{cfgFile + " (sentry.org)", cfgOrg},
		[2]string{rc.orgFrom, rc.org})
	if _, err := ParseBaseURL(s.URL); err != nil {
		return s, fmt.Errorf("%v (from %s)", err, s.URLFrom)
	}
	return s, nil
}

// ResolveSourceSettings finds the settings of the source name of a
// config's sources: (its url and org as written there), first found wins:
//
//	token: SENTRY_AUTH_TOKEN_<NAME>, SENTRY_AUTH_TOKEN_<NAME>_FILE, then
//	       ResolveSettings' chain (SENTRY_AUTH_TOKEN, ..., .sentryclirc)
//	url:   SENTRY_URL_<NAME>, the source's url, https://sentry.io
//	org:   SENTRY_ORG_<NAME>, the source's org
//
// <NAME> is the name upper-cased, '-' as '_' (secretenv.SourceVar). The
// token falls back to the shared one, as one token often reaches several
// organizations; SENTRY_URL and SENTRY_ORG do not apply, nor do
// .sentryclirc's url and org: they name one Sentry, and every source
// would silently read it.
func ResolveSourceSettings(env Env, dir, name, url, org, cfgFile string) (Settings, error) {
	rc, err := loadRC(env, dir)
	if err != nil {
		return Settings{}, err
	}
	s := Settings{Source: name}
	tokenVar := secretenv.SourceVar(secretenv.SentryToken, name)
	if v := strings.TrimSpace(env(tokenVar)); v != "" {
		s.Token, s.TokenFrom = v, tokenVar
	} else if f := env(tokenVar + "_FILE"); f != "" {
		tok, err := readTokenFile(tokenVar+"_FILE", f)
		if err != nil {
			return Settings{}, err
		}
		s.Token, s.TokenFrom = tok, tokenVar+"_FILE"
	} else if err := s.pickToken(env, rc); err != nil {
		return Settings{}, err
	}
	where := fmt.Sprintf("%s (sources: %s", cfgFile, name)
	urlVar, orgVar := secretenv.SourceVar("SENTRY_URL", name), secretenv.SourceVar("SENTRY_ORG", name)
	pick(&s.URL, &s.URLFrom,
		[2]string{urlVar, env(urlVar)},
		[2]string{where + " url)", url},
		[2]string{"default", DefaultURL})
	pick(&s.Org, &s.OrgFrom,
		[2]string{orgVar, env(orgVar)},
		[2]string{where + " org)", org})
	u, err := ParseBaseURL(s.URL)
	if err != nil {
		return s, &SourceError{name, fmt.Errorf("source %s: %v (from %s)", name, err, s.URLFrom)}
	}
	// The shared token is pinned to the host the environment names for
	// it (the review workflow sets SENTRY_URL, or Port Ocean's host, so
	// that a pull request's gitalog.yaml cannot send the token elsewhere;
	// a .sentryclirc names its own): a source falling back to that token
	// must be on that host, since a url: of its own would take it to a
	// host the config names.
	if s.Token != "" && !strings.HasPrefix(s.TokenFrom, tokenVar) {
		var pin, pinFrom string
		pick(&pin, &pinFrom,
			[2]string{"SENTRY_URL", env("SENTRY_URL")},
			[2]string{"OCEAN__INTEGRATION__CONFIG__SENTRY_HOST", env("OCEAN__INTEGRATION__CONFIG__SENTRY_HOST")},
			[2]string{rc.urlFrom, rc.url})
		if pin != "" {
			p, err := ParseBaseURL(pin)
			if err != nil || p.Scheme != u.Scheme || p.Host != u.Host {
				return Settings{Source: name}, &SourceError{name, fmt.Errorf("source %s: its url %s (from %s) is not the host %s names, and the shared token (%s) goes only there; set %s for this source", name, RedactHost(u), s.URLFrom, pinFrom, s.TokenFrom, tokenVar)}
			}
		}
	}
	return s, nil
}

// RedactHost is a URL's scheme and host, for messages.
func RedactHost(u *url.URL) string { return u.Scheme + "://" + u.Host }

// pick sets dst to the first candidate value that is not blank, and from
// to its name.
func pick(dst, from *string, cands ...[2]string) {
	for _, c := range cands {
		if strings.TrimSpace(c[1]) != "" {
			*dst, *from = strings.TrimSpace(c[1]), c[0]
			return
		}
	}
}

// pickToken is the shared token chain: SENTRY_AUTH_TOKEN,
// SENTRY_AUTH_TOKEN_FILE, OCEAN__INTEGRATION__CONFIG__SENTRY_TOKEN,
// .sentryclirc.
func (s *Settings) pickToken(env Env, rc rcValues) error {
	tokenFile := ""
	if f := env(secretenv.SentryTokenFile); f != "" && strings.TrimSpace(env(secretenv.SentryToken)) == "" {
		var err error
		if tokenFile, err = readTokenFile(secretenv.SentryTokenFile, f); err != nil {
			return err
		}
	}
	pick(&s.Token, &s.TokenFrom,
		[2]string{secretenv.SentryToken, env(secretenv.SentryToken)},
		[2]string{secretenv.SentryTokenFile, tokenFile},
		[2]string{secretenv.OceanSentryToken, env(secretenv.OceanSentryToken)},
		[2]string{rc.tokenFrom, rc.token})
	return nil
}

// readTokenFile reads the token in the file that the variable v names.
func readTokenFile(v, f string) (string, error) {
	b, err := os.ReadFile(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", v, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s: %s is empty", v, f)
	}
	return tok, nil
}

// SetURLHint says how to point a sync at another Sentry host: for a
// source, its url: or SENTRY_URL_<NAME> (SENTRY_URL is not read for it).
func (s Settings) SetURLHint() string {
	if s.Source == "" {
		return "set SENTRY_URL to it"
	}
	return fmt.Sprintf("set the url: of source %s, or %s, to it", s.Source, secretenv.SourceVar("SENTRY_URL", s.Source))
}

// SourceError is an error of one source's settings whose message names
// the source already, so whoever reports several sources' errors does not
// name it a second time.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// Check reports what is missing for a live fetch.
func (s Settings) Check() error {
	var missing []string
	const scopes = "scopes project:read, event:read, org:read, member:read, team:read"
	if s.Source != "" {
		if s.Org == "" {
			missing = append(missing, fmt.Sprintf("the organization (set org: in its sources: entry, or %s)", secretenv.SourceVar("SENTRY_ORG", s.Source)))
		}
		if s.Token == "" {
			v := secretenv.SourceVar(secretenv.SentryToken, s.Source)
			missing = append(missing, fmt.Sprintf("an auth token (set %s or %s_FILE, or SENTRY_AUTH_TOKEN for every source; %s)", v, v, scopes))
		}
		if len(missing) > 0 {
			return &SourceError{s.Source, fmt.Errorf("Sentry source %s is not configured: missing %s", s.Source, strings.Join(missing, " and "))}
		}
		return nil
	}
	if s.Org == "" {
		missing = append(missing, "the organization (set SENTRY_ORG, or sentry.org in the config)")
	}
	if s.Token == "" {
		missing = append(missing, "an auth token (set SENTRY_AUTH_TOKEN or SENTRY_AUTH_TOKEN_FILE; "+scopes+")")
	}
	if len(missing) > 0 {
		return fmt.Errorf("Sentry is not configured: missing %s", strings.Join(missing, " and "))
	}
	return nil
}

type rcValues struct {
	token, url, org             string
	tokenFrom, urlFrom, orgFrom string
}

func loadRC(env Env, dir string) (rcValues, error) {
	var files []string
	if home := env("HOME"); home != "" {
		files = append(files, filepath.Join(home, ".sentryclirc"))
	}
	if abs, err := filepath.Abs(dir); err == nil {
		var up []string
		for d := abs; ; d = filepath.Dir(d) {
			up = append(up, filepath.Join(d, ".sentryclirc"))
			if filepath.Dir(d) == d {
				break
			}
		}
		// Farthest first, so nearer files override.
		for i := len(up) - 1; i >= 0; i-- {
			if len(files) == 0 || up[i] != files[0] {
				files = append(files, up[i])
			}
		}
	}
	var rc rcValues
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		vals := parseINI(data)
		set := func(dst, from *string, key string) {
			if v := vals[key]; v != "" {
				*dst, *from = v, f+" ("+key+")"
			}
		}
		set(&rc.token, &rc.tokenFrom, "auth.token")
		set(&rc.url, &rc.urlFrom, "defaults.url")
		set(&rc.org, &rc.orgFrom, "defaults.org")
	}
	return rc, nil
}

// parseINI reads sentry-cli's ini format into "section.key" values.
func parseINI(data []byte) map[string]string {
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		if line[0] == '[' && strings.HasSuffix(line, "]") {
			section = strings.ToLower(strings.TrimSpace(line[1 : len(line)-1]))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out[section+"."+strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out
}
