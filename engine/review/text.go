package review

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// MaxShown caps (in characters) a value shown whole, e.g. a created
// entity's field; JSON output is never cut.
const MaxShown = 200

// RenderText writes d for a terminal.
func RenderText(w io.Writer, d *Diff) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Catalog changes %s → %s\n", d.From, d.To)
	if len(d.Entities) == 0 {
		fmt.Fprintln(bw, "\nNo entity changed.")
		return bw.Flush()
	}
	bps := d.Blueprints()
	width := len("blueprint")
	for _, bp := range bps {
		width = max(width, utf8.RuneCountInString(printable(bp)))
	}
	fmt.Fprintf(bw, "\n%-*s  %7s  %7s  %7s\n", width, "blueprint", "created", "changed", "deleted")
	for _, bp := range bps {
		c := d.Summary[bp]
		fmt.Fprintf(bw, "%-*s  %7d  %7d  %7d\n", width, printable(bp), c.Created, c.Changed, c.Deleted)
	}
	if len(bps) > 1 {
		t := d.Total()
		fmt.Fprintf(bw, "%-*s  %7d  %7d  %7d\n", width, "total", t.Created, t.Changed, t.Deleted)
	}
	bp := ""
	for i := range d.Entities {
		e := &d.Entities[i]
		if i == 0 || e.Blueprint != bp {
			bp = e.Blueprint
			fmt.Fprintf(bw, "\n%s\n", printable(bp))
		}
		line := fmt.Sprintf("  %s %s", e.Change.mark(), printable(e.Identifier))
		if t := titleText(e.Title); t != "" {
			line += "  " + t
		}
		fmt.Fprintln(bw, line)
		writeFields(bw, e, "      ")
	}
	return bw.Flush()
}

// writeFields writes an entity's field changes, one a line (word diffs on
// the lines after their path), each line starting with indent.
func writeFields(w io.Writer, e *EntityChange, indent string) {
	if e.Err != "" {
		fmt.Fprintf(w, "%s(cannot decode: %s)\n", indent, printable(e.Err))
	}
	if e.Change == Changed && len(e.Fields) == 0 && e.Err == "" {
		fmt.Fprintf(w, "%s(the file changed, its fields did not)\n", indent)
	}
	for _, c := range e.Fields {
		if e.Change == Created {
			if titleShown(e, c) {
				continue
			}
			fmt.Fprintf(w, "%s%s: %s\n", indent, c.Path, shortValue(c.New, c.HasNew))
			continue
		}
		fmt.Fprintln(w, FormatField(c, indent))
	}
}

// FormatField renders one field change as text, starting with indent:
// `path: old → new`, or, when a value is long or spans lines, the path
// followed by a word diff ([-old-]{+new+}) on the next lines.
func FormatField(c FieldChange, indent string) string {
	if isLong(c) {
		var b strings.Builder
		b.WriteString(indent + c.Path + ":\n")
		b.WriteString(indent + "  ")
		for _, op := range elide(wordDiff(c.Old, c.New), 40, 120) {
			t := printableLines(op.Text)
			switch op.Kind {
			case diffmatchpatch.DiffDelete:
				t = "[-" + t + "-]"
			case diffmatchpatch.DiffInsert:
				t = "{+" + t + "+}"
			}
			b.WriteString(strings.ReplaceAll(t, "\n", "\n"+indent+"  "))
		}
		return b.String()
	}
	return indent + FieldLine(c, MaxShown)
}

// FieldLine renders one field change on one line, `path: old → new`, each
// value cut to width characters; the sync summary and the review's short
// form share it so a change reads the same wherever it is shown.
func FieldLine(c FieldChange, width int) string {
	return fmt.Sprintf("%s: %s → %s", c.Path, valueText(c.Old, c.HadOld, width), valueText(c.New, c.HasNew, width))
}

func shortValue(v any, present bool) string { return valueText(v, present, MaxShown) }

func valueText(v any, present bool, width int) string {
	if !present {
		return "(none)"
	}
	return cut(printable(string(canonical(v))), width)
}

// titleShown: a created entity's title field adds nothing when its
// heading line already shows the title whole.
func titleShown(e *EntityChange, c FieldChange) bool {
	t, ok := c.New.(string)
	return ok && c.Path == "title" && titleText(e.Title) == printable(t)
}

func titleText(t any) string {
	switch t := t.(type) {
	case nil:
		return ""
	case string:
		return cut(printable(strings.Join(strings.Fields(t), " ")), 72)
	}
	return cut(printable(string(canonical(t))), 72)
}

func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// printable escapes control characters and invalid UTF-8, so that
// upstream text cannot drive a terminal.
func printable(s string) string { return catalog.Printable(s) }

// printableLines is printable, keeping line breaks.
func printableLines(s string) string {
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = printable(p)
	}
	return strings.Join(parts, "\n")
}

// ValueText is a field's value as the renderers show it: canonical JSON,
// cut to MaxShown characters; "(none)" when absent.
func ValueText(v any, present bool) string { return shortValue(v, present) }
