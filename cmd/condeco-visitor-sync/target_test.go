package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// After a good run, a Visitor that lists no managed user (here: someone
// deleted them all by hand) stops the next run before any write, exit 12;
// approved, the plan re-creates them as new starters, not as a first sync.
func TestTargetGuardStopsAnEmptyListing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "invitations: suppress-initial\n")
	ctx := context.Background()
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("initial run: exit %d\n%s\n%s", code, out, errs)
	}
	for _, u := range f.sim.Users() {
		if !strings.HasPrefix(u.ExternalID, "condeco:") {
			continue
		}
		req, _ := http.NewRequest(http.MethodDelete, f.url+"/Users/"+u.ID, nil)
		req.Header.Set("Authorization", "Bearer "+f.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	before := f.state()
	code, out, errs := f.run(ctx, "--run-now")
	if code != service.ExitTargetGuard || !strings.Contains(out+errs, "--allow-target-shrink") {
		t.Fatalf("exit %d, want %d naming the flag\n%s\n%s", code, service.ExitTargetGuard, out, errs)
	}
	if f.state() != before {
		t.Error("the stopped run wrote to Visitor")
	}
	code, out, _ = f.run(ctx, "--run-now", "--dry-run", "--allow-target-shrink")
	if code != service.ExitOK || !strings.Contains(out, "new user, invitation") {
		t.Fatalf("approved dry run (exit %d) should plan creates with invitations:\n%s", code, out)
	}
}

// A changed external_id_prefix while Visitor's managed users carry the
// recorded one stops at start with the configuration code, naming both,
// rather than reading everyone as gone or as a first sync.
func TestPrefixChangeStopsAtStart(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("initial run: exit %d\n%s\n%s", code, out, errs)
	}
	appendCfg(t, f, "external_id_prefix: \"hr:\"\n")
	before := f.state()
	code, out, errs := f.run(ctx, "--run-now")
	if code != service.ExitConfig || !strings.Contains(out+errs, `"hr:"`) || !strings.Contains(out+errs, `"condeco:"`) || !strings.Contains(out+errs, "Change the externalId prefix") {
		t.Fatalf("exit %d, want %d naming both prefixes and the docs\n%s\n%s", code, service.ExitConfig, out, errs)
	}
	if f.state() != before {
		t.Error("the stopped run wrote to Visitor")
	}
	// Set back: the run goes on as before.
	appendCfg(t, f, "external_id_prefix: \"condeco:\"\n")
	if code, out, _ := f.run(ctx, "--run-now", "--dry-run"); code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
		t.Fatalf("with the prefix back (exit %d):\n%s", code, out)
	}
}
