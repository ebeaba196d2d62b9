package sentrytest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// GenOptions sizes a generated dataset; zero fields take small defaults.
type GenOptions struct {
	Seed                             int64
	Projects, Issues, Teams, Members int
}

// rng is splitmix64: tiny, fast and stable across Go releases, which
// math/rand's generators do not promise for seeded output.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

func (r *rng) pick(s []string) string { return s[r.intn(len(s))] }

var (
	genAdjectives = []string{"blue", "rapid", "silent", "golden", "iron", "lunar", "crimson", "quiet", "bright", "north", "swift", "amber"}
	genNouns      = []string{"api", "web", "worker", "gateway", "billing", "search", "auth", "ledger", "mobile", "catalog", "ingest", "notifier"}
	genPlatforms  = []string{"python-django", "python", "javascript-react", "javascript-nextjs", "node-express", "go", "java-spring-boot", "ruby-rails", "php-laravel", "apple-ios", "android", "dotnet"}
	genTeamWords  = []string{"platform", "frontend", "mobile", "payments", "growth", "data", "infra", "security", "search", "checkout", "identity", "sre"}
	genFirst      = []string{"Alex", "Sam", "Maria", "Wei", "Fatima", "Jonas", "Aiko", "Carlos", "Nadia", "Omar", "Greta", "Ravi", "Chloe", "Ivan", "Zara", "Liam"}
	genLast       = []string{"Smith", "Garcia", "Chen", "Okafor", "Novak", "Tanaka", "Rossi", "Khan", "Müller", "Silva", "Dubois", "Larsen", "Kowalski", "Ahmed"}
	genRoles      = []string{"member", "member", "member", "member", "admin", "manager", "member", "billing"}
	genEnvs       = []string{"production", "staging", "development"}
	genLevels     = []string{"error", "error", "error", "error", "warning", "warning", "fatal", "info"}
	genErrTypes   = []string{"TypeError", "ValueError", "KeyError", "RuntimeError", "IllegalStateException", "NullPointerException", "TimeoutError", "ConnectionError", "IntegrityError", "OperationalError", "PermissionDenied", "IndexError"}
	genMessages   = []string{
		"Cannot read properties of undefined (reading '%s')",
		"invalid literal for int() with base 10: '%s'",
		"'%s'",
		"connection to %s timed out after 30s",
		"duplicate key value violates unique constraint \"%s_pkey\"",
		"unexpected nil %s",
		"list index out of range in %s",
		"permission denied for relation %s",
	}
	genThings  = []string{"user", "order", "invoice", "session", "cart", "token", "account", "product", "shipment", "refund", "report", "tenant", "webhook", "price", "coupon", "address"}
	genModules = []string{"orders.services", "billing.views", "accounts.api", "search.indexer", "cart.handlers", "auth.middleware", "reports.tasks", "catalog.models", "webhooks.dispatch", "payments.gateway"}
	genFuncs   = []string{"create", "update", "process", "handle", "render", "sync", "dispatch", "validate", "fetch", "apply"}
)

var genStatuses = []struct{ status, substatus string }{
	{"unresolved", "ongoing"}, {"unresolved", "ongoing"}, {"unresolved", "new"}, {"unresolved", "regressed"},
	{"unresolved", "escalating"}, {"unresolved", "ongoing"}, {"resolved", ""}, {"resolved", ""},
	{"resolved", ""}, {"ignored", "archived_forever"}, {"ignored", "archived_until_escalating"},
}

