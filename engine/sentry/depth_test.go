package sentry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gitalog/gitalog/engine/jsonx"
)

// A response nested deeper than jsonx.MaxDepth is refused at once, by the
// decoding and the splitting list alike: the same request would get the
// same bytes, so it is not retried.
func TestTooDeepBodyIsNotRetried(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 9995) + "1" + strings.Repeat("}", 9995)
	for name, list := range map[string]func(c *Client) error{
		"decoded": func(c *Client) error {
			return listItems(c, context.Background(), "/x/", nil, "", func([]any) error { return nil })
		},
		"List": func(c *Client) error {
			return c.List(context.Background(), "/x/", nil, "", func(_ [][]byte, _ string) error { return nil })
		},
	} {
		var requests atomic.Int32
		o := fastOpts(nil)
		o.HTTPClient = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
			requests.Add(1)
			return jsonResp(r, 200, "["+deep+"]", nil), nil
		})}
		c, _ := NewClient("https://sentry.example", "tok", o)
		err := list(c)
		if err == nil || !strings.Contains(err.Error(), "JSON nested deeper than 512 levels") {
			t.Errorf("%s: err = %v", name, err)
		}
		if n := requests.Load(); n != 1 {
			t.Errorf("%s: %d requests, want 1", name, n)
		}
		var de *jsonx.DepthError
		if !errors.As(err, &de) {
			t.Errorf("%s: %v is not a DepthError", name, err)
		}
	}
}
