package commands

import (
	"runtime/debug"
	"strings"
)

// BuildVersion is what --version prints. A release build's -ldflags
// Version wins; else the module version go install recorded (v1.2.3 for
// "go install github.com/gitalog/gitalog@v1.2.3"); else, for a build from
// a checkout, "dev" and the commit it was built from, so that a bug report
// names what actually ran.
func BuildVersion() string {
	info, _ := debug.ReadBuildInfo()
	return versionOf(Version, info)
}

func versionOf(ldflags string, info *debug.BuildInfo) string {
	if ldflags != "" && ldflags != "dev" {
		return ldflags
	}
	if info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		// Built without VCS stamping (-buildvcs=false, a tarball, go
		// test): nothing more is known.
		return "dev"
	}
	parts := []string{"commit " + rev[:min(12, len(rev))]}
	if modified == "true" {
		parts = append(parts, "modified")
	}
	return "dev (" + strings.Join(parts, ", ") + ")"
}
