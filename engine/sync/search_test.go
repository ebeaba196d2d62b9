package sync

import (
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/jsonx"
)

func TestIssueSearch(t *testing.T) {
	issue := func(s string) map[string]any {
		v, err := jsonx.Decode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return v.(map[string]any)
	}
	open := issue(`{"id":"1","title":"KeyError: 'currency'","culprit":"payments.api in charge","level":"error",
		"status":"unresolved","substatus":"regressed","project":{"id":"11","slug":"payments"},
		"assignedTo":{"type":"user","id":"7","name":"Ada","email":"ada@example.com"},"annotations":[],"inbox":null}`)
	closed := issue(`{"id":"2","title":"Timeout","culprit":"web.views in index","level":"warning",
		"status":"resolved","substatus":null,"project":{"id":"12","slug":"web"},"assignedTo":null}`)
	teamOwned := issue(`{"id":"3","title":"x","level":"fatal","status":"ignored","project":{"slug":"web"},
		"assignedTo":{"type":"team","id":"4","name":"backend"}}`)
	bare := issue(`{"id":"4","title":"x"}`)
	tests := []struct {
		q                string
		is               map[string]any
		want             bool
		undecidedBecause string // "" when decided
	}{
		{"is:unresolved", open, true, ""},
		{"is:unresolved", closed, false, ""},
		{"", closed, true, ""},
		{"is:resolved", closed, true, ""},
		{"!is:resolved", closed, false, ""},
		{"!is:resolved", open, true, ""},
		{"is:ignored", teamOwned, true, ""},
		{"is:archived", teamOwned, true, ""},
		{"is:unresolved is:ignored", teamOwned, true, ""}, // statuses are alternatives
		{"is:assigned", open, true, ""},
		{"is:unassigned", open, false, ""},
		{"is:unassigned", closed, true, ""},
		{"!is:assigned", closed, true, ""},
		{"is:regressed", open, true, ""},
		{"is:new", open, false, ""},
		{"is:unresolved level:error", open, true, ""},
		{"is:unresolved level:warning", open, false, ""},
		{"level:[warning,error]", open, true, ""},
		{"!level:error", open, false, ""},
		{"project:payments", open, true, ""},
		{"project:web", open, false, ""},
		{"!project:web", open, true, ""},
		{"assigned:ada@example.com", open, true, ""},
		{"assigned:bob@example.com", open, false, ""},
		{"assigned:#backend", teamOwned, true, ""},
		{"assigned:#backend", open, false, ""},
		{"assigned:none", closed, true, ""},
		{"keyerror", open, true, ""},               // the title, any case
		{"payments.api", open, true, ""},           // the culprit
		{`"KeyError: 'currency'"`, open, true, ""}, // a quoted phrase
		// Sentry matches free text against every event's message, which
		// the issue object does not carry: a miss is not a "no".
		{"timeout", open, false, "free text"},
		// A field the issue lacks decides nothing: no deletion on doubt.
		{"is:unresolved", bare, false, "status"},
		{"is:regressed", bare, false, "substatus"},
		{"level:error", bare, false, "level"},
		{"project:web", bare, false, "project"},
		{"is:assigned", bare, false, "assignedTo"},
		{"assigned:none", bare, false, "assignedTo"},
		{"", bare, true, ""},
		{"is:linked", open, false, ""},
		{"is:unlinked", open, true, ""},
		{"is:for_review", open, false, ""},
		{"is:for_review", closed, false, "inbox"},
		{"is:linked", closed, false, "annotations"},
		{"assigned:me", open, false, `"assigned:me"`},
		{"is:unresolved firstSeen:-24h", open, false, `"firstSeen:-24h"`},
		{"release:1.0", open, false, `"release:1.0"`},
		{"timesSeen:>10", open, false, `"timesSeen:>10"`},
		{"level:error OR level:fatal", open, false, `"OR"`},
		{"is:escalating", open, false, ""},
		{"is:reprocessing", open, false, `"is:reprocessing"`},
	}
	for _, tt := range tests {
		got, why := parseIssueSearch(tt.q).match(tt.is)
		if tt.undecidedBecause != "" {
			if !strings.Contains(why, tt.undecidedBecause) {
				t.Errorf("%q on issue %v: decided %v (%q), want undecided because of %s", tt.q, tt.is["id"], got, why, tt.undecidedBecause)
			}
			continue
		}
		if why != "" || got != tt.want {
			t.Errorf("%q on issue %v = %v (%q), want %v", tt.q, tt.is["id"], got, why, tt.want)
		}
	}
}
