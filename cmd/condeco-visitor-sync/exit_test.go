package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"condeco-visitor-sync/sync/service"
)

// The exit-code table is documented in README.md and docs/operations.md;
// scripts and alerts key on it, so the documents must match the code:
// every code once, README with the code's own name.
func TestExitCodeTablesMatchCode(t *testing.T) {
	t.Parallel()
	code := map[int]service.ExitCode{}
	for _, c := range service.ExitCodes {
		code[int(c)] = c
	}
	row := regexp.MustCompile(`(?m)^\| (\d+) \| ([^|]+) \|`)
	for _, doc := range []string{"../../README.md", "../../docs/operations.md"} {
		t.Run(doc, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(doc)
			if err != nil {
				t.Fatal(err)
			}
			documented := map[int]bool{}
			for _, m := range row.FindAllStringSubmatch(string(b), -1) {
				n, _ := strconv.Atoi(m[1])
				documented[n] = true
				c, ok := code[n]
				if !ok {
					t.Errorf("%s documents exit code %d, which the code does not have", doc, n)
					continue
				}
				if name := strings.TrimSpace(m[2]); strings.HasSuffix(doc, "README.md") && name != c.Name() {
					t.Errorf("README names exit code %d %q, the code %q", n, name, c.Name())
				}
			}
			for n := range code {
				if !documented[n] {
					t.Errorf("exit code %d is not documented in %s", n, doc)
				}
			}
		})
	}
}
