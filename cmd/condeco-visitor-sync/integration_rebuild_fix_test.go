package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/service"
)

// An integration's lost ownership record stops the run with exit 12 and
// tells the operator to run --rebuild-ownership, which rebuilds that
// record too (found by review: it used to rebuild scim_url's only, so the
// integration stayed stopped whatever the operator did).
func TestRebuildOwnershipOfAnIntegration(t *testing.T) {
	t.Parallel()
	f, _, _ := newIntegrationsFixture(t)
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
