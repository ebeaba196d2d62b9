package sentrytest

import (
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ts formats like Sentry: UTC with microseconds.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func tsOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func avatar(withURL bool) map[string]any {
	a := map[string]any{"avatarType": "letter_avatar", "avatarUuid": nil}
	if withURL {
		a["avatarUrl"] = nil
	}
	return a
}

func (d *Dataset) orgURL() string { return "https://" + d.Org.Slug + ".sentry.io" }

var orgFeatures = []string{"performance-tracing-without-performance", "escalating-issues",
	"minute-resolution-sessions", "event-attachments", "issue-platform", "session-replay"}

// orgSummary is the organization object embedded in legacy project items.
func (d *Dataset) orgSummary() map[string]any {
	o := d.Org
	return map[string]any{
		"id": o.ID, "slug": o.Slug, "name": o.Name, "dateCreated": ts(o.DateCreated),
		"status":         map[string]any{"id": "active", "name": "active"},
		"isEarlyAdopter": false, "require2FA": false, "requireEmailVerification": false,
		"avatar":          avatar(true),
		"features":        orgFeatures,
		"links":           map[string]any{"organizationUrl": d.orgURL(), "regionUrl": o.RegionURL},
		"hasAuthProvider": false, "allowMemberInvite": true, "allowMemberProjectCreation": false,
		"allowSuperuserAccess": false,
	}
}

// orgDetails is GET /organizations/{org}/.
func (d *Dataset) orgDetails() map[string]any {
	o := d.orgSummary()
	o["access"] = []string{"org:read", "project:read", "team:read", "member:read", "event:read"}
	o["onboardingTasks"] = []any{}
	o["extraOptions"] = map[string]any{}
	o["isDefault"] = false
	o["defaultRole"] = "member"
	o["openMembership"] = true
	o["dataScrubber"] = false
	o["isDynamicallySampled"] = true
	return o
}

var projectFeatures = []string{"alert-filters", "minidump", "race-free-group-creation",
	"similarity-indexing", "similarity-view", "releases"}

var projectFlags = []string{"hasFeedbacks", "hasFlags", "hasInsightsAgentMonitoring", "hasInsightsAppStart",
	"hasInsightsAssets", "hasInsightsCaches", "hasInsightsDb", "hasInsightsHttp", "hasInsightsMCP",
	"hasInsightsQueues", "hasInsightsScreenLoad", "hasInsightsVitals", "hasLogs", "hasMinifiedStackTrace",
	"hasMonitors", "hasNewFeedbacks", "hasProfiles", "hasReplays", "hasSessions", "hasTraceMetrics"}

// projectBase holds what every project shape shares.
func (d *Dataset) projectBase(p *Project) map[string]any {
	m := map[string]any{
		"id": p.ID, "slug": p.Slug, "name": p.Name, "platform": p.Platform,
		"dateCreated": ts(p.DateCreated), "isBookmarked": false, "isMember": true,
		"features": projectFeatures, "firstEvent": tsOrNil(p.FirstEvent),
		"firstTransactionEvent": false, "access": []string{"project:read", "event:read"},
		"hasAccess": true, "isInternal": false, "isPublic": false,
		"avatar": avatar(false), "color": p.Color, "status": "active",
	}
	for _, f := range projectFlags {
		m[f] = false
	}
	m["hasSessions"] = strings.HasPrefix(p.Platform, "apple") || p.Platform == "android"
	return m
}

// projectSummary is an item of GET /organizations/{org}/projects/.
func (d *Dataset) projectSummary(p *Project) map[string]any {
	m := d.projectBase(p)
	teams := make([]any, 0, len(p.Teams))
	for _, slug := range p.Teams {
		if t := d.Team(slug); t != nil {
			teams = append(teams, map[string]any{"id": t.ID, "name": t.Name, "slug": t.Slug})
		}
	}
	if len(teams) > 0 {
		m["team"] = teams[0]
	} else {
		m["team"] = nil
	}
	m["teams"] = teams
	m["platforms"] = []string{platformFamily(p.Platform)}
	m["environments"] = p.Environments
	m["hasUserReports"] = false
	m["latestDeploys"] = nil
	if n := len(p.Releases); n > 0 {
		m["latestRelease"] = map[string]any{"version": p.Releases[n-1]}
	} else {
		m["latestRelease"] = nil
	}
	return m
}

// projectWithOrg is an item of the legacy GET /projects/.
func (d *Dataset) projectWithOrg(p *Project) map[string]any {
	m := d.projectBase(p)
	m["organization"] = d.orgSummary()
	return m
}

func platformFamily(p string) string {
	f, _, _ := strings.Cut(p, "-")
	switch f {
	case "apple":
		return "cocoa"
	case "android":
		return "java"
	case "node":
		return "javascript"
	}
	return f
}

func (d *Dataset) teamMembers(t *Team) []*Member {
	var out []*Member
	for _, m := range d.Members {
		if _, ok := m.Teams[t.Slug]; ok {
			out = append(out, m)
		}
	}
	return out
}

// team is an item of GET /organizations/{org}/teams/.
func (d *Dataset) team(t *Team, detailed bool) map[string]any {
	m := map[string]any{
		"id": t.ID, "slug": t.Slug, "name": t.Name, "dateCreated": ts(t.DateCreated),
		"isMember": false, "teamRole": nil, "flags": map[string]any{"idp:provisioned": false},
		"access": []string{"team:read", "project:read", "event:read"}, "hasAccess": true,
		"isPending": false, "memberCount": len(d.teamMembers(t)), "avatar": avatar(true),
	}
	if detailed {
		projects := []any{}
		for _, p := range d.Projects {
			for _, s := range p.Teams {
				if s == t.Slug {
					projects = append(projects, d.projectBase(p))
					break
				}
			}
		}
		m["projects"] = projects
		m["externalTeams"] = []any{}
	}
	return m
}

func (d *Dataset) user(m *Member) map[string]any {
	return map[string]any{
		"id": m.UserID, "name": m.Name, "username": m.Username, "email": m.Email,
		"avatarUrl": "https://gravatar.com/avatar/" + hashHex(m.Email) + "?s=32&d=mm",
		"isActive":  true, "hasPasswordAuth": true, "isManaged": false,
		"dateJoined": ts(m.DateCreated), "lastLogin": tsOrNil(m.LastLogin), "lastActive": tsOrNil(m.LastLogin),
		"has2fa": false, "isStaff": false, "isSuperuser": false, "isSuspended": false,
		"experiments": map[string]any{}, "emails": []any{map[string]any{"id": m.UserID, "email": m.Email, "is_verified": true}},
		"avatar":      map[string]any{"avatarType": "letter_avatar", "avatarUuid": nil, "avatarUrl": nil},
		"canReset2fa": true,
	}
}

func hashHex(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return strconv.FormatUint(h.Sum64(), 16)
}

// member is an item of GET /organizations/{org}/members/.
func (d *Dataset) member(m *Member) map[string]any {
	invite := "approved"
	var user any
	if !m.Pending {
		user = d.user(m)
	}
	teams := make([]string, 0, len(m.Teams))
	for slug := range m.Teams {
		teams = append(teams, slug)
	}
	sort.Strings(teams)
	teamRoles := make([]any, 0, len(teams))
	for _, slug := range teams {
		teamRoles = append(teamRoles, map[string]any{"teamSlug": slug, "role": m.Teams[slug]})
	}
	roleName := map[string]string{"member": "Member", "admin": "Admin", "manager": "Manager", "owner": "Owner", "billing": "Billing"}[m.OrgRole]
	return map[string]any{
		"id": m.ID, "email": m.Email, "name": m.Name, "user": user,
		"orgRole": m.OrgRole, "role": m.OrgRole, "roleName": roleName,
		"pending": m.Pending, "expired": false,
		"flags": map[string]any{"idp:provisioned": false, "idp:role-restricted": false, "member-limit:restricted": false,
			"partnership:restricted": false, "sso:invalid": false, "sso:linked": false},
		"dateCreated": ts(m.DateCreated), "inviteStatus": invite, "inviterName": strOrNil(m.Inviter),
		"teams": teams, "teamRoles": teamRoles, "externalUsers": []any{},
	}
}

// teamMember is an item of GET /teams/{org}/{team}/members/.
func (d *Dataset) teamMember(m *Member, t *Team) map[string]any {
	o := d.member(m)
	delete(o, "teams")
	delete(o, "teamRoles")
	o["teamSlug"] = t.Slug
	if r := m.Teams[t.Slug]; r == "admin" {
		o["teamRole"] = "admin"
	} else {
		o["teamRole"] = "contributor"
	}
	return o
}

func tagValue(tv TagValue) map[string]any {
	return map[string]any{"key": tv.Key, "name": tv.Value, "value": tv.Value, "count": tv.Count,
		"firstSeen": ts(tv.FirstSeen), "lastSeen": ts(tv.LastSeen)}
}

// Issue JSON is built from structs, not maps: issue pages dominate the
// fake's work at benchmark sizes.
type issueProject struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Slug     string `json:"slug"`
	Platform string `json:"platform"`
}

