package template

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/gitalog/gitalog/engine/secretenv"
)

// Secrets are resolved secret values by name. The zero Secrets holds none.
type Secrets struct {
	id     uint64 // tells one resolution from another, for Template's cache
	values map[string]string
	vars   []string
}

var resolutions atomic.Uint64

// EnvVar is the environment variable that holds the secret name:
// sentry_api_token is SENTRY_API_TOKEN. Its _FILE sibling names a file
// holding it instead.
func EnvVar(name string) string { return strings.ToUpper(name) }

// ResolveSecrets reads each named secret from its environment variable
// (EnvVar) or, when that is unset or empty, from the file that the variable
// with _FILE appended names (one trailing newline dropped, as editors and
// `echo` add one). Every missing secret is named in one error, by its
// variable, never with a value.
func ResolveSecrets(names []string, getenv func(string) string) (Secrets, error) {
	return ResolveSourceSecrets(names, "", getenv)
}

// SourceEnvVar is the variable that holds the secret name for the source
// (gitalog.yaml's sources:): sentry_api_token for eu-west is
// SENTRY_API_TOKEN_EU_WEST.
func SourceEnvVar(name, source string) string {
	return secretenv.SourceVar(EnvVar(name), source)
}

// ResolveSourceSecrets is ResolveSecrets for a config bound to a source:
// each secret is read from SourceEnvVar (or its _FILE sibling) first, so
// that each source can have its own, then from EnvVar (and its _FILE),
// which the sources share. source "" is ResolveSecrets.
func ResolveSourceSecrets(names []string, source string, getenv func(string) string) (Secrets, error) {
	s := Secrets{id: resolutions.Add(1), values: map[string]string{}}
	var missing []string
	for _, name := range names {
		if _, done := s.values[name]; done {
			continue
		}
		vars := []string{EnvVar(name)}
		if source != "" {
			vars = []string{SourceEnvVar(name, source), EnvVar(name)}
		}
		// Every variable is listed, the shared one too when the source's
		// is set: neither may be read by anything else (jq's env).
		for _, v := range vars {
			s.vars = appendNew(s.vars, v, v+"_FILE")
		}
		found := false
		for _, v := range vars {
			val, err := readSecret(name, v, getenv)
			if err != nil {
				return Secrets{}, err
			}
			if val != "" {
				s.values[name], found = val, true
				break
			}
		}
		if !found {
			missing = appendNew(missing, strings.Join(vars, " or "))
		}
	}
	switch {
	case len(missing) > 0 && source == "":
		return Secrets{}, fmt.Errorf("secret not set: %s (set the variable, or %s_FILE to a file holding it)",
			strings.Join(missing, ", "), missing[0])
	case len(missing) > 0:
		return Secrets{}, fmt.Errorf("secret not set: %s (set either variable, or it with _FILE appended to a file holding it)",
			strings.Join(missing, ", "))
	}
	return s, nil
}

// readSecret reads the variable v, or the file v_FILE names; "" when
// neither is set.
func readSecret(name, v string, getenv func(string) string) (string, error) {
	if val := getenv(v); val != "" {
		return val, nil
	}
	file := getenv(v + "_FILE")
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("secret %q: %s_FILE: %w", name, v, err)
	}
	val := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if val == "" {
		return "", fmt.Errorf("secret %q: %s_FILE: %s is empty", name, v, file)
	}
	return val, nil
}

func appendNew(list []string, vals ...string) []string {
	for _, v := range vals {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// Values are the secret values, for redaction.
func (s Secrets) Values() []string {
	out := make([]string, 0, len(s.values))
	for _, v := range s.values {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// Vars are the environment variables the secrets were read from (each
// with its _FILE sibling), so that nothing else (jq's env) shows them.
func (s Secrets) Vars() []string { return slices.Clone(s.vars) }

// Names are the secrets held.
func (s Secrets) Names() []string {
	out := make([]string, 0, len(s.values))
	for n := range s.values {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (s Secrets) lookup(name string) (string, error) {
	v, ok := s.values[name]
	if !ok {
		// Compile lists every name; one missing here was not resolved
		// from SecretNames.
		return "", fmt.Errorf("secret %q was not resolved (%s)", name, EnvVar(name))
	}
	return v, nil
}
