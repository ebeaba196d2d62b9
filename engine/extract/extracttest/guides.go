package extracttest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Secrets the guides' templates read, as the fakes expect them.
const (
	JiraAuthHeader   = "JIRA_BASIC_AUTH_HEADER"
	PagerDutyToken   = "PD_TOKEN"
	HoneycombAPIKey  = "HONEYCOMB_API_KEY"
	OpsLevelAPIToken = "OPSLEVEL_API_TOKEN"
)

// NewJira serves Jira's issue search as the guide polls it:
// GET /rest/api/3/search/jql?...&maxResults=M&startAt=N (an empty startAt
// is the first page) answering {"startAt","maxResults","total","issues"},
// at most PageSize issues a page, so the guide's payload cursor
// (startAt + maxResults, until a page is empty) walks several pages. Two of
// its seven issues are Done, which the guide excludes.
func NewJira(opts ...Option) *Fake {
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("gitalog@example.com:jira-fake-api-token"))
	f := newFake("Authorization", auth, map[string]string{JiraAuthHeader: auth}, opts)
	statuses := []string{"To Do", "In Progress", "Done", "To Do", "Done", "In Progress", "To Do"}
	var issues []map[string]any
	for i, st := range statuses {
		is := map[string]any{
			"id": strconv.Itoa(10001 + i), "key": fmt.Sprintf("OPS-%d", i+1),
			"fields": map[string]any{
				"summary":           fmt.Sprintf("Ticket %d", i+1),
				"statusCategory":    map[string]any{"name": st},
				"customfield_10001": map[string]any{"id": "team-" + strconv.Itoa(i%2), "name": []string{"Platform", "Payments"}[i%2]},
				"customfield_10070": nil,
			},
		}
		issues = append(issues, is)
		if st != "Done" {
			f.Items["jira_ticket"] = append(f.Items["jira_ticket"], is)
		}
	}
	f.id["jira_ticket"] = byKey("id")
	f.serve = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != "/rest/api/3/search/jql" || q.Get("jql") == "" || r.Header.Get("Accept") != "application/json" {
			writeJSON(w, http.StatusNotFound, map[string]any{"errorMessages": []string{"not found"}})
			return
		}
		start, err := strconv.Atoi(cmpOr(q.Get("startAt"), "0"))
		size, err2 := strconv.Atoi(cmpOr(q.Get("maxResults"), "50"))
		if err != nil || err2 != nil || start < 0 || size < 1 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"errorMessages": []string{"bad startAt or maxResults"}})
			return
		}
		size = min(size, f.pageSize)
		page := issues[min(start, len(issues)):min(start+size, len(issues))]
		writeJSON(w, http.StatusOK, map[string]any{"startAt": start, "maxResults": size, "total": len(issues), "issues": page})
	}
	return f
}

// NewPagerDuty serves GET /services?limit=100 as {"services": [...]},
// with the guide's "Authorization: Token token=..." and its Accept.
func NewPagerDuty(opts ...Option) *Fake {
	const token = "pd-fake-token-0123"
	f := newFake("Authorization", "Token token="+token, map[string]string{PagerDutyToken: token}, opts)
	for i, name := range []string{"Checkout API", "Payments Gateway", "Search Indexer", "Notifications"} {
		f.Items["pagerduty_service"] = append(f.Items["pagerduty_service"], map[string]any{
			"id": fmt.Sprintf("P%06d", 100+i), "name": name, "type": "service", "status": "active",
			"summary": name, "html_url": fmt.Sprintf("https://acme.pagerduty.com/service-directory/P%06d", 100+i),
		})
	}
	f.id["pagerduty_service"] = byKey("id")
	f.serve = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.Method != http.MethodGet || r.URL.Path != "/services" || r.Header.Get("Accept") != "application/vnd.pagerduty+json;version=2" {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"message": "Not Found", "code": 2100}})
			return
		}
		svcs := f.Items["pagerduty_service"]
		writeJSON(w, http.StatusOK, map[string]any{"services": svcs, "limit": 100, "offset": 0, "total": nil, "more": false})
	}
	return f
}

