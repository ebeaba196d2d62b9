package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gitalog/gitalog/engine/secretenv"
)

// envConfig is a config whose one resource maps the environment a jq
// program sees into properties; top goes before resources.
func envConfig(top string) string {
	return top + `resources:
  - kind: x
    port:
      entity:
        mappings:
          identifier: '"id"'
          blueprint: '"bp"'
          properties:
            env: env | tostring
            ENV: $ENV | tostring
            token: env.SENTRY_AUTH_TOKEN
            values: '[env[]] | tostring'
`
}

func TestJQEnvAllowList(t *testing.T) {
	secrets := map[string]string{
		"SENTRY_AUTH_TOKEN":                        "sntrys_env_secret_1",
		"OCEAN__INTEGRATION__CONFIG__SENTRY_TOKEN": "sntrys_env_secret_2",
		"OCEAN__PORT__CLIENT_SECRET":               "env_secret_3",
		"DB_PASSWORD":                              "env_secret_4",
		"STRIPE_API_KEY":                           "env_secret_5",
		"SENTRY_DSN":                               "https://env_secret_10@o1.ingest.sentry.io/1",
		// Names a deny-list of secret-looking words lets through.
		"GH_PAT":       "env_secret_12",
		"DOCKER_PASS":  "env_secret_13",
		"JWT":          "env_secret_14",
		"COOKIE":       "env_secret_15",
		"DEPLOY_CREDS": "env_secret_16",
		"DATABASE_URL": "postgres://app:env_secret_17@db/app",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	t.Setenv("SENTRY_URL", "https://sentry.example.com")
	t.Setenv("SENTRY_ORG", "acme")
	t.Setenv("GITALOG_TEST_PLAIN", "visible")
	tests := []struct {
		name string
		top  string
		want []string // values env shows; every other one must be hidden
	}{
		{"defaults", "", []string{"https://sentry.example.com", "acme"}},
		{"listed names", "mappingEnv: [GITALOG_TEST_PLAIN, GITALOG_TEST_UNSET]\n", []string{"https://sentry.example.com", "acme", "visible"}},
		// A listed name that looks like a secret is the user's choice.
		{"listed secret-looking name", "mappingEnv:\n  - GH_PAT\n", []string{"https://sentry.example.com", "acme", "env_secret_12"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("gitalog.yaml", []byte(envConfig(tc.top)))
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Warnings) != 0 {
				t.Errorf("warnings: %v", cfg.Warnings)
			}
			es, iss := cfg.Resources[0].Map(map[string]any{})
			if len(es) != 1 || len(iss) != 0 {
				t.Fatalf("Map = %v, %v", es, iss)
			}
			props := es[0].Properties
			if props["token"] != nil {
				t.Errorf("env.SENTRY_AUTH_TOKEN = %v", props["token"])
			}
			for _, f := range []string{"env", "ENV", "values"} {
				s, _ := props[f].(string)
				for _, w := range tc.want {
					if !strings.Contains(s, w) {
						t.Errorf("%s: %q is missing from %s", f, w, s)
					}
				}
				for k, v := range secrets {
					if strings.Contains(s, v) && !slices.Contains(tc.want, v) {
						t.Errorf("%s shows %s", f, k)
					}
				}
				if strings.Contains(s, "visible") && !slices.Contains(tc.want, "visible") {
					t.Errorf("%s shows an unlisted variable", f)
				}
			}
		})
	}
}

func TestMappingEnvErrors(t *testing.T) {
	tests := []struct{ top, want string }{
		{"mappingEnv:\n  - GITALOG_X\n  - SENTRY_AUTH_TOKEN\n", "gitalog.yaml:3: mappingEnv: SENTRY_AUTH_TOKEN is where gitalog reads a secret from; a mapping must not read it"},
		{"mappingEnv: GITALOG_X\n", "gitalog.yaml:1: mappingEnv must be a list of environment variable names"},
		{"mappingEnv: [A=B]\n", `gitalog.yaml:1: mappingEnv: "A=B" is not an environment variable name`},
		{"jqTimeout: 10\n", `gitalog.yaml:1: jqTimeout must be a duration such as 10s or 500ms, got "10"`},
		{"jqTimeout: -1s\n", `gitalog.yaml:1: jqTimeout must be a duration`},
		{"jqMaxSteps: 0\n", `gitalog.yaml:1: jqMaxSteps must be a whole number above 0, got "0"`},
	}
	for _, tc := range tests {
		_, err := Parse("gitalog.yaml", []byte(envConfig(tc.top)))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %s", tc.top, err, tc.want)
		}
	}
}

