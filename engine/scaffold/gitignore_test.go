package scaffold

import (
	"strings"
	"testing"
)

func TestGitignoreIgnoresSentryCLIRC(t *testing.T) {
	tests := []struct {
		content string
		want    bool
	}{
		{"", false},
		{"node_modules/\n", false},
		{"# .sentryclirc\n", false},
		{".sentryclirc\n", true},
		{"node_modules/\r\n.sentryclirc\r\n", true},
		{".*rc", true},
		{"*", true},
		{".sentryclirc\n!.sentryclirc\n", false},
		// Only at the root: a token in a sub-directory would still be added.
		{"/.sentryclirc\n", false},
		{".sentryclirc/\n", false}, // directories only
	}
	for _, tc := range tests {
		if got := ignores([]byte(tc.content)); got != tc.want {
			t.Errorf("%q: ignores = %v, want %v", tc.content, got, tc.want)
		}
	}
	for _, cur := range []string{"", "a", "a\n"} {
		if got := withEntry([]byte(cur)); !ignores(got) || ignores([]byte(cur)) {
			t.Errorf("withEntry(%q) = %q", cur, got)
		}
	}
}

// A .gitignore with CRLF line endings keeps them: the appended lines end
// with CRLF too, and a missing final line end is the file's own.
func TestWithEntryKeepsLineEndings(t *testing.T) {
	crlf := strings.ReplaceAll(gitignoreEntry, "\n", "\r\n")
	for cur, want := range map[string]string{
		"a\n":           "a\n\n" + gitignoreEntry,
		"a\r\nb\r\n":    "a\r\nb\r\n\r\n" + crlf,
		"a\r\nb":        "a\r\nb\r\n\r\n" + crlf,
		"a\r\nb\nc\r\n": "a\r\nb\nc\r\n\r\n" + crlf, // mostly CRLF
		"a":             "a\n\n" + gitignoreEntry,
	} {
		if got := string(withEntry([]byte(cur))); got != want {
			t.Errorf("withEntry(%q) = %q, want %q", cur, got, want)
		}
	}
}
