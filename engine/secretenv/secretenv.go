// Package secretenv names the environment variables gitalog reads secrets
// from. The code that reads them and the code that keeps them from jq
// mappings (mappingEnv) use these names, so a new token source is refused
// to mappings as soon as it is read.
package secretenv

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

// Names are every variable a mapping must never read.
func Names() []string {
	names := []string{SentryToken, SentryTokenFile, OceanSentryToken}
	names = append(names, PushTokens...)
	return append(names, SentryClientSecret, SentryClientSecretFile, ServePushToken, ServePushTokenFile)
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
