package sentrytest

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Token is the only bearer token the fake accepts.
const Token = "sntrys_gitalog_fake_token"

// Organization is the fake's single organization.
type Organization struct {
	ID          string
	Slug        string
	Name        string
	DateCreated time.Time
	RegionURL   string // e.g. https://us.sentry.io
}

// Project is one Sentry project. Environments lists the environment tag
// values its issues may carry, most important first.
type Project struct {
	ID           string
	Slug         string
	Name         string
	Platform     string
	DateCreated  time.Time
	FirstEvent   time.Time // zero means the project never received an event
	Color        string
	Teams        []string // team slugs
	Environments []string
	Releases     []string
	nextShort    uint64
}

// Team is one Sentry team; membership lives on Member.Teams.
type Team struct {
	ID          string
	Slug        string
	Name        string
	DateCreated time.Time
}

// Member is an organization member. A pending invitation has Pending set
// and no user (Sentry reports user: null until the invite is accepted).
type Member struct {
	ID          string
	UserID      string
	Email       string
	Name        string
	Username    string
	OrgRole     string // member, admin, manager, owner, billing
	Pending     bool
	Inviter     string
	DateCreated time.Time
	LastLogin   time.Time
	// Teams maps team slug to team role ("contributor" or "admin").
	Teams map[string]string
}

// Assignee is an issue's assignedTo.
type Assignee struct {
	Type  string `json:"type"` // user or team
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// Issue is one Sentry issue (a "group"). It is kept compact, with derived
// fields (short id, permalink, stats, tag values) computed when served,
// so that datasets of hundreds of thousands of issues stay small.
type Issue struct {
	ID          uint64
	ShortNum    uint64
	Project     *Project
	Title       string
	Culprit     string
	Level       string
	Type        string // error or default
	Status      string // unresolved, resolved, ignored
	Substatus   string // "" serialises as null
	Count       int64
	UserCount   int
	FirstSeen   time.Time
	LastSeen    time.Time
	AssignedTo  *Assignee
	IsUnhandled bool
	// Exception metadata; MetaType empty means a message (default-type) issue.
	MetaType, MetaValue, MetaFilename, MetaFunction string
	EnvMask                                         uint8 // bit i set: Project.Environments[i] seen
	ReleaseIdx                                      int   // index into Project.Releases
}

// IDString is the issue id as Sentry spells it.
func (i *Issue) IDString() string { return strconv.FormatUint(i.ID, 10) }

// ShortID is like BACKEND-1A: the project slug upper-cased and a per-project
// counter in Sentry's base32 alphabet.
func (i *Issue) ShortID() string {
	return strings.ToUpper(i.Project.Slug) + "-" + base32(i.ShortNum)
}

func base32(n uint64) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	if n == 0 {
		return "0"
	}
	var b [16]byte
	p := len(b)
	for n > 0 {
		p--
		b[p] = alphabet[n%32]
		n /= 32
	}
	return string(b[p:])
}

// Dataset is everything the fake serves. Mutate it only through its methods,
// and while a Server serves it only inside Server.Update.
type Dataset struct {
	Org      Organization
	Projects []*Project
	Teams    []*Team
	Members  []*Member
	// Now is the dataset's clock: stats buckets end here and mutations
	// advance it, so output never depends on the wall clock.
	Now time.Time

	issues map[uint64]*Issue
	nextID uint64
	dirty  bool
	sorted []*Issue // lastSeen desc, then id desc
	// byProject is sorted split by project id.
	byProject map[string][]*Issue
	projBy    map[string]*Project
	teamBy    map[string]*Team
	nProj     int
	nTeam     int
	projTags  map[*Project]map[string][]TagValue
}

// TagValue is one value of a tag key, as the tag values endpoints return it.
type TagValue struct {
	Key       string
	Value     string
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
}

func newDataset(org Organization, now time.Time) *Dataset {
	return &Dataset{Org: org, Now: now, issues: map[uint64]*Issue{}, dirty: true}
}

// OrgSlug is the organization's slug.
func (d *Dataset) OrgSlug() string { return d.Org.Slug }

// Project finds a project by slug or id.
func (d *Dataset) Project(slugOrID string) *Project {
	d.ensureLookups()
	return d.projBy[slugOrID]
}