// limitConfig maps identifier and one property with the given programs.
func limitConfig(top, id, prop string) string {
	return fmt.Sprintf(`%sresources:
  - kind: x
    port:
      entity:
        mappings:
          identifier: %q
          blueprint: '"bp"'
          title: .title
          properties:
            p: %q
`, top, id, prop)
}

func TestJQLimits(t *testing.T) {
	// Each runaway program must stop at a bound rather than hang the
	// test (or the sync) or exhaust memory.
	runaway := []string{
		`def f: f; f`,
		`def f: 1 + f; f`,
		`[range(1e9)] | length`,
		`last(range(1e12))`,
		`[repeat(1)] | length`,
		`try (def f: f; f) catch "swallowed"`,
		`[limit(1e9; repeat("x"))] | add | length`,
	}
	bounds := []struct {
		name, top string
		steps     bool
	}{
		{"steps", "jqMaxSteps: 100000\n", true},
		// Steps too many to reach: the watchdog's time bound stops it.
		{"time", "jqTimeout: 50ms\njqMaxSteps: 9000000000000000000\n", false},
	}
	for _, b := range bounds {
		for _, src := range runaway {
			t.Run(b.name+"/"+src, func(t *testing.T) {
				t.Run("property", func(t *testing.T) {
					cfg, err := Parse("gitalog.yaml", []byte(limitConfig(b.top, ".id", src)))
					if err != nil {
						t.Fatal(err)
					}
					r := cfg.Resources[0]
					// Item after item, the field is null with an issue and
					// the entity is kept; the program runs only once.
					for i := range 3 {
						es, iss := r.Map(map[string]any{"id": fmt.Sprint(i), "title": "t"})
						if len(es) != 1 || es[0].Properties["p"] != nil || es[0].Title != "t" {
							t.Fatalf("item %d: entities %v", i, es)
						}
						if len(iss) != 1 || iss[0].Skipped || iss[0].Field != "port.entity.mappings.properties.p" {
							t.Fatalf("item %d: issues %+v", i, iss)
						}
						want := "jq evaluation stopped after"
						if i > 0 {
							want = "not run: an earlier evaluation of this expression was stopped: jq evaluation stopped after"
						}
						if !strings.HasPrefix(iss[0].Msg, want) || !strings.HasSuffix(iss[0].Msg, "(value set to null)") {
							t.Errorf("item %d: %s", i, iss[0].Msg)
						}
						if limit := map[bool]string{true: "jqMaxSteps", false: "jqTimeout"}[b.steps]; !strings.Contains(iss[0].Msg, limit) {
							t.Errorf("item %d: %s does not name %s", i, iss[0].Msg, limit)
						}
					}
				})
				t.Run("identifier", func(t *testing.T) {
					cfg, err := Parse("gitalog.yaml", []byte(limitConfig(b.top, src, ".p")))
					if err != nil {
						t.Fatal(err)
					}
					es, iss := cfg.Resources[0].Map(map[string]any{"id": "1"})
					if len(es) != 0 || len(iss) != 2 || !iss[1].Skipped || !strings.Contains(iss[0].Msg, "jq evaluation stopped after") {
						t.Errorf("Map = %v, %+v", es, iss)
					}
				})
			})
		}
	}
}

func TestProgramLimitError(t *testing.T) {
	cfg, err := Parse("gitalog.yaml", []byte(limitConfig("jqMaxSteps: 1000\n", ".id", ".p")))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits.MaxSteps != 1000 || cfg.Limits.Timeout != DefaultLimits.Timeout {
		t.Errorf("Limits = %+v", cfg.Limits)
	}
	p := compileOrFail(t, `last(range(1e6))`, cfg)
	_, err = p.First(nil)
	var le *LimitError
	if !errors.As(err, &le) || !le.Steps {
		t.Fatalf("First = %v", err)
	}
	if _, err := p.All(nil); !errors.As(err, new(*StoppedError)) {
		t.Errorf("All after a stop = %v", err)
	}
}

