package gitstore

import (
	"errors"
	"fmt"
	"testing"

	gogit "github.com/go-git/go-git/v5"
)

func TestRemoteMoved(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{gogit.ErrNonFastForwardUpdate, true},
		{fmt.Errorf("wrapped: %w", gogit.ErrNonFastForwardUpdate), true},
		// git-receive-pack's statuses, as go-git reports them.
		{errors.New("command error on refs/heads/main: failed to update ref"), true},
		{errors.New("command error on refs/heads/main: cannot lock ref 'refs/heads/main': is at 1111111111111111111111111111111111111111 but expected 2222222222222222222222222222222222222222"), true},
		{errors.New("command error on refs/heads/main: Cannot lock ref 'refs/heads/main': reference already exists"), true},
		{errors.New("command error on refs/heads/main: stale info"), true},
		{errors.New("! [rejected] main -> main (fetch first)"), true},
		{errors.New("! [rejected] main -> main (non-fast-forward)"), true},
		{errors.New("command error on refs/heads/main: protected branch hook declined"), false},
		{errors.New("authentication required"), false},
		{errors.New("unpack error: index-pack abnormal exit"), false},
	}
	for _, tt := range tests {
		if got := remoteMoved(tt.err); got != tt.want {
			t.Errorf("remoteMoved(%q) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
