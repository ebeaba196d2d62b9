package main

import (
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// The shell recipes README gives are the ones the scripts run: a recipe
// edited in one place and not the other fails here.
func TestReadmeRecipesAreTheScriptsOnes(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ script, file string }{
		{"testdata/script/retire_source.txtar", "retire.sh"},
	} {
		a, err := txtar.ParseFile(tc.script)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range a.Files {
			if f.Name != tc.file {
				continue
			}
			found = true
			if !strings.Contains(string(readme), "\n"+string(f.Data)) {
				t.Errorf("README.md does not hold %s's %s verbatim:\n%s", tc.script, tc.file, f.Data)
			}
		}
		if !found {
			t.Errorf("%s has no %s", tc.script, tc.file)
		}
	}
}
