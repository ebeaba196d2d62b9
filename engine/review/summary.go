package review

import (
	"fmt"
	"os"
	"strings"
)

// AppendStepSummary appends markdown to the file named by
// GITHUB_STEP_SUMMARY (GitHub Actions' job summary), when it is set; it
// does nothing otherwise.
func AppendStepSummary(getenv func(string) string, markdown string) error {
	p := getenv("GITHUB_STEP_SUMMARY")
	if p == "" {
		return nil
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	if fi, serr := f.Stat(); serr == nil && fi.Size() > 0 {
		markdown = "\n" + markdown // a blank line after what earlier steps wrote
	}
	_, err = f.WriteString(markdown)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	return nil
}
