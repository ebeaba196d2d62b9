package extracttest

import (
	"slices"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// SentryToken is the variable the Sentry guide's secret reads.
const SentryToken = "SENTRY_API_TOKEN"

// Sentry is sentrytest's fake Sentry over a dataset shaped for OpsLevel's
// Sentry guide: the organization is "opslevel", as the guide's URL names
// it, and one project's name has "production" in it, which the guide
// excludes (so its issues must not be fetched).
type Sentry struct {
	*sentrytest.Server
	Dataset *sentrytest.Dataset
	Env     map[string]string
}

// ExcludedProject is the slug of the project the guide's exclude drops.
const ExcludedProject = "checkout-prod"

// NewSentry serves the dataset: sentrytest's demo organization, renamed,
// plus the excluded project with two issues of its own.
func NewSentry(opts ...sentrytest.Option) *Sentry {
	d := sentrytest.Demo()
	d.Org.Slug = "opslevel"
	AddExcludedProject(d)
	return &Sentry{Server: sentrytest.NewServer(d, opts...), Dataset: d,
		Env: map[string]string{SentryToken: sentrytest.Token}}
}

// AddExcludedProject adds to d the project the guide's exclude drops
// ("Checkout production", slug ExcludedProject), with two issues.
func AddExcludedProject(d *sentrytest.Dataset) {
	d.Projects = append(d.Projects, &sentrytest.Project{ID: "4504931759200000", Slug: ExcludedProject,
		Name: "Checkout production", Platform: "go", DateCreated: d.Now.AddDate(0, -2, 0),
		FirstEvent: d.Now.AddDate(0, -2, 0), Color: "#bf3f3f", Teams: []string{"payments"},
		Environments: []string{"production"}, Releases: []string{"checkout@1.0.0"}})
	d.AddIssue(ExcludedProject, "PaymentDeclined: card expired", "checkout.pay in charge", "error")
	d.AddIssue(ExcludedProject, "TimeoutError: ledger did not answer", "checkout.ledger in post", "error")
}

// IDs are the external ids the guide's extractors yield: sentry_project,
// every project but the excluded one, in the order listed; sentry_issue,
// their unresolved issues (the per-project list's default), project by
// project.
func (s *Sentry) IDs(kind string) []string {
	var out []string
	s.Server.Update(func(d *sentrytest.Dataset) {
		for _, p := range d.Projects {
			if p.Slug == ExcludedProject {
				continue
			}
			if kind == "sentry_project" {
				out = append(out, p.ID)
				continue
			}
			for _, id := range d.IssueIDs("unresolved") {
				if d.Issue(id).Project == p {
					out = append(out, id)
				}
			}
		}
	})
	return slices.Clip(out)
}

// Excluded is the excluded project's id.
func (s *Sentry) Excluded() string {
	var id string
	s.Server.Update(func(d *sentrytest.Dataset) { id = d.Project(ExcludedProject).ID })
	return id
}
