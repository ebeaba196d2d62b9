package sentrytest

import (
	"fmt"
	"time"
)

// demoNow is fixed so that the demo catalog is byte-for-byte reproducible.
var demoNow = time.Date(2025, 6, 2, 9, 30, 0, 0, time.UTC)

type demoIssue struct {
	project, title, culprit, level, status, substatus string
	count                                             int64
	users                                             int
	firstAgo, lastAgo                                 time.Duration
	assignee                                          string // member username or "team:slug"
	unhandled                                         bool
	envMask                                           uint8
}

const (
	hour = time.Hour
	day  = 24 * time.Hour
)

var demoIssues = []demoIssue{
	{"backend-api", "OperationalError: could not connect to server: Connection refused", "django.db.backends.postgresql.base in get_new_connection", "fatal", "unresolved", "escalating", 4821, 312, 20 * day, 12 * time.Minute, "maria.garcia", true, 0b001},
	{"backend-api", "KeyError: 'customer_id'", "billing.views.invoices in invoice_detail", "error", "unresolved", "ongoing", 1290, 87, 41 * day, 2 * hour, "", true, 0b011},
	{"backend-api", "IntegrityError: duplicate key value violates unique constraint \"orders_order_ref_key\"", "orders.services in create_order", "error", "unresolved", "new", 37, 12, 3 * day, 5 * hour, "team:platform", false, 0b001},
	{"backend-api", "TimeoutError: Redis command timed out after 5.0s", "cache.backends.redis in get_many", "error", "unresolved", "regressed", 642, 140, 88 * day, 40 * time.Minute, "", true, 0b111},
	{"backend-api", "AttributeError: 'NoneType' object has no attribute 'email'", "accounts.signals in send_welcome_email", "error", "resolved", "", 58, 51, 60 * day, 9 * day, "james.chen", true, 0b011},
	{"backend-api", "PermissionDenied: User lacks permission 'reports.export'", "reports.views in export_csv", "warning", "ignored", "archived_forever", 311, 19, 120 * day, 6 * day, "", false, 0b001},
	{"backend-api", "Slow DB Query: SELECT * FROM audit_log WHERE created_at > %s", "GET /api/v2/audit/", "warning", "unresolved", "ongoing", 2044, 0, 30 * day, 3 * hour, "", false, 0b001},
	{"backend-api", "ValueError: invalid literal for int() with base 10: 'undefined'", "catalog.views in product_list", "error", "unresolved", "new", 9, 4, 20 * hour, 90 * time.Minute, "", true, 0b101},
	{"web-frontend", "TypeError: Cannot read properties of undefined (reading 'map')", "app/components/CartItems.tsx in CartItems", "error", "unresolved", "ongoing", 15403, 2210, 35 * day, 4 * time.Minute, "priya.patel", true, 0b011},
	{"web-frontend", "ChunkLoadError: Loading chunk 842 failed.", "webpack/runtime/jsonp chunk loading in __webpack_require__.f.j", "error", "unresolved", "escalating", 3120, 1804, 7 * day, 25 * time.Minute, "", true, 0b001},
	{"web-frontend", "ResizeObserver loop completed with undelivered notifications.", "?", "info", "ignored", "archived_until_escalating", 48210, 9110, 200 * day, 1 * hour, "", false, 0b111},
	{"web-frontend", "Error: Hydration failed because the initial UI does not match what was rendered on the server.", "app/routes/checkout in Checkout", "error", "unresolved", "new", 212, 190, 2 * day, 6 * hour, "team:frontend", true, 0b011},
	{"web-frontend", "UnhandledRejection: Non-Error promise rejection captured with value: Timeout", "app/lib/api in fetchWithRetry", "warning", "unresolved", "ongoing", 845, 403, 50 * day, 7 * hour, "", true, 0b001},
	{"web-frontend", "SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON", "app/lib/api in parseResponse", "error", "resolved", "", 77, 70, 15 * day, 4 * day, "tom.becker", true, 0b011},
	{"web-frontend", "Large Render Blocking Asset: /static/js/vendor.4f2a1c.js", "/checkout", "warning", "unresolved", "ongoing", 640, 0, 22 * day, 10 * hour, "", false, 0b001},
	{"payments", "panic: runtime error: invalid memory address or nil pointer dereference", "github.com/acme-corp/payments/internal/ledger.(*Book).Post", "fatal", "unresolved", "regressed", 19, 0, 30 * day, 18 * time.Minute, "lena.novak", true, 0b001},
	{"payments", "stripe: card_declined: Your card has insufficient funds.", "github.com/acme-corp/payments/internal/charge.Capture", "warning", "ignored", "archived_until_condition_met", 9821, 4402, 300 * day, 11 * time.Minute, "", false, 0b001},
	{"payments", "context deadline exceeded", "github.com/acme-corp/payments/internal/fraud.(*Client).Score", "error", "unresolved", "ongoing", 733, 0, 12 * day, 50 * time.Minute, "team:payments", false, 0b011},
	{"payments", "pq: deadlock detected", "github.com/acme-corp/payments/internal/store.(*Repo).UpdateBalance", "error", "unresolved", "new", 6, 0, 26 * hour, 4 * hour, "", false, 0b001},
	{"payments", "webhook signature verification failed", "github.com/acme-corp/payments/internal/webhooks.Handler", "warning", "resolved", "", 142, 0, 40 * day, 12 * day, "", false, 0b011},
	{"payments", "json: cannot unmarshal string into Go struct field Refund.amount of type int64", "github.com/acme-corp/payments/internal/refund.Decode", "error", "unresolved", "ongoing", 88, 0, 9 * day, 14 * hour, "", false, 0b101},
	{"ios-app", "EXC_BAD_ACCESS: Attempted to dereference garbage pointer 0x10.", "CheckoutViewController.viewDidLoad()", "fatal", "unresolved", "escalating", 1502, 1322, 16 * day, 35 * time.Minute, "sofia.rossi", true, 0b001},
	{"ios-app", "NSInternalInconsistencyException: Invalid update: invalid number of rows in section 0", "OrdersTableViewController.reloadOrders()", "error", "unresolved", "ongoing", 402, 380, 45 * day, 8 * hour, "", true, 0b011},
	{"ios-app", "App Hanging: App hanging for at least 2000 ms.", "ImageCache.decode(_:)", "warning", "unresolved", "new", 59, 51, 4 * day, 2 * hour, "", false, 0b001},
	{"ios-app", "Fatal error: Unexpectedly found nil while unwrapping an Optional value", "ProfileView.body.getter", "fatal", "resolved", "", 231, 219, 70 * day, 20 * day, "sofia.rossi", true, 0b001},
	{"ios-app", "URLError: The request timed out.", "APIClient.send(_:)", "info", "ignored", "archived_forever", 7720, 3012, 180 * day, 30 * time.Minute, "", false, 0b011},
	{"android-app", "java.lang.IllegalStateException: Fragment CartFragment not attached to a context.", "com.acme.shop.cart.CartFragment in onResume", "error", "unresolved", "ongoing", 2890, 2101, 60 * day, 15 * time.Minute, "ahmed.khan", true, 0b001},
	{"android-app", "java.lang.OutOfMemoryError: Failed to allocate a 41943056 byte allocation", "com.acme.shop.gallery.ImageLoader in decodeBitmap", "fatal", "unresolved", "escalating", 611, 598, 10 * day, 1 * hour, "", true, 0b001},
	{"android-app", "android.database.sqlite.SQLiteDatabaseLockedException: database is locked (code 5)", "com.acme.shop.db.OrdersDao in insertAll", "error", "unresolved", "new", 33, 30, 30 * hour, 3 * hour, "team:mobile", true, 0b011},
	{"android-app", "ANR: Application Not Responding for at least 5000 ms.", "com.acme.shop.MainActivity in onCreate", "error", "unresolved", "regressed", 127, 119, 90 * day, 55 * time.Minute, "", false, 0b001},
	{"android-app", "kotlin.UninitializedPropertyAccessException: lateinit property adapter has not been initialized", "com.acme.shop.search.SearchActivity in onQueryTextChange", "error", "resolved", "", 74, 70, 25 * day, 5 * day, "ahmed.khan", true, 0b011},
	{"android-app", "java.net.SocketTimeoutException: timeout", "okhttp3.internal.http2.Http2Stream$StreamTimeout in newTimeoutException", "warning", "ignored", "archived_until_escalating", 5530, 3303, 150 * day, 2 * hour, "", false, 0b001},
	{"notifications", "Error: connect ECONNREFUSED 10.0.3.17:5672", "amqplib/lib/connect in Socket.onError", "error", "unresolved", "ongoing", 1733, 0, 18 * day, 22 * time.Minute, "maria.garcia", true, 0b011},
	{"notifications", "TypeError: Cannot read properties of null (reading 'deviceToken')", "src/push/apns in sendPush", "error", "unresolved", "new", 44, 39, 22 * hour, 80 * time.Minute, "", true, 0b001},
	{"notifications", "SendGridError: Too Many Requests", "src/email/sendgrid in deliver", "warning", "unresolved", "ongoing", 913, 0, 33 * day, 4 * hour, "", false, 0b001},
	{"notifications", "Template rendering failed: missing variable 'firstName' in order_shipped", "src/email/templates in render", "error", "resolved", "", 128, 121, 28 * day, 8 * day, "", false, 0b011},
	{"notifications", "RangeError: Maximum call stack size exceeded", "src/scheduler/digest in buildDigest", "fatal", "unresolved", "regressed", 12, 0, 75 * day, 6 * hour, "james.chen", true, 0b101},
	{"backend-api", "Celery task orders.tasks.sync_inventory exceeded soft time limit (300s)", "orders.tasks in sync_inventory", "warning", "unresolved", "ongoing", 322, 0, 14 * day, 9 * hour, "", false, 0b001},
	{"web-frontend", "Failed to fetch", "app/lib/telemetry in flush", "info", "unresolved", "ongoing", 21055, 8120, 95 * day, 2 * time.Minute, "", false, 0b111},
	{"payments", "Ledger imbalance detected for account acct_1Nc8", "github.com/acme-corp/payments/internal/ledger.Reconcile", "error", "unresolved", "new", 2, 0, 5 * hour, 5 * hour, "", false, 0b001},
}

