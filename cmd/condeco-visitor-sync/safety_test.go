package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"condeco-visitor-sync/visitor/simulator"
)

// The demonstration for the safety limits: with 100 managed users
// and an export missing 60 of them, --run-now deletes nothing, exits with
// the safety code and names the limit; with the approval flag the same run
// deletes exactly those 60.
func TestExportMissing60Of100(t *testing.T) {
	f := newFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	if _, err := f.db.ExecContext(ctx, "DELETE FROM tblUsers"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		_, err := f.db.ExecContext(ctx, `INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, AccessLevel, UserType, DefaultLocationID, Active, Deleted)
			VALUES (?, ?, ?, 'Test', ?, 0, 1, 101, 1, 0)`, 5000+i, fmt.Sprintf("person%03d@example.com", i), fmt.Sprintf("person%03d@example.com", i), fmt.Sprintf("Person%03d", i))
		if err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errs := f.run(ctx, "--run-now"); code != ExitOK {
		t.Fatalf("initial run: exit %d\n%s\n%s", code, out, errs)
	}
	if n := managedUsers(f.sim); n != 100 {
		t.Fatalf("%d managed users after the initial run, want 100", n)
	}

	// 60 people vanish from the export.
	if _, err := f.db.ExecContext(ctx, "UPDATE tblUsers SET Deleted = 1 WHERE UserID > 5040"); err != nil {
		t.Fatal(err)
	}
	before := f.state()
	code, out, errs := f.run(ctx, "--run-now")
	if code != ExitSafetyLimit {
		t.Fatalf("exit %d, want %d (safety limit)\n%s\n%s", code, ExitSafetyLimit, out, errs)
	}
	for _, want := range []string{"max_deletes", "plan deletes 60 of 100 managed users", "limit 50", "--allow-deletes 60"} {
		if !strings.Contains(out, want) {
			t.Errorf("message lacks %q:\n%s", want, out)
		}
	}
	if after := f.state(); after != before {
		t.Fatal("the stopped run wrote to Visitor")
	}

	code, out, errs = f.run(ctx, "--run-now", "--allow-deletes", "60")
	if code != ExitOK {
		t.Fatalf("approved run: exit %d\n%s\n%s", code, out, errs)
	}
	var left []string
	for _, u := range f.sim.Users() {
		if strings.HasPrefix(u.ExternalID, "condeco:") {
			left = append(left, u.ExternalID)
		}
	}
	sort.Strings(left)
	if len(left) != 40 || left[0] != "condeco:5001" || left[39] != "condeco:5040" {
		t.Fatalf("after the approved run Visitor holds %d managed users (%v…), want exactly condeco:5001..5040", len(left), left[:min(3, len(left))])
	}
	if rep := lastReport(t, f); rep.Counts.Deleted != 60 {
		t.Errorf("report says %d deleted, want 60", rep.Counts.Deleted)
	}
}
