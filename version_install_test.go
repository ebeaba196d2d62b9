package main

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoInstallAtVersionPrintsIt is what a user does, "go install
// github.com/gitalog/gitalog@v1.2.3" then "gitalog --version", against a
// module proxy on disk that serves this checkout as v1.2.3 (the
// dependencies come from the module cache, as they were downloaded to
// build this test). It builds gitalog once more: skipped with -short.
func TestGoInstallAtVersionPrintsIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gitalog from a module zip; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	const mod, version = "github.com/gitalog/gitalog", "v1.2.3"
	proxy := t.TempDir()
	dir := filepath.Join(proxy, filepath.FromSlash(mod), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bench") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		w, err := zw.Create(mod + "@" + version + "/" + filepath.ToSlash(p))
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": []byte(`{"Version":"` + version + `","Time":"2026-01-02T03:04:05Z"}`),
		version + ".mod":  gomod,
		version + ".zip":  zbuf.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A module cache of its own, so that this fake v1.2.3 never lands in
	// the user's; the dependencies come from the user's cache, whose
	// download folder is laid out as a proxy, so no network is needed.
	// -trimpath keeps the build cache keys free of that cache's path, so a
	// second run reuses the first's compiled packages.
	modcache, err := exec.Command(goBin, "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cached := filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download")
	gobin := t.TempDir()
	cmd := exec.Command(goBin, "install", mod+"@"+version)
	cmd.Dir = t.TempDir() // outside this module
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOMODCACHE="+t.TempDir(),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(cached), "GOSUMDB=off",
		"GOFLAGS=-modcacherw -trimpath", "GONOSUMDB=", "GOPRIVATE=", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s@%s: %v\n%s", mod, version, err, out)
	}
	out, err := exec.Command(filepath.Join(gobin, "gitalog"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("gitalog --version: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "gitalog version "+version; got != want {
		t.Errorf("gitalog --version printed %q, want %q", got, want)
	}
}
