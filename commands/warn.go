package commands

import (
	"context"
	"github.com/gitalog/gitalog/engine/catalog"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// warnHandler prints a warning as the sync's summary prints its own,
// "warning: file:line: ...", one line each: a warning is for the user,
// like the summary, while debug lines (level=DEBUG msg=...) are for
// whoever reads a log. Other records pass on unchanged.
type warnHandler struct {
	slog.Handler
	w     io.Writer
	mu    *sync.Mutex
	attrs []slog.Attr
}

func newWarnHandler(inner slog.Handler, w io.Writer) *warnHandler {
	return &warnHandler{Handler: inner, w: w, mu: &sync.Mutex{}}
}

func (h *warnHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level != slog.LevelWarn {
		return h.Handler.Handle(ctx, r)
	}
	var b strings.Builder
	b.WriteString("warning: ")
	b.WriteString(catalog.Printable(r.Message))
	add := func(a slog.Attr) bool {
		if a.Key == "error" {
			// "could not save the item cache: <why>"
			b.WriteString(": " + catalog.Printable(a.Value.String()))
		} else if !a.Equal(slog.Attr{}) {
			b.WriteString(" " + a.Key + "=" + catalog.Printable(a.Value.String()))
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteString("\n")
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *warnHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.Handler = h.Handler.WithAttrs(attrs)
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *warnHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.Handler = h.Handler.WithGroup(name)
	return &c
}
