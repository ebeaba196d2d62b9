package sentry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gitalog/gitalog/engine/sentry/sentrytest"
)

// pagesServer serves n items, size per page as asked by per_page, with
// link(r, next, more) as the Link header ("" for none).
func pagesServer(t *testing.T, n int, link func(r *http.Request, next int, more bool) string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		start := 0
		if c := r.URL.Query().Get("cursor"); c != "" {
			start, _ = strconv.Atoi(strings.Split(c, ":")[1])
		}
		end := min(start+size, n)
		var items []map[string]string
		for i := start; i < end; i++ {
			items = append(items, map[string]string{"id": strconv.Itoa(i)})
		}
		if h := link(r, end, end < n); h != "" {
			w.Header().Set("Link", h)
		}
		json.NewEncoder(w).Encode(append([]map[string]string{}, items...))
	}))
	t.Cleanup(s.Close)
	return s
}

// A list whose pages carry no Link header (a proxy stripped it) cannot
// end on a full page: the rest of the list would be taken as deleted.
func TestFullPageWithoutLink(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		link    func(r *http.Request, next int, more bool) string
		want    int
		wantErr string
	}{
		{"no link, full page", 5, func(*http.Request, int, bool) string { return "" }, 0,
			"full page of 2 items without a Link header"},
		{"no link, short page", 1, func(*http.Request, int, bool) string { return "" }, 1, ""},
		{"no link, empty", 0, func(*http.Request, int, bool) string { return "" }, 0, ""},
		{"results True", 5, func(r *http.Request, next int, more bool) string {
			return fmt.Sprintf(`<http://%s%s?per_page=2&cursor=0:%d:0>; REL="Next"; results="%s"`, r.Host, r.URL.Path, next, strings.Title(strconv.FormatBool(more)))
		}, 5, ""},
		{"previous only, full page", 5, func(r *http.Request, next int, more bool) string {
			return fmt.Sprintf(`<http://%s%s?per_page=2&cursor=0:0:1>; rel="previous"; results="false"`, r.Host, r.URL.Path)
		}, 0, "full page of 2 items without a Link header"},
		{"next without results", 5, func(r *http.Request, next int, more bool) string {
			return fmt.Sprintf(`<http://%s%s?per_page=2&cursor=0:%d:0>; rel="next"`, r.Host, r.URL.Path, next)
		}, 5, ""},
		{"results false on a full page", 4, func(r *http.Request, next int, more bool) string {
			return fmt.Sprintf(`<http://%s%s?per_page=2&cursor=0:%d:0>; rel="next"; results="%t"`, r.Host, r.URL.Path, next, more)
		}, 4, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := pagesServer(t, tc.n, tc.link)
			c, err := NewClient(srv.URL, safetyToken, fastOpts(nil))
			if err != nil {
				t.Fatal(err)
			}
			ids, err := listIDs(t, c, "/organizations/o/members/", url.Values{"per_page": {"2"}})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ids %v, err %v; want error %q", ids, err, tc.wantErr)
				}
				return
			}
			if err != nil || len(ids) != tc.want {
				t.Fatalf("ids %v, err %v; want %d items", ids, err, tc.want)
			}
		})
	}
}

// Against the fake, with a proxy that drops Link from the second page on:
// the list fails there rather than end after two pages of members.
func TestFakeStrippedLink(t *testing.T) {
	s, c := fake(t, sentrytest.Demo(), sentrytest.Token, fastOpts(nil), sentrytest.WithPageSize(2))
	s.AddFault(sentrytest.Fault{PathContains: "/members/", NoLink: true, AfterRequests: 1})
	ids, err := listIDs(t, c, "/organizations/acme-corp/members/", url.Values{"per_page": {"2"}})
	if err == nil || !strings.Contains(err.Error(), "cursor=0:2:0: the server sent a full page of 2 items without a Link header") {
		t.Fatalf("ids %v, err %v", ids, err)
	}
	s.ClearFaults()
	if ids, err := listIDs(t, c, "/organizations/acme-corp/members/", url.Values{"per_page": {"2"}}); err != nil || len(ids) != 10 {
		t.Fatalf("without the fault: ids %v, err %v", ids, err)
	}
}
