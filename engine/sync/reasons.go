package sync

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/gitalog/gitalog/engine/mapping"
)

// A systematic mapping problem gives one message per distinct value the
// items had ("must yield an array, got {...}" for each of six teams):
// grouped by the words around the value, one cause is one line, with one
// value as an example and how many others there were.

// valueSuffixes end messages after the value an item gave.
var valueSuffixes = []string{"; item skipped", " (value set to null)", " (relation set to null)"}

// jqPreview is gojq's way of showing a value in an error:
// "expected an object but got: string ("a@x")".
var jqPreview = regexp.MustCompile(`^(.*: (?:null|boolean|number|string|array|object) \()(.*)(\).*)$`)

// splitValue cuts msg into the words before the value, the value, and the
// words after it; a message without a value is all pre.
func splitValue(msg string) (pre, value, post string) {
	if i := strings.Index(msg, ", got "); i >= 0 {
		pre, value = msg[:i+len(", got ")], msg[i+len(", got "):]
		for _, s := range valueSuffixes {
			if v, ok := strings.CutSuffix(value, s); ok {
				return pre, v, s
			}
		}
		return pre, value, ""
	}
	body, suffix := msg, ""
	for _, s := range valueSuffixes {
		if b, ok := strings.CutSuffix(msg, s); ok {
			body, suffix = b, s
			break
		}
	}
	if m := jqPreview.FindStringSubmatch(body); m != nil {
		return m[1], m[2], m[3] + suffix
	}
	return msg, "", ""
}

// valueSet is the distinct values a message was seen with, enough of them
// to say "and 999 other values".
type valueSet map[string]bool

func (vs valueSet) add(v string) {
	if len(vs) < 1000 {
		vs[v] = true
	}
}

// show is pre + the smallest value (the same words every run) + how many
// others there were + post.
func (vs valueSet) show(pre, post string) string {
	values := make([]string, 0, len(vs))
	for v := range vs {
		values = append(values, v)
	}
	sort.Strings(values)
	if len(values) == 0 || values[0] == "" && len(values) == 1 {
		return pre + post
	}
	s := pre + values[0]
	if len(values) > 1 {
		s += fmt.Sprintf(" and %d other values", len(values)-1)
	}
	return s + post
}

// issueGroups gathers a sync's mapping issues, per resource, field and
// message without its value, in the order first seen.
type issueGroups struct {
	byKey map[string]*issueGroup
	order []*issueGroup
}

type issueGroup struct {
	m         *MapIssue
	pre, post string
	values    valueSet
}

func newIssueGroups() *issueGroups { return &issueGroups{byKey: map[string]*issueGroup{}} }

func (gs *issueGroups) add(is mapping.Issue) {
	pre, value, post := splitValue(is.Msg)
	k := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%v%v", is.Resource.Label(), is.Field, pre, post, is.Skipped, is.Stopped)
	g := gs.byKey[k]
	if g == nil {
		g = &issueGroup{m: &MapIssue{Resource: is.Resource.Label(), Field: is.Field, Skipped: is.Skipped, Stopped: is.Stopped}, pre: pre, post: post, values: valueSet{}}
		gs.byKey[k] = g
		gs.order = append(gs.order, g)
	}
	g.m.Count++
	g.values.add(value)
}

func (gs *issueGroups) list() []*MapIssue {
	out := make([]*MapIssue, len(gs.order))
	for i, g := range gs.order {
		g.m.Message = g.values.show(g.pre, g.post)
		out[i] = g.m
	}
	return out
}
