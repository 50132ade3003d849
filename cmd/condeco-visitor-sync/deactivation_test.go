package main

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor"
	"condeco-visitor-sync/visitor/simulator"
)

// Deactivation is reversible, through the real CLI against the simulator:
// a row deactivated in Condeco deactivates the same Visitor account and
// a reactivation brings it back, with the access granted by hand; only a
// row deleted in Condeco meets the deprovision mode.

// simUser returns the simulator's user with externalId ext.
func simUser(f *fixture, ext string) (simulator.User, bool) {
	for _, u := range f.sim.Users() {
		if u.ExternalID == ext {
			return u, true
		}
	}
	return simulator.User{}, false
}

// mustSimUser is simUser for a user that must be there.
func mustSimUser(t *testing.T, f *fixture, ext string) simulator.User {
	t.Helper()
	u, ok := simUser(f, ext)
	if !ok {
		t.Fatalf("Visitor has no user %s", ext)
	}
	return u
}

// hasRole says whether u holds role on some location.
func hasRole(u simulator.User, role string) bool {
	return slices.ContainsFunc(u.Locations, func(l simulator.LocationRole) bool { return l.Role == role })
}

// grantByHand makes the Visitor user ext reception (in place of user) on
// a location other than its default, as a Visitor superuser would in the
// UI: a role the sync does not own and must keep. (Visitor holds one
// role a location.)
func grantByHand(t *testing.T, f *fixture, ext string) {
	t.Helper()
	ctx := context.Background()
	c, err := visitor.New(visitor.Options{BaseURL: f.url, Token: f.token}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.GetUser(ctx, mustSimUser(t, f, ext).ID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(u.Access, func(a visitor.Access) bool { return a.LocationID != u.DefaultLocation })
	if i < 0 {
		t.Fatalf("%s has access to its default location only", ext)
	}
	u.Access = slices.Clone(u.Access)
	u.Access[i].Role = "reception"
	if _, err := c.UpdateUser(ctx, u.ID, u, []visitor.Field{visitor.FieldAccess}); err != nil {
		t.Fatal(err)
	}
	if !hasRole(mustSimUser(t, f, ext), "reception") {
		t.Fatal("the hand-granted reception role did not reach Visitor")
	}
}

// exec runs SQL statements on the fixture's Condeco database.
func (f *fixture) exec(qs ...string) {
	f.t.Helper()
	for _, q := range qs {
		if _, err := f.db.ExecContext(context.Background(), q); err != nil {
			f.t.Fatalf("%s: %v", q, err)
		}
	}
}

// runOK runs the CLI and fails the test unless it exits 0.
func (f *fixture) runOK(args ...string) string {
	f.t.Helper()
	code, out, errs := f.run(context.Background(), args...)
	if code != service.ExitOK {
		f.t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errs)
	}
	return out
}

// converged checks that a dry run now plans nothing.
func (f *fixture) converged() {
	f.t.Helper()
	if out := f.runOK("--dry-run"); !strings.Contains(out, "planned changes: 0") {
		f.t.Fatalf("a dry run still plans changes:\n%s", out)
	}
}

// TestDeactivationInCondecoIsReversible: user 50 is deactivated in
// Condeco, then reactivated, then deleted, under each deprovision mode.
// Deactivated: the same Visitor account is inactive, its hand-granted
// reception role kept, whatever deprovision says; reactivated: the same
// account is active again with that role; deleted: the deprovision mode.
func TestDeactivationInCondecoIsReversible(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		deprovision string
		deleted     bool // after the Condeco deletion: gone (else inactive)
	}{
		{"delete", true},
		{"deactivate", false},
		{"deactivate-then-delete", false}, // deleted 30 days after
	} {
		t.Run(c.deprovision, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, simulator.Options{}, "deprovision: "+c.deprovision+"\n")
			f.runOK("--run-now")
			grantByHand(t, f, "condeco:50")
			was := mustSimUser(t, f, "condeco:50")

			f.exec("UPDATE tblUsers SET Active = 0 WHERE UserID = 50")
			f.runOK("--run-now")
			if rep := lastReport(t, f); rep.Counts.Deactivated != 1 || rep.Counts.Deleted != 0 {
				t.Errorf("deactivation run: counts %+v, want 1 deactivated, 0 deleted", rep.Counts)
			}
			u := mustSimUser(t, f, "condeco:50")
			if u.ID != was.ID || u.Active || !hasRole(u, "reception") || !reflect.DeepEqual(u.Locations, was.Locations) {
				t.Fatalf("deactivated: id %s (was %s), active %v, locations %+v (were %+v); want the same account inactive with its access",
					u.ID, was.ID, u.Active, u.Locations, was.Locations)
			}
			f.converged()
			if out := f.runOK("--explain", "condeco:50"); !strings.Contains(out, "deactivated in Condeco and already inactive in Visitor") {
				t.Errorf("--explain does not say the row is deactivated:\n%s", out)
			}

			f.exec("UPDATE tblUsers SET Active = 1 WHERE UserID = 50")
			f.runOK("--run-now")
			u = mustSimUser(t, f, "condeco:50")
			if u.ID != was.ID || !u.Active || !hasRole(u, "reception") || !reflect.DeepEqual(u.Locations, was.Locations) {
				t.Fatalf("reactivated: id %s (was %s), active %v, locations %+v; want the same account active with the reception role",
					u.ID, was.ID, u.Active, u.Locations)
			}
			if rep := lastReport(t, f); rep.Counts.Updated != 1 || rep.Counts.Created != 0 {
				t.Errorf("reactivation run: counts %+v, want 1 updated, none created", rep.Counts)
			}
			f.converged()

			f.exec("UPDATE tblUsers SET Deleted = 1 WHERE UserID = 50")
			f.runOK("--run-now")
			u, ok := simUser(f, "condeco:50")
			switch {
			case c.deleted && ok:
				t.Errorf("deleted in Condeco under deprovision %s: the Visitor account is still there", c.deprovision)
			case !c.deleted && (!ok || u.Active || u.ID != was.ID):
				t.Errorf("deleted in Condeco under deprovision %s: account there %v, active %v; want the same account inactive", c.deprovision, ok, u.Active)
			}
			f.converged()
		})
	}
}

