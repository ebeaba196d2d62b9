package sentry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The token quoted in Sentry's data (an exception message in an issue
// title, a member's name) is blanked before the data is parsed, so it
// reaches no file, summary or commit.
func TestTokenInDataRedacted(t *testing.T) {
	const slashy = "sntrys_eyJpYXQiOjE3MDAwMDAwMDB9/abc+def=_secretpart"
	for _, token := range []string{safetyToken, slashy} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			escaped := strings.ReplaceAll(token, "/", `\/`)
			fmt.Fprintf(w, `[{"id":"1","name":"Auth failed for %s"},{"id":"2","name":"token=%s"},{"id":"3","name":"%s"}]`,
				token, url.QueryEscape(token), escaped)
		}))
		c, err := NewClient(srv.URL, token, fastOpts(nil))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		err = listItems(c, context.Background(), "/organizations/o/members/", nil, "", func(items []any) error {
			for _, it := range items {
				got = append(got, it.(map[string]any)["name"].(string))
			}
			return nil
		})
		var raw []string
		err2 := c.List(context.Background(), "/organizations/o/members/", nil, "", func(items [][]byte, _ string) error {
			for _, it := range items {
				raw = append(raw, string(it))
			}
			return nil
		})
		srv.Close()
		if err := errors.Join(err, err2); err != nil {
			t.Fatal(err)
		}
		for _, s := range append(got, raw...) {
			if strings.Contains(s, token) || strings.Contains(s, url.QueryEscape(token)) || strings.Contains(s, strings.ReplaceAll(token, "/", `\/`)) {
				t.Fatalf("token left in %q", s)
			}
		}
		if got[0] != "Auth failed for [redacted]" {
			t.Errorf("name = %q", got[0])
		}
	}
}
