package template

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func mustSecrets(t *testing.T, names []string, m map[string]string) Secrets {
	t.Helper()
	s, err := ResolveSecrets(names, env(m))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRender(t *testing.T) {
	secrets := mustSecrets(t, []string{"sentry_api_token"}, map[string]string{"SENTRY_API_TOKEN": "tok-123456"})
	cases := []struct {
		name, src string
		vars      map[string]any
		want      string
	}{
		{"nil cursor is falsy and renders empty", `{% if cursor %}{{cursor}}{% else %}https://h/first{% endif %}|{{ cursor }}`,
			map[string]any{"cursor": nil}, "https://h/first|"},
		{"empty string is truthy", `{% if cursor %}yes{% else %}no{% endif %}`, map[string]any{"cursor": ""}, "yes"},
		{"false is falsy", `{% if c %}yes{% else %}no{% endif %}`, map[string]any{"c": false}, "no"},
		{"zero is truthy", `{% if c %}yes{% else %}no{% endif %}`, map[string]any{"c": 0}, "yes"},
		{"undefined renders empty", `a{{ nope.deeper }}b`, nil, "ab"},
		{"dotted parent", `/projects/o/{{ sentry_project.id }}/issues/`,
			map[string]any{"sentry_project": map[string]any{"id": "42", "slug": "web"}}, "/projects/o/42/issues/"},
		{"secret", `Bearer {{ 'sentry_api_token' | secret }}`, nil, "Bearer tok-123456"},
		{"secret in a branch", `{% if x %}{{ "sentry_api_token" | secret }}{% endif %}`, map[string]any{"x": true}, "tok-123456"},
		{"filters after secret", `Basic {{ 'sentry_api_token' | secret | prepend: 'u:' | base64_encode }}`, nil, "Basic dTp0b2stMTIzNDU2"},
		{"cursor in a JSON body", `{"variables":{"endCursor":"{{ cursor }}"}}`, map[string]any{"cursor": "abc"}, `{"variables":{"endCursor":"abc"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tpl, err := Compile(c.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Render(c.vars, secrets)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestSecretNames(t *testing.T) {
	cases := []struct {
		src  string
		want []string
	}{
		{`plain {{ cursor }}`, nil},
		{`Bearer {{ 'sentry_api_token' | secret }}`, []string{"sentry_api_token"}},
		{"{% if cursor %}{{ 'a_token' | secret }}{% else %}{{ \"b_token\" | secret }}{% endif %}{{ 'a_token' | secret }}", []string{"a_token", "b_token"}},
		{`{% assign t = 'c_token' | secret %}{{ t }}`, []string{"c_token"}},
		{`{{ 'x|y' | upcase }} {{ 'd' | secret | upcase }}`, []string{"d"}},
	}
	for _, c := range cases {
		tpl, err := Compile(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if got := tpl.SecretNames(); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.src, got, c.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		src        string
		line, col  int
		wantInText string
	}{
		{"a\n  {% iff x %}", 2, 3, `undefined tag "iff"`},
		{"x {{ cursor | nofilter }}", 1, 3, `unknown filter "nofilter"`},
		{"x {{ cursor | secret }}", 1, 3, "quoted name"},
		{"{{ 'a' | append: 'b' | secret }}", 1, 1, "quoted name"},
		{"{% if x %}no end", 1, 0, "if"},
		{"ok\n{{ a | }}", 2, 1, ""},
	}
	for _, c := range cases {
		_, err := Compile(c.src)
		var te *Error
		if !errors.As(err, &te) {
			t.Fatalf("%q: want *Error, got %v", c.src, err)
		}
		if te.Line != c.line || (c.col != 0 && te.Column != c.col) || !strings.Contains(te.Msg, c.wantInText) {
			t.Errorf("%q: got line %d col %d %q, want line %d col %d containing %q", c.src, te.Line, te.Column, te.Msg, c.line, c.col, c.wantInText)
		}
	}
}

func TestResolveSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	if err := os.WriteFile(file, []byte("from-file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ResolveSecrets([]string{"sentry_api_token", "pd_token"}, env(map[string]string{
		"SENTRY_API_TOKEN_FILE": file, "PD_TOKEN": "pd-value-1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Values(); !slices.Equal(got, []string{"from-file-secret", "pd-value-1"}) {
		t.Fatalf("values %q", got)
	}
	if got := s.Vars(); !slices.Equal(got, []string{"SENTRY_API_TOKEN", "SENTRY_API_TOKEN_FILE", "PD_TOKEN", "PD_TOKEN_FILE"}) {
		t.Fatalf("vars %q", got)
	}

	_, err = ResolveSecrets([]string{"sentry_api_token", "jira_basic_auth_header"}, env(map[string]string{"PD_TOKEN": "x"}))
	if err == nil || !strings.Contains(err.Error(), "SENTRY_API_TOKEN") || !strings.Contains(err.Error(), "JIRA_BASIC_AUTH_HEADER") {
		t.Fatalf("want both variables named, got %v", err)
	}
	_, err = ResolveSecrets([]string{"a_token"}, env(map[string]string{"A_TOKEN_FILE": filepath.Join(dir, "none")}))
	if err == nil || !strings.Contains(err.Error(), "A_TOKEN_FILE") {
		t.Fatalf("want the _FILE variable named, got %v", err)
	}
}

// A template rendered with a Secrets that lacks a name it uses fails
// rather than rendering the secret empty.
func TestRenderUnresolvedSecret(t *testing.T) {
	tpl, err := Compile(`Bearer {{ 'sentry_api_token' | secret }}`)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := tpl.Render(nil, Secrets{}); err == nil || !strings.Contains(err.Error(), "SENTRY_API_TOKEN") {
		t.Fatalf("got %q, %v", out, err)
	}
}

// A filter that fails on a secret quotes the value it was given; the
// error shows it redacted.
func TestRenderErrorRedacted(t *testing.T) {
	s := mustSecrets(t, []string{"tok"}, map[string]string{"TOK": "SEKRET-VALUE"})
	for _, src := range []string{`{{ 'tok' | secret | divided_by: 0 }}`, `x{{ 'tok' | secret | prepend: 'me:' | date: 5 }}`} {
		tpl, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tpl.Render(nil, s)
		if err == nil || strings.Contains(err.Error(), "SEKRET") || !strings.Contains(err.Error(), "[redacted]") {
			t.Fatalf("%s: %v", src, err)
		}
	}
}

func TestResolveSourceSecrets(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	euFile, sharedFile, empty := file("eu", "eu-from-file\n"), file("shared", "shared-from-file\n"), file("empty", "")
	allVars := []string{"API_TOKEN_EU_WEST", "API_TOKEN_EU_WEST_FILE", "API_TOKEN", "API_TOKEN_FILE"}
	for _, tc := range []struct {
		name    string
		source  string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"the source's variable first", "eu-west", map[string]string{"API_TOKEN_EU_WEST": "eu-value", "API_TOKEN": "shared-value"}, "eu-value", ""},
		{"the source's file before the shared variable", "eu-west", map[string]string{"API_TOKEN_EU_WEST_FILE": euFile, "API_TOKEN": "shared-value"}, "eu-from-file", ""},
		{"the shared variable when the source has none", "eu-west", map[string]string{"API_TOKEN": "shared-value", "API_TOKEN_ONPREM": "other"}, "shared-value", ""},
		{"the shared file last", "eu-west", map[string]string{"API_TOKEN_FILE": sharedFile}, "shared-from-file", ""},
		{"no source: the shared variable only", "", map[string]string{"API_TOKEN_EU_WEST": "eu-value", "API_TOKEN": "shared-value"}, "shared-value", ""},
		{"missing names both", "eu-west", nil, "", "secret not set: API_TOKEN_EU_WEST or API_TOKEN"},
		{"an empty source file is an error", "eu-west", map[string]string{"API_TOKEN_EU_WEST_FILE": empty, "API_TOKEN": "shared-value"}, "", "API_TOKEN_EU_WEST_FILE: " + empty + " is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ResolveSourceSecrets([]string{"api_token"}, tc.source, env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := s.lookup("api_token"); got != tc.want {
				t.Errorf("api_token = %q, want %q", got, tc.want)
			}
			want := allVars
			if tc.source == "" {
				want = allVars[2:]
			}
			if got := s.Vars(); !slices.Equal(got, want) {
				t.Errorf("vars %q, want %q", got, want)
			}
		})
	}
}
