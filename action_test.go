package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

// action is the part of action.yml the tests read.
type action struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Name string            `yaml:"name"`
			ID   string            `yaml:"id"`
			If   string            `yaml:"if"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) ([]byte, action) {
	t.Helper()
	data, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return data, a
}

// action.yml is valid against SchemaStore's published schema for action
// metadata (vendored in testdata/schemastore, with its source).
func TestActionMetadataSchema(t *testing.T) {
	data, a := readAction(t)
	const schemaURL = "https://json.schemastore.org/github-action.json"
	schemaJSON, err := os.ReadFile(filepath.Join("testdata", "schemastore", "github-action.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, bytes.NewReader(schemaJSON)); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(schemaURL)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	// Through JSON, as the schema's validators see a document.
	j, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(v); err != nil {
		t.Fatalf("action.yml is not valid action metadata: %#v", err)
	}
	// And the schema does catch a broken one.
	bad := map[string]any{"name": "x", "description": "y", "runs": map[string]any{"using": "composite", "steps": []any{map[string]any{"run": "echo"}}}}
	if err := schema.Validate(bad); err == nil {
		t.Error("the schema accepts a composite step without a shell")
	}
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using %q", a.Runs.Using)
	}
	for _, in := range []string{"command", "version", "working-directory"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("no input %s", in)
		}
	}
	var cache bool
	for _, s := range a.Runs.Steps {
		cache = cache || strings.HasPrefix(s.Uses, "actions/cache@v")
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q interpolates an expression in its script", s.Name)
		}
	}
	if !cache {
		t.Error("the binary is not cached")
	}
}

// fakeRelease serves GitHub's release API and downloads for a few gitalog
// releases whose archives hold a stand-in gitalog (a shell script).
type fakeRelease struct {
	*httptest.Server
	// mu: the handler runs beside the test, which changes files between
	// steps (the race detector cannot see that the bash step ended).
	mu        gosync.Mutex
	files     map[string][]byte // path -> content
	downloads int
}

func (f *fakeRelease) set(path string, data []byte) {
	f.mu.Lock()
	f.files[path] = data
	f.mu.Unlock()
}

func (f *fakeRelease) get(path string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.files[path]
}

func (f *fakeRelease) count(reset bool) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.downloads
	if reset {
		f.downloads = 0
	}
	return n
}

func newFakeRelease(t *testing.T, versions ...string) *fakeRelease {
	t.Helper()
	f := &fakeRelease{files: map[string][]byte{}}
	var list []string
	for _, v := range versions {
		archive := "gitalog_" + strings.TrimPrefix(v, "v") + "_linux_amd64.tar.gz"
		script := "#!/bin/sh\necho \"gitalog " + v + " ran in $(pwd): $*\"\n"
		data := tarGz(t, map[string]string{"gitalog": script, "README.md": "read me\n"})
		sum := sha256.Sum256(data)
		f.files["/download/"+v+"/"+archive] = data
		f.files["/download/"+v+"/checksums.txt"] = []byte(hex.EncodeToString(sum[:]) + "  " + archive + "\n" +
			strings.Repeat("0", 64) + "  gitalog_" + strings.TrimPrefix(v, "v") + "_darwin_arm64.tar.gz\n")
		list = append(list, fmt.Sprintf(`{"url": "x", "tag_name": %q, "draft": false, "assets": [{"url": "y", "name": %q}]}`, v, archive))
	}
	f.files["/api/repos/gitalog/gitalog/releases?per_page=100"] = []byte("[" + strings.Join(list, ",\n") + "]")
	f.files["/api/repos/gitalog/gitalog/releases/latest"] = []byte(list[0])
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		data, ok := f.files[r.URL.RequestURI()]
		if ok && strings.HasPrefix(r.URL.Path, "/download/") && strings.HasSuffix(r.URL.Path, ".tar.gz") {
			f.downloads++
		}
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(f.Close)
	return f
}

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

// TestActionSteps runs action.yml's scripts as the runner would (bash -e,
// GITHUB_OUTPUT, GITHUB_PATH) against a fake GitHub: the release the
// action's ref names, the newest of a major tag, the latest; a download
// whose checksum does not match is refused; the tool cache is reused; the
// command runs in the working directory with bash's quoting.
func TestActionSteps(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	for _, tool := range []string{"curl", "tar", "sha256sum", "awk", "sort"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	_, a := readAction(t)
	steps := map[string]string{}
	for _, s := range a.Runs.Steps {
		if s.Run != "" {
			steps[s.Name] = s.Run
		}
	}
	resolve, download, run := steps["Resolve the gitalog release"], steps["Download gitalog and verify its checksum"], steps["gitalog ${{ inputs.command }}"]
	if resolve == "" || download == "" || run == "" {
		t.Fatalf("steps: %v", steps)
	}
	f := newFakeRelease(t, "v1.10.0", "v2.0.0-rc.1", "v1.9.3", "v1.2.0")
	// "latest" is the first of the list: make it the real latest.
	f.set("/api/repos/gitalog/gitalog/releases/latest", []byte(`{"url": "x", "tag_name": "v1.10.0", "prerelease": false}`))

	toolCache := t.TempDir()
	step := func(script string, env map[string]string) (map[string]string, string, error) {
		t.Helper()
		tmp := t.TempDir()
		out := filepath.Join(tmp, "output")
		base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "RUNNER_TEMP=" + tmp, "RUNNER_TOOL_CACHE=" + toolCache,
			"GITHUB_OUTPUT=" + out, "GITHUB_PATH=" + filepath.Join(tmp, "path"),
			"GITALOG_API=" + f.URL + "/api", "GITALOG_DOWNLOAD=" + f.URL + "/download", "GITALOG_REPO=gitalog/gitalog"}
		for k, v := range env {
			base = append(base, k+"="+v)
		}
		cmd := exec.Command(bash, "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script)
		cmd.Env = base
		cmd.Dir = env["WORKDIR"]
		b, err := cmd.CombinedOutput()
		outputs := map[string]string{}
		data, _ := os.ReadFile(out)
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				outputs[k] = v
			}
		}
		return outputs, string(b), err
	}
	resolveEnv := func(input, ref string) map[string]string {
		return map[string]string{"INPUT_VERSION": input, "ACTION_REF": ref, "GITALOG_TOKEN": "", "RUNNER_OS_NAME": "Linux", "RUNNER_ARCH_NAME": "X64"}
	}
	for _, tc := range []struct{ input, ref, want string }{
		{"", "v1.9.3", "v1.9.3"},
		{"", "v1", "v1.10.0"}, // by version, not by list order; no prerelease
		{"", "main", "v1.10.0"},
		{"", "0123456789abcdef0123456789abcdef01234567", "v1.10.0"},
		{"latest", "v1.2.0", "v1.10.0"},
		{"v1.2.0", "v1", "v1.2.0"},
	} {
		o, log, err := step(resolve, resolveEnv(tc.input, tc.ref))
		if err != nil || o["version"] != tc.want {
			t.Errorf("version %q at ref %q: %v, outputs %v, want %s\n%s", tc.input, tc.ref, err, o, tc.want, log)
		}
	}
	for _, tc := range []struct{ input, ref, want string }{
		{"", "v3", "no gitalog release v3.x.y"},
		{"1.2.3; rm -rf /", "", "want a release tag"},
	} {
		if o, log, err := step(resolve, resolveEnv(tc.input, tc.ref)); err == nil || !strings.Contains(log, tc.want) {
			t.Errorf("version %q at ref %q: %v, outputs %v, want an error %q\n%s", tc.input, tc.ref, err, o, tc.want, log)
		}
	}
	o, log, err := step(resolve, resolveEnv("", "v1.9.3"))
	if err != nil {
		t.Fatal(log)
	}
	if o["archive"] != "gitalog_1.9.3_linux_amd64.tar.gz" || o["dir"] != filepath.Join(toolCache, "gitalog", "1.9.3", "amd64") || o["exe"] != "gitalog" {
		t.Fatalf("outputs %v", o)
	}
	dlEnv := map[string]string{"VERSION": o["version"], "ARCHIVE": o["archive"], "EXE": o["exe"], "DIR": o["dir"]}

	// A tampered archive is refused and nothing is installed.
	good := f.get("/download/v1.9.3/" + o["archive"])
	f.set("/download/v1.9.3/"+o["archive"], append(bytes.Clone(good), 0))
	if _, log, err := step(download, dlEnv); err == nil || !strings.Contains(log, "does not match checksums.txt") {
		t.Fatalf("tampered archive: %v\n%s", err, log)
	}
	if _, err := os.Stat(filepath.Join(o["dir"], "gitalog")); err == nil {
		t.Fatal("a tampered archive was installed")
	}
	f.set("/download/v1.9.3/"+o["archive"], good)

	f.count(true)
	if _, log, err := step(download, dlEnv); err != nil || !strings.Contains(log, "as checksums.txt says") {
		t.Fatalf("download: %v\n%s", err, log)
	}
	if _, log, err := step(download, dlEnv); err != nil || !strings.Contains(log, "in the runner's tool cache") || f.count(false) != 1 {
		t.Fatalf("second run: %v, %d downloads\n%s", err, f.count(false), log)
	}

	work := t.TempDir()
	_, log, err = step(run, map[string]string{"GITALOG_DIR": o["dir"], "WORKDIR": work,
		"GITALOG_COMMAND": `sync --push --author "github-actions[bot] <bot@example.com>"`})
	want := "gitalog v1.9.3 ran in " + work + ": sync --push --author github-actions[bot] <bot@example.com>"
	if err != nil || strings.TrimSpace(log) != want {
		t.Fatalf("run: %v\n%s\nwant %s", err, log, want)
	}
}
