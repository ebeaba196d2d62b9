package review

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// atLayouts are the dates and times At accepts, besides RFC 3339: a date
// alone, or a date and a time of day, in the local time zone.
var atLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// ParseAtTime reads spec as a point in time. A date alone means the end
// of that day: "the catalog on Monday" is the catalog as Monday left it.
func ParseAtTime(spec string, loc *time.Location) (time.Time, bool) {
	spec = strings.TrimSpace(spec)
	if t, err := time.Parse(time.RFC3339Nano, spec); err == nil {
		return t, true
	}
	for _, l := range atLayouts {
		if t, err := time.ParseInLocation(l, spec, loc); err == nil {
			if l == "2006-01-02" {
				t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// At resolves spec, a revision (as Resolve reads it) or a date or time
// (see ParseAtTime), to a commit. For a time it is the newest commit on
// HEAD's first-parent line committed at or before it, the state the
// branch had then; an empty spec is HEAD.
func (r *Repo) At(spec string) (Rev, error) {
	if strings.TrimSpace(spec) == "" {
		h, err := r.head()
		return Rev{Name: "HEAD", Commit: h}, err
	}
	t, isTime := ParseAtTime(spec, time.Local)
	if !isTime {
		h, err := r.Resolve(spec)
		if err != nil {
			return Rev{}, err
		}
		rev := Rev{Name: spec, Commit: h}
		return rev, r.checkReachable(rev)
	}
	h, err := r.head()
	if err != nil {
		return Rev{}, err
	}
	sh, err := r.shallow()
	if err != nil {
		return Rev{}, err
	}
	var oldest time.Time
	for {
		c, err := r.git.CommitObject(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) && len(sh) > 0 {
			return Rev{}, r.beyondBoundary(fmt.Errorf("no commit at or before %s", t.Format(time.RFC3339)))
		}
		if err != nil {
			return Rev{}, fmt.Errorf("reading commit %s: %w", h, err)
		}
		if !c.Committer.When.After(t) {
			return Rev{Name: spec, Commit: h}, nil
		}
		oldest = c.Committer.When
		if len(c.ParentHashes) == 0 || sh[h] {
			err := fmt.Errorf("no commit at or before %s: the oldest on HEAD's first-parent line is from %s", t.Format(time.RFC3339), oldest.Format(time.RFC3339))
			if sh[h] {
				return Rev{}, r.beyondBoundary(err)
			}
			return Rev{}, err
		}
		h = c.ParentHashes[0]
	}
}