type issueMeta struct {
	Type     string `json:"type,omitempty"`
	Value    string `json:"value,omitempty"`
	Filename string `json:"filename,omitempty"`
	Function string `json:"function,omitempty"`
	Title    string `json:"title,omitempty"`
	// Sentry adds these two to error metadata.
	DisplayTitle *bool  `json:"display_title_with_tree_label,omitempty"`
	FrameMix     string `json:"in_app_frame_mix,omitempty"`
}

type issueBase struct {
	ID                  string         `json:"id"`
	ShareID             *string        `json:"shareId"`
	ShortID             string         `json:"shortId"`
	Title               string         `json:"title"`
	Culprit             string         `json:"culprit"`
	Permalink           string         `json:"permalink"`
	Logger              *string        `json:"logger"`
	Level               string         `json:"level"`
	Status              string         `json:"status"`
	StatusDetails       map[string]any `json:"statusDetails"`
	Substatus           *string        `json:"substatus"`
	IsPublic            bool           `json:"isPublic"`
	Platform            string         `json:"platform"`
	Priority            string         `json:"priority"`
	PriorityLockedAt    *string        `json:"priorityLockedAt"`
	SeerFixability      *float64       `json:"seerFixabilityScore"`
	SeerAutofix         *string        `json:"seerAutofixLastTriggered"`
	SeerExplorerAutofix *string        `json:"seerExplorerAutofixLastTriggered"`
	Project             issueProject   `json:"project"`
	Type                string         `json:"type"`
	IssueType           string         `json:"issueType"`
	IssueCategory       string         `json:"issueCategory"`
	Metadata            issueMeta      `json:"metadata"`
	NumComments         int            `json:"numComments"`
	AssignedTo          *Assignee      `json:"assignedTo"`
	IsBookmarked        bool           `json:"isBookmarked"`
	IsSubscribed        bool           `json:"isSubscribed"`
	SubscriptionDetails *struct{}      `json:"subscriptionDetails"`
	HasSeen             bool           `json:"hasSeen"`
	Annotations         []struct{}     `json:"annotations"`
	IsUnhandled         bool           `json:"isUnhandled"`
	Count               string         `json:"count"`
	UserCount           int            `json:"userCount"`
	FirstSeen           string         `json:"firstSeen"`
	LastSeen            string         `json:"lastSeen"`
	Stats               map[string]any `json:"stats,omitempty"`
}