// Demo is a small, realistic organization, "acme-corp", for examples and
// the offline demo. It is built afresh on each call and is deterministic.
func Demo() *Dataset {
	d := newDataset(Organization{ID: "4504931754901504", Slug: "acme-corp", Name: "Acme Corp",
		DateCreated: time.Date(2022, 3, 14, 9, 12, 44, 618000000, time.UTC), RegionURL: "https://us.sentry.io"}, demoNow)

	teams := []struct{ slug, name string }{
		{"platform", "Platform"}, {"frontend", "Frontend"}, {"mobile", "Mobile"}, {"payments", "Payments"},
	}
	for i, t := range teams {
		d.Teams = append(d.Teams, &Team{ID: fmt.Sprint(4504931755000000 + i*17), Slug: t.slug, Name: t.name,
			DateCreated: d.Org.DateCreated.Add(time.Duration(i+1) * 36 * hour)})
	}
	envs := []string{"production", "staging", "development"}
	projects := []struct {
		slug, name, platform, color string
		teams                       []string
	}{
		{"backend-api", "Backend API", "python-django", "#3f70bf", []string{"platform"}},
		{"web-frontend", "Web Frontend", "javascript-react", "#bf3f5f", []string{"frontend"}},
		{"payments", "Payments", "go", "#3fbf7f", []string{"payments", "platform"}},
		{"ios-app", "iOS App", "apple-ios", "#7f3fbf", []string{"mobile"}},
		{"android-app", "Android App", "android", "#bf9f3f", []string{"mobile"}},
		{"notifications", "Notifications", "node-express", "#3fa9bf", []string{"platform"}},
	}
	for i, p := range projects {
		created := d.Org.DateCreated.Add(time.Duration(i+2) * 50 * hour)
		d.Projects = append(d.Projects, &Project{ID: fmt.Sprint(4504931759095808 + i*4099), Slug: p.slug, Name: p.name,
			Platform: p.platform, DateCreated: created, FirstEvent: created.Add(40 * time.Minute), Color: p.color,
			Teams: p.teams, Environments: envs,
			Releases: []string{p.slug + "@2.14.0", p.slug + "@2.14.1", p.slug + "@2.15.0"}})
	}

	people := []struct {
		name, user, role string
		teams            map[string]string
	}{
		{"Maria Garcia", "maria.garcia", "owner", map[string]string{"platform": "admin"}},
		{"James Chen", "james.chen", "manager", map[string]string{"platform": "contributor", "payments": "contributor"}},
		{"Priya Patel", "priya.patel", "admin", map[string]string{"frontend": "admin"}},
		{"Tom Becker", "tom.becker", "member", map[string]string{"frontend": "contributor"}},
		{"Sofia Rossi", "sofia.rossi", "member", map[string]string{"mobile": "admin"}},
		{"Ahmed Khan", "ahmed.khan", "member", map[string]string{"mobile": "contributor"}},
		{"Lena Novak", "lena.novak", "admin", map[string]string{"payments": "admin"}},
		{"Daniel Okafor", "daniel.okafor", "member", map[string]string{"payments": "contributor", "platform": "contributor"}},
		{"Yuki Tanaka", "yuki.tanaka", "member", map[string]string{"frontend": "contributor", "mobile": "contributor"}},
	}
	for i, p := range people {
		joined := d.Org.DateCreated.Add(time.Duration(i) * 9 * day)
		d.Members = append(d.Members, &Member{ID: fmt.Sprint(81000 + i*7), UserID: fmt.Sprint(2900100 + i*13),
			Email: p.user + "@acme-corp.example", Name: p.name, Username: p.user, OrgRole: p.role,
			DateCreated: joined, LastLogin: demoNow.Add(-time.Duration(i*5+1) * hour), Teams: p.teams})
	}
	d.Members = append(d.Members, &Member{ID: "81070", Email: "new.hire@acme-corp.example",
		Name: "new.hire@acme-corp.example", OrgRole: "member", Pending: true, Inviter: "Maria Garcia",
		DateCreated: demoNow.Add(-2 * day), Teams: map[string]string{}})

	users := map[string]*Member{}
	for _, m := range d.Members {
		users[m.Username] = m
	}
	for i, di := range demoIssues {
		p := d.Project(di.project)
		is := &Issue{ID: 4605173695 + uint64(i)*7919, Project: p, Title: di.title, Culprit: di.culprit,
			Level: di.level, Type: "error", Status: di.status, Substatus: di.substatus, Count: di.count,
			UserCount: di.users, FirstSeen: demoNow.Add(-di.firstAgo), LastSeen: demoNow.Add(-di.lastAgo),
			IsUnhandled: di.unhandled, EnvMask: di.envMask, ReleaseIdx: i}
		setMetadata(is)
		switch {
		case di.assignee == "":
		case len(di.assignee) > 5 && di.assignee[:5] == "team:":
			t := d.Team(di.assignee[5:])
			is.AssignedTo = &Assignee{Type: "team", ID: t.ID, Name: t.Slug}
		default:
			m := users[di.assignee]
			is.AssignedTo = &Assignee{Type: "user", ID: m.UserID, Name: m.Name, Email: m.Email}
		}
		d.addIssue(is)
	}
	d.ensureIndex()
	return d
}

// setMetadata splits "Type: value" titles into exception metadata, leaving
// the rest as message issues, as Sentry's grouping does.
func setMetadata(is *Issue) {
	typ, val, ok := cutType(is.Title)
	if !ok {
		is.Type = "default"
		return
	}
	is.Type = "error"
	is.MetaType, is.MetaValue = typ, val
	is.MetaFilename = culpritFile(is.Culprit)
	is.MetaFunction = is.Culprit
	if _, fn, ok := cutLast(is.Culprit, " in "); ok {
		is.MetaFunction = fn
	}
}

func cutType(title string) (typ, val string, ok bool) {
	for i := 0; i+1 < len(title); i++ {
		switch title[i] {
		case ' ':
			return "", "", false
		case ':':
			if title[i+1] == ' ' && i > 0 {
				return title[:i], title[i+2:], true
			}
		}
	}
	return "", "", false
}

func cutLast(s, sep string) (before, after string, ok bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}
