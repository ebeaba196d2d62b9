package config

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// BranchRef checks a branch name as "git check-ref-format --branch" does
// and returns its ref. A name git refuses would still be written as a ref
// file, and then break the user's git: refs/heads/HEAD makes every command
// warn that HEAD is ambiguous, refs/heads/-x reads as an option. A full
// ref name of a branch (refs/heads/x, what CI systems call the ref) is
// taken as that branch rather than nested under refs/heads/ again.
func BranchRef(name string) (plumbing.ReferenceName, error) {
	short := strings.TrimPrefix(name, "refs/heads/")
	bad := func(why string) error {
		return fmt.Errorf("--branch %q is not a valid branch name: %s", name, why)
	}
	switch {
	case short == "":
		return "", bad("it is empty")
	case short == "HEAD":
		return "", bad(`"HEAD" names the checked-out commit, not a branch`)
	case strings.HasPrefix(short, "-"):
		return "", bad(`it starts with "-"`)
	case strings.HasPrefix(short, "refs/"):
		return "", bad("give a branch name (x or refs/heads/x), not another kind of ref")
	}
	ref := plumbing.NewBranchReferenceName(short)
	if ref.Validate() != nil {
		return "", bad(`git refuses it (no "..", "@{", "~^:?*[\\", spaces, control characters, or a part that starts with "." or ends with ".lock")`)
	}
	return ref, nil
}
