package sync

import (
	"fmt"
	"slices"
	"strings"
)

// A resource of kind issue lists what Sentry's issue search (its search
// option, default is:unresolved) selects, on Sentry's side. A webhook
// brings one issue: whether that listing would hold it is decided here
// from the issue object, for the terms the object decides. A term it does
// not decide (a date, a release, "me") leaves the issue undecided: its
// entity stays as it is until the next full sync asks Sentry.

// issueSearch is a parsed search; undecided names the first term the
// issue object cannot decide.
type issueSearch struct {
	terms     []searchTerm
	text      string // the free text, lower-cased
	undecided string
}

type searchTerm struct {
	neg    bool
	key    string // is, level, assigned, project
	values []string
}

// parseIssueSearch parses the terms of Sentry's search syntax a catalog's
// selection uses.
func parseIssueSearch(q string) *issueSearch {
	s := &issueSearch{}
	var text []string
	for _, tok := range searchTokens(q) {
		if s.undecided != "" {
			break
		}
		switch strings.ToUpper(tok) {
		case "OR", "AND", "(", ")":
			s.undecided = tok
			continue
		}
		if strings.HasPrefix(tok, "(") || strings.HasSuffix(tok, ")") {
			s.undecided = tok
			continue
		}
		neg := strings.HasPrefix(tok, "!")
		t := strings.TrimPrefix(tok, "!")
		key, val, ok := strings.Cut(t, ":")
		if strings.HasPrefix(t, `"`) {
			ok = false // a quoted phrase is text, colon or not
		}
		t = strings.ReplaceAll(t, `"`, "")
		val = strings.ReplaceAll(val, `"`, "")
		if !ok || key == "" {
			if neg {
				s.undecided = tok // negated free text
				continue
			}
			text = append(text, t)
			continue
		}
		key = strings.ToLower(key)
		vals := searchValues(val)
		switch key {
		case "is":
			for _, v := range vals {
				if !isDecided[v] {
					s.undecided = tok
				}
			}
		case "level", "assigned", "project":
			if key == "assigned" {
				for _, v := range vals {
					if v == "me" || v == "my_teams" || strings.HasPrefix(v, "[") {
						s.undecided = tok // who "me" is depends on the token
					}
				}
			}
		default:
			s.undecided = tok
		}
		if len(vals) == 0 || strings.HasPrefix(val, ">") || strings.HasPrefix(val, "<") {
			s.undecided = tok
		}
		s.terms = append(s.terms, searchTerm{neg: neg, key: key, values: vals})
	}
	s.text = strings.ToLower(strings.Join(text, " "))
	return s
}

// isDecided are the is: values the issue object decides.
var isDecided = map[string]bool{
	"unresolved": true, "resolved": true, "ignored": true, "archived": true,
	"assigned": true, "unassigned": true, "for_review": true, "linked": true, "unlinked": true,
	"new": true, "ongoing": true, "regressed": true, "escalating": true,
}

// searchTokens splits a search on spaces, keeping "quoted phrases"
// together (with their quotes, which say a phrase is text).
func searchTokens(q string) []string {
	var out []string
	var cur strings.Builder
	inQuote := false
	for _, r := range q {
		switch {
		case r == '"':
			inQuote = !inQuote
			cur.WriteRune(r)
		case (r == ' ' || r == '\t' || r == '\n') && !inQuote:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// searchValues is a term's value, or its [a, b] list: any of them.
func searchValues(v string) []string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		v = v[1 : len(v)-1]
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.ToLower(s))
		}
	}
	return out
}

