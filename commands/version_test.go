package commands

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "abc123def4567890abc123def4567890abc12345"
	for _, tc := range []struct {
		name, ldflags string
		info          *debug.BuildInfo
		want          string
	}{
		{"no build info", "dev", nil, "dev"},
		{"go install @tag", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"pseudo-version", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.4-0.20260101000000-abc123def456+dirty"}}, "v1.2.4-0.20260101000000-abc123def456+dirty"},
		{"ldflags win", "v1.3.0", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.3.0"},
		{"devel, clean checkout", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "dev (commit abc123def456)"},
		{"devel, modified checkout", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "dev (commit abc123def456, modified)"},
		{"devel, no vcs", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"empty ldflags", "", &debug.BuildInfo{Main: debug.Module{Version: "v2.0.0"}}, "v2.0.0"},
	} {
		if got := versionOf(tc.ldflags, tc.info); got != tc.want {
			t.Errorf("%s: versionOf = %q, want %q", tc.name, got, tc.want)
		}
	}
}
