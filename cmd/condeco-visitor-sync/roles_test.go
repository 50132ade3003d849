package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"condeco-visitor-sync/state"
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

// readGrants is state_dir/grants.json as the next run reads it.
func readGrants(t *testing.T, f *fixture) []state.AdminGrant {
	t.Helper()
	d, err := state.Open(filepath.Join(f.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	g, found, err := d.ReadGrants()
	if err != nil || !found {
		t.Fatalf("grants.json: found %v, %v", found, err)
	}
	return g
}

// demote makes Condeco user id an ordinary user.
func demote(t *testing.T, f *fixture, id string) {
	t.Helper()
	if _, err := f.db.ExecContext(context.Background(), "UPDATE tblUsers SET AccessLevel = 0 WHERE UserID = ?", id); err != nil {
		t.Fatal(err)
	}
}

// The sync revokes only what it granted: admin on the default location
// granted by hand to a user who is no Global admin is kept, run after
// run, and is no admin change.
func TestHandGrantedAdminOnTheDefaultLocationIsKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	f.mustRun(service.ExitOK, "--run-now")
	_, u := ordinaryUser(t, f)
	f.sim.GrantByHand(u.ID, u.DefaultLocation, "admin")
	for run := range 2 {
		out := f.mustRun(service.ExitOK, "--run-now")
		if r := rolesOn(simUser(t, f, u.ExternalID), u.DefaultLocation); !slices.Equal(r, []string{"admin"}) {
			t.Fatalf("run %d: roles on the default location %v, want the hand-granted [admin]", run+1, r)
		}
		if rep := lastReport(t, f); rep.Plan.Summary.AdminChanges != 0 || rep.Counts.Updated != 0 {
			t.Errorf("run %d: admin changes %d, updated %d; want 0, 0\n%s", run+1, rep.Plan.Summary.AdminChanges, rep.Counts.Updated, out)
		}
	}
}

// A demoted Global admin loses exactly the sync's grant (admin on the
// default location, recorded in grants.json when the sync made it); an
// admin role a superuser gave them elsewhere stays.
func TestDemotedGlobalAdminLosesExactlyTheSyncsGrant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	f.mustRun(service.ExitOK, "--run-now")
	const ext = "condeco:3" // amelia.jones, a Global admin in the sample
	if !slices.ContainsFunc(readGrants(t, f), func(g state.AdminGrant) bool { return g.ExternalID == ext }) {
		t.Fatalf("grants.json lacks the grant to %s: %+v", ext, readGrants(t, f))
	}
	u := simUser(t, f, ext)
	var other string
	for _, l := range u.Locations {
		if l.Value != u.DefaultLocation {
			other = l.Value
			break
		}
	}
	f.sim.GrantByHand(u.ID, other, "admin")
	demote(t, f, "3")
	out := f.mustRun(service.ExitOK, "--run-now")
	got := simUser(t, f, ext)
	if r, o := rolesOn(got, u.DefaultLocation), rolesOn(got, other); !slices.Equal(r, []string{"user"}) || !slices.Equal(o, []string{"admin"}) {
		t.Errorf("after the demotion: default location %v (want [user]), %s %v (want the hand-granted [admin])", r, other, o)
	}
	if rep := lastReport(t, f); rep.Plan.Summary.AdminChanges != 1 {
		t.Errorf("admin changes %d, want 1\n%s", rep.Plan.Summary.AdminChanges, out)
	}
	if slices.ContainsFunc(readGrants(t, f), func(g state.AdminGrant) bool { return g.ExternalID == ext }) {
		t.Errorf("grants.json still lists the revoked grant to %s", ext)
	}
}

// A lost grants record never leads to a revoke: the demoted Global admin
// keeps admin, and the run says so with what the operator can do; the run
// writes the record again.
func TestLostGrantsRecordRevokesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	f.mustRun(service.ExitOK, "--run-now")
	const ext = "condeco:3"
	u := simUser(t, f, ext)
	if err := os.Remove(filepath.Join(f.dir, "state", state.GrantsFile)); err != nil {
		t.Fatal(err)
	}
	demote(t, f, "3")
	out := f.mustRun(service.ExitOK, "--run-now")
	if r := rolesOn(simUser(t, f, ext), u.DefaultLocation); !slices.Equal(r, []string{"admin"}) {
		t.Errorf("roles on the default location %v, want [admin] kept", r)
	}
	mustContain(t, "the run's summary", out, "warning: amelia.jones@example.co.uk", "no grants record", "by hand in Visitor")
	if g := readGrants(t, f); len(g) != 0 {
		t.Errorf("grants.json after a run without a record lists %+v, want only what that run granted (nothing)", g)
	}
}