// Team finds a team by slug or id.
func (d *Dataset) Team(slugOrID string) *Team {
	d.ensureLookups()
	return d.teamBy[slugOrID]
}

// ensureLookups is separate from ensureIndex so that adding many issues
// does not re-sort every issue on each project lookup.
func (d *Dataset) ensureLookups() {
	if d.projBy != nil && d.nProj == len(d.Projects) && d.nTeam == len(d.Teams) {
		return
	}
	d.projBy = make(map[string]*Project, 2*len(d.Projects))
	for _, p := range d.Projects {
		d.projBy[p.Slug] = p
		d.projBy[p.ID] = p
	}
	d.teamBy = make(map[string]*Team, 2*len(d.Teams))
	for _, t := range d.Teams {
		d.teamBy[t.Slug] = t
		d.teamBy[t.ID] = t
	}
	d.nProj, d.nTeam = len(d.Projects), len(d.Teams)
}

// Issue finds an issue by its decimal id.
func (d *Dataset) Issue(id string) *Issue {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return nil
	}
	return d.issues[n]
}

// NumIssues counts issues of every status.
func (d *Dataset) NumIssues() int { return len(d.issues) }

func (d *Dataset) addIssue(is *Issue) {
	if is.ID == 0 {
		d.nextID++
		is.ID = d.nextID
	} else if is.ID > d.nextID {
		d.nextID = is.ID
	}
	if is.ShortNum == 0 {
		is.Project.nextShort++
		is.ShortNum = is.Project.nextShort
	}
	d.issues[is.ID] = is
	d.touch()
}

func (d *Dataset) touch() {
	d.dirty = true
}

// tick advances the clock so every mutation gets a distinct, later time.
func (d *Dataset) tick() time.Time {
	d.Now = d.Now.Add(time.Minute)
	return d.Now
}

// ResolveIssue marks an issue resolved.
func (d *Dataset) ResolveIssue(id string) bool {
	is := d.Issue(id)
	if is == nil {
		return false
	}
	is.Status, is.Substatus = "resolved", ""
	d.touch()
	return true
}

// RegressIssue reopens an issue as a regression with a new event.
func (d *Dataset) RegressIssue(id string) bool {
	is := d.Issue(id)
	if is == nil {
		return false
	}
	is.Status, is.Substatus = "unresolved", "regressed"
	is.LastSeen = d.tick()
	is.Count++
	d.touch()
	return true
}

// AddIssue creates a new unresolved issue seen once, now. It returns ""
// when the project does not exist.
func (d *Dataset) AddIssue(projectSlug, title, culprit, level string) string {
	p := d.Project(projectSlug)
	if p == nil {
		return ""
	}
	if level == "" {
		level = "error"
	}
	now := d.tick()
	is := &Issue{Project: p, Title: title, Culprit: culprit, Level: level,
		Status: "unresolved", Substatus: "new", Count: 1, UserCount: 1,
		FirstSeen: now, LastSeen: now, EnvMask: 1, IsUnhandled: true}
	setMetadata(is)
	d.addIssue(is)
	return is.IDString()
}

func culpritFile(culprit string) string {
	if culprit == "" {
		return "app"
	}
	f, _, _ := strings.Cut(culprit, " in ")
	if strings.Contains(f, "/") {
		return f
	}
	return strings.ReplaceAll(f, ".", "/")
}

// DeleteIssue removes an issue, as Sentry does once a deletion completes.
func (d *Dataset) DeleteIssue(id string) bool {
	is := d.Issue(id)
	if is == nil {
		return false
	}
	delete(d.issues, is.ID)
	d.touch()
	return true
}

// IssueIDs lists issue ids with the given status ("" for all) in the order
// the issue lists serve them.
func (d *Dataset) IssueIDs(status string) []string {
	d.ensureIndex()
	out := make([]string, 0, len(d.sorted))
	for _, is := range d.sorted {
		if status == "" || is.Status == status {
			out = append(out, is.IDString())
		}
	}
	return out
}

func (d *Dataset) stale() bool {
	return d.dirty || d.projBy == nil || d.nProj != len(d.Projects) || d.nTeam != len(d.Teams)
}

