// Package secretenv names the environment variables gitalog reads secrets
// from. The code that reads them and the code that keeps them from jq
// mappings (mappingEnv) use these names, so a new token source is refused
// to mappings as soon as it is read.
package secretenv

import "strings"

// The Sentry auth token, tried in this order (then .sentryclirc).
const (
	SentryToken      = "SENTRY_AUTH_TOKEN"
	SentryTokenFile  = "SENTRY_AUTH_TOKEN_FILE"
	OceanSentryToken = "OCEAN__INTEGRATION__CONFIG__SENTRY_TOKEN"
)

// PushTokens are the https tokens `sync --push` uses, first set wins.
var PushTokens = []string{"GITHUB_TOKEN", "GIT_TOKEN"}

// The Sentry integration's client secret, which `gitalog serve` checks
// webhook signatures with (the variable, else the file it names).
const (
	SentryClientSecret     = "SENTRY_CLIENT_SECRET"
	SentryClientSecretFile = "SENTRY_CLIENT_SECRET_FILE"
)

// The token OpsLevel-style pushes to `gitalog serve` must bear
// (Authorization: Bearer), or the file that holds it.
const (
	ServePushToken     = "GITALOG_PUSH_TOKEN"
	ServePushTokenFile = "GITALOG_PUSH_TOKEN_FILE"
)

// Names are every variable a mapping must never read. A source's own
// token (SENTRY_AUTH_TOKEN_<NAME>) is not listed, as the names of the
// sources are the config's: IsSecret knows them all.
func Names() []string {
	names := []string{SentryToken, SentryTokenFile, OceanSentryToken}
	names = append(names, PushTokens...)
	return append(names, SentryClientSecret, SentryClientSecretFile, ServePushToken, ServePushTokenFile)
}

// IsSecret reports whether name is a variable a mapping must never read:
// one of Names, or any SENTRY_AUTH_TOKEN_<X> (a source's token, or the
// file holding it), whether or not a source of that name exists: the
// config that names the sources is the one a mapping would leak from.
func IsSecret(name string) bool {
	for _, n := range Names() {
		if n == name {
			return true
		}
	}
	return strings.HasPrefix(name, SentryToken+"_")
}

// IsSentryToken reports whether name holds the token gitalog's own Sentry
// connection uses (SENTRY_AUTH_TOKEN, its _FILE, a source's
// SENTRY_AUTH_TOKEN_<X>, Port Ocean's): that token goes only to the host
// its settings pin it to, so no template may read it.
func IsSentryToken(name string) bool {
	return name == SentryToken || name == OceanSentryToken || strings.HasPrefix(name, SentryToken+"_")
}

// SourceVar is the variable that holds base for the named source:
// SourceVar("SENTRY_AUTH_TOKEN", "eu-west") is SENTRY_AUTH_TOKEN_EU_WEST.
// A source's name is lower-case letters, digits, '-' and '_'; a variable
// name has no '-'.
func SourceVar(base, source string) string {
	return base + "_" + strings.ReplaceAll(strings.ToUpper(source), "-", "_")
}

// FirstPushToken is the push token the environment sets, if any.
func FirstPushToken(getenv func(string) string) string {
	for _, n := range PushTokens {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}
