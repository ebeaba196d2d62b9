package template

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
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
	s := Secrets{id: resolutions.Add(1), values: map[string]string{}}
	var missing []string
	for _, name := range names {
		if _, done := s.values[name]; done {
			continue
		}
		v := EnvVar(name)
		s.vars = appendNew(s.vars, v, v+"_FILE")
		if val := getenv(v); val != "" {
			s.values[name] = val
			continue
		}
		file := getenv(v + "_FILE")
		if file == "" {
			missing = appendNew(missing, v)
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return Secrets{}, fmt.Errorf("secret %q: %s_FILE: %w", name, v, err)
		}
		val := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if val == "" {
			return Secrets{}, fmt.Errorf("secret %q: %s_FILE: %s is empty", name, v, file)
		}
		s.values[name] = val
	}
	if len(missing) > 0 {
		return Secrets{}, fmt.Errorf("secret not set: %s (set the variable, or %s_FILE to a file holding it)",
			strings.Join(missing, ", "), missing[0])
	}
	return s, nil
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
