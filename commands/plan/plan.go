// Package plan renders what `gitalog plan` found (sync.Result.Plan): as
// text for a terminal, as GitHub-flavoured markdown for a pull-request
// comment and job summary, and as one JSON object for scripts.
//
// # JSON
//
// One object; keys may be added, never removed or renamed. With sources:
// in gitalog.yaml and no --source, one object a source, one after the
// other (a JSON stream, as `jq` reads it).
//
//	{
//	  "source": "Sentry organization acme-corp (https://sentry.io)",
//	  "source_name": "eu",              // the config's source the plan is of (left out without sources:)
//	  "kinds": [
//	    {
//	      "kind": "issue",              // a Port kind, or an extractor's external_kind
//	      "items": 29,                  // items fetched
//	      "requests": 4,                // HTTP requests made for the kind (0 for a replay)
//	      "sample": {...} | null,       // its first item, trimmed; null when it had none
//	      "sample_trimmed": true,       // whether anything of the sample was cut
//	      "entity": [{...}],            // the entities that item maps to
//	      "issues": ["..."]             // why it gave none, or what went wrong mapping it
//	    }
//	  ],
//	  "endpoints": [                    // Sentry's requests per endpoint, ids replaced
//	    {"endpoint": "/organizations/{org}/issues/{id}/tags/{key}/values/",
//	     "requests": 3,                 // made, each retry included
//	     "skipped": 26,                 // not needed: the parent is unchanged since the last sync
//	     "429s": 0, "wait_seconds": 0}  // answered 429; time waited for rate limits and retries
//	  ],
//	  "full_refresh": "--full",         // why every fan-out child was fetched again (left out if not)
//	  "changes": {
//	    "create": [{"blueprint": "issue", "identifier": "4605181614", "title": "...",
//	                "fields": [{"path": "properties.status", "new": "unresolved"}]}],
//	    "update": [{"blueprint": ..., "identifier": ..., "title": ...,
//	                "fields": [{"path": "title", "old": "...", "new": "..."}]}],
//	    "delete": [{"blueprint": ..., "identifier": ..., "title": ...}],
//	    "suggest": [{"blueprint": ..., "identifier": ..., "title": ..., "fields": [...]}]
//	  }
//	}
//
// Kinds are in the order the config names them; each change list is sorted
// by blueprint, then identifier, and never cut; empty lists are [], never
// null. A field's "old" is left out when it did not exist, "new" when it
// no longer does (as in `gitalog diff --format json`). A trimmed sample
// says so in place: a long string ends in "… (N chars)", an array ends
// with "… N more", deep values become "{… N keys}" or "[… N items]".
package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gitalog/gitalog/commands/summary"
	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/jsonx"
	"github.com/gitalog/gitalog/engine/review"
	"github.com/gitalog/gitalog/engine/sync"
)

type jsonPlan struct {
	Source      string         `json:"source"`
	SourceName  string         `json:"source_name,omitempty"`
	Kinds       []jsonKind     `json:"kinds"`
	Endpoints   []jsonEndpoint `json:"endpoints"`
	FullRefresh string         `json:"full_refresh,omitempty"`
	Changes     jsonChanges    `json:"changes"`
}

type jsonEndpoint struct {
	Endpoint string  `json:"endpoint"`
	Requests int64   `json:"requests"`
	Skipped  int64   `json:"skipped"`
	TooMany  int64   `json:"429s"`
	WaitSecs float64 `json:"wait_seconds"`
}

type jsonKind struct {
	Kind     string            `json:"kind"`
	Items    int               `json:"items"`
	Requests int64             `json:"requests"`
	Sample   json.RawMessage   `json:"sample"`
	Trimmed  bool              `json:"sample_trimmed"`
	Entity   []json.RawMessage `json:"entity"`
	Issues   []string          `json:"issues"`
}

type jsonChanges struct {
	Create  []jsonChange `json:"create"`
	Update  []jsonChange `json:"update"`
	Delete  []jsonChange `json:"delete"`
	Suggest []jsonChange `json:"suggest"`
}

type jsonChange struct {
	Blueprint  string      `json:"blueprint"`
	Identifier string      `json:"identifier"`
	Title      string      `json:"title"`
	Fields     []jsonField `json:"fields,omitempty"`
}