// peopleFixture replaces the sample's users with n plain employees,
// condeco:5001 and on, and syncs them once.
func peopleFixture(t *testing.T, cfg string, n int) *fixture {
	t.Helper()
	f := newFixture(t, simulator.Options{}, cfg)
	f.exec("DELETE FROM tblUsers")
	for i := 1; i <= n; i++ {
		level := 0
		if i == 1 {
			level = 1 // a Global admin: Visitor keeps one active admin
		}
		f.exec(fmt.Sprintf(`INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, AccessLevel, UserType, DefaultLocationID, Active, Deleted)
			VALUES (%d, 'person%03d@example.com', 'person%03d@example.com', 'Test', 'Person%03d', %d, 1, 101, 1, 0)`, 5000+i, i, i, i, level))
	}
	f.runOK("--run-now")
	if m := managedUsers(f.sim); m != n {
		t.Fatalf("%d managed users after the first run, want %d", m, n)
	}
	return f
}

// activeManaged counts the simulator's active managed users.
func activeManaged(f *fixture) int {
	n := 0
	for _, u := range f.sim.Users() {
		if strings.HasPrefix(u.ExternalID, "condeco:") && u.Active {
			n++
		}
	}
	return n
}

// TestTurnoverDoesNotTripTheSourceGuard: 15 % of 100 people leave over
// five runs, three a run, deleted or deactivated in Condeco. Under
// deprovision: deactivate their accounts stay in Visitor, inactive; under
// policy upsert-only they stay active. Every run passes: the guard
// compares the export, deactivated rows included, with the active managed
// users. (Counting the inactive leavers stopped the fourth run of the
// first case for good, 88 < 90 of 100; reading deactivated rows as gone
// stopped the fourth run of the others.)
func TestTurnoverDoesNotTripTheSourceGuard(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, cfg        string
		deactivate, drop int // a run, in Condeco
		deactivated      int // a run, in Visitor
		active           int // Visitor's active managed users after the five runs
	}{
		{"deprovision deactivate, leavers deleted in Condeco", "deprovision: deactivate\n", 0, 3, 3, 85},
		{"deprovision deactivate, leavers deactivated in Condeco", "deprovision: deactivate\n", 3, 0, 3, 85},
		{"policy upsert-only, leavers deactivated in Condeco", "policy: upsert-only\n", 3, 0, 0, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := peopleFixture(t, c.cfg, 100)
			next := 5100 // leavers from the end; 5001 is the Global admin
			for run := 1; run <= 5; run++ {
				for range c.deactivate {
					f.exec(fmt.Sprintf("UPDATE tblUsers SET Active = 0 WHERE UserID = %d", next))
					next--
				}
				for range c.drop {
					f.exec(fmt.Sprintf("UPDATE tblUsers SET Deleted = 1 WHERE UserID = %d", next))
					next--
				}
				out := f.runOK("--run-now")
				if rep := lastReport(t, f); rep.Counts.Deactivated != c.deactivated || rep.Counts.Deleted != 0 {
					t.Errorf("run %d: counts %+v, want %d deactivated, 0 deleted\n%s", run, rep.Counts, c.deactivated, out)
				}
			}
			if n, a := managedUsers(f.sim), activeManaged(f); n != 100 || a != c.active {
				t.Errorf("Visitor holds %d managed users, %d active; want 100, %d", n, a, c.active)
			}
			f.converged()
		})
	}
}