// ensureIndex rebuilds the sort order and lookups after mutations; doing it
// lazily lets a batch of mutations share one sort.
func (d *Dataset) ensureIndex() {
	d.ensureLookups()
	if !d.dirty {
		return
	}
	if cap(d.sorted) >= len(d.issues) {
		d.sorted = d.sorted[:0]
	} else {
		d.sorted = make([]*Issue, 0, len(d.issues))
	}
	for _, is := range d.issues {
		d.sorted = append(d.sorted, is)
	}
	sort.Slice(d.sorted, func(a, b int) bool { return issueBefore(d.sorted[a], d.sorted[b]) })
	d.byProject = map[string][]*Issue{}
	for _, is := range d.sorted {
		d.byProject[is.Project.ID] = append(d.byProject[is.Project.ID], is)
	}
	d.projTags = nil
	d.dirty = false
}

// issueBefore is the serving order: lastSeen descending, then id.
func issueBefore(x, y *Issue) bool {
	if !x.LastSeen.Equal(y.LastSeen) {
		return x.LastSeen.After(y.LastSeen)
	}
	return x.ID > y.ID
}

// issueTagValues derives an issue's tag values from its compact fields so
// nothing per-issue has to be stored.
func (d *Dataset) issueTagValues(is *Issue, key string) []TagValue {
	switch key {
	case "environment":
		envs := is.Project.Environments
		var idx []int
		for i := range envs {
			if is.EnvMask&(1<<i) != 0 {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return nil
		}
		out := make([]TagValue, 0, len(idx))
		remaining := is.Count
		span := is.LastSeen.Sub(is.FirstSeen)
		for n, i := range idx {
			// The first environment takes the lion's share, as production does.
			c := remaining
			if n < len(idx)-1 {
				c = remaining - remaining/int64(n+3)
				if c < 1 {
					c = 1
				}
				remaining -= c
				if remaining < 1 {
					remaining = 1
				}
			}
			out = append(out, TagValue{Key: key, Value: envs[i], Count: c,
				FirstSeen: is.FirstSeen.Add(span * time.Duration(n) / 8),
				LastSeen:  is.LastSeen.Add(-span * time.Duration(n) / 16)})
		}
		return out
	case "level":
		return []TagValue{{Key: key, Value: is.Level, Count: is.Count, FirstSeen: is.FirstSeen, LastSeen: is.LastSeen}}
	case "release":
		if len(is.Project.Releases) == 0 {
			return nil
		}
		r := is.Project.Releases[is.ReleaseIdx%len(is.Project.Releases)]
		return []TagValue{{Key: key, Value: r, Count: is.Count, FirstSeen: is.FirstSeen, LastSeen: is.LastSeen}}
	}
	return nil
}

// projectTagValues aggregates tag values over a project's issues, cached
// until the next mutation because it walks every issue.
func (d *Dataset) projectTagValues(p *Project, key string) []TagValue {
	d.ensureIndex()
	if d.projTags == nil {
		d.projTags = map[*Project]map[string][]TagValue{}
	}
	if m, ok := d.projTags[p]; ok {
		if v, ok := m[key]; ok {
			return v
		}
	} else {
		d.projTags[p] = map[string][]TagValue{}
	}
	agg := map[string]*TagValue{}
	for _, is := range d.sorted {
		if is.Project != p {
			continue
		}
		for _, tv := range d.issueTagValues(is, key) {
			a := agg[tv.Value]
			if a == nil {
				tv := tv
				agg[tv.Value] = &tv
				continue
			}
			a.Count += tv.Count
			if tv.FirstSeen.Before(a.FirstSeen) {
				a.FirstSeen = tv.FirstSeen
			}
			if tv.LastSeen.After(a.LastSeen) {
				a.LastSeen = tv.LastSeen
			}
		}
	}
	out := make([]TagValue, 0, len(agg))
	for _, a := range agg {
		out = append(out, *a)
	}
	sortTagValues(out)
	d.projTags[p][key] = out
	return out
}

// sortTagValues orders like Sentry's default (-last_seen), value breaking ties.
func sortTagValues(v []TagValue) {
	sort.Slice(v, func(a, b int) bool {
		if !v[a].LastSeen.Equal(v[b].LastSeen) {
			return v[a].LastSeen.After(v[b].LastSeen)
		}
		return v[a].Value < v[b].Value
	})
}
