package main

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// The exit-code table is documented in README.md and docs/operations.md;
// scripts and alerts key on it, so the documents must match the code.
func TestExitCodeTablesMatchCode(t *testing.T) {
	code := map[int]bool{ExitOK: true, ExitError: true, ExitConfig: true, ExitPartial: true, ExitSafetyLimit: true,
		ExitSourceGuard: true, ExitLockBusy: true, ExitAuth: true, ExitSource: true, ExitTarget: true, ExitInterrupted: true}
	row := regexp.MustCompile(`(?m)^\| (\d+) \|`)
	for _, doc := range []string{"../../README.md", "../../docs/operations.md"} {
		t.Run(doc, func(t *testing.T) {
			b, err := os.ReadFile(doc)
			if err != nil {
				t.Fatal(err)
			}
			documented := map[int]bool{}
			for _, m := range row.FindAllStringSubmatch(string(b), -1) {
				n, _ := strconv.Atoi(m[1])
				documented[n] = true
			}
			for c := range code {
				if !documented[c] {
					t.Errorf("exit code %d is not documented in %s", c, doc)
				}
			}
			for c := range documented {
				if !code[c] {
					t.Errorf("%s documents exit code %d, which the code does not have", doc, c)
				}
			}
		})
	}
}
