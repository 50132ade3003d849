package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// simUser is the simulator's user with externalId ext.
func simUser(t *testing.T, f *fixture, ext string) simulator.User {
	t.Helper()
	for _, u := range f.sim.Users() {
		if u.ExternalID == ext {
			return u
		}
	}
	t.Fatalf("no Visitor user with externalId %s", ext)
	return simulator.User{}
}

// rolesOn lists the roles u holds on loc, sorted.
func rolesOn(u simulator.User, loc string) []string {
	var out []string
	for _, l := range u.Locations {
		if l.Value == loc {
			out = append(out, l.Role)
		}
	}
	slices.Sort(out)
	return out
}

// ordinaryUser is a managed user holding only user on its default
// location after the first run (condeco id and the Visitor user).
func ordinaryUser(t *testing.T, f *fixture, skip ...string) (string, simulator.User) {
	t.Helper()
	for _, u := range f.sim.Users() {
		id, ok := strings.CutPrefix(u.ExternalID, "condeco:")
		if ok && u.Active && !slices.Contains(skip, id) && slices.Equal(rolesOn(u, u.DefaultLocation), []string{"user"}) {
			return id, u
		}
	}
	t.Fatal("no ordinary managed user")
	return "", simulator.User{}
}

// The demonstration for one role per location: a user given
// Reception on the default location by hand keeps it, alone (Visitor
// holds one role per location), and the update of another field
// succeeds; the next run plans nothing for them.
func TestHandSetReceptionOnTheDefaultLocationIsKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	f.mustRun(service.ExitOK, "--run-now")
	id, u := ordinaryUser(t, f)
	if !f.sim.GrantByHand(u.ID, u.DefaultLocation, "reception") {
		t.Fatal("grant by hand failed")
	}
	if _, err := f.db.ExecContext(ctx, "UPDATE tblUsers SET LastName = 'Handset' WHERE UserID = ?", id); err != nil {
		t.Fatal(err)
	}
	out := f.mustRun(service.ExitOK, "--run-now")
	mustContain(t, "run after the hand grant", out, "updated 1 ", "failed 0")
	got := simUser(t, f, u.ExternalID)
	if r := rolesOn(got, u.DefaultLocation); !slices.Equal(r, []string{"reception"}) || got.FamilyName != "Handset" {
		t.Errorf("after the run: roles on the default location %v (want [reception]), family name %q (want Handset)", r, got.FamilyName)
	}
	mustContain(t, "the next dry run", f.mustRun(service.ExitOK, "--dry-run"), "planned changes: 0")
}
