package notify

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/review"
)

// Event is one thing that happened to one entity in one commit.
type Event struct {
	Event      string // created, changed, deleted, regressed, resolved, assigned
	Blueprint  string
	Identifier string
	Commit     plumbing.Hash
	// Entity is the entity after the commit (before it, for deleted);
	// Previous the one before (nil for created). As in the entity's file.
	Entity, Previous map[string]any
}

// Key is the stable idempotency key: the same for every delivery of the
// same event, different for any other.
func (e *Event) Key() string {
	return idempotencyKey(e.Commit, e.Blueprint, e.Identifier, e.Event)
}

// LeftSelectionTitle heads a commit body's list of issues a webhook batch
// deleted because they left the selection (engine/sync writes it).
const LeftSelectionTitle = "Left the selection"

// IssueBlueprints are the blueprints whose entities are Sentry issues and
// get regressed, resolved and assigned events: Port's default issue and
// sentryIssue (from issue-tag), and OpsLevel's sentry_issue.
var IssueBlueprints = []string{"issue", "sentryIssue", "sentry_issue"}

// Events lists the events of one commit: its catalog compared with its
// first parent's (the empty tree for a root commit), by entity in the
// order `gitalog diff` lists them.
func Events(ctx context.Context, st *gitstore.Store, commit plumbing.Hash) ([]Event, error) {
	parents, err := st.Parents(commit)
	if err != nil {
		return nil, err
	}
	var parent plumbing.Hash
	if len(parents) > 0 {
		parent = parents[0]
	}
	d, err := review.Compare(ctx, st, parent, commit)
	if err != nil {
		return nil, fmt.Errorf("comparing %s with its parent: %w", commit.String()[:12], err)
	}
	if len(d.Entities) == 0 {
		return nil, nil
	}
	a, err := st.Snapshot(parent)
	if err != nil {
		return nil, err
	}
	b, err := st.Snapshot(commit)
	if err != nil {
		return nil, err
	}
	left, err := leftSelection(st, commit)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, ec := range d.Entities {
		if ec.Err != "" {
			continue // not an entity: nothing to tell about it
		}
		var old, new map[string]any
		if ec.Change != review.Created {
			if old, err = readEntity(a, ec.Path); err != nil {
				return nil, err
			}
		}
		if ec.Change != review.Deleted {
			if new, err = readEntity(b, ec.Path); err != nil {
				return nil, err
			}
		}
		ev := Event{Blueprint: ec.Blueprint, Identifier: ec.Identifier, Commit: commit, Entity: new, Previous: old}
		if ec.Change == review.Deleted {
			ev.Entity = old
		}
		kinds := []string{string(ec.Change)}
		if isIssue(ec.Blueprint) {
			switch ec.Change {
			case review.Changed:
				kinds = append(kinds, issueEvents(old, new)...)
			case review.Created:
				// An issue back in the selection because it regressed
				// (resolved, then seen again) is a regression, not news.
				if field(new, "substatus") == "regressed" {
					kinds = []string{Regressed}
				}
			case review.Deleted:
				// Gone because it was resolved (a webhook batch says so in
				// its commit): also a resolution.
				if left[ec.Blueprint+"/"+ec.Identifier] == "resolved" {
					kinds = append(kinds, Resolved)
				}
			}
		}
		for _, k := range kinds {
			e := ev
			e.Event = k
			out = append(out, e)
		}
	}
	return out, nil
}

// leftSelection reads the commit body's "Left the selection:" list (see
// engine/sync's LeftSelectionTitle): blueprint/identifier -> the issue's
// status when a webhook batch deleted it.
func leftSelection(st *gitstore.Store, commit plumbing.Hash) (map[string]string, error) {
	msg, err := st.Message(commit)
	if err != nil {
		return nil, err
	}
	_, rest, ok := strings.Cut(msg, "\n"+LeftSelectionTitle+":\n")
	if !ok {
		return nil, nil
	}
	out := map[string]string{}
	for _, line := range strings.Split(rest, "\n") {
		l, ok := strings.CutPrefix(line, "  ")
		if !ok {
			break
		}
		if k, v, ok := strings.Cut(l, ": "); ok {
			out[k] = v
		}
	}
	return out, nil
}

func readEntity(sn *gitstore.Snapshot, p string) (map[string]any, error) {
	data, err := sn.ReadFile(p)
	if err != nil {
		return nil, err
	}
	e, err := catalog.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return e.ToMap(), nil
}

func isIssue(blueprint string) bool {
	for _, b := range IssueBlueprints {
		if b == blueprint {
			return true
		}
	}
	return false
}

// issueEvents decides what a change of an issue means, from the fields
// Sentry's issue has and the default mappings carry:
//
//   - regressed: substatus became "regressed", or status went from
//     resolved/ignored/archived (or a substatus other than regressed
//     ones) back to unresolved;
//   - resolved: status became "resolved" (substatus "resolved" too, for
//     mappings that carry only the substatus);
//   - assigned: the assignee (relation or property assignedTo, or
//     assignee) became a non-empty value other than the previous one.
func issueEvents(old, new map[string]any) []string {
	var out []string
	oStatus, nStatus := field(old, "status"), field(new, "status")
	oSub, nSub := field(old, "substatus"), field(new, "substatus")
	switch {
	case nSub == "regressed" && oSub != "regressed":
		out = append(out, Regressed)
	case nStatus == "unresolved" && (oStatus == "resolved" || oStatus == "ignored" || oStatus == "archived"):
		out = append(out, Regressed)
	case nStatus == "" && nSub == "ongoing" && (oSub == "resolved" || oSub == "archived_until_escalating" || oSub == "archived_forever" || oSub == "archived_until_condition_met"):
		out = append(out, Regressed)
	}
	if nStatus == "resolved" && oStatus != "resolved" || nStatus == "" && nSub == "resolved" && oSub != "resolved" {
		out = append(out, Resolved)
	}
	if a := assignee(new); a != "" && a != assignee(old) {
		out = append(out, Assigned)
	}
	return out
}

// field is a string property, lower case, "" when absent.
func field(e map[string]any, name string) string {
	props, _ := e["properties"].(map[string]any)
	s, _ := props[name].(string)
	return strings.ToLower(s)
}

func assignee(e map[string]any) string {
	for _, part := range []string{"relations", "properties"} {
		m, _ := e[part].(map[string]any)
		for _, k := range []string{"assignedTo", "assignee", "assigned_to"} {
			if v, ok := m[k]; ok && v != nil {
				if s := fmt.Sprint(v); s != "" && s != "[]" {
					return s
				}
			}
		}
	}
	return ""
}