type jsonField struct {
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// JSON writes the plan of res as one indented JSON object.
func JSON(w io.Writer, res *sync.Result) error {
	p := plan(res)
	out := jsonPlan{Source: res.Source, SourceName: res.SourceName, Kinds: []jsonKind{}, Endpoints: []jsonEndpoint{}, FullRefresh: res.FullRefresh}
	for _, e := range res.Endpoints {
		out.Endpoints = append(out.Endpoints, jsonEndpoint{e.Endpoint, e.Requests, e.Skipped, e.TooMany, e.Wait.Seconds()})
	}
	for _, k := range p.Kinds {
		jk := jsonKind{Kind: k.Kind, Items: k.Items, Requests: k.Requests, Sample: k.Sample, Trimmed: k.Trimmed,
			Entity: k.Entities, Issues: k.Issues}
		if jk.Sample == nil {
			jk.Sample = json.RawMessage("null")
		}
		if jk.Entity == nil {
			jk.Entity = []json.RawMessage{}
		}
		if jk.Issues == nil {
			jk.Issues = []string{}
		}
		out.Kinds = append(out.Kinds, jk)
	}
	list := func(cs []sync.PlanChange, withFields bool) []jsonChange {
		l := make([]jsonChange, 0, len(cs))
		for _, c := range cs {
			jc := jsonChange{Blueprint: c.Blueprint, Identifier: c.Identifier, Title: c.Title}
			if withFields {
				jc.Fields = []jsonField{}
			}
			for _, f := range c.Fields {
				jc.Fields = append(jc.Fields, jsonField{Path: f.Path, Old: review.JSONValue(f.Old, f.HadOld), New: review.JSONValue(f.New, f.HasNew)})
			}
			l = append(l, jc)
		}
		return l
	}
	out.Changes = jsonChanges{Create: list(p.Create, true), Update: list(p.Update, true), Delete: list(p.Delete, false), Suggest: list(p.Suggest, true)}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// plan is res's plan; an empty one when the run made none.
func plan(res *sync.Result) *sync.Plan {
	if res.Plan == nil {
		return &sync.Plan{}
	}
	return res.Plan
}

// Options tune the text and markdown renderings.
type Options struct {
	// Limit caps the entities listed per blueprint and change (the rest are
	// counted, "… and N more"); 0 means DefaultLimit, -1 no cap.
	Limit int
	// MaxBytes caps the markdown; 0 means review.MaxMarkdown.
	MaxBytes int
	// Err is the run's error, if any, for the markdown's warning.
	Err error
}

// DefaultLimit is the entities listed per blueprint and change.
const DefaultLimit = 20

func (o Options) limit() int {
	switch {
	case o.Limit < 0:
		return 1 << 30
	case o.Limit == 0:
		return DefaultLimit
	}
	return o.Limit
}

// group is one blueprint's changes, in the order they are shown.
type group struct {
	blueprint string
	lists     [4][]sync.PlanChange // create, update, delete, suggest
}

var listNames = [4]string{"create", "update", "delete", "suggest"}
var marks = [4]string{"+", "~", "-", "?"}

func groups(p *sync.Plan) []*group {
	var out []*group
	by := map[string]*group{}
	for i, l := range [4][]sync.PlanChange{p.Create, p.Update, p.Delete, p.Suggest} {
		for _, c := range l {
			g := by[c.Blueprint]
			if g == nil {
				g = &group{blueprint: c.Blueprint}
				by[c.Blueprint] = g
				out = append(out, g)
			}
			g.lists[i] = append(g.lists[i], c)
		}
	}
	slices.SortFunc(out, func(a, b *group) int { return strings.Compare(a.blueprint, b.blueprint) })
	return out
}

func total(p *sync.Plan) int { return len(p.Create) + len(p.Update) + len(p.Delete) + len(p.Suggest) }

// indented is compact JSON laid out for reading, each line starting
// with prefix and made safe for a terminal: an object or array that fits
// in a short line stays on one ([1748772000, 26]), others get a line per
// element.
func indented(raw json.RawMessage, prefix string) string {
	v, err := jsonx.Decode(raw)
	if err != nil {
		return prefix + catalog.Printable(string(raw))
	}
	var b strings.Builder
	pretty(&b, v, "")
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = prefix + catalog.Printable(l)
	}
	return strings.Join(lines, "\n")
}

// inline is the longest value kept on one line.
const inline = 60

func pretty(b *strings.Builder, v any, indent string) {
	var c bytes.Buffer
	catalog.EncodeCompact(&c, v)
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 || c.Len() <= inline {
			b.Write(spaced(c.Bytes()))
			return
		}
		b.WriteString("{\n")
		for i, k := range slices.Sorted(maps.Keys(v)) {
			var kb bytes.Buffer
			catalog.EncodeCompact(&kb, k)
			b.WriteString(indent + "  " + kb.String() + ": ")
			pretty(b, v[k], indent+"  ")
			if i < len(v)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	case []any:
		if len(v) == 0 || c.Len() <= inline {
			b.Write(spaced(c.Bytes()))
			return
		}
		b.WriteString("[\n")
		for i, x := range v {
			b.WriteString(indent + "  ")
			pretty(b, x, indent+"  ")
			if i < len(v)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "]")
	default:
		b.Write(c.Bytes())
	}
}

// spaced is compact JSON with a space after each comma and colon outside
// strings, as a person would write it on one line.
func spaced(c []byte) []byte {
	out := make([]byte, 0, len(c)+len(c)/8)
	inStr, esc := false, false
	for _, ch := range c {
		out = append(out, ch)
		switch {
		case esc:
			esc = false
		case inStr && ch == '\\':
			esc = true
		case ch == '"':
			inStr = !inStr
		case !inStr && (ch == ',' || ch == ':'):
			out = append(out, ' ')
		}
	}
	return out
}

// Text writes the plan of res for a terminal.
func Text(w io.Writer, res *sync.Result, o Options) error {
	var b strings.Builder
	p := plan(res)
	fmt.Fprintf(&b, "Plan from %s (nothing was written)\n", res.Source)
	for _, k := range p.Kinds {
		fmt.Fprintf(&b, "\nkind %s: %s, %s\n", catalog.Printable(k.Kind), count(int64(k.Items), "item"), count(k.Requests, "request"))
		if k.Sample == nil {
			b.WriteString("  no item\n")
		} else {
			head := "  sample:"
			if k.Trimmed {
				head = "  sample (trimmed):"
			}
			b.WriteString(head + "\n" + indented(k.Sample, "    ") + "\n")
			if len(k.Entities) > 0 {
				b.WriteString("  maps to:\n")
				for _, e := range k.Entities {
					b.WriteString(indented(e, "    ") + "\n")
				}
			} else {
				b.WriteString("  maps to no entity\n")
			}
		}
		for _, is := range k.Issues {
			fmt.Fprintf(&b, "  mapping: %s\n", catalog.Printable(is))
		}
	}
	if len(res.Endpoints) > 0 {
		b.WriteString("\n")
		summary.WriteEndpoints(&b, res)
	}
	gs := groups(p)
	if len(gs) == 0 {
		b.WriteString("\nNo entity would change.\n")
	} else {
		fmt.Fprintf(&b, "\n  %-22s %8s %8s %8s %8s\n", "blueprint", "create", "update", "delete", "suggest")
		for _, g := range gs {
			fmt.Fprintf(&b, "  %-22s %8d %8d %8d %8d\n", catalog.Printable(g.blueprint), len(g.lists[0]), len(g.lists[1]), len(g.lists[2]), len(g.lists[3]))
		}
	}
	limit := o.limit()
	for _, g := range gs {
		fmt.Fprintf(&b, "\n%s\n", catalog.Printable(g.blueprint))
		for i, l := range g.lists {
			for n, c := range l {
				if n == limit {
					fmt.Fprintf(&b, "  %s ... and %d more to %s\n", marks[i], len(l)-n, listNames[i])
					break
				}
				line := fmt.Sprintf("  %s %s", marks[i], catalog.Printable(c.Identifier))
				if c.Title != "" {
					line += "  " + catalog.OneLine(c.Title, 72)
				}
				b.WriteString(line + "\n")
				for _, f := range c.Fields {
					if i == 1 {
						b.WriteString(review.FormatField(f, "      ") + "\n")
					} else if !(f.Path == "title" && f.New == c.Title) {
						fmt.Fprintf(&b, "      %s: %s\n", f.Path, review.ValueText(f.New, f.HasNew))
					}
				}
			}
		}
	}
	for _, k := range res.Kept {
		fmt.Fprintf(&b, "\nnot deleted: %s\n", res.KeptLine(k))
	}
	if n := res.InvalidEntities(); n > 0 {
		fmt.Fprintf(&b, "\n%d invalid entities would not be written (gitalog sync --dry-run -v says why).\n", n)
	}
	fmt.Fprintf(&b, "\nPlan: %s\n", res.Subject)
	_, err := io.WriteString(w, b.String())
	return err
}

// count is "1 item", "2 items".
func count(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Markdown renders the plan of res for a pull-request comment and the job
// summary, within o.MaxBytes.
func Markdown(res *sync.Result, o Options) string {
	maxBytes := o.MaxBytes
	if maxBytes <= 0 {
		maxBytes = review.MaxMarkdown
	}
	p := plan(res)
	var b strings.Builder
	b.WriteString("### gitalog plan\n\n")
	fmt.Fprintf(&b, "What `gitalog sync` would do, from %s; nothing was written.\n\n", review.EscapeMarkdown(res.Source))
	if len(p.Kinds) > 0 {
		b.WriteString("| kind | items | requests |\n|:--|--:|--:|\n")
		for _, k := range p.Kinds {
			fmt.Fprintf(&b, "| %s | %d | %d |\n", cell(k.Kind), k.Items, k.Requests)
		}
	}
	if len(res.Endpoints) > 0 {
		b.WriteString("\n| endpoint | requests | skipped | 429s | waited |\n|:--|--:|--:|--:|--:|\n")
		for _, e := range res.Endpoints {
			fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %s |\n", strings.ReplaceAll(e.Endpoint, "`", ""), e.Requests, e.Skipped, e.TooMany, e.Wait.Round(time.Millisecond))
		}
		if res.FullRefresh != "" {
			fmt.Fprintf(&b, "\nFull refresh: %s.\n", review.EscapeMarkdown(res.FullRefresh))
		}
	}
	gs := groups(p)
	if len(gs) == 0 {
		b.WriteString("\nNo entity would change.\n")
	} else {
		b.WriteString("\n| blueprint | create | update | delete | suggest |\n|:--|--:|--:|--:|--:|\n")
		for _, g := range gs {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", cell(g.blueprint), len(g.lists[0]), len(g.lists[1]), len(g.lists[2]), len(g.lists[3]))
		}
	}
	var tail strings.Builder
	for _, k := range res.Kept {
		fmt.Fprintf(&tail, "\n**Not deleted:** %s\n", review.EscapeMarkdown(res.KeptLine(k)))
	}
	if n := res.InvalidEntities(); n > 0 {
		fmt.Fprintf(&tail, "\n**%d invalid entities would not be written.** Run `gitalog sync --dry-run -v` to see why.\n", n)
	}
	if o.Err != nil {
		fmt.Fprintf(&tail, "\n> [!WARNING]\n> %s\n", strings.ReplaceAll(review.EscapeMarkdown(o.Err.Error()), "<br>", "\n> "))
	}
	// Sections are added while they fit; what the tail and a note need is
	// kept free.
	const cutNote = "\n… cut to fit a comment; run `gitalog plan` for the rest.\n"
	room := maxBytes - tail.Len() - len(cutNote)
	cut := false
	add := func(s string) bool {
		if cut || b.Len()+len(s) > room {
			cut = true
			return false
		}
		b.WriteString(s)
		return true
	}
	for _, k := range p.Kinds {
		add(kindDetails(k))
	}
	limit := o.limit()
	for _, g := range gs {
		var s strings.Builder
		counts := []string{}
		for i, l := range g.lists {
			if len(l) > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", len(l), listNames[i]))
			}
		}
		fmt.Fprintf(&s, "\n<details><summary><b>%s</b>: %s</summary>\n\n", htmlText(g.blueprint), strings.Join(counts, ", "))
		for i, l := range g.lists {
			for n, c := range l {
				if n == limit {
					fmt.Fprintf(&s, "- … and %d more to %s\n", len(l)-n, listNames[i])
					break
				}
				fmt.Fprintf(&s, "- **%s** %s", listNames[i], review.MarkdownCode(c.Identifier))
				if c.Title != "" {
					s.WriteString(" " + review.EscapeMarkdown(catalog.OneLine(c.Title, 72)))
				}
				s.WriteString("\n")
				for _, f := range c.Fields {
					if i == 1 {
						s.WriteString("  - " + review.MarkdownField(f) + "\n")
					} else if !(f.Path == "title" && f.New == c.Title) {
						fmt.Fprintf(&s, "  - %s: %s\n", review.MarkdownCode(f.Path), review.MarkdownCode(review.ValueText(f.New, f.HasNew)))
					}
				}
			}
		}
		s.WriteString("\n</details>\n")
		add(s.String())
	}
	if cut {
		b.WriteString(cutNote)
	}
	b.WriteString(tail.String())
	return b.String()
}

// kindDetails is a kind's sample and entities, collapsed.
func kindDetails(k sync.PlanKind) string {
	var s strings.Builder
	what := "sample"
	if k.Trimmed {
		what = "sample (trimmed)"
	}
	if k.Sample == nil {
		fmt.Fprintf(&s, "\n**%s**: no item.\n", review.EscapeMarkdown(k.Kind))
		return s.String()
	}
	fmt.Fprintf(&s, "\n<details><summary><b>%s</b>: %s and what it maps to</summary>\n\n", htmlText(k.Kind), what)
	s.WriteString(codeBlock(indented(k.Sample, "")))
	if len(k.Entities) == 0 {
		s.WriteString("\nIt maps to no entity.\n")
	}
	for _, e := range k.Entities {
		s.WriteString("\n" + codeBlock(indented(e, "")))
	}
	for _, is := range k.Issues {
		fmt.Fprintf(&s, "\n- mapping: %s\n", review.EscapeMarkdown(is))
	}
	s.WriteString("\n</details>\n")
	return s.String()
}

// codeBlock fences text as a JSON code block, with a fence longer than any
// run of backticks in it.
func codeBlock(text string) string {
	run, longest := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + "json\n" + text + "\n" + fence + "\n"
}

// cell is s as a code span in a table cell.
func cell(s string) string {
	return strings.ReplaceAll(review.MarkdownCode(s), "|", "\\|")
}

func htmlText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "@", "@\u200b")
	return r.Replace(catalog.Printable(s))
}