// NewHoneycomb serves the environment-wide SLO list, GET /1/slos/__all__
// (an array), and each SLO's details, GET /1/slos/__all__/{id}?detailed=true
// (an object with dataset_slugs), with the guide's X-Honeycomb-Team.
// Items: honeycomb_slos are the list; honeycomb_slo_details one per SLO
// and dataset, with the guide's opslevel_slug, id "<id>-<slug>".
func NewHoneycomb(opts ...Option) *Fake {
	const key = "hc-fake-key-0123456"
	f := newFake("X-Honeycomb-Team", key, map[string]string{HoneycombAPIKey: key}, opts)
	details := map[string]map[string]any{}
	for i, s := range []struct {
		name  string
		slugs []string
	}{{"API latency", []string{"api", "edge"}}, {"Checkout availability", []string{"checkout"}}, {"Search freshness", []string{"search", "indexer"}}} {
		id := fmt.Sprintf("slo%dAbC", i+1)
		f.Items["honeycomb_slos"] = append(f.Items["honeycomb_slos"], map[string]any{"id": id, "name": s.name, "description": s.name + " SLO"})
		d := map[string]any{"id": id, "name": s.name, "description": s.name + " SLO", "time_period_days": 30,
			"target_per_million": 999000, "sli": map[string]any{"alias": "sli_" + strconv.Itoa(i+1)}, "dataset_slugs": s.slugs}
		details[id] = d
		for _, slug := range s.slugs {
			item := map[string]any{"opslevel_slug": slug}
			for k, v := range d {
				item[k] = v
			}
			f.Items["honeycomb_slo_details"] = append(f.Items["honeycomb_slo_details"], item)
		}
	}
	f.id["honeycomb_slos"] = byKey("id")
	f.id["honeycomb_slo_details"] = func(m map[string]any) string { return m["id"].(string) + "-" + m["opslevel_slug"].(string) }
	f.serve = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/1/slos/__all__")
		switch {
		case r.Method != http.MethodGet || !ok:
		case rest == "" || rest == "/":
			writeJSON(w, http.StatusOK, f.Items["honeycomb_slos"])
			return
		case details[strings.TrimPrefix(rest, "/")] != nil && r.URL.Query().Get("detailed") == "true":
			writeJSON(w, http.StatusOK, details[strings.TrimPrefix(rest, "/")])
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "not found"})
	}
	return f
}

// NewOpsLevelGraphQL serves OpsLevel's GraphQL API as the guide posts to
// it: POST /graphql with a JSON body whose variables.endCursor ("" for
// the first page) picks the page, answering
// {"data":{"account":{"services":{"nodes":[...],"pageInfo":{"endCursor","hasNextPage"}}}}}
// Relay-style: endCursor is the last node's cursor, null on an empty page
// (which is where the guide's cursor stops).
func NewOpsLevelGraphQL(opts ...Option) *Fake {
	const token = "ol-fake-token-0123456"
	f := newFake("Authorization", "Bearer "+token, map[string]string{OpsLevelAPIToken: token}, opts)
	deps := [][]string{{"Service"}, {"External Service"}, {}, {"Service", "External Service"}, {"Service"}}
	for i, d := range deps {
		var nodes []any
		for _, t := range d {
			nodes = append(nodes, map[string]any{"type": map[string]any{"name": t}})
		}
		if nodes == nil {
			nodes = []any{}
		}
		slug := fmt.Sprintf("service-%d", i+1)
		f.Items["opslevel_dependency_discovery"] = append(f.Items["opslevel_dependency_discovery"], map[string]any{
			"id": fmt.Sprintf("Z2lkOi8vb3BzbGV2ZWwvU2VydmljZS8%d", 100+i), "slug": slug,
			"aliases": []string{slug, "svc-" + strconv.Itoa(i+1)}, "dependencies": map[string]any{"nodes": nodes},
		})
	}
	f.id["opslevel_dependency_discovery"] = byKey("id")
	f.serve = func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req struct {
			Query     string `json:"query"`
			Variables struct {
				EndCursor *string `json:"endCursor"`
			} `json:"variables"`
		}
		if r.Method != http.MethodPost || r.URL.Path != "/graphql" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			writeJSON(w, http.StatusNotFound, map[string]any{"errors": []any{map[string]any{"message": "not found"}}})
			return
		}
		if err := json.Unmarshal(body, &req); err != nil || !strings.Contains(req.Query, "services(after: $endCursor)") {
			writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": "bad request body"}}})
			return
		}
		all := f.Items["opslevel_dependency_discovery"]
		start := 0
		if c := req.Variables.EndCursor; c != nil && *c != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(*c, "cursor-"))
			if err != nil || !strings.HasPrefix(*c, "cursor-") {
				writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": "invalid cursor"}}})
				return
			}
			start = n
		}
		page := all[min(start, len(all)):min(start+f.pageSize, len(all))]
		var end any
		if len(page) > 0 {
			end = fmt.Sprintf("cursor-%d", start+len(page))
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"account": map[string]any{"services": map[string]any{
			"nodes": page, "pageInfo": map[string]any{"endCursor": end, "hasNextPage": start+len(page) < len(all)},
		}}}})
	}
	return f
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func byKey(k string) func(map[string]any) string {
	return func(m map[string]any) string { return fmt.Sprint(m[k]) }
}
