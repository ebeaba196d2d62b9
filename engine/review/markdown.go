package review

import (
	"fmt"
	"html"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// CommentLimit is the most a review comment may hold, in bytes: the review
// workflow that init writes (examples/github-actions/gitalog-review.yml)
// replaces a longer body with a link to the job summary, and its test
// holds it to this number. It is under GitHub's 65536-character limit on a
// comment.
const CommentLimit = 60000

// MaxMarkdown is the default size cap of the markdown rendering, in bytes:
// the comment's limit less room for what the workflow adds around it (its
// marker line, a note that the plan did not fit).
const MaxMarkdown = CommentLimit - 1000

// MarkdownOptions tune RenderMarkdown.
type MarkdownOptions struct {
	// Title is the heading's text (markdown); default "Catalog changes".
	Title string
	// MaxBytes caps the output; 0 means MaxMarkdown.
	MaxBytes int
	// Links, when set, link each entity to its file on the forge.
	Links *Links
	// Validation, when set, is validate's result, shown first.
	Validation *Validation
}

// Links say where the diffed files are on GitHub (or a GitHub Enterprise
// server): an entity links to its file at Head, a deleted one to its old
// file at Base.
type Links struct {
	Server     string // GITHUB_SERVER_URL, such as https://github.com
	Repository string // GITHUB_REPOSITORY, owner/name
	Head       string // a commit that has the new files: the pull request's head
	Base       string // a commit that has the old files: the merge base
}

// file is the URL of the file p at rev; "" when it cannot be told.
func (l *Links) file(p, rev string) string {
	if l == nil || l.Server == "" || l.Repository == "" || rev == "" {
		return ""
	}
	u, err := url.Parse(strings.TrimSuffix(l.Server, "/"))
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return ""
	}
	segs := strings.Split(l.Repository+"/blob/"+rev+"/"+p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return linkTarget(u.String() + "/" + strings.Join(segs, "/"))
}

// Validation is what `gitalog validate` found, for the comment's first
// line (as tfcmt starts with the plan's result).
type Validation struct {
	Files            int
	Errors, Warnings int
	// Findings are the first findings as validate prints them, errors
	// first; a few are shown.
	Findings []string
	// Failed, when set, says why validation could not run.
	Failed string
}

// maxFindings is how many findings the comment shows: the job's log and
// the annotations on the files have all of them.
const maxFindings = 10

func (v *Validation) markdown() string {
	var b strings.Builder
	switch {
	case v.Failed != "":
		fmt.Fprintf(&b, "**validate**: ❌ could not run: %s\n", mdText(cut(v.Failed, MaxShown)))
	case v.Errors == 0:
		fmt.Fprintf(&b, "**validate**: ✅ pass (%s)", plural(v.Files, "file", "files"))
		if v.Warnings > 0 {
			fmt.Fprintf(&b, ", %s", plural(v.Warnings, "warning", "warnings"))
		}
		b.WriteString("\n")
	default:
		fmt.Fprintf(&b, "**validate**: ❌ %s, %s (%s)\n", plural(v.Errors, "error", "errors"),
			plural(v.Warnings, "warning", "warnings"), plural(v.Files, "file", "files"))
	}
	if len(v.Findings) > 0 {
		b.WriteString("\n")
		for i, f := range v.Findings {
			if i == maxFindings {
				fmt.Fprintf(&b, "- … %d more (see the job's log)\n", len(v.Findings)-maxFindings)
				break
			}
			b.WriteString("- " + mdText(cut(f, MaxShown)) + "\n")
		}
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// RenderMarkdown renders d as GitHub-flavoured markdown for a pull-request
// comment or a job summary: validate's result (when given), the counts of
// every blueprint, and per blueprint its entities, deletions first. When
// all of them do not fit under the cap, each blueprint gets a fair share
// of the room: they take one entity each in turn until the next does not
// fit, so that a blueprint of 3,000 changed issues cannot hide the three
// teams that changed beside them.
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
	if o.Validation != nil {
		b.WriteString(o.Validation.markdown() + "\n")
	}
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

	groups := groupForMarkdown(d)
	const closing = "\n</details>\n"
	// Room for every section's frame and note, and the closing note,
	// whatever is shown.
	room := limit - b.Len() - len(moreNote(len(d.Entities)))
	for _, g := range groups {
		g.open = fmt.Sprintf("\n<details><summary><b>%s</b>: %s</summary>\n\n", htmlText(g.bp), countsText(*d.Summary[g.bp]))
		room -= len(g.open) + len(closing) + len(groupNote(g.bp, len(g.entities)))
	}
	if room < 0 {
		// Not even the sections' frames fit (a tiny MaxBytes, or a table
		// of very many blueprints): the table and the note only.
		b.WriteString(moreNote(len(d.Entities)))
		return b.String()
	}
	active := slices.Clone(groups) // next reuses active's array
	for len(active) > 0 {
		next := active[:0]
		for _, g := range active {
			var part strings.Builder
			mdEntity(&part, g.entities[len(g.parts)], o.Links, d)
			if part.Len() > room {
				continue // this blueprint is done: it shows a prefix
			}
			room -= part.Len()
			g.parts = append(g.parts, part.String())
			if len(g.parts) < len(g.entities) {
				next = append(next, g)
			}
		}
		active = next
	}
	shown := 0
	for _, g := range groups {
		b.WriteString(g.open)
		for _, p := range g.parts {
			b.WriteString(p)
		}
		if n := len(g.entities) - len(g.parts); n > 0 {
			b.WriteString(groupNote(g.bp, n))
		}
		b.WriteString(closing)
		shown += len(g.parts)
	}
	if n := len(d.Entities) - shown; n > 0 {
		b.WriteString(moreNote(n))
	}
	return b.String()
}

// mdGroup is one blueprint's section of the markdown.
type mdGroup struct {
	bp       string
	entities []*EntityChange // deleted, changed, created; by identifier
	open     string
	parts    []string // the entities shown
}

func groupForMarkdown(d *Diff) []*mdGroup {
	var groups []*mdGroup
	by := map[string]*mdGroup{}
	for i := range d.Entities {
		e := &d.Entities[i]
		g := by[e.Blueprint]
		if g == nil {
			g = &mdGroup{bp: e.Blueprint}
			by[e.Blueprint] = g
			groups = append(groups, g)
		}
		g.entities = append(g.entities, e)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].bp < groups[j].bp })
	// Deletions first: they are what a reviewer must not miss.
	rank := map[Kind]int{Deleted: 0, Changed: 1, Created: 2}
	for _, g := range groups {
		sort.SliceStable(g.entities, func(i, j int) bool {
			x, y := g.entities[i], g.entities[j]
			if x.Change != y.Change {
				return rank[x.Change] < rank[y.Change]
			}
			return x.Identifier < y.Identifier
		})
	}
	return groups
}

