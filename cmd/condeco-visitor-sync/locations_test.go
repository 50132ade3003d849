package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// simLocation is the simulator's location with externalId ext.
func simLocation(t *testing.T, sim *simulator.Server, ext string) simulator.Location {
	t.Helper()
	for _, l := range sim.Locations() {
		if l.ExternalID == ext {
			return l
		}
	}
	t.Fatalf("Visitor has no location %s: %+v", ext, sim.Locations())
	return simulator.Location{}
}

// simUser is the simulator's user with externalId ext.
func holds(u simulator.User, locID string) bool {
	return slices.ContainsFunc(u.Locations, func(l simulator.LocationRole) bool { return l.Value == locID })
}

func execSQL(t *testing.T, f *fixture, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := f.db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func day2(t *testing.T, f *fixture) {
	t.Helper()
	if err := condeco.ExecFile(context.Background(), f.db, filepath.Join("..", "..", "testdata", "condeco", "day2.sql")); err != nil {
		t.Fatal(err)
	}
}

// Issue 15: Visitor's primary location is named after the building, as
// Condeco location 101 is. It is adopted (its externalId set) instead of
// a create Visitor refuses with 409, and every new user is created with
// it; before, every new user failed on every run.
func TestRunNowAdoptsLocationNamedLikeVisitors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{DefaultLocationName: "London Bridge"}, "")
	out := f.mustRun(service.ExitOK, "--run-now")
	mustContain(t, "run", out, "adopted 1")
	rep := lastReport(t, f)
	want := exportCount(t, f)
	if rep.Counts.Created != want || rep.Counts.Failed != 0 || rep.Counts.Conflicts != 0 || rep.Counts.LocationsAdopted != 1 || rep.Counts.LocationsCreated != 11 {
		t.Fatalf("counts = %+v (want %d created), failures %+v", rep.Counts, want, rep.Failures)
	}
	primary := simLocation(t, f.sim, "condeco-location:101")
	if !primary.Default || primary.Name != "London Bridge" || len(f.sim.Locations()) != 12 {
		t.Errorf("adopted location %+v; Visitor holds %d locations, want 12", primary, len(f.sim.Locations()))
	}
	n := 0
	for _, u := range f.sim.Users() {
		if strings.HasPrefix(u.ExternalID, "condeco:") {
			n++
			if !holds(u, primary.ID) || len(u.Locations) != 12 {
				t.Errorf("user %s created with %d locations, without the adopted one: %+v", u.UserName, len(u.Locations), u.Locations)
			}
		}
	}
	if n != want {
		t.Errorf("%d of %d new users created", n, want)
	}
	mustContain(t, "second dry run", f.mustRun(service.ExitOK, "--dry-run"), "planned changes: 0")
}

// adopt_existing_locations: false makes the same name a conflict that
// names the Condeco row, the Visitor location and the key; the users are
// still created, with the locations that exist.
func TestRunNowAdoptExistingLocationsOffIsANamedConflict(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{DefaultLocationName: "London Bridge"}, "adopt_existing_locations: false\n")
	f.mustRun(service.ExitPartial, "--run-now")
	rep := lastReport(t, f)
	want := exportCount(t, f)
	if rep.Counts.Created != want || rep.Counts.Failed != 0 || rep.Counts.Conflicts != 1 || rep.Counts.LocationsCreated != 11 || rep.Counts.LocationsAdopted != 0 {
		t.Fatalf("counts = %+v (want %d created, one conflict), failures %+v", rep.Counts, want, rep.Failures)
	}
	c := rep.Conflicts[0]
	var primary simulator.Location
	for _, l := range f.sim.Locations() {
		if l.Default {
			primary = l
		}
	}
	if primary.ExternalID != "" {
		t.Errorf("the Visitor location was changed: %+v", primary)
	}
	mustContain(t, "conflict", c.Reason+" fix: "+c.Fix, "Condeco location 101", `"London Bridge"`, "Visitor location "+primary.ID, "adopt_existing_locations: true")
	for _, u := range f.sim.Users() {
		if strings.HasPrefix(u.ExternalID, "condeco:") && len(u.Locations) != 12 {
			t.Errorf("user %s created with %d locations, want the 12 Visitor has", u.UserName, len(u.Locations))
		}
	}
}

