package review

import (
	"fmt"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// MaxMarkdown is the default size cap of the markdown rendering, in bytes
// (so also in characters): under GitHub's 65536-character limit on a
// comment, with room for a wrapper line or two.
const MaxMarkdown = 65000

// MarkdownOptions tune RenderMarkdown.
type MarkdownOptions struct {
	// Title is the heading's text (markdown); default "Catalog changes".
	Title string
	// MaxBytes caps the output; 0 means MaxMarkdown.
	MaxBytes int
}

// RenderMarkdown renders d as GitHub-flavoured markdown for a pull-request
// comment or a job summary.
func RenderMarkdown(d *Diff, o MarkdownOptions) string {
	if o.Title == "" {
		o.Title = "Catalog changes"
	}
	limit := o.MaxBytes
	if limit <= 0 {
		limit = MaxMarkdown
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", o.Title)
	fmt.Fprintf(&b, "%s → %s\n\n", mdRev(d.From), mdRev(d.To))
	if len(d.Entities) == 0 {
		b.WriteString("No entity changed.\n")
		return b.String()
	}
	b.WriteString("| blueprint | created | changed | deleted |\n|:--|--:|--:|--:|\n")
	bps := d.Blueprints()
	for _, bp := range bps {
		c := d.Summary[bp]
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", mdCode(bp, true), c.Created, c.Changed, c.Deleted)
	}
	if len(bps) > 1 {
		t := d.Total()
		fmt.Fprintf(&b, "| **total** | **%d** | **%d** | **%d** |\n", t.Created, t.Changed, t.Deleted)
	}

	const closing = "\n</details>\n"
	// Room for the closing tag and the note, whatever N is.
	reserve := len(closing) + len(moreNote(len(d.Entities)))
	shown, open := 0, ""
	for i := range d.Entities {
		e := &d.Entities[i]
		var part strings.Builder
		if e.Blueprint != open {
			if open != "" {
				part.WriteString(closing)
			}
			c := d.Summary[e.Blueprint]
			fmt.Fprintf(&part, "\n<details><summary><b>%s</b>: %s</summary>\n\n", htmlText(e.Blueprint), countsText(*c))
		}
		mdEntity(&part, e)
		if b.Len()+part.Len()+reserve > limit {
			break
		}
		b.WriteString(part.String())
		open = e.Blueprint
		shown++
	}
	if open != "" {
		b.WriteString(closing)
	}
	if n := len(d.Entities) - shown; n > 0 {
		b.WriteString(moreNote(n))
	}
	return b.String()
}

func moreNote(n int) string {
	return fmt.Sprintf("\n… %d more entities not shown (cut to fit a comment; run `gitalog diff` for all of them).\n", n)
}

func countsText(c Counts) string {
	var parts []string
	for _, p := range []struct {
		n    int
		word string
	}{{c.Created, "created"}, {c.Changed, "changed"}, {c.Deleted, "deleted"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
		}
	}
	return strings.Join(parts, ", ")
}

func mdRev(r Rev) string {
	if r.Commit.IsZero() {
		return "(empty)"
	}
	s := "`" + short(r.Commit) + "`"
	if r.Name != "" && r.Name != short(r.Commit) && r.Name != r.Commit.String() {
		s += " (" + mdCode(r.Name, false) + ")"
	}
	return s
}

func mdEntity(b *strings.Builder, e *EntityChange) {
	fmt.Fprintf(b, "- **%s** %s", e.Change, mdCode(e.Identifier, false))
	if t := titleText(e.Title); t != "" {
		b.WriteString(" " + mdText(t))
	}
	b.WriteByte('\n')
	if e.Err != "" {
		fmt.Fprintf(b, "  - cannot decode: %s\n", mdText(cut(e.Err, MaxShown)))
	}
	if e.Change == Changed && len(e.Fields) == 0 && e.Err == "" {
		b.WriteString("  - the file changed, its fields did not\n")
	}
	for _, c := range e.Fields {
		if e.Change == Created && titleShown(e, c) {
			continue
		}
		if e.Change == Created {
			fmt.Fprintf(b, "  - %s: %s\n", mdCode(c.Path, false), mdCode(shortValue(c.New, c.HasNew), false))
			continue
		}
		b.WriteString("  - " + MarkdownField(c) + "\n")
	}
}

// MarkdownField renders one field change of a changed entity as markdown
// (one line), as in RenderMarkdown.
func MarkdownField(c FieldChange) string {
	if isLong(c) {
		return mdCode(c.Path, false) + ": " + mdWords(elide(wordDiff(c.Old, c.New), 40, 120))
	}
	return mdCode(c.Path, false) + ": " + mdCode(shortValue(c.Old, c.HadOld), false) + " → " + mdCode(shortValue(c.New, c.HasNew), false)
}

// mdWords renders a word diff as escaped text with <del> and <b>; line
// breaks become <br>. Spaces at the edges of a change stay outside its tags.
func mdWords(ops []Op) string {
	var b strings.Builder
	for _, op := range ops {
		t := op.Text
		if op.Kind == diffmatchpatch.DiffEqual {
			b.WriteString(mdText(t))
			continue
		}
		tag := "del"
		if op.Kind == diffmatchpatch.DiffInsert {
			tag = "b"
		}
		core := strings.TrimFunc(t, unicode.IsSpace)
		if core == "" {
			if op.Kind == diffmatchpatch.DiffInsert {
				b.WriteString(mdText(t))
			}
			continue
		}
		lead := t[:strings.Index(t, core)]
		trail := t[len(lead)+len(core):]
		b.WriteString(mdText(lead) + "<" + tag + ">" + mdText(core) + "</" + tag + ">" + mdText(trail))
	}
	return b.String()
}

// mdText escapes text for inline markdown: HTML and markdown punctuation
// escaped, control characters shown as \xNN, line breaks as <br>, and
// @mentions and #references defused with a zero-width space so a comment
// pings nobody and links no issue.
func mdText(s string) string {
	var b strings.Builder
	lines := strings.Split(s, "\n")
	for li, line := range lines {
		if li > 0 {
			b.WriteString("<br>")
		}
		line = printable(line)
		for i, r := range line {
			switch r {
			case '<':
				b.WriteString("&lt;")
			case '>':
				b.WriteString("&gt;")
			case '&':
				b.WriteString("&amp;")
			case '\\', '`', '*', '_', '[', ']', '(', ')', '|', '~', '!', '{', '}', '$':
				b.WriteByte('\\')
				b.WriteRune(r)
			case '@', '#':
				b.WriteRune(r)
				if next, _ := utf8.DecodeRuneInString(line[i+1:]); unicode.IsLetter(next) || unicode.IsDigit(next) || next == '-' || next == '_' {
					b.WriteString("\u200b")
				}
			case ' ':
				// Keep runs of spaces visible and never let a line start
				// with indentation that markdown would read as code.
				if i > 0 && line[i-1] == ' ' {
					b.WriteString("&nbsp;")
				} else {
					b.WriteByte(' ')
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// htmlText escapes text for an HTML element (the <summary>).
func htmlText(s string) string {
	s = html.EscapeString(printable(s))
	return strings.ReplaceAll(s, "@", "@\u200b")
}

// mdCode is a code span holding s literally (a backtick fence longer than
// any run of backticks in s). In a table cell, | is escaped as GFM
// requires even inside code.
func mdCode(s string, inTable bool) string {
	s = printable(s)
	run, longest := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if inTable {
		s = strings.ReplaceAll(s, "|", "\\|")
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") && strings.Trim(s, " ") != "" {
		s = " " + s + " "
	}
	return fence + s + fence
}

// EscapeMarkdown escapes text for inline markdown, as the renderers do.
func EscapeMarkdown(s string) string { return mdText(s) }

// MarkdownCode is s as an inline code span, as the renderers write
// identifiers and values.
func MarkdownCode(s string) string { return mdCode(s, false) }
