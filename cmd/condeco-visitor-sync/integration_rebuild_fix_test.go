package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// An integration's lost ownership record stops the run with exit 12 and
// tells the operator to run --rebuild-ownership (docs/operations.md: "the
// next run stops with exit code 12 until it is rebuilt"); but
// --rebuild-ownership rebuilds only scim_url's record, so the integration
// stays stopped whatever the operator does.
func TestRebuildOwnershipOfAnIntegration(t *testing.T) {
	t.Parallel()
	url2, _, stop2, err := simulator.Start(simulator.Options{API: simulator.APIGenericV1, Token: "second-token-4b1e"}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop2(context.Background()) })
	tokenFile := filepath.Join(t.TempDir(), "dubai-token")
	if err := os.WriteFile(tokenFile, []byte("second-token-4b1e\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newGenericFixture(t, simulator.Options{}, "visitor_integrations:\n  - location: Dubai Marina\n    url: "+url2+"\n    token_file: "+tokenFile+"\n")
	ctx := context.Background()
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("run exit %d\n%s\n%s", code, out, errs)
	}
	for _, name := range []string{state.OwnershipFile, state.OwnershipJournal} {
		os.Remove(filepath.Join(f.dir, "state", "integrations", "dubai-marina", name))
	}
	code, out, errs := f.run(ctx, "--run-now")
	if code != service.ExitTargetGuard || !strings.Contains(out+errs, "--rebuild-ownership") {
		t.Fatalf("lost integration record: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := f.run(ctx, "--rebuild-ownership"); code != service.ExitOK {
		t.Fatalf("rebuild exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("after --rebuild-ownership, as instructed, the run still exits %d:\n%s\n%s", code, out, errs)
	}
}
