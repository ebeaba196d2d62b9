package scaffold

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"
)

func TestInitRefusesBadBranch(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(t.Context(), Options{Dir: dir, Branch: "HEAD", Author: testAuthor}); err == nil || !strings.Contains(err.Error(), "not a valid branch name") {
		t.Fatalf("init --branch HEAD: %v, want a refusal", err)
	}
}

var testAuthor = &object.Signature{Name: "Test", Email: "test@example.com"}
