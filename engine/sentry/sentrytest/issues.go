package sentrytest

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func unescapeQuery(s string) (string, error) { return url.QueryUnescape(s) }
func queryEscape(s string) string            { return url.QueryEscape(s) }

// issueFilter is a parsed issue search.
type issueFilter struct {
	projects  []string // project ids, sorted; nil = all
	statuses  []string // OR-ed; empty = any
	notStatus []string
	substatus []string
	levels    []string
	notLevels []string
	envs      []string
	assigned  int // 0 any, 1 assigned, 2 unassigned
	text      string
	sort      string
}

// tokenize splits a search on spaces, keeping "quoted phrases" together.
func tokenize(q string) []string {
	var out []string
	var cur strings.Builder
	inQuote := false
	for _, r := range q {
		switch {
		case r == '"':
			inQuote = !inQuote
		case r == ' ' && !inQuote:
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

func listValues(v string) []string {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.ToLower(s))
		}
	}
	return out
}

// parseQuery understands the subset of Sentry's issue search a catalog sync
// uses; unknown key:value filters are ignored rather than rejected.
func parseQuery(q string, f *issueFilter) {
	var text []string
	for _, tok := range tokenize(q) {
		neg := strings.HasPrefix(tok, "!")
		t := strings.TrimPrefix(tok, "!")
		key, val, ok := strings.Cut(t, ":")
		if !ok || key == "" || strings.ContainsAny(key, " ") {
			text = append(text, tok)
			continue
		}
		switch strings.ToLower(key) {
		case "is":
			for _, v := range listValues(val) {
				switch v {
				case "unresolved", "resolved", "ignored":
					f.add(neg, v)
				case "archived":
					f.add(neg, "ignored")
				case "new", "ongoing", "regressed", "escalating":
					if !neg {
						f.substatus = append(f.substatus, v)
					}
				case "assigned":
					f.assigned = map[bool]int{false: 1, true: 2}[neg]
				case "unassigned":
					f.assigned = map[bool]int{false: 2, true: 1}[neg]
				}
			}
		case "level":
			if neg {
				f.notLevels = append(f.notLevels, listValues(val)...)
			} else {
				f.levels = append(f.levels, listValues(val)...)
			}
		case "environment":
			if !neg {
				f.envs = append(f.envs, listValues(val)...)
			}
		}
	}
	f.text = strings.ToLower(strings.Join(text, " "))
	for _, s := range [][]string{f.statuses, f.notStatus, f.substatus, f.levels, f.notLevels, f.envs} {
		sort.Strings(s)
	}
}

func (f *issueFilter) add(neg bool, status string) {
	if neg {
		f.notStatus = append(f.notStatus, status)
	} else {
		f.statuses = append(f.statuses, status)
	}
}

func has(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (f *issueFilter) match(is *Issue) bool {
	if len(f.statuses) > 0 && !has(f.statuses, is.Status) {
		return false
	}
	if has(f.notStatus, is.Status) {
		return false
	}
	if len(f.substatus) > 0 && !has(f.substatus, is.Substatus) {
		return false
	}
	if len(f.levels) > 0 && !has(f.levels, is.Level) {
		return false
	}
	if has(f.notLevels, is.Level) {
		return false
	}
	if f.assigned == 1 && is.AssignedTo == nil || f.assigned == 2 && is.AssignedTo != nil {
		return false
	}
	if len(f.envs) > 0 {
		ok := false
		for i, e := range is.Project.Environments {
			if is.EnvMask&(1<<i) != 0 && has(f.envs, strings.ToLower(e)) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	// Sentry matches free text against its events' messages, which hold
	// the title and the culprit.
	if f.text != "" && !containsFold(is.Title, f.text) && !containsFold(is.Culprit, f.text) {
		return false
	}
	return true
}

// containsFold is a case-insensitive substring test that avoids allocating
// for ASCII titles, which matters when scanning 300k issues.
func containsFold(s, lowerSub string) bool {
	n := len(lowerSub)
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		return strings.Contains(strings.ToLower(s), lowerSub)
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lowerSub[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// filtered returns the issues matching f in serving order. Like Sentry's
// database it filters and sorts on every request, not once per listing:
// from each project's issues in lastSeen order (an index), so a page
// costs the scan of its projects' issues plus the page.
func (s *Server) filtered(f *issueFilter) []*Issue {
	cands := s.d.sorted
	if f.projects != nil {
		cands = nil
		for _, id := range f.projects {
			cands = append(cands, s.d.byProject[id]...)
		}
		if len(f.projects) > 1 {
			sort.Slice(cands, func(a, b int) bool { return issueBefore(cands[a], cands[b]) })
		}
	}
	res := make([]*Issue, 0, 64)
	for _, is := range cands {
		if f.match(is) {
			res = append(res, is)
		}
	}
	var less func(a, b *Issue) bool
	switch f.sort {
	case "new":
		less = func(a, b *Issue) bool { return a.FirstSeen.After(b.FirstSeen) }
	case "freq":
		less = func(a, b *Issue) bool { return a.Count > b.Count }
	case "user":
		less = func(a, b *Issue) bool { return a.UserCount > b.UserCount }
	}
	if less != nil {
		// Stable over the lastSeen order keeps ties deterministic.
		sort.SliceStable(res, func(i, j int) bool { return less(res[i], res[j]) })
	}
	return res
}

// issues serves both the organization issue list (p == nil) and the
// deprecated per-project list.
func (s *Server) issues(w http.ResponseWriter, r *http.Request, p *Project) *apiError {
	q := r.URL.Query()
	f := &issueFilter{sort: q.Get("sort")}
	if p != nil {
		f.projects = []string{p.ID}
	} else {
		for _, v := range q["project"] {
			if v == "-1" || v == "" {
				f.projects = nil
				break
			}
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return &apiError{http.StatusBadRequest, "Invalid project parameter. Values must be numbers."}
			}
			pr := s.d.Project(v)
			if pr == nil || pr.ID != v {
				// Sentry answers a project outside the caller's reach with 403.
				return &apiError{http.StatusForbidden, "You do not have permission to perform this action."}
			}
			f.projects = append(f.projects, v)
		}
		sort.Strings(f.projects)
		f.projects = slices.Compact(f.projects)
	}
	query, present := q["query"]
	if !present {
		parseQuery("is:unresolved", f)
	} else {
		parseQuery(strings.Join(query, " "), f)
	}

	statsPeriod := "24h"
	sp, spSet := q["statsPeriod"], q.Has("statsPeriod")
	if p == nil && q.Has("groupStatsPeriod") {
		sp, spSet = q["groupStatsPeriod"], true
	}
	if spSet {
		switch sp[0] {
		case "24h", "14d":
			statsPeriod = sp[0]
		case "":
			// An empty period turns stats off, as in Sentry.
			statsPeriod = ""
		default:
			if p != nil {
				return &apiError{http.StatusBadRequest, "Invalid stats_period. Valid choices are '', '24h', and '14d'"}
			}
			// On the organization endpoint statsPeriod is a time range;
			// the fake does not filter by it and keeps 24h buckets.
		}
	}

	res := s.filtered(f)
	start, end, size, err := s.page(r, len(res), "limit")
	if err != nil {
		return err
	}
	out := make([]issueListItem, 0, end-start)
	for _, is := range res[start:end] {
		out = append(out, s.d.issueListItem(is, statsPeriod))
	}
	w.Header().Set("X-Hits", strconv.Itoa(len(res)))
	w.Header().Set("Link", linkHeader(r, start, end, size, len(res)))
	s.writeJSON(w, http.StatusOK, out)
	return nil
}
