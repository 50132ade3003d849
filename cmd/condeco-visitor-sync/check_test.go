package main

import (
	"context"
	"strings"
	"testing"

	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// --check sends the requests a run sends and prints what the server
// supports; the run's report records the capabilities it used.
func TestCheckSendsTheRunsRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	if rep := lastReport(t, f); rep.Capabilities == nil || !rep.Capabilities.Locations || !rep.Capabilities.OrFilters {
		t.Errorf("report capabilities = %+v", rep.Capabilities)
	}
	before := f.sim.Stats()
	code, out, errs := f.run(ctx, "--check")
	if code != service.ExitOK {
		t.Fatalf("check: exit %d\n%s\n%s", code, out, errs)
	}
	for _, w := range []string{"service provider config", `managed-user listing (externalId sw "condeco:")`, "ok: totalResults", "eq filter on a known user", "or filter", "phone form", "E.164"} {
		if !strings.Contains(out, w) {
			t.Errorf("check output lacks %q:\n%s", w, out)
		}
	}
	after := f.sim.Stats()
	if w := after.ByMethod["POST"] + after.ByMethod["PATCH"] + after.ByMethod["DELETE"] - before.ByMethod["POST"] - before.ByMethod["PATCH"] - before.ByMethod["DELETE"]; w != 0 {
		t.Errorf("--check wrote %d times", w)
	}
	if n := after.ByRoute["/Users"] - before.ByRoute["/Users"]; n < 3 {
		t.Errorf("--check sent %d user listings, want the run's own (count=1), an eq and an or filter", n)
	}
}
