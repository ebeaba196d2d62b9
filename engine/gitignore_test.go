package engine

import "testing"

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