// Generate builds a synthetic dataset of the requested size. Equal options
// give identical datasets; 100k issues take a small fraction of a second.
func Generate(o GenOptions) *Dataset {
	if o.Projects <= 0 {
		o.Projects = 20
	}
	if o.Teams <= 0 {
		o.Teams = 5
	}
	if o.Members <= 0 {
		o.Members = 20
	}
	if o.Issues < 0 {
		o.Issues = 0
	}
	r := &rng{s: uint64(o.Seed)*0x2545f4914f6cdd1d + 1}
	now := demoNow
	d := newDataset(Organization{ID: strconv.FormatUint(4506000000000000+r.next()%1e9, 10),
		Slug: "gen-org", Name: "Generated Org", DateCreated: now.Add(-3 * 365 * day), RegionURL: "https://us.sentry.io"}, now)

	for i := 0; i < o.Teams; i++ {
		slug := genTeamWords[i%len(genTeamWords)]
		if i >= len(genTeamWords) {
			slug += "-" + strconv.Itoa(i/len(genTeamWords)+1)
		}
		d.Teams = append(d.Teams, &Team{ID: strconv.Itoa(4506100000 + i), Slug: slug,
			Name: strings.ToUpper(slug[:1]) + slug[1:], DateCreated: d.Org.DateCreated.Add(time.Duration(i) * day)})
	}
	for i := 0; i < o.Projects; i++ {
		slug := genAdjectives[i%len(genAdjectives)] + "-" + genNouns[(i/len(genAdjectives))%len(genNouns)]
		if n := len(genAdjectives) * len(genNouns); i >= n {
			slug += "-" + strconv.Itoa(i/n+1)
		}
		created := d.Org.DateCreated.Add(time.Duration(r.intn(700)) * day)
		p := &Project{ID: strconv.Itoa(4506200000000000 + i*7), Slug: slug, Name: slug,
			Platform: r.pick(genPlatforms), DateCreated: created, FirstEvent: created.Add(time.Hour),
			Color: fmt.Sprintf("#%06x", r.next()&0xffffff), Teams: []string{d.Teams[i%len(d.Teams)].Slug},
			Environments: genEnvs,
			Releases:     []string{slug + "@1.0.0", slug + "@1.1.0", slug + "@1.2.0", slug + "@2.0.0"}}
		if r.intn(5) == 0 && len(d.Teams) > 1 {
			p.Teams = append(p.Teams, d.Teams[(i+1)%len(d.Teams)].Slug)
		}
		d.Projects = append(d.Projects, p)
	}
	for i := 0; i < o.Members; i++ {
		first, last := genFirst[i%len(genFirst)], genLast[(i/len(genFirst)+i)%len(genLast)]
		user := strings.ToLower(first) + "." + strings.ToLower(strings.ReplaceAll(last, "ü", "ue"))
		if i >= len(genFirst) {
			user += strconv.Itoa(i)
		}
		m := &Member{ID: strconv.Itoa(91000 + i), UserID: strconv.Itoa(3100000 + i), Email: user + "@example.com",
			Name: first + " " + last, Username: user, OrgRole: genRoles[r.intn(len(genRoles))],
			DateCreated: d.Org.DateCreated.Add(time.Duration(i) * day), LastLogin: now.Add(-time.Duration(r.intn(2000)) * time.Hour),
			Teams: map[string]string{}}
		if i == 0 {
			m.OrgRole = "owner"
		}
		if i%10 == 9 {
			// Every tenth member is an invitation nobody accepted yet.
			m.Pending, m.UserID, m.Username, m.Name, m.Inviter = true, "", "", m.Email, d.Members[0].Name
			m.LastLogin = time.Time{}
		} else if len(d.Teams) > 0 {
			m.Teams[d.Teams[i%len(d.Teams)].Slug] = "contributor"
			if r.intn(3) == 0 {
				m.Teams[d.Teams[r.intn(len(d.Teams))].Slug] = "admin"
			}
		}
		d.Members = append(d.Members, m)
	}

	titles := make([]string, 0, 1024)
	for len(titles) < cap(titles) {
		msg := r.pick(genMessages)
		titles = append(titles, r.pick(genErrTypes)+": "+fmt.Sprintf(msg, r.pick(genThings)))
	}
	for i := 0; i < 64; i++ {
		titles = append(titles, fmt.Sprintf("Slow DB Query: SELECT * FROM %s WHERE id = %%s", genThings[i%len(genThings)]),
			fmt.Sprintf("Failed to sync %s batch %d", genThings[i%len(genThings)], i))
	}
	culprits := make([]string, 0, len(genModules)*len(genFuncs))
	for _, m := range genModules {
		for _, f := range genFuncs {
			culprits = append(culprits, m+" in "+f+"_"+m[:strings.IndexByte(m, '.')])
		}
	}
	var assignees []*Assignee
	for _, m := range d.Members {
		if !m.Pending {
			assignees = append(assignees, &Assignee{Type: "user", ID: m.UserID, Name: m.Name, Email: m.Email})
		}
	}
	for _, t := range d.Teams {
		assignees = append(assignees, &Assignee{Type: "team", ID: t.ID, Name: t.Slug})
	}

	// One backing array keeps 300k issues to a single allocation.
	store := make([]Issue, o.Issues)
	d.issues = make(map[uint64]*Issue, o.Issues)
	metaCache := map[string][2]string{}
	for i := range store {
		is := &store[i]
		p := d.Projects[r.intn(len(d.Projects))]
		st := genStatuses[r.intn(len(genStatuses))]
		age := time.Duration(r.next()%uint64(365*day/time.Second)) * time.Second
		first := now.Add(-age).Add(time.Duration(r.intn(1e6)) * time.Microsecond)
		last := first.Add(time.Duration(r.next() % uint64(age+1)))
		count := int64(1 + r.next()%uint64(1+r.intn(5000)))
		*is = Issue{ID: 5100000000 + uint64(i)*3 + uint64(r.intn(3)), Project: p,
			Title: titles[r.intn(len(titles))], Culprit: culprits[r.intn(len(culprits))],
			Level: genLevels[r.intn(len(genLevels))], Status: st.status, Substatus: st.substatus,
			Count: count, UserCount: int(r.next() % uint64(count+1)), FirstSeen: first, LastSeen: last,
			IsUnhandled: r.intn(2) == 0, EnvMask: uint8(1 | r.intn(8)), ReleaseIdx: r.intn(len(p.Releases))}
		if r.intn(5) == 0 && len(assignees) > 0 {
			is.AssignedTo = assignees[r.intn(len(assignees))]
		}
		// Metadata strings are shared per title rather than split per issue.
		if mt, ok := metaCache[is.Title]; ok {
			is.Type, is.MetaType, is.MetaValue = "error", mt[0], mt[1]
		} else if typ, val, ok := cutType(is.Title); ok {
			metaCache[is.Title] = [2]string{typ, val}
			is.Type, is.MetaType, is.MetaValue = "error", typ, val
		} else {
			is.Type = "default"
		}
		if is.MetaType != "" {
			is.MetaFilename, is.MetaFunction = "app", "handler"
			if mod, fn, ok := cutLast(is.Culprit, " in "); ok {
				is.MetaFilename, is.MetaFunction = mod, fn
			}
		}
		d.addIssue(is)
	}
	d.ensureIndex()
	return d
}
