package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// safetyFixture has 100 managed users (condeco:5001..5100) in the
// simulator, then an export that lost the last 60 of them.
func safetyFixture(t *testing.T) *fixture {
	t.Helper()
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
	if code, out, errs := f.run(ctx, "--run-now"); code != service.ExitOK {
		t.Fatalf("initial run: exit %d\n%s\n%s", code, out, errs)
	}
	if n := managedUsers(f.sim); n != 100 {
		t.Fatalf("%d managed users after the initial run, want 100", n)
	}
	// 60 people vanish from the export.
	if _, err := f.db.ExecContext(ctx, "UPDATE tblUsers SET Deleted = 1 WHERE UserID > 5040"); err != nil {
		t.Fatal(err)
	}
	return f
}

// missing60 is condeco:5041..5100, the users the shrunk export lacks.
func missing60() []string {
	var ids []string
	for i := 5041; i <= 5100; i++ {
		ids = append(ids, fmt.Sprintf("condeco:%d", i))
	}
	return ids
}

// The limit's message names the limit and both numbers.
var limitWords = []string{"safety limit max_deletes", "plan deletes 60 of 100 managed users", "limit 50, 10%", "--allow-deletes 60"}

// The demonstration for the safety limits: with 100 managed users
// and an export missing 60 of them, --run-now deletes nothing, exits with
// the safety code and names the limit; with the approval flag the same run
// deletes exactly those 60. The source guard (40 of 100 is under 90 %)
// trips too; exit code 4 wins, and the approval for 60 deletions covers a
// shrink of at most 60 users.
func TestSafetyLimitExportMissing60Of100(t *testing.T) {
	t.Parallel()
	f := safetyFixture(t)
	ctx := context.Background()
	before := f.state()
	code, out, errs := f.run(ctx, "--run-now")
	if code != service.ExitSafetyLimit {
		t.Fatalf("exit %d, want %d (safety limit)\n%s\n%s", code, service.ExitSafetyLimit, out, errs)
	}
	for _, want := range append(limitWords, "source guard source_min_share: export has 40 users, fewer than 90") {
		if !strings.Contains(out, want) {
			t.Errorf("message lacks %q:\n%s", want, out)
		}
	}
	if after := f.state(); after != before {
		t.Fatal("the stopped run wrote to Visitor")
	}
	if n := managedUsers(f.sim); n != 100 {
		t.Fatalf("%d managed users after the stopped run, want 100", n)
	}
	if rep := lastReport(t, f); rep.Counts.Deleted != 0 || rep.Plan == nil || len(rep.Plan.Deletes) != 60 || !strings.Contains(rep.Error, "max_deletes") {
		t.Errorf("stopped run's report: deleted %d, error %q", rep.Counts.Deleted, rep.Error)
	}

	// An approval for fewer deletions than planned changes nothing.
	if code, out, _ := f.run(ctx, "--run-now", "--allow-deletes", "59"); code != service.ExitSafetyLimit || f.state() != before {
		t.Fatalf("--allow-deletes 59: exit %d, want %d and no writes\n%s", code, service.ExitSafetyLimit, out)
	}

	code, out, errs = f.run(ctx, "--run-now", "--allow-deletes", "60")
	if code != service.ExitOK {
		t.Fatalf("approved run: exit %d\n%s\n%s", code, out, errs)
	}
	rep := lastReport(t, f)
	if rep.Counts.Deleted != 60 || rep.Counts.Failed != 0 || rep.Counts.Unchanged != 40 {
		t.Errorf("report counts = %+v, want 60 deleted, 40 unchanged", rep.Counts)
	}
	// Exactly those 60: the audit log's deletions of this run, and what
	// Visitor still holds.
	if got := auditDeletes(t, f, rep.RunID); !slices.Equal(got, missing60()) {
		t.Errorf("audit log deletes %d users %v…, want condeco:5041..5100", len(got), got[:min(3, len(got))])
	}
	var left []string
	for _, u := range f.sim.Users() {
		if strings.HasPrefix(u.ExternalID, "condeco:") {
			left = append(left, u.ExternalID)
		}
	}
	slices.Sort(left)
	for _, gone := range missing60() {
		if _, ok := slices.BinarySearch(left, gone); ok {
			t.Errorf("%s is still in Visitor", gone)
		}
	}
	if len(left) != 40 {
		t.Errorf("Visitor holds %d managed users, want the 40 still in Condeco", len(left))
	}
	noSecretInState(t, f)
}

// noSecretInState reads every file the runs left in state_dir (reports,
// audit log, first-sync record) and fails if one holds the SCIM token.
func noSecretInState(t *testing.T, f *fixture) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(f.dir, "state"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if strings.Contains(string(b), f.token) {
			t.Errorf("%s holds the SCIM token", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"audit.log", "last-report.json", "first-sync.json"} {
		if _, err := os.Stat(filepath.Join(f.dir, "state", want)); err != nil {
			t.Errorf("state_dir lacks %s: %v", want, err)
		}
	}
	if n < 5 {
		t.Errorf("only %d files in state_dir", n)
	}
}

// Dry runs check the limits too: the same export stops a dry run with the
// safety code and the same message, after printing the plan's 60 deletions;
// with the approval the dry run passes and still writes nothing.
func TestSafetyLimitDryRun(t *testing.T) {
	t.Parallel()
	f := safetyFixture(t)
	ctx := context.Background()
	before := f.state()
	planPath := filepath.Join(f.dir, "plan.json")
	code, out, errs := f.run(ctx, "--dry-run", "--plan-json", planPath)
	if code != service.ExitSafetyLimit {
		t.Fatalf("dry run: exit %d, want %d\n%s\n%s", code, service.ExitSafetyLimit, out, errs)
	}
	for _, want := range append(limitWords, "0 to create, 0 to update, 0 to deactivate, 60 to delete") {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	var plan plan.Plan
	b, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &plan); err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, c := range plan.Deletes {
		planned = append(planned, c.ExternalID)
	}
	slices.Sort(planned)
	if !slices.Equal(planned, missing60()) {
		t.Errorf("--plan-json deletes %v…, want condeco:5041..5100", planned[:min(3, len(planned))])
	}

	code, out, _ = f.run(ctx, "--dry-run", "--allow-deletes", "60")
	if code != service.ExitOK || !strings.Contains(out, "60 to delete") {
		t.Errorf("approved dry run: exit %d\n%s", code, out)
	}
	if f.state() != before {
		t.Error("a dry run wrote to Visitor")
	}
}

// auditDeletes returns the sorted externalIds the audit log records as
// deleted by run.
func auditDeletes(t *testing.T, f *fixture, run string) []string {
	t.Helper()
	var ids []string
	intent := map[string]bool{} // deletes whose intent line holds the user before
	for _, e := range auditLines(t, f, run) {
		if e.Action != plan.ActionDelete {
			continue
		}
		switch e.Result {
		case "intent":
			intent[e.ExternalID] = e.Before != nil && e.Before.ExternalID == e.ExternalID
		case "ok":
			if !intent[e.ExternalID] {
				t.Errorf("delete of %s has no intent line with the user before", e.ExternalID)
			}
			ids = append(ids, e.ExternalID)
		}
	}
	slices.Sort(ids)
	return ids
}
