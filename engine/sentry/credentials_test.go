package sentry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func rc(token, url, org string) string {
	var b strings.Builder
	if token != "" {
		b.WriteString("[auth]\ntoken = " + token + "\n")
	}
	if url != "" || org != "" {
		b.WriteString("; a comment\n# another\n[defaults]\n")
		if url != "" {
			b.WriteString("url=" + url + "\n")
		}
		if org != "" {
			b.WriteString(`org = "` + org + "\"\n")
		}
	}
	return b.String()
}

func TestResolveSettingsPrecedence(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home")
	work := filepath.Join(root, "src", "repo", "sub")
	tokFile := filepath.Join(root, "token.txt")
	writeFile(t, tokFile, "  tok-file\n")
	// Files: home, an ancestor of the repo, and the nearest.
	homeRC := rc("tok-home", "https://home.example", "org-home")
	farRC := rc("tok-far", "https://far.example", "org-far")
	nearRC := rc("tok-near", "https://near.example", "org-near")

	type want struct{ token, tokenFrom, url, urlFrom, org, orgFrom string }
	for _, tc := range []struct {
		name        string
		env         map[string]string
		files       map[string]string // relative to root
		cfgURL, org string
		want        want
	}{
		{"nothing: defaults", nil, nil, "", "",
			want{"", "", DefaultURL, "default", "", ""}},
		{"home rc only", nil, map[string]string{"home/.sentryclirc": homeRC}, "", "",
			want{"tok-home", "home/.sentryclirc (auth.token)", "https://home.example", "home/.sentryclirc (defaults.url)", "org-home", "home/.sentryclirc (defaults.org)"}},
		{"nearest rc wins over farther and home", nil, map[string]string{"home/.sentryclirc": homeRC, "src/.sentryclirc": farRC, "src/repo/sub/.sentryclirc": nearRC}, "", "",
			want{"tok-near", "src/repo/sub/.sentryclirc (auth.token)", "https://near.example", "src/repo/sub/.sentryclirc (defaults.url)", "org-near", "src/repo/sub/.sentryclirc (defaults.org)"}},
		{"rc keys merge across files", nil, map[string]string{"home/.sentryclirc": homeRC, "src/.sentryclirc": rc("", "", "org-far"), "src/repo/.sentryclirc": rc("", "https://mid.example", "")}, "", "",
			want{"tok-home", "home/.sentryclirc (auth.token)", "https://mid.example", "src/repo/.sentryclirc (defaults.url)", "org-far", "src/.sentryclirc (defaults.org)"}},
		{"config beats rc", nil, map[string]string{"src/repo/sub/.sentryclirc": nearRC}, "https://cfg.example", "org-cfg",
			want{"tok-near", "src/repo/sub/.sentryclirc (auth.token)", "https://cfg.example", "gitalog.yaml (sentry.url)", "org-cfg", "gitalog.yaml (sentry.org)"}},
		{"ocean env beats config", map[string]string{
			"OCEAN__INTEGRATION__CONFIG__SENTRY_TOKEN": "tok-ocean", "OCEAN__INTEGRATION__CONFIG__SENTRY_HOST": "https://ocean.example",
			"OCEAN__INTEGRATION__CONFIG__SENTRY_ORGANIZATION": "org-ocean"},
			map[string]string{"src/repo/sub/.sentryclirc": nearRC}, "https://cfg.example", "org-cfg",
			want{"tok-ocean", "OCEAN__INTEGRATION__CONFIG__SENTRY_TOKEN", "https://ocean.example", "OCEAN__INTEGRATION__CONFIG__SENTRY_HOST", "org-ocean", "OCEAN__INTEGRATION__CONFIG__SENTRY_ORGANIZATION"}},
		{"token file beats ocean", map[string]string{"SENTRY_AUTH_TOKEN_FILE": tokFile, "OCEAN__INTEGRATION__CONFIG__SENTRY_TOKEN": "tok-ocean"}, nil, "", "",
			want{"tok-file", "SENTRY_AUTH_TOKEN_FILE", DefaultURL, "default", "", ""}},
		{"sentry env beats all", map[string]string{
			"SENTRY_AUTH_TOKEN": " tok-env ", "SENTRY_AUTH_TOKEN_FILE": filepath.Join(root, "missing"), "SENTRY_URL": "https://env.example",
			"SENTRY_ORG": "org-env", "OCEAN__INTEGRATION__CONFIG__SENTRY_TOKEN": "tok-ocean", "OCEAN__INTEGRATION__CONFIG__SENTRY_HOST": "https://ocean.example",
			"OCEAN__INTEGRATION__CONFIG__SENTRY_ORGANIZATION": "org-ocean"},
			map[string]string{"home/.sentryclirc": homeRC, "src/repo/sub/.sentryclirc": nearRC}, "https://cfg.example", "org-cfg",
			want{"tok-env", "SENTRY_AUTH_TOKEN", "https://env.example", "SENTRY_URL", "org-env", "SENTRY_ORG"}},
		{"blank env values are ignored", map[string]string{"SENTRY_AUTH_TOKEN": "  ", "SENTRY_URL": "", "SENTRY_ORG": " "},
			map[string]string{"home/.sentryclirc": homeRC}, "", "",
			want{"tok-home", "home/.sentryclirc (auth.token)", "https://home.example", "home/.sentryclirc (defaults.url)", "org-home", "home/.sentryclirc (defaults.org)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// Rebase the shared layout into a fresh directory per case.
			r := func(p string) string { return strings.ReplaceAll(p, root, dir) }
			for p, c := range tc.files {
				writeFile(t, filepath.Join(dir, p), c)
			}
			if err := os.MkdirAll(r(work), 0o755); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"HOME": r(home)}
			for k, v := range tc.env {
				env[k] = v
			}
			s, err := ResolveSettings(func(k string) string { return env[k] }, r(work), tc.cfgURL, tc.org, "gitalog.yaml")
			if err != nil {
				t.Fatal(err)
			}
			got := want{s.Token, s.TokenFrom, s.URL, s.URLFrom, s.Org, s.OrgFrom}
			got.tokenFrom = strings.TrimPrefix(got.tokenFrom, dir+string(filepath.Separator))
			got.urlFrom = strings.TrimPrefix(got.urlFrom, dir+string(filepath.Separator))
			got.orgFrom = strings.TrimPrefix(got.orgFrom, dir+string(filepath.Separator))
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if s.Token != "" && (strings.Contains(s.TokenFrom, s.Token) || strings.Contains(s.URLFrom+s.OrgFrom, s.Token)) {
				t.Errorf("a From field holds the token: %+v", s)
			}
		})
	}
}