func groupNote(bp string, n int) string {
	return fmt.Sprintf("\n… and %d more %s not shown\n", n, htmlText(bp))
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

func mdEntity(b *strings.Builder, e *EntityChange, links *Links, d *Diff) {
	id := mdCode(e.Identifier, false)
	rev := links.headRev(d)
	if e.Change == Deleted {
		rev = links.baseRev(d)
	}
	if u := links.file(e.Path, rev); u != "" {
		id = "[" + id + "](" + u + ")"
	}
	fmt.Fprintf(b, "- **%s** %s", e.Change, id)
	if t := titleText(e.Title); t != "" {
		b.WriteString(" " + mdText(t))
	}
	if e.URL != "" {
		if u, err := url.Parse(e.URL); err == nil {
			b.WriteString(" · [" + mdText(u.Hostname()) + "](" + e.URL + ")")
		}
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

func (l *Links) headRev(d *Diff) string {
	if l == nil {
		return ""
	}
	if l.Head != "" {
		return l.Head
	}
	if d.To.Commit.IsZero() {
		return ""
	}
	return d.To.Commit.String()
}

func (l *Links) baseRev(d *Diff) string {
	if l == nil {
		return ""
	}
	if l.Base != "" {
		return l.Base
	}
	if d.From.Commit.IsZero() {
		return ""
	}
	return d.From.Commit.String()
}

// linkProperties are the properties that hold an entity's page, in the
// order they are looked for: Port's and the default blueprints' "link" and
// "permalink", and a plain "url".
var linkProperties = []string{"link", "permalink", "url"}

// EntityURL is the entity's own page (its Sentry page) from its
// properties: the first of link, permalink and url that is an absolute
// http(s) URL, made safe to put in a markdown link; "" when none is.
func EntityURL(props map[string]any) string {
	for _, k := range linkProperties {
		s, ok := props[k].(string)
		if !ok {
			continue
		}
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil {
			continue
		}
		return linkTarget(u.String())
	}
	return ""
}

// linkTarget escapes what would end a markdown link's destination or start
// markup inside it; the URL is already valid, so this changes no meaning.
func linkTarget(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c <= ' ' || c >= 0x7f || strings.IndexByte("()[]<>\"`'\\|{}^", c) >= 0:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