// Legitimate programs well within the bounds run as before, also after
// the evaluator they share was cancelled.
func TestJQLimitsLeaveOthersAlone(t *testing.T) {
	cfg, err := Parse("gitalog.yaml", []byte(limitConfig("jqMaxSteps: 100000\n", ".id", `[range(1000)] | add`)))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Resources[0]
	bad := compileOrFail(t, `def f: f; f`, cfg)
	for i := range 3 {
		if _, err := bad.First(nil); err == nil {
			t.Fatal("runaway program not stopped")
		}
		es, iss := r.Map(map[string]any{"id": "1", "title": "t"})
		if len(es) != 1 || len(iss) != 0 || fmt.Sprint(es[0].Properties["p"]) != "499500" {
			t.Fatalf("run %d: %v %+v", i, es, iss)
		}
	}
}

// compileOrFail compiles src bounded by cfg's limits.
func compileOrFail(t *testing.T, src string, cfg *Config) *Program {
	t.Helper()
	p, err := compileJQ(src, "f", nil, cfg.Resources[0].Query.guard)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Goroutines mapping at once share the guard: the watchdog stops only the
// evaluation that runs too long, never a short one on another goroutine.
// The limit is far above what a short evaluation takes even on a loaded
// machine under the race detector, which a 20ms one was not.
func TestJQLimitsConcurrent(t *testing.T) {
	cfg, err := Parse("gitalog.yaml", []byte(limitConfig("jqTimeout: 500ms\njqMaxSteps: 9000000000000000000\n", ".id", `[range(100)] | add`)))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Resources[0]
	errs := make(chan string, 100)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g == 0 {
				bad := compileOrFail(t, `def f: f; f`, cfg)
				if _, err := bad.First(nil); !errors.As(err, new(*LimitError)) {
					errs <- fmt.Sprintf("runaway program: %v", err)
				}
				return
			}
			for i := range 2000 {
				es, iss := r.Map(map[string]any{"id": fmt.Sprint(i)})
				if len(es) != 1 || len(iss) != 0 || fmt.Sprint(es[0].Properties["p"]) != "4950" {
					errs <- fmt.Sprintf("goroutine %d item %d: %v %+v", g, i, es, iss)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// Every variable gitalog reads a secret from is refused by name, with the
// file and line, whatever its value.
func TestMappingEnvRefusesSecretSources(t *testing.T) {
	for _, name := range secretenv.Names() {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("gitalog.yaml", []byte(envConfig("mappingEnv:\n  - GITALOG_X\n  - "+name+"\n")))
			want := "gitalog.yaml:3: mappingEnv: " + name + " is where gitalog reads a secret from"
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got %v, want %s", err, want)
			}
		})
	}
}

// A listed variable that holds a secret gitalog uses, under another name,
// is refused naming the variable, never showing the value: for the
// secrets in the environment when the config is read, and for the token
// resolved later (from a file or .sentryclirc).
func TestMappingEnvRefusesSecretValues(t *testing.T) {
	const token = "sntrys_value_secret_1"
	for _, src := range []string{"SENTRY_AUTH_TOKEN", "OCEAN__INTEGRATION__CONFIG__SENTRY_TOKEN", "GITHUB_TOKEN", "GIT_TOKEN"} {
		t.Run(src, func(t *testing.T) {
			t.Setenv(src, token)
			t.Setenv("GITALOG_COPY", "prefix-"+token+"-suffix")
			_, err := Parse("gitalog.yaml", []byte(envConfig("mappingEnv:\n  - GITALOG_X\n  - GITALOG_COPY\n")))
			if err == nil || !strings.HasPrefix(err.Error(), "gitalog.yaml:3: mappingEnv: GITALOG_COPY holds ") || strings.Contains(err.Error(), token) {
				t.Errorf("got %v", err)
			}
		})
	}
	t.Run("resolved later", func(t *testing.T) {
		t.Setenv("GITALOG_COPY", token)
		t.Setenv("SENTRY_ORG", "acme")
		cfg, err := Parse("gitalog.yaml", []byte(envConfig("mappingEnv: [GITALOG_COPY]\n")))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.RefuseSecret("the Sentry auth token (from .sentryclirc)", "acme"); err != nil {
			t.Errorf("a value that is not a secret: %v", err)
		}
		if err := cfg.RefuseSecret("the Sentry auth token", ""); err != nil {
			t.Errorf("no token: %v", err)
		}
		err = cfg.RefuseSecret("the Sentry auth token (from .sentryclirc)", token)
		if err == nil || err.Error() != "gitalog.yaml:1: mappingEnv: GITALOG_COPY holds the Sentry auth token (from .sentryclirc); a mapping must not read it (it would be written into the catalog)" {
			t.Errorf("got %v", err)
		}
	})
}

// A URL's credentials never reach a mapping: env.SENTRY_URL shows it
// without them, as gitalog's own output does.
func TestMappingEnvURLCredentials(t *testing.T) {
	t.Setenv("SENTRY_URL", "http://user:env_secret_pw@sentry.example.com:9000/base")
	t.Setenv("GITALOG_DB", "postgres://app:env_secret_db@db/app")
	cfg, err := Parse("gitalog.yaml", []byte(envConfig("mappingEnv: [GITALOG_DB]\n")))
	if err != nil {
		t.Fatal(err)
	}
	es, _ := cfg.Resources[0].Map(map[string]any{})
	s, _ := es[0].Properties["env"].(string)
	if !strings.Contains(s, `"SENTRY_URL":"http://sentry.example.com:9000/base"`) || !strings.Contains(s, `"GITALOG_DB":"postgres://db/app"`) || strings.Contains(s, "env_secret") || strings.Contains(s, "user") {
		t.Errorf("env = %s", s)
	}
}

// A value that doubles in a loop takes a handful of steps, each one copy,
// and grows past any memory before the time bound: the heap's growth
// while the evaluation runs stops it. The limit is low, so that the test
// itself stays small.
func TestJQMaxMemory(t *testing.T) {
	for _, src := range []string{
		`reduce range(40) as $i ("x"; . + .) | length`,
		`reduce range(30) as $i ([0]; . + .) | length`,
	} {
		t.Run(src, func(t *testing.T) {
			cfg, err := Parse("gitalog.yaml", []byte(limitConfig("jqMaxMemory: 16MiB\njqTimeout: 10m\n", ".id", src)))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Limits.MaxMemory != 16<<20 {
				t.Fatalf("Limits = %+v", cfg.Limits)
			}
			es, iss := cfg.Resources[0].Map(map[string]any{"id": "1"})
			if len(es) != 1 || es[0].Properties["p"] != nil || len(iss) != 1 || !iss[0].Stopped {
				t.Fatalf("Map = %v, %+v", es, iss)
			}
			const want = "jq evaluation stopped: the heap grew by more than 16 MiB while it ran (the jqMaxMemory limit; a value that grows in a loop?) (value set to null)"
			if iss[0].Msg != want {
				t.Errorf("issue: %s\nwant:  %s", iss[0].Msg, want)
			}
		})
	}
}

func TestJQMaxMemoryConfig(t *testing.T) {
	cfg, err := Parse("gitalog.yaml", []byte(limitConfig("", ".id", ".p")))
	if err != nil || cfg.Limits.MaxMemory != 512<<20 {
		t.Fatalf("default: %v %+v", err, cfg.Limits)
	}
	for _, bad := range []string{"0", "-1", "lots", "[1]"} {
		_, err := Parse("gitalog.yaml", []byte(limitConfig("jqMaxMemory: "+bad+"\n", ".id", ".p")))
		if err == nil || !strings.HasPrefix(err.Error(), "gitalog.yaml:1: jqMaxMemory must be a size such as 536870912, 512MiB or 1GiB, got") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