type issueLifetime struct {
	Count     string  `json:"count"`
	UserCount int     `json:"userCount"`
	FirstSeen string  `json:"firstSeen"`
	LastSeen  string  `json:"lastSeen"`
	Stats     *string `json:"stats"`
}

type derivedData struct {
	Blocker          string  `json:"blocker"`
	HasOpenFixPr     bool    `json:"hasOpenFixPr"`
	HasRootCause     bool    `json:"hasRootCause"`
	IsAssigned       bool    `json:"isAssigned"`
	LastAutofixStep  string  `json:"lastCompletedAutofixStep"`
	LastProgressedAt *string `json:"lastProgressedAt"`
	Progress         string  `json:"progress"`
	Status           string  `json:"status"`
	ViewCount        int     `json:"viewCount"`
}

type issueListItem struct {
	issueBase
	Lifetime                 issueLifetime `json:"lifetime"`
	Filtered                 *struct{}     `json:"filtered"`
	MatchingEventID          *string       `json:"matchingEventId"`
	MatchingEventEnvironment *string       `json:"matchingEventEnvironment"`
	DerivedData              derivedData   `json:"derivedData"`
}

type issueDetail struct {
	issueBase
	Activity        []any   `json:"activity"`
	Participants    []any   `json:"participants"`
	SeenBy          []any   `json:"seenBy"`
	UserReportCount int     `json:"userReportCount"`
	FirstRelease    any     `json:"firstRelease"`
	LastRelease     any     `json:"lastRelease"`
	Tags            []any   `json:"tags"`
	PluginActions   []any   `json:"pluginActions"`
	PluginIssues    []any   `json:"pluginIssues"`
	PluginContexts  []any   `json:"pluginContexts"`
	Inbox           *string `json:"inbox"`
}