// TestRehire: user 50 leaves (deactivated in Condeco) and comes back
// under a new Condeco id, 990, with the same email. Where deprovision may
// delete and the limits allow, the old account is deleted and the new one
// created in one run; otherwise the new row is a conflict whose fix names
// both accounts, and nothing is deleted.
func TestRehire(t *testing.T) {
	t.Parallel()
	const rehire = `INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, AccessLevel, UserType, DefaultLocationID, Active, Deleted)
		SELECT 990, UserName, Email, FirstName, LastName, 0, 1, DefaultLocationID, 1, 0 FROM tblUsers WHERE UserID = 50`
	for _, c := range []struct {
		name     string
		cfg      string
		sameRun  bool     // deactivation and rehire read by one run
		allow    []string // flags of the deactivation run
		then     string   // configuration line set before the rehire run
		conflict string   // "": delete-old + create-new
	}{
		{name: "deprovision delete deletes the old account and creates the new"},
		{name: "deactivate-then-delete in the run that deactivates", cfg: "deprovision: deactivate-then-delete\n", sameRun: true},
		{name: "deprovision deactivate is a conflict naming both accounts", cfg: "deprovision: deactivate\n",
			conflict: "deprovision: deactivate deletes no one"},
		{name: "max_deletes 0 is a conflict naming both accounts", cfg: "max_deletes: 0\n", allow: []string{"--allow-deletes", "1"},
			conflict: "would exceed max_deletes (0)"},
		{name: "policy upsert-only is a conflict naming both accounts", then: "policy: upsert-only\n",
			conflict: "policy upsert-only deletes no one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, simulator.Options{}, c.cfg)
			f.runOK("--run-now")
			old := mustSimUser(t, f, "condeco:50")
			f.exec("UPDATE tblUsers SET Active = 0 WHERE UserID = 50")
			if !c.sameRun {
				f.runOK(append([]string{"--run-now"}, c.allow...)...)
				if mustSimUser(t, f, "condeco:50").Active {
					t.Fatal("user 50 still active after its deactivation run")
				}
			}
			if c.then != "" {
				appendCfg(t, f, c.then)
			}
			f.exec(rehire)
			code, out, errs := f.run(context.Background(), "--run-now")
			rep := lastReport(t, f)
			if c.conflict == "" {
				if code != service.ExitOK {
					t.Fatalf("rehire run: exit %d\n%s\n%s", code, out, errs)
				}
				if _, ok := simUser(f, "condeco:50"); ok {
					t.Error("the old account is still in Visitor")
				}
				if u := mustSimUser(t, f, "condeco:990"); !u.Active || !strings.EqualFold(u.UserName, old.UserName) {
					t.Errorf("new account: active %v, userName %s; want active, %s", u.Active, u.UserName, old.UserName)
				}
				if rep.Counts.Deleted != 1 || rep.Counts.Created != 1 || rep.Counts.Conflicts != 0 {
					t.Errorf("counts %+v, want 1 deleted, 1 created", rep.Counts)
				}
				f.converged()
				return
			}
			if code != service.ExitPartial {
				t.Fatalf("rehire run: exit %d, want %d (partial: a conflict)\n%s\n%s", code, service.ExitPartial, out, errs)
			}
			if len(rep.Conflicts) != 1 {
				t.Fatalf("conflicts = %+v, want the rehire's", rep.Conflicts)
			}
			is := rep.Conflicts[0]
			if is.ExternalID != "condeco:990" || !strings.Contains(is.Reason, c.conflict) {
				t.Errorf("conflict %+v, want condeco:990 with %q", is, c.conflict)
			}
			for _, w := range []string{old.ID, "condeco:50", strings.ToLower(old.UserName), "condeco:990"} {
				if !strings.Contains(is.Fix, w) {
					t.Errorf("fix %q does not name %q", is.Fix, w)
				}
			}
			if u := mustSimUser(t, f, "condeco:50"); u.ID != old.ID || u.Active {
				t.Errorf("old account: id %s active %v; want %s, inactive", u.ID, u.Active, old.ID)
			}
			if _, ok := simUser(f, "condeco:990"); ok || rep.Counts.Deleted != 0 {
				t.Errorf("the new account was created (%v) or something deleted (%d)", ok, rep.Counts.Deleted)
			}
		})
	}
}

