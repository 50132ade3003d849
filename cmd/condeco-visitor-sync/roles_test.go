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
	got := mustSimUser(t, f, u.ExternalID)
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
		if r := rolesOn(mustSimUser(t, f, u.ExternalID), u.DefaultLocation); !slices.Equal(r, []string{"admin"}) {
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
	u := mustSimUser(t, f, ext)
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
	got := mustSimUser(t, f, ext)
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
	u := mustSimUser(t, f, ext)
	if err := os.Remove(filepath.Join(f.dir, "state", state.GrantsFile)); err != nil {
		t.Fatal(err)
	}
	demote(t, f, "3")
	out := f.mustRun(service.ExitOK, "--run-now")
	if r := rolesOn(mustSimUser(t, f, ext), u.DefaultLocation); !slices.Equal(r, []string{"admin"}) {
		t.Errorf("roles on the default location %v, want [admin] kept", r)
	}
	mustContain(t, "the run's summary", out, "warning: amelia.jones@example.co.uk", "no grants record", "by hand in Visitor")
	if g := readGrants(t, f); len(g) != 0 {
		t.Errorf("grants.json after a run without a record lists %+v, want only what that run granted (nothing)", g)
	}
}

// handMadeLookAlike stores, as a superuser would in the Visitor UI, a
// user with the userName of Condeco row 7001 (added with accessLevel), and
// the given roles on the first Visitor locations.
func handMadeLookAlike(t *testing.T, f *fixture, accessLevel int, roles ...string) simulator.User {
	t.Helper()
	locs := f.sim.Locations()
	if len(locs) < len(roles) {
		t.Fatalf("%d Visitor locations, want at least %d", len(locs), len(roles))
	}
	var access []simulator.LocationRole
	for i, r := range roles {
		access = append(access, simulator.LocationRole{Value: locs[i].ID, Role: r})
	}
	u := f.sim.AddHandmadeUser(simulator.User{UserName: "lena.berg@example.com", GivenName: "Lena", FamilyName: "Berg",
		Emails: []simulator.Email{{Value: "lena.berg@example.com", Type: "work", Primary: true}}, Active: true, Locations: access})
	_, err := f.db.ExecContext(context.Background(), `INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, AccessLevel, UserType, DefaultLocationID, Active, Deleted)
		VALUES (7001, 'lena.berg@example.com', 'lena.berg@example.com', 'Lena', 'Berg', ?, 1, 101, 1, 0)`, accessLevel)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Adoption keeps a superuser's admin on two locations (the integration
// grants admin to Global admins only), and is counted adopted, never
// created, in the plan, the report, the summary and --status.
func TestAdoptionKeepsASuperusersAdminOnTwoLocations(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "adopt_existing_users: true\n")
	f.mustRun(service.ExitOK, "--run-now")
	hand := handMadeLookAlike(t, f, 0, "admin", "admin")
	mustContain(t, "dry run", f.mustRun(service.ExitOK, "--dry-run"), "would adopt 1 Visitor users made by hand")
	out := f.mustRun(service.ExitOK, "--run-now")
	mustContain(t, "run", out, "created 0  adopted 1 ")
	rep := lastReport(t, f)
	if rep.Counts.Adopted != 1 || rep.Counts.Created != 0 || rep.Plan.Summary.Adoptions != 1 || rep.Plan.Summary.Creates != 0 || rep.Plan.Summary.AdminChanges != 0 {
		t.Errorf("counts %+v, plan adoptions %d creates %d admin changes %d; want 1 adopted, 0 created, no admin change",
			rep.Counts, rep.Plan.Summary.Adoptions, rep.Plan.Summary.Creates, rep.Plan.Summary.AdminChanges)
	}
	got := mustSimUser(t, f, "condeco:7001")
	if got.ID != hand.ID {
		t.Fatalf("condeco:7001 is Visitor user %s, want the hand-made %s adopted", got.ID, hand.ID)
	}
	for _, l := range hand.Locations {
		if r := rolesOn(got, l.Value); !slices.Equal(r, []string{"admin"}) {
			t.Errorf("roles on %s after the adoption: %v, want the superuser's [admin]", l.Value, r)
		}
	}
	mustContain(t, "--status", f.mustRun(service.ExitOK, "--status"), "ADOPTED")
	mustContain(t, "the next dry run", f.mustRun(service.ExitOK, "--dry-run"), "planned changes: 0")
}

