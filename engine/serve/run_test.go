package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClientSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	os.WriteFile(file, []byte("from-file\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"variable", map[string]string{"SENTRY_CLIENT_SECRET": "from-env", "SENTRY_CLIENT_SECRET_FILE": file}, "from-env", ""},
		{"file, newline trimmed", map[string]string{"SENTRY_CLIENT_SECRET_FILE": file}, "from-file", ""},
		{"empty file", map[string]string{"SENTRY_CLIENT_SECRET_FILE": empty}, "", "is empty"},
		{"missing file", map[string]string{"SENTRY_CLIENT_SECRET_FILE": filepath.Join(dir, "nope")}, "", "SENTRY_CLIENT_SECRET_FILE: open"},
		{"neither", nil, "", "set SENTRY_CLIENT_SECRET or SENTRY_CLIENT_SECRET_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ClientSecret(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "from-file") {
					t.Errorf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("ClientSecret = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
