package validate

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gitalog/gitalog/engine/catalog"
)

// WriteText writes one line per finding (errors, then warnings unless
// warnings is false) and a count:
//
//	catalog/issue/1.json:7: error: /properties/status: "x" is not one of ...
func (r *Result) WriteText(w io.Writer, warnings bool) {
	for _, f := range r.Findings {
		if f.Warning && !warnings {
			continue
		}
		loc := f.Path
		if f.Line > 0 {
			loc += ":" + strconv.Itoa(f.Line)
			if f.Column > 0 {
				loc += ":" + strconv.Itoa(f.Column)
			}
		}
		kind := "error"
		if f.Warning {
			kind = "warning"
		}
		fmt.Fprintf(w, "%s: %s: %s\n", loc, kind, f.message())
	}
	fmt.Fprintln(w, r.countLine())
}

func (r *Result) countLine() string {
	files := plural(r.Files, "file", "files")
	e, wn := r.Errors(), r.Warnings()
	if e == 0 && wn == 0 {
		return fmt.Sprintf("%s checked (%s): no problems", files, r.Source)
	}
	return fmt.Sprintf("%s checked (%s): %s, %s", files, r.Source, plural(e, "error", "errors"), plural(wn, "warning", "warnings"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func (f Finding) message() string {
	if f.Pointer == "" {
		return catalog.Printable(f.Reason)
	}
	return catalog.Printable(f.Pointer + ": " + f.Reason)
}

// WriteAnnotations writes the findings as GitHub Actions workflow
// commands, which show up on the pull request's files:
//
//	::error file=catalog/x/y.json,line=7,title=gitalog validate::/properties/status: ...
func (r *Result) WriteAnnotations(w io.Writer, warnings bool) {
	for _, f := range r.Findings {
		if f.Warning && !warnings {
			continue
		}
		cmd := "error"
		if f.Warning {
			cmd = "warning"
		}
		props := "file=" + escapeProperty(strings.TrimSuffix(f.Path, "/"))
		if f.Line > 0 {
			props += ",line=" + strconv.Itoa(f.Line)
			if f.Column > 0 {
				props += ",col=" + strconv.Itoa(f.Column)
			}
		}
		props += ",title=" + escapeProperty("gitalog validate")
		fmt.Fprintf(w, "::%s %s::%s\n", cmd, props, escapeData(f.message()))
	}
}

// escapeData and escapeProperty escape as GitHub's toolkit does
// (@actions/core command.ts).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
