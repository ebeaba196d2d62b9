package sync

import (
	"github.com/gitalog/gitalog/engine/mapping"
	"github.com/gitalog/gitalog/engine/secretenv"
	"github.com/gitalog/gitalog/engine/sentry"
)

// RefuseSecretEnv returns an error when a variable the config's mappings
// may read holds the Sentry token gitalog would use, or a push token:
// mapping.Parse knows the tokens set in the environment, not one read
// from SENTRY_AUTH_TOKEN_FILE or .sentryclirc. dir is where .sentryclirc
// is looked up from; pushToken is the one a sync pushes with, if any.
func RefuseSecretEnv(cfg *mapping.Config, env sentry.Env, dir, pushToken string) error {
	if env == nil {
		env = func(string) string { return "" }
	}
	// A setting that cannot be resolved is reported where it is used; the
	// token, when found, is all that matters here.
	if len(cfg.Sources) > 0 && cfg.Source == "" {
		// Every source's token, against the mappings of each.
		for _, s := range cfg.Sources {
			bound, err := cfg.ForSource(s.Name)
			if err != nil {
				return err
			}
			if err := RefuseSecretEnv(bound, env, dir, pushToken); err != nil {
				return err
			}
		}
		return nil
	}
	set, _ := sentry.ResolveSettings(env, dir, cfg.Sentry.URL, cfg.Sentry.Org, cfg.File)
	if s, ok := cfg.BoundSource(); ok {
		set, _ = sentry.ResolveSourceSettings(env, dir, s.Name, s.URL, s.Org, cfg.File)
	}
	return refuseSecrets(cfg, set, env, pushToken)
}

// refuseSecrets is RefuseSecretEnv with the Sentry settings resolved.
func refuseSecrets(cfg *mapping.Config, set sentry.Settings, env sentry.Env, pushToken string) error {
	if err := cfg.RefuseSecret("the Sentry auth token (from "+set.TokenFrom+")", set.Token); err != nil {
		return err
	}
	if err := cfg.RefuseSecret("the push token", pushToken); err != nil {
		return err
	}
	if cfg.Extract != nil {
		for _, v := range cfg.Extract.Secrets.Values() {
			if err := cfg.RefuseSecret("a secret an extractor's template reads", v); err != nil {
				return err
			}
		}
	}
	return cfg.RefuseSecret("the push token", secretenv.FirstPushToken(env))
}
