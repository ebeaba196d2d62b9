package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// processWide are calls that change how the whole process runs: its GC,
// its memory limit, how the kernel backs its memory. Only main decides
// those, so a program that uses gitalog's packages keeps its own settings.
var processWide = map[string]bool{
	"SetGCPercent":   true,
	"SetMemoryLimit": true,
	"SetMaxThreads":  true,
	"Madvise":        true,
	"SYS_MADVISE":    true,
}

// TestLibraryLeavesTheProcessAlone: no package but main tunes the process.
func TestLibraryLeavesTheProcessAlone(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// bench/out holds generated catalogs, not code; testdata is data.
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || path == filepath.Join("bench", "out")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && processWide[sel.Sel.Name] {
				t.Errorf("%s: library code calls %s; only main may tune the process", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
