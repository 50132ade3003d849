package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
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

// --check exits with the code a run would for the same failure: an
// unreachable Visitor is 9 (target) for both, not 1.
func TestCheckUsesTheRunsExitCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "scim_retry_max: 0\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/scim/v2"
	ln.Close() // nothing listens there any more
	appendCfg(t, f, fmt.Sprintf("scim_url: %q\n", closed))
	for _, mode := range []string{"--check", "--run-now"} {
		if code, out, errs := f.run(context.Background(), mode); code != service.ExitTarget {
			t.Errorf("%s: exit %d, want %d (target)\n%s\n%s", mode, code, service.ExitTarget, out, errs)
		}
	}
}
