package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/template"
)

var emptySecrets template.Secrets

// send delivers one event, once: nil only when the sink took it (a tcp
// peer accepted the whole message, an http one answered 2xx).
func (s *Sink) send(ctx context.Context, client *http.Client, timeout time.Duration, e *Event) error {
	if s.missing != nil {
		return fmt.Errorf("%s: %w", s.Label(), s.missing)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch s.Kind {
	case TCP:
		msg, err := s.Text(e)
		if err != nil {
			return err
		}
		return s.sendTCP(ctx, []byte(msg))
	case Slack:
		msg, err := s.Text(e)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]string{"text": msg})
		return s.post(ctx, client, body, "")
	default:
		body, err := s.Body(e)
		if err != nil {
			return err
		}
		return s.post(ctx, client, body, e.Key())
	}
}

// sendTCP is seed 002's protocol: connect, write the UTF-8 message, close.
func (s *Sink) sendTCP(ctx context.Context, msg []byte) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", s.target)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Label(), s.scrub(err))
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	_, err = c.Write(msg)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.Label(), s.scrub(err))
	}
	return nil
}

func (s *Sink) post(ctx context.Context, client *http.Client, body []byte, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", s.Label(), s.scrub(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gitalog")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which may be the secret itself.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", s.Label(), s.scrub(err))
	}
	defer resp.Body.Close()
	said, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		msg := fmt.Sprintf("%s: HTTP %d", s.Label(), resp.StatusCode)
		if t := strings.TrimSpace(catalog.Printable(string(said))); t != "" {
			msg += ": " + bound(t, 200)
		}
		return errors.New(s.scrubText(msg))
	}
	return nil
}

// scrub removes the sink's target from an error's text: a Slack URL is a
// credential, and errors are logged.
func (s *Sink) scrub(err error) error {
	if t := s.scrubText(err.Error()); t != err.Error() {
		return errors.New(t)
	}
	return err
}

func (s *Sink) scrubText(t string) string {
	if s.Kind != TCP && s.target != "" {
		t = strings.ReplaceAll(t, s.target, s.shown)
		if u, err := url.Parse(s.target); err == nil && len(u.Path) > 1 {
			t = strings.ReplaceAll(t, u.Path, "/…")
		}
	}
	return t
}
