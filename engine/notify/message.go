package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitalog/gitalog/engine/catalog"
)

// MaxText bounds a text message (tcp, slack); MaxBody a webhook's JSON
// body, beyond which the entity and its previous version are left out.
const (
	MaxText = 4000
	MaxBody = 256 << 10
)

func idempotencyKey(commit plumbing.Hash, blueprint, identifier, event string) string {
	sum := sha256.Sum256([]byte(commit.String() + "\x00" + blueprint + "\x00" + identifier + "\x00" + event))
	return hex.EncodeToString(sum[:])
}

// Vars are what a template sees:
//
//	event, blueprint, identifier, commit (full hash), title
//	project  relations.project, else properties.project_slug or .project
//	count    properties.count, .timesSeen or .times_seen
//	link     properties.link, .url or .permalink
//	status   properties.status, else .substatus
//	properties, relations  the entity's
//	entity, previous       the whole entity after and before (previous
//	                       is empty for created)
func Vars(e *Event) map[string]any {
	ent := e.Entity
	props, _ := ent["properties"].(map[string]any)
	rels, _ := ent["relations"].(map[string]any)
	title := ent["title"]
	if title == nil {
		title = props["name"] // OpsLevel's sentry_issue
	}
	prev := e.Previous
	if prev == nil {
		prev = map[string]any{}
	}
	return map[string]any{
		"event":      e.Event,
		"blueprint":  e.Blueprint,
		"identifier": e.Identifier,
		"commit":     e.Commit.String(),
		"title":      text(title),
		"project":    text(first(rels["project"], props["project_slug"], props["project"])),
		"count":      text(first(props["count"], props["timesSeen"], props["times_seen"])),
		"link":       text(first(props["link"], props["url"], props["permalink"])),
		"status":     text(first(props["status"], props["substatus"])),
		"properties": props,
		"relations":  rels,
		"entity":     ent,
		"previous":   prev,
	}
}

func first(vs ...any) any {
	for _, v := range vs {
		if v != nil && v != "" {
			return v
		}
	}
	return nil
}

// text shows a value on one line: strings as they are, lists joined.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = text(x)
		}
		return strings.Join(parts, ", ")
	case json.Number:
		return v.String()
	case float64:
		return fmt.Sprint(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Text renders the message of e for a text sink: s's template, or the
// default, made one printable line and bounded by MaxText.
func (s *Sink) Text(e *Event) (string, error) {
	v := Vars(e)
	var msg string
	if s.Template != nil && e.Event != "summary" {
		out, err := s.Template.Render(v, emptySecrets)
		if err != nil {
			return "", fmt.Errorf("%s: template: %w", s.Label(), err)
		}
		msg = out
	} else {
		msg = DefaultText(e)
	}
	return bound(catalog.Printable(msg), MaxText), nil
}

// DefaultText is seed 002's message for an issue,
// "{project} {title} ({count} times seen). {link}", after a word for an
// event other than created; for other blueprints one plain line.
func DefaultText(e *Event) string {
	v := Vars(e)
	if e.Event == "summary" {
		return "gitalog: " + v["title"].(string)
	}
	if isIssue(e.Blueprint) {
		var b strings.Builder
		if e.Event != Created {
			b.WriteString(strings.ToUpper(e.Event[:1]) + e.Event[1:] + ": ")
		}
		if p := v["project"].(string); p != "" {
			b.WriteString(p + " ")
		}
		b.WriteString(v["title"].(string))
		if c := v["count"].(string); c != "" {
			b.WriteString(" (" + c + " times seen)")
		}
		b.WriteString(".")
		if l := v["link"].(string); l != "" {
			b.WriteString(" " + l)
		}
		return b.String()
	}
	msg := fmt.Sprintf("%s %s %s", e.Blueprint, e.Identifier, e.Event)
	if t := v["title"].(string); t != "" && t != e.Identifier {
		msg = fmt.Sprintf("%s %s (%s) %s", e.Blueprint, e.Identifier, t, e.Event)
	}
	if l := v["link"].(string); l != "" {
		msg += ". " + l
	}
	return msg
}

// bound cuts s to at most n bytes, on a character boundary.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Payload is the JSON a webhook sink receives, one per event.
type Payload struct {
	Event          string         `json:"event"`
	Blueprint      string         `json:"blueprint"`
	Identifier     string         `json:"identifier"`
	Commit         string         `json:"commit"`
	IdempotencyKey string         `json:"idempotency_key"`
	Message        string         `json:"message"`
	Entity         map[string]any `json:"entity"`
	Previous       map[string]any `json:"previous"`
	// Truncated says Entity and Previous were left out: the body would
	// have been over MaxBody.
	Truncated bool `json:"truncated,omitempty"`
}

// Title is the entity's title, "" when it has none.
func (p *Payload) Title() string {
	t, _ := p.Entity["title"].(string)
	return t
}

// Body is the webhook JSON of e.
func (s *Sink) Body(e *Event) ([]byte, error) {
	msg, err := s.Text(e)
	if err != nil {
		return nil, err
	}
	p := Payload{Event: e.Event, Blueprint: e.Blueprint, Identifier: e.Identifier, Commit: e.Commit.String(),
		IdempotencyKey: e.Key(), Message: msg, Entity: e.Entity, Previous: e.Previous}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBody {
		p.Entity, p.Previous, p.Truncated = nil, nil, true
		b, err = json.Marshal(p)
	}
	return b, err
}