// match decides whether the search lists issue. why is set when it
// cannot tell: the term, or the field the issue object lacks.
func (s *issueSearch) match(issue map[string]any) (ok bool, why string) {
	if s.undecided != "" {
		return false, fmt.Sprintf("the search term %q is decided by Sentry only", s.undecided)
	}
	// Status terms are alternatives, as are substatus terms: is:unresolved
	// is:ignored lists both (as the fake Sentry's search does). Every other
	// term must hold; a [a, b] list holds when one of its values does.
	var status, notStatus, sub []string
	for _, t := range s.terms {
		if t.key == "is" && !t.neg {
			rest := t.values[:0:0]
			for _, v := range t.values {
				switch v {
				case "unresolved", "resolved", "ignored":
					status = append(status, v)
				case "archived":
					status = append(status, "ignored")
				case "new", "ongoing", "regressed", "escalating":
					sub = append(sub, v)
				default:
					rest = append(rest, v)
				}
			}
			if t.values = rest; len(rest) == 0 {
				continue
			}
		}
		if t.key == "is" && t.neg {
			rest := t.values[:0:0]
			for _, v := range t.values {
				switch v {
				case "unresolved", "resolved", "ignored":
					notStatus = append(notStatus, v)
				case "archived":
					notStatus = append(notStatus, "ignored")
				default:
					rest = append(rest, v)
				}
			}
			if t.values = rest; len(rest) == 0 {
				continue
			}
		}
		held := false
		for _, v := range t.values {
			ok, why := termHolds(t.key, v, issue)
			if why != "" {
				return false, why
			}
			held = held || ok
		}
		if held == t.neg {
			return false, ""
		}
	}
	if len(status)+len(notStatus) > 0 {
		if why := lacks(issue, "status"); why != "" {
			return false, why
		}
		st := str(issue["status"])
		if len(status) > 0 && !slices.Contains(status, st) || slices.Contains(notStatus, st) {
			return false, ""
		}
	}
	if len(sub) > 0 {
		if why := lacks(issue, "substatus"); why != "" {
			return false, why
		}
		if !slices.Contains(sub, str(issue["substatus"])) {
			return false, ""
		}
	}
	// Sentry matches free text against the messages of the issue's events
	// (title and culprit among them); the issue object shows only its own
	// title and culprit, so a match there is a yes and anything else is
	// Sentry's to say.
	if s.text != "" && !strings.Contains(strings.ToLower(str(issue["title"])), s.text) &&
		!strings.Contains(strings.ToLower(str(issue["culprit"])), s.text) {
		return false, fmt.Sprintf("the free text %q is matched by Sentry against the issue's events", s.text)
	}
	return true, ""
}

// lacks says why a term cannot be decided when the issue has no key: a
// missing field is not a "no" (which would delete the entity).
func lacks(issue map[string]any, key string) string {
	if _, ok := issue[key]; ok {
		return ""
	}
	return "the issue lacks " + key
}

// termHolds decides key:v (not negated) for an issue.
func termHolds(key, v string, issue map[string]any) (bool, string) {
	switch key {
	case "is":
		switch v {
		case "new", "ongoing", "regressed", "escalating":
			if why := lacks(issue, "substatus"); why != "" {
				return false, why
			}
			return str(issue["substatus"]) == v, ""
		case "assigned", "unassigned":
			if why := lacks(issue, "assignedTo"); why != "" {
				return false, why
			}
			return (issue["assignedTo"] != nil) == (v == "assigned"), ""
		case "for_review":
			inbox, has := issue["inbox"]
			if !has {
				return false, "is:for_review needs the issue's inbox, which it lacks"
			}
			return inbox != nil, ""
		case "linked", "unlinked":
			ann, has := issue["annotations"].([]any)
			if !has {
				return false, "is:" + v + " needs the issue's annotations, which it lacks"
			}
			return (len(ann) > 0) == (v == "linked"), ""
		}
	case "level":
		if why := lacks(issue, "level"); why != "" {
			return false, why
		}
		return strings.EqualFold(str(issue["level"]), v), ""
	case "project":
		p, _ := issue["project"].(map[string]any)
		if p == nil {
			return false, "the issue lacks project"
		}
		return strings.EqualFold(str(p["slug"]), v) || str(p["id"]) == v, ""
	case "assigned":
		if why := lacks(issue, "assignedTo"); why != "" {
			return false, why
		}
		return assignedTo(issue["assignedTo"], v)
	}
	return false, "the search term " + key + ":" + v + " is decided by Sentry only"
}

// assignedTo decides assigned:v against an issue's assignedTo: none, a
// #team, or a user by email, username or id.
func assignedTo(a any, v string) (bool, string) {
	m, _ := a.(map[string]any)
	if v == "none" {
		return m == nil, ""
	}
	if m == nil {
		return false, ""
	}
	if team, ok := strings.CutPrefix(v, "#"); ok {
		return str(m["type"]) == "team" && strings.EqualFold(str(m["name"]), team), ""
	}
	if str(m["type"]) == "team" {
		return false, ""
	}
	for _, k := range []string{"email", "username", "name", "id"} {
		if s := str(m[k]); s != "" && strings.EqualFold(s, v) {
			return true, ""
		}
	}
	return false, ""
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