var (
	emptyStatus      = map[string]any{}
	emptyAnnotations = []struct{}{}
	falsePtr         = new(bool)
)

func (d *Dataset) issueBase(is *Issue, statsPeriod string) issueBase {
	p := is.Project
	b := issueBase{
		ID: is.IDString(), ShortID: is.ShortID(), Title: is.Title, Culprit: is.Culprit,
		Permalink: d.orgURL() + "/issues/" + is.IDString() + "/",
		Level:     is.Level, Status: is.Status, StatusDetails: emptyStatus,
		Substatus: strOrNil(is.Substatus), Platform: platformFamily(p.Platform),
		Priority: priority(is.Level),
		Project:  issueProject{ID: p.ID, Name: p.Name, Slug: p.Slug, Platform: p.Platform},
		Type:     is.Type, IssueType: "error", IssueCategory: "error",
		AssignedTo: is.AssignedTo, Annotations: emptyAnnotations, IsUnhandled: is.IsUnhandled,
		Count: strconv.FormatInt(is.Count, 10), UserCount: is.UserCount,
		FirstSeen: ts(is.FirstSeen), LastSeen: ts(is.LastSeen),
	}
	if is.Type == "default" {
		b.IssueType, b.IssueCategory = "error", "error"
		b.Metadata = issueMeta{Title: is.Title}
	} else {
		b.Metadata = issueMeta{Type: is.MetaType, Value: is.MetaValue, Filename: is.MetaFilename,
			Function: is.MetaFunction, DisplayTitle: falsePtr, FrameMix: "mixed"}
	}
	if statsPeriod != "" {
		b.Stats = map[string]any{statsPeriod: d.stats(is, statsPeriod)}
	}
	return b
}

func priority(level string) string {
	switch level {
	case "fatal":
		return "high"
	case "error":
		return "medium"
	}
	return "low"
}

func (d *Dataset) issueListItem(is *Issue, statsPeriod string) issueListItem {
	return issueListItem{issueBase: d.issueBase(is, statsPeriod), Lifetime: issueLifetime{
		Count: strconv.FormatInt(is.Count, 10), UserCount: is.UserCount,
		FirstSeen: ts(is.FirstSeen), LastSeen: ts(is.LastSeen)},
		DerivedData: derivedData{IsAssigned: is.AssignedTo != nil, Status: "none"}}
}

func (d *Dataset) issueDetail(is *Issue) issueDetail {
	b := d.issueBase(is, "24h")
	b.Stats["30d"] = d.stats(is, "30d")
	tags := []any{}
	for _, k := range []string{"environment", "level", "release"} {
		if v := d.issueTagValues(is, k); len(v) > 0 {
			tags = append(tags, map[string]any{"key": k, "name": strings.ToUpper(k[:1]) + k[1:], "totalValues": sumCounts(v)})
		}
	}
	return issueDetail{issueBase: b, Activity: []any{}, Participants: []any{}, SeenBy: []any{},
		Tags: tags, PluginActions: []any{}, PluginIssues: []any{}, PluginContexts: []any{}}
}

func sumCounts(v []TagValue) int64 {
	var n int64
	for _, tv := range v {
		n += tv.Count
	}
	return n
}

// stats builds [[bucketStart, events], ...] ending at the dataset clock.
// Counts come from a hash of the issue so repeated requests agree, and are
// zero outside the issue's firstSeen..lastSeen span.
func (d *Dataset) stats(is *Issue, period string) [][2]int64 {
	step, n := time.Hour, 24
	switch period {
	case "14d":
		step, n = 24*time.Hour, 14
	case "30d":
		step, n = 24*time.Hour, 30
	}
	end := d.Now.Truncate(step)
	out := make([][2]int64, n)
	h := is.ID*0x9e3779b97f4a7c15 ^ uint64(is.Count)
	perBucket := is.Count / int64(8*n)
	for i := range out {
		t := end.Add(-time.Duration(n-1-i) * step)
		out[i][0] = t.Unix()
		if t.Add(step).Before(is.FirstSeen) || t.After(is.LastSeen) {
			continue
		}
		h ^= h >> 33
		h *= 0xff51afd7ed558ccd
		out[i][1] = int64(h%3) * (perBucket + 1) / 2
		if !is.LastSeen.Before(t) && is.LastSeen.Before(t.Add(step)) && out[i][1] == 0 {
			out[i][1] = 1
		}
	}
	return out
}
