package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// goreleaser is pinned; "go install" fetches it through the module proxy.
const goreleaser = "github.com/goreleaser/goreleaser/v2@v2.17.0"

// requireGoreleaser names the variable that makes a goreleaser that cannot
// be had a failure instead of a skip.
const requireGoreleaser = "GITALOG_REQUIRE_GORELEASER"

// The release config says what action.yml and the Jenkinsfile rely on: the
// six platforms, archives named gitalog_<version>_<os>_<arch> (zip on
// windows), checksums.txt, an SBOM, static binaries with the tag as their
// version.
func TestGoreleaserConfig(t *testing.T) {
	data, err := os.ReadFile(".goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Version int `yaml:"version"`
		Builds  []struct {
			Env     []string `yaml:"env"`
			Ldflags []string `yaml:"ldflags"`
			Goos    []string `yaml:"goos"`
			Goarch  []string `yaml:"goarch"`
		} `yaml:"builds"`
		Archives []struct {
			NameTemplate    string   `yaml:"name_template"`
			Formats         []string `yaml:"formats"`
			FormatOverrides []struct {
				Goos    string   `yaml:"goos"`
				Formats []string `yaml:"formats"`
			} `yaml:"format_overrides"`
		} `yaml:"archives"`
		Checksum struct {
			NameTemplate string `yaml:"name_template"`
			Algorithm    string `yaml:"algorithm"`
		} `yaml:"checksum"`
		Sboms []struct {
			Artifacts string `yaml:"artifacts"`
		} `yaml:"sboms"`
	}
	// Unknown keys are goreleaser's to judge (TestGoreleaserCheck).
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || len(c.Builds) != 1 || len(c.Archives) != 1 || len(c.Sboms) != 1 {
		t.Fatalf("version %d, %d builds, %d archives, %d sboms", c.Version, len(c.Builds), len(c.Archives), len(c.Sboms))
	}
	b := c.Builds[0]
	if !slices.Equal(b.Goos, []string{"linux", "darwin", "windows"}) || !slices.Equal(b.Goarch, []string{"amd64", "arm64"}) {
		t.Errorf("platforms %v × %v", b.Goos, b.Goarch)
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Error("not static: CGO_ENABLED=0 missing")
	}
	if len(b.Ldflags) != 1 || !strings.Contains(b.Ldflags[0], "-X github.com/gitalog/gitalog/commands.Version={{ .Tag }}") {
		t.Errorf("ldflags %v", b.Ldflags)
	}
	a := c.Archives[0]
	if a.NameTemplate != "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}" || !slices.Equal(a.Formats, []string{"tar.gz"}) ||
		len(a.FormatOverrides) != 1 || a.FormatOverrides[0].Goos != "windows" || !slices.Equal(a.FormatOverrides[0].Formats, []string{"zip"}) {
		t.Errorf("archives %+v", a)
	}
	if c.Checksum.NameTemplate != "checksums.txt" || c.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum %+v", c.Checksum)
	}
	if c.Sboms[0].Artifacts != "archive" {
		t.Errorf("sboms %+v", c.Sboms)
	}
	// What the downloads build from it.
	action, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	jenkinsfile, err := os.ReadFile(filepath.Join("examples", "jenkins", "Jenkinsfile"))
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"action.yml": string(action), "Jenkinsfile": string(jenkinsfile)} {
		for _, want := range []string{`gitalog_${version#v}_${os}_${arch}.`, "checksums.txt", "/releases/download"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s does not use %q", name, want)
			}
		}
	}
}

// goreleaser check passes on .goreleaser.yaml. goreleaser is built from the
// module proxy (or a goreleaser on PATH is used); when it cannot be had the
// test is skipped with go's reason, unless requireGoreleaser is set.
func TestGoreleaserCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds goreleaser; skipped with -short")
	}
	bin, err := exec.LookPath("goreleaser")
	if err != nil {
		bin = installGoreleaser(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "check", "--config", ".goreleaser.yaml")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("goreleaser check: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "1 configuration file(s) validated") {
		t.Errorf("goreleaser check said:\n%s", out)
	}
}

func installGoreleaser(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	// A cold build is long on a small machine; a warm build cache makes
	// it a link.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	gobin := t.TempDir()
	cmd := exec.CommandContext(ctx, goBin, "install", goreleaser)
	cmd.Dir = gobin // outside this module
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("cannot get %s (the module proxy or cache is needed): %v: %s", goreleaser, err, bytes.TrimSpace(out))
		if os.Getenv(requireGoreleaser) != "" {
			t.Fatalf("%s; %s is set, so this is a failure", msg, requireGoreleaser)
		}
		t.Skipf("%s; set %s=1 to make this a failure", msg, requireGoreleaser)
	}
	return filepath.Join(gobin, "goreleaser")
}
