package main

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// Issue 3 through the real CLI: the embedded Condeco database, a real
// simulator on loopback, the configuration file an operator writes.

// usersQueryWithout is a replacement users query that lacks one column.
func usersQueryWithout(col string) string {
	cols := map[string]string{"id": "UserID", "username": "UserName", "email": "Email", "first_name": "FirstName",
		"last_name": "LastName", "phone": "Telephone", "mobile": "Mobile", "language": "LanguageCode",
		"access_level": "AccessLevel", "user_type": "UserType", "location_id": "DefaultLocationID", "sso_id": "ADUserGuid"}
	var sel []string
	for _, alias := range []string{"id", "username", "email", "first_name", "last_name", "phone", "mobile",
		"language", "access_level", "user_type", "location_id", "sso_id"} {
		if alias != col {
			sel = append(sel, cols[alias]+" AS "+alias)
		}
	}
	return "SELECT " + strings.Join(sel, ", ") + " FROM tblUsers WHERE Active = 1 AND Deleted = 0 AND UserType <> 3"
}

// TestReplacementQueryMissingColumnFailsAtStart: --check and --run-now
// both stop before touching Visitor, exit with the configuration code and
// name the missing column.
func TestReplacementQueryMissingColumnFailsAtStart(t *testing.T) {
	t.Parallel()
	for _, col := range []string{"email", "id", "sso_id"} {
		for _, mode := range []string{"--check", "--run-now", "--dry-run"} {
			t.Run(col+" "+mode, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, simulator.Options{}, fmt.Sprintf("condeco_users_query: %q\n", usersQueryWithout(col)))
				before := f.state()
				code, out, errs := f.run(context.Background(), mode)
				if code != service.ExitConfig {
					t.Fatalf("exit %d, want %d (configuration)\n%s\n%s", code, service.ExitConfig, out, errs)
				}
				if want := `users query: column \"` + col + `\"`; !strings.Contains(errs, want) {
					t.Errorf("stderr does not name the column (%s):\n%s", want, errs)
				}
				if f.state() != before || managedUsers(f.sim) != 0 {
					t.Error("a failed start wrote to Visitor")
				}
			})
		}
	}
}

// TestSourceGuardEmptyExport: an export with no users stops the run with
// exit 5 and names the flag; the flag lets the export through, and the
// deletions it then plans still meet the deletion limit.
func TestSourceGuardEmptyExport(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("initial run: exit %d\n%s\n%s", code, out, errs)
	}
	managed := managedUsers(f.sim)
	// Deleted, not deactivated: a deactivated row is still exported.
	if _, err := f.db.ExecContext(ctx, "UPDATE tblUsers SET Deleted = 1"); err != nil {
		t.Fatal(err)
	}
	before := f.state()
	for _, args := range [][]string{{"--run-now"}, {"--dry-run"}, {"--run-now", "--allow-deletes", fmt.Sprint(managed)}} {
		code, out, errs := f.run(ctx, args...)
		if code != service.ExitSourceGuard {
			t.Fatalf("%v: exit %d, want %d (source guard)\n%s\n%s", args, code, service.ExitSourceGuard, out, errs)
		}
		if want := fmt.Sprintf("export has 0 users and %d managed users exist; approve with --allow-source-shrink", managed); !strings.Contains(out, want) {
			t.Errorf("%v: message lacks %q:\n%s", args, want, out)
		}
		if f.state() != before {
			t.Fatalf("%v: the stopped run wrote to Visitor", args)
		}
	}
	code, out, _ := f.run(ctx, "--run-now", "--allow-source-shrink")
	if code != service.ExitSafetyLimit || f.state() != before || !strings.Contains(out, "max_deletes") {
		t.Fatalf("--allow-source-shrink alone: exit %d, want %d and no writes:\n%s", code, service.ExitSafetyLimit, out)
	}
	// With both approvals the run goes through; Visitor itself refuses to
	// delete its last active admin (a conflict, exit 3), everyone else goes.
	code, out, errs := f.run(ctx, "--run-now", "--allow-source-shrink", "--allow-deletes", fmt.Sprint(managed))
	if code != service.ExitPartial || !strings.Contains(out, fmt.Sprintf("deleted %d ", managed-1)) {
		t.Fatalf("both approvals: exit %d, want %d with %d deleted\n%s\n%s", code, service.ExitPartial, managed-1, out, errs)
	}
	if n := managedUsers(f.sim); n != 1 {
		t.Fatalf("%d managed users left after the approved run, want the last admin only", n)
	}
}