// An adoption is planned, so the admin role it grants (the user is a
// Global admin in Condeco) counts against max_admin_changes before the
// first write, in the first full sync too (whose creates do not count):
// over the limit, nothing is written; approved, it goes through.
func TestAdoptionOverMaxAdminChangesStopsBeforeAnyWrite(t *testing.T) {
	t.Parallel()
	for _, firstSync := range []bool{false, true} {
		name := "after the first sync"
		if firstSync {
			name = "in the first full sync"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, simulator.Options{}, "adopt_existing_users: true\nmax_admin_changes: 0\n")
			if !firstSync {
				f.mustRun(service.ExitOK, "--run-now")
			}
			handMadeLookAlike(t, f, 1, "user")
			before := f.state()
			code, out, errs := f.run(context.Background(), "--run-now")
			if code != service.ExitSafetyLimit || f.state() != before {
				t.Fatalf("exit %d (want %d), Visitor changed %t\n%s\n%s", code, service.ExitSafetyLimit, f.state() != before, out, errs)
			}
			mustContain(t, "the refusal", out+errs, "max_admin_changes", "--allow-admin-changes 1")
			f.mustRun(service.ExitOK, "--run-now", "--allow-admin-changes", "1")
			got := mustSimUser(t, f, "condeco:7001")
			if r := rolesOn(got, got.DefaultLocation); !slices.Equal(r, []string{"admin"}) {
				t.Errorf("roles on the default location after the approved adoption: %v, want [admin]", r)
			}
			if rep := lastReport(t, f); rep.Counts.Adopted != 1 {
				t.Errorf("counts %+v, want 1 adopted", rep.Counts)
			}
			if !slices.ContainsFunc(readGrants(t, f), func(g state.AdminGrant) bool { return g.ExternalID == "condeco:7001" }) {
				t.Errorf("grants.json lacks the admin the adoption granted")
			}
		})
	}
}

// A Global admin's admin on the default location replaces a hand-set
// role there (one role per location); the audit intent line names the
// role replaced, grants.json keeps it, and the demotion gives it back.
func TestGlobalAdminReplacesAHandSetRoleAndTheDemotionGivesItBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	f.mustRun(service.ExitOK, "--run-now")
	id, u := ordinaryUser(t, f)
	f.sim.GrantByHand(u.ID, u.DefaultLocation, "reception")
	if _, err := f.db.ExecContext(ctx, "UPDATE tblUsers SET AccessLevel = 1 WHERE UserID = ?", id); err != nil {
		t.Fatal(err)
	}
	f.mustRun(service.ExitOK, "--run-now")
	if r := rolesOn(mustSimUser(t, f, u.ExternalID), u.DefaultLocation); !slices.Equal(r, []string{"admin"}) {
		t.Fatalf("roles on the default location after the promotion: %v, want [admin]", r)
	}
	rep := lastReport(t, f)
	var said bool
	for _, e := range auditLines(t, f, rep.RunID) {
		said = said || e.ExternalID == u.ExternalID && e.Result == "intent" && strings.Contains(e.Reason, u.DefaultLocation+":reception")
	}
	if !said {
		t.Errorf("no audit intent line for %s names the replaced role %s:reception", u.ExternalID, u.DefaultLocation)
	}
	if !slices.Contains(readGrants(t, f), state.AdminGrant{ExternalID: u.ExternalID, LocationID: u.DefaultLocation, Replaced: "reception"}) {
		t.Errorf("grants.json = %+v, want the grant to %s replacing reception", readGrants(t, f), u.ExternalID)
	}
	demote(t, f, id)
	f.mustRun(service.ExitOK, "--run-now")
	if r := rolesOn(mustSimUser(t, f, u.ExternalID), u.DefaultLocation); !slices.Equal(r, []string{"reception"}) {
		t.Errorf("roles on the default location after the demotion: %v, want the hand-set [reception] back", r)
	}
}
