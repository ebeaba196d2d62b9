package secretenv

import "testing"

func TestIsSecret(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"SENTRY_AUTH_TOKEN", true},
		{"SENTRY_AUTH_TOKEN_FILE", true},
		{"SENTRY_AUTH_TOKEN_EU", true},
		{"SENTRY_AUTH_TOKEN_EU_WEST_FILE", true},
		{"GITHUB_TOKEN", true},
		{"GITALOG_PUSH_TOKEN_FILE", true},
		{"SENTRY_AUTH_TOKENS", false},
		{"SENTRY_URL_EU", false},
		{"SENTRY_ORG", false},
		{"HOME", false},
	} {
		if got := IsSecret(tc.name); got != tc.want {
			t.Errorf("IsSecret(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSourceVar(t *testing.T) {
	for _, tc := range []struct{ base, source, want string }{
		{"SENTRY_AUTH_TOKEN", "eu", "SENTRY_AUTH_TOKEN_EU"},
		{"SENTRY_URL", "eu-west", "SENTRY_URL_EU_WEST"},
		{"SENTRY_ORG", "on_prem2", "SENTRY_ORG_ON_PREM2"},
	} {
		if got := SourceVar(tc.base, tc.source); got != tc.want {
			t.Errorf("SourceVar(%s, %s) = %s, want %s", tc.base, tc.source, got, tc.want)
		}
	}
}