func TestResolveSettingsHomeIsAncestor(t *testing.T) {
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".sentryclirc"), rc("tok-home", "", "org-home"))
	writeFile(t, filepath.Join(home, "repo", ".sentryclirc"), rc("", "", "org-repo"))
	env := map[string]string{"HOME": home}
	s, err := ResolveSettings(func(k string) string { return env[k] }, filepath.Join(home, "repo"), "", "", "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Token != "tok-home" || s.Org != "org-repo" {
		t.Errorf("got %+v", s)
	}
}

func TestResolveSettingsErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, " \n\t")
	for _, tc := range []struct {
		env  map[string]string
		cfg  string
		want string
	}{
		{map[string]string{"SENTRY_AUTH_TOKEN_FILE": filepath.Join(dir, "nope")}, "", "SENTRY_AUTH_TOKEN_FILE"},
		{map[string]string{"SENTRY_AUTH_TOKEN_FILE": empty}, "", "is empty"},
		{map[string]string{"SENTRY_URL": "sentry.io"}, "", "(from SENTRY_URL)"},
		{nil, "ftp://x", "(from c.yaml (sentry.url))"},
	} {
		env := map[string]string{"HOME": dir}
		for k, v := range tc.env {
			env[k] = v
		}
		_, err := ResolveSettings(func(k string) string { return env[k] }, dir, tc.cfg, "", "c.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.env, err, tc.want)
		}
	}
}

func TestSettingsCheck(t *testing.T) {
	if err := (Settings{Org: "o", Token: "t"}).Check(); err != nil {
		t.Error(err)
	}
	err := (Settings{}).Check()
	if err == nil || !strings.Contains(err.Error(), "SENTRY_ORG") || !strings.Contains(err.Error(), "SENTRY_AUTH_TOKEN") {
		t.Errorf("err = %v", err)
	}
	err = (Settings{Org: "o"}).Check()
	if err == nil || strings.Contains(err.Error(), "organization") || !strings.Contains(err.Error(), "event:read") {
		t.Errorf("err = %v", err)
	}
}