// TestBadActiveValueIsHeld: an active column that is neither 1/true,
// 0/false nor NULL holds the row: its Visitor account is neither updated
// (its surname changed too), nor deactivated, nor deleted, and the error
// names the row and the rule.
func TestBadActiveValueIsHeld(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	f.runOK("--run-now")
	was := mustSimUser(t, f, "condeco:50")
	f.exec("UPDATE tblUsers SET Active = 7, LastName = 'Changed' WHERE UserID = 50")
	code, out, errs := f.run(context.Background(), "--run-now")
	if code != service.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if now := mustSimUser(t, f, "condeco:50"); !reflect.DeepEqual(now, was) {
		t.Errorf("user 50's Visitor account changed:\nwas %+v\nnow %+v", was, now)
	}
	if !strings.Contains(errs, `"row":"50"`) || !strings.Contains(errs, `"field":"active"`) {
		t.Errorf("no error line names row 50 and the active column:\n%s", errs)
	}
	rep := lastReport(t, f)
	if rep.Counts.Held == 0 || rep.Counts.Deleted+rep.Counts.Deactivated+rep.Counts.Updated != 0 {
		t.Errorf("counts %+v, want user 50 held and nothing removed or updated", rep.Counts)
	}
	found := false
	for _, h := range rep.Plan.Held {
		found = found || (h.ExternalID == "condeco:50" && strings.Contains(h.Reason, "field active"))
	}
	if !found {
		t.Errorf("the report does not hold condeco:50 with the active rule: %+v", rep.Plan.Held)
	}
}