// TestSourceGuardShrink: with the deletion limits out of the way, an
// export under source_min_share of the managed users stops on the guard
// alone (exit 5), and --allow-source-shrink lets exactly that run through.
func TestSourceGuardShrink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "max_deletes: 1000\nmax_delete_share: 1\n")
	ctx := context.Background()
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("initial run: exit %d\n%s\n%s", code, out, errs)
	}
	managed := managedUsers(f.sim)
	// About 15 % of the staff are deleted (ids 1–230, one in seven): gone
	// from the export, unlike deactivated rows, which it still reads.
	if _, err := f.db.ExecContext(ctx, "UPDATE tblUsers SET Deleted = 1 WHERE UserID % 7 = 0"); err != nil {
		t.Fatal(err)
	}
	active, src := exportCounts(t, f) // the guard counts deactivated rows, Visitor gets the active ones
	if src*10 >= managed*9 {
		t.Fatalf("export %d of %d managed is not under 90 %%: the test proves nothing", src, managed)
	}
	before := f.state()
	code, out, errs := f.run(ctx, "--run-now")
	if code != service.ExitSourceGuard {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, service.ExitSourceGuard, out, errs)
	}
	if want := fmt.Sprintf("source guard source_min_share: export has %d users", src); !strings.Contains(out, want) {
		t.Errorf("message lacks %q:\n%s", want, out)
	}
	if f.state() != before {
		t.Fatal("the stopped run wrote to Visitor")
	}
	if code, out, errs = f.run(ctx, "--run-now", "--allow-source-shrink"); code != service.ExitOK {
		t.Fatalf("approved run: exit %d\n%s\n%s", code, out, errs)
	}
	if n := managedUsers(f.sim); n != active {
		t.Fatalf("%d managed users after the approved run, want %d", n, active)
	}
}

// TestCollidingUsersAreLeftAlone: a second Condeco user whose email
// differs only by case from an existing one makes both unsendable. The
// existing Visitor account is neither updated nor deleted, and the
// newcomer is not created.
func TestCollidingUsersAreLeftAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("initial run: exit %d\n%s\n%s", code, out, errs)
	}
	visitorUser := func(ext string) (simulator.User, bool) {
		for _, u := range f.sim.Users() {
			if u.ExternalID == ext {
				return u, true
			}
		}
		return simulator.User{}, false
	}
	was, ok := visitorUser("condeco:9")
	if !ok {
		t.Fatal("user 9 not created by the initial run")
	}
	for _, q := range []string{
		// user 9 changes in Condeco: an update that must now wait
		"UPDATE tblUsers SET LastName = 'Muller-Smith' WHERE UserID = 9",
		`INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, AccessLevel, UserType, DefaultLocationID, Active, Deleted)
		 VALUES (969, 'ISLA.MULLER@EXAMPLE.CO.UK', NULL, 'Isla', 'Muller', 0, 1, 102, 1, 0)`,
	} {
		if _, err := f.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := f.run(ctx, "--run-now")
	if code != service.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	now, ok := visitorUser("condeco:9")
	if !ok {
		t.Fatal("user 9's Visitor account was deleted")
	}
	if !reflect.DeepEqual(now, was) {
		t.Errorf("user 9's Visitor account changed:\nwas %+v\nnow %+v", was, now)
	}
	if _, ok := visitorUser("condeco:969"); ok {
		t.Error("the colliding newcomer was created")
	}
	for _, id := range []string{"9", "969"} {
		if !strings.Contains(errs, `"row":"`+id+`"`) {
			t.Errorf("no error line names row %s:\n%s", id, errs)
		}
	}
	if !strings.Contains(errs, "userName collides case-insensitively") {
		t.Errorf("the collision is not reported:\n%s", errs)
	}
}