func TestParseINI(t *testing.T) {
	got := parseINI([]byte("token=outside\n[Auth]\n  Token = \"abc\"  \n;token=commented\n[defaults]\nurl=https://x/\nbroken line\norg=a=b\n"))
	want := map[string]string{".token": "outside", "auth.token": "abc", "defaults.url": "https://x/", "defaults.org": "a=b"}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestResolveSourceSettings(t *testing.T) {
	dir := t.TempDir()
	euFile := filepath.Join(dir, "eu.txt")
	writeFile(t, euFile, "tok-eu-file\n")
	sharedFile := filepath.Join(dir, "shared.txt")
	writeFile(t, sharedFile, "tok-shared-file\n")
	home := filepath.Join(dir, "home")
	type want struct{ token, tokenFrom, url, urlFrom, org, orgFrom string }
	for _, tc := range []struct {
		name     string
		source   string
		env      map[string]string
		rc       string // home's .sentryclirc
		url, org string // the source's, as written
		want     want
		wantErr  string
	}{
		{name: "the source's own token, url and org", source: "eu",
			env: map[string]string{"SENTRY_AUTH_TOKEN_EU": "tok-eu", "SENTRY_AUTH_TOKEN": "tok-shared"},
			url: "https://de.sentry.io", org: "acme-eu",
			want: want{"tok-eu", "SENTRY_AUTH_TOKEN_EU", "https://de.sentry.io", "gitalog.yaml (sources: eu url)", "acme-eu", "gitalog.yaml (sources: eu org)"}},
		{name: "a dash is an underscore, the name upper-cased", source: "eu-west",
			env: map[string]string{"SENTRY_AUTH_TOKEN_EU_WEST": "tok-euw"}, org: "o",
			want: want{"tok-euw", "SENTRY_AUTH_TOKEN_EU_WEST", DefaultURL, "default", "o", "gitalog.yaml (sources: eu-west org)"}},
		{name: "the source's token file beats the shared token", source: "eu",
			env: map[string]string{"SENTRY_AUTH_TOKEN_EU_FILE": euFile, "SENTRY_AUTH_TOKEN": "tok-shared"}, org: "o",
			want: want{"tok-eu-file", "SENTRY_AUTH_TOKEN_EU_FILE", DefaultURL, "default", "o", "gitalog.yaml (sources: eu org)"}},
		{name: "the source's token beats its token file", source: "eu",
			env: map[string]string{"SENTRY_AUTH_TOKEN_EU": "tok-eu", "SENTRY_AUTH_TOKEN_EU_FILE": filepath.Join(dir, "missing")}, org: "o",
			want: want{"tok-eu", "SENTRY_AUTH_TOKEN_EU", DefaultURL, "default", "o", "gitalog.yaml (sources: eu org)"}},
		{name: "falls back to the shared token", source: "eu",
			env: map[string]string{"SENTRY_AUTH_TOKEN_ONPREM": "tok-other", "SENTRY_AUTH_TOKEN": "tok-shared"}, org: "o",
			want: want{"tok-shared", "SENTRY_AUTH_TOKEN", DefaultURL, "default", "o", "gitalog.yaml (sources: eu org)"}},
		{name: "falls back to the shared token file", source: "eu",
			env: map[string]string{"SENTRY_AUTH_TOKEN_FILE": sharedFile}, org: "o",
			want: want{"tok-shared-file", "SENTRY_AUTH_TOKEN_FILE", DefaultURL, "default", "o", "gitalog.yaml (sources: eu org)"}},
		{name: "falls back to .sentryclirc's token, not its org", source: "eu",
			rc: rc("tok-rc", "", "org-rc"), org: "o",
			want: want{"tok-rc", "home/.sentryclirc (auth.token)", DefaultURL, "default", "o", "gitalog.yaml (sources: eu org)"}},
		{name: "SENTRY_URL_<NAME> and SENTRY_ORG_<NAME> beat the config", source: "onprem",
			env: map[string]string{"SENTRY_URL_ONPREM": "https://env.example", "SENTRY_ORG_ONPREM": "org-env"},
			url: "https://cfg.example", org: "org-cfg",
			want: want{"", "", "https://env.example", "SENTRY_URL_ONPREM", "org-env", "SENTRY_ORG_ONPREM"}},
		{name: "SENTRY_URL and SENTRY_ORG do not apply to a source", source: "eu",
			env:  map[string]string{"SENTRY_URL": "https://shared.example", "SENTRY_ORG": "org-shared", "OCEAN__INTEGRATION__CONFIG__SENTRY_HOST": "https://ocean.example"},
			want: want{"", "", DefaultURL, "default", "", ""}},
		{name: "another source's variables do not apply", source: "eu",
			env: map[string]string{"SENTRY_URL_ONPREM": "https://x.example", "SENTRY_ORG_ONPREM": "x"}, org: "o",
			want: want{"", "", DefaultURL, "default", "o", "gitalog.yaml (sources: eu org)"}},
		{name: "unreadable token file", source: "eu",
			env:     map[string]string{"SENTRY_AUTH_TOKEN_EU_FILE": filepath.Join(dir, "missing")},
			wantErr: "SENTRY_AUTH_TOKEN_EU_FILE: open"},
		{name: "bad url names where it came from", source: "eu",
			env:     map[string]string{"SENTRY_URL_EU": "sentry.io"},
			wantErr: "(from SENTRY_URL_EU)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"HOME": home}
			for k, v := range tc.env {
				env[k] = v
			}
			_ = os.RemoveAll(home)
			if tc.rc != "" {
				writeFile(t, filepath.Join(home, ".sentryclirc"), tc.rc)
			}
			s, err := ResolveSourceSettings(func(k string) string { return env[k] }, home, tc.source, tc.url, tc.org, "gitalog.yaml")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{s.Token, strings.TrimPrefix(s.TokenFrom, dir+string(filepath.Separator)), s.URL, s.URLFrom, s.Org, s.OrgFrom}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// A source that lacks its token says which variable to set.
func TestSourceSettingsCheckNamesItsVariables(t *testing.T) {
	s, err := ResolveSourceSettings(func(string) string { return "" }, t.TempDir(), "eu-west", "https://de.sentry.io", "", "gitalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Check()
	for _, want := range []string{"source eu-west", "SENTRY_AUTH_TOKEN_EU_WEST", "SENTRY_ORG_EU_WEST"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %v, want it to name %s", err, want)
		}
	}
}

// SENTRY_URL pins where the shared token goes: a source whose url is
// elsewhere gets it only with a token of its own.
func TestSourceSharedTokenStaysAtSentryURL(t *testing.T) {
	env := func(m map[string]string) Env { return func(k string) string { return m[k] } }
	pinned := map[string]string{"SENTRY_URL": "https://sentry.io", "SENTRY_AUTH_TOKEN": "tok-s3cr3t"}
	if _, err := ResolveSourceSettings(env(pinned), t.TempDir(), "eu", "https://evil.example", "acme", "gitalog.yaml"); err == nil || !strings.Contains(err.Error(), "SENTRY_AUTH_TOKEN_EU") || strings.Contains(err.Error(), "tok-s3cr3t") {
		t.Errorf("shared token to another host: %v", err)
	}
	s, err := ResolveSourceSettings(env(pinned), t.TempDir(), "eu", "https://sentry.io/", "acme", "gitalog.yaml")
	if err != nil || s.Token != "tok-s3cr3t" {
		t.Errorf("shared token to SENTRY_URL's host: %v %+v", err, s.TokenFrom)
	}
	own := map[string]string{"SENTRY_URL": "https://sentry.io", "SENTRY_AUTH_TOKEN": "tok-s3cr3t", "SENTRY_AUTH_TOKEN_EU": "own"}
	if s, err := ResolveSourceSettings(env(own), t.TempDir(), "eu", "https://de.sentry.io", "acme", "gitalog.yaml"); err != nil || s.Token != "own" {
		t.Errorf("a source's own token goes to its url: %v", err)
	}
	free := map[string]string{"SENTRY_AUTH_TOKEN": "tok-s3cr3t"}
	if s, err := ResolveSourceSettings(env(free), t.TempDir(), "eu", "https://de.sentry.io", "acme", "gitalog.yaml"); err != nil || s.Token != "tok-s3cr3t" {
		t.Errorf("without SENTRY_URL the config says where: %v", err)
	}
}

// Port Ocean's host and a .sentryclirc's url pin their tokens as SENTRY_URL
// pins SENTRY_AUTH_TOKEN.
func TestSourceOceanAndRCTokensStayHome(t *testing.T) {
	ocean := map[string]string{"OCEAN__INTEGRATION__CONFIG__SENTRY_TOKEN": "tok-ocean-1", "OCEAN__INTEGRATION__CONFIG__SENTRY_HOST": "https://sentry.io"}
	env := func(m map[string]string) Env { return func(k string) string { return m[k] } }
	if _, err := ResolveSourceSettings(env(ocean), t.TempDir(), "evil", "http://127.0.0.1:1", "acme", "gitalog.yaml"); err == nil || !strings.Contains(err.Error(), "OCEAN__INTEGRATION__CONFIG__SENTRY_HOST") {
		t.Errorf("ocean token to another host: %v", err)
	}
	if s, err := ResolveSourceSettings(env(ocean), t.TempDir(), "eu", "https://sentry.io", "acme", "gitalog.yaml"); err != nil || s.Token != "tok-ocean-1" {
		t.Errorf("ocean token at its host: %v", err)
	}
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".sentryclirc"), rc("tok-rc-1", "https://sentry.example", "acme"))
	withRC := map[string]string{"HOME": home}
	if _, err := ResolveSourceSettings(env(withRC), t.TempDir(), "evil", "http://127.0.0.1:1", "acme", "gitalog.yaml"); err == nil || !strings.Contains(err.Error(), ".sentryclirc") {
		t.Errorf(".sentryclirc token to another host: %v", err)
	}
}