// A location Visitor fails to create fails alone: the new starter of day
// two is created without it, the grant is owed in state_dir, and the run
// in which the location is created gives it to them (and to no one else).
func TestRunNowLocationCreateFailureOwesGrants(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "scim_retry_max: 0\n")
	f.mustRun(service.ExitOK, "--run-now")
	day2(t, f) // a new starter (231) and a new location (106)
	f.sim.SetFaults(simulator.Faults{ErrorRate: map[int]float64{500: 1}, Methods: []string{"POST"}, Paths: []string{"/Locations"}})
	out := f.mustRun(service.ExitPartial, "--run-now")
	mustContain(t, "failing run", out, "location grants owed 1")
	rep := lastReport(t, f)
	if rep.Counts.Created != 1 || rep.Counts.Failed != 1 || len(rep.Failures) != 1 || rep.Failures[0].Action != plan.ActionCreateLocation ||
		rep.Failures[0].ExternalID != "condeco-location:106" {
		t.Fatalf("counts = %+v, failures %+v: want the location alone failed", rep.Counts, rep.Failures)
	}
	ingrid := mustSimUser(t, f, "condeco:231")
	if n := len(f.sim.Locations()); len(ingrid.Locations) != n {
		t.Errorf("new starter created with %d locations, want the %d that exist", len(ingrid.Locations), n)
	}
	owed := filepath.Join(f.dir, "state", "owed-grants.json")
	b, err := os.ReadFile(owed)
	if err != nil || !strings.Contains(string(b), `"externalId": "condeco:231"`) || !strings.Contains(string(b), `"location": "condeco-location:106"`) {
		t.Fatalf("owed-grants.json (%v):\n%s", err, b)
	}

	f.sim.SetFaults(simulator.Faults{})
	out = f.mustRun(service.ExitOK, "--run-now")
	mustContain(t, "next run", out, "location grants owed from earlier runs")
	rep = lastReport(t, f)
	piccadilly := simLocation(t, f.sim, "condeco-location:106")
	if rep.Counts.LocationsCreated != 1 || rep.Counts.Updated != 1 || rep.Plan.Summary.OwedGrants != 1 || len(rep.OwedGrants) != 0 {
		t.Errorf("next run: counts %+v, owed given %d, still owed %+v", rep.Counts, rep.Plan.Summary.OwedGrants, rep.OwedGrants)
	}
	if !holds(mustSimUser(t, f, "condeco:231"), piccadilly.ID) {
		t.Errorf("the owed location was not given to the new starter")
	}
	if holds(mustSimUser(t, f, "condeco:1"), piccadilly.ID) {
		t.Errorf("an existing user who was owed nothing got the new location")
	}
	if b, err := os.ReadFile(owed); err != nil || !strings.Contains(string(b), `"grants": []`) {
		t.Errorf("owed-grants.json after the grant (%v):\n%s", err, b)
	}
	mustContain(t, "third dry run", f.mustRun(service.ExitOK, "--dry-run"), "planned changes: 0")
}

// A Condeco location renamed renames the Visitor location the sync made:
// planned as a location update, shown in the dry run and counted.
func TestRunNowRenamedLocationIsPatched(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	f.mustRun(service.ExitOK, "--run-now")
	execSQL(t, f, `UPDATE tblLocations SET LocationName = 'Canary Wharf One' WHERE LocationID = 102`)
	mustContain(t, "dry run", f.mustRun(service.ExitOK, "--dry-run"), "planned changes: 1", "update-location", "Canary Wharf → Canary Wharf One", "update 1 locations")
	mustContain(t, "run", f.mustRun(service.ExitOK, "--run-now"), "renamed 1")
	if l := simLocation(t, f.sim, "condeco-location:102"); l.Name != "Canary Wharf One" {
		t.Errorf("Visitor location = %+v", l)
	}
	if rep := lastReport(t, f); rep.Counts.LocationsUpdated != 1 || rep.Counts.Updated != 0 {
		t.Errorf("counts = %+v", rep.Counts)
	}
	mustContain(t, "second dry run", f.mustRun(service.ExitOK, "--dry-run"), "planned changes: 0")
}

// A location closed in Condeco is given to no new user, kept (not
// renamed or deleted) for those who have it, and listed in the summary.
func TestRunNowClosedLocationNotGivenToNewUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	f.mustRun(service.ExitOK, "--run-now")
	execSQL(t, f, `UPDATE tblLocations SET Active = 0, LocationName = 'Canary Wharf (closing)' WHERE LocationID = 102`)
	day2(t, f) // a new starter (231)
	out := f.mustRun(service.ExitOK, "--run-now")
	mustContain(t, "run", out, "closed locations 2 (given to no one new): Canary Wharf, Manchester Salford Quays (closed)")
	wharf := simLocation(t, f.sim, "condeco-location:102")
	if wharf.Name != "Canary Wharf" {
		t.Errorf("closed location renamed: %+v", wharf)
	}
	if holds(mustSimUser(t, f, "condeco:231"), wharf.ID) {
		t.Errorf("the new starter was given the closed location")
	}
	if !holds(mustSimUser(t, f, "condeco:1"), wharf.ID) {
		t.Errorf("an existing user lost the closed location")
	}
	if rep := lastReport(t, f); rep.Plan == nil || rep.Plan.Summary.ClosedLocations != 2 || len(rep.Plan.ClosedLocations) != 2 {
		t.Errorf("report does not list the closed locations: %+v", rep.Plan)
	}
}
