package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/audit"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// auditLines returns the audit log's lines of run, header lines aside,
// read as an operator's tools read them (audit.Read).
func auditLines(t *testing.T, f *fixture, run string) []audit.Entry {
	t.Helper()
	fh, err := os.Open(filepath.Join(f.dir, "state", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []audit.Entry
	if err := audit.Read(fh, func(e audit.Entry) error {
		if e.Run == run && e.Action != audit.ActionRun {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// --run-now --only applies one person's change and nothing else, under
// the same lock, audit and report as a full run; the other planned changes
// stay planned; a held person is refused with the reason, nothing written.
func TestRunNowOnlyOnePerson(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	ctx := context.Background()
	f.mustRun(service.ExitOK, "--run-now")
	// Day two plans five changes: a new starter, user 20's new last name,
	// user 21's departure, the Manchester location, user 22's promotion.
	if err := condeco.ExecFile(ctx, f.db, filepath.Join("..", "..", "testdata", "condeco", "day2.sql")); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "day-two dry run", f.mustRun(service.ExitOK, "--dry-run"), "planned changes: 5")

	// A held person is refused, naming the row and rule; nothing written.
	before := f.state()
	code, out, errs := f.run(ctx, "--run-now", "--only", "anne.dupont@example.co.uk")
	if code != service.ExitConfig || f.state() != before {
		t.Fatalf("--only a held person: exit %d (want %d), Visitor changed %t\n%s\n%s", code, service.ExitConfig, f.state() != before, out, errs)
	}
	mustContain(t, "refusal", out, "anne.dupont@example.co.uk: the Condeco row is held", "users row 901: field first_name", "nothing written")
	code, out, _ = f.run(ctx, "--run-now", "--only", "nobody@example.com")
	if code != service.ExitConfig || !strings.Contains(out, "nobody@example.com matches no Condeco row") || f.state() != before {
		t.Fatalf("--only nobody: exit %d\n%s", code, out)
	}

	// The dry run of --only shows the one change.
	mustContain(t, "--only dry run", f.mustRun(service.ExitOK, "--dry-run", "--only", "ken.sato@example.jp"), "planned changes: 1", "Sato-Hart")

	out = f.mustRun(service.ExitOK, "--run-now", "--only", "20")
	mustContain(t, "--only run", out, "planned changes: 1", "updated 1 ")
	rep := lastReport(t, f)
	if rep.Counts.Updated != 1 || rep.Counts.Created+rep.Counts.Deleted+rep.Counts.LocationsCreated != 0 || len(rep.Only) != 1 || rep.Only[0] != "20" {
		t.Errorf("--only report: counts %+v, only %v", rep.Counts, rep.Only)
	}
	lines := auditLines(t, f, rep.RunID)
	if len(lines) != 2 || lines[0].ExternalID != "condeco:20" || lines[0].Result != "intent" || lines[1].ExternalID != "condeco:20" || lines[1].Result != "ok" {
		t.Errorf("audit lines of the --only run: %+v, want condeco:20's intent and ok only", lines)
	}
	var ken, renee, ingrid bool
	for _, u := range f.sim.Users() {
		switch u.ExternalID {
		case "condeco:20":
			ken = u.FamilyName == "Sato-Hart"
		case "condeco:21":
			renee = true
		case "condeco:231":
			ingrid = true
		}
	}
	if !ken || !renee || ingrid {
		t.Errorf("after --only 20: user 20 renamed %t (want true), user 21 still there %t (want true), user 231 created %t (want false)", ken, renee, ingrid)
	}
	// Every other planned change is still planned.
	mustContain(t, "dry run after --only", f.mustRun(service.ExitOK, "--dry-run"), "planned changes: 4")
	st := statusJSON(t, f)
	if len(st.Runs) == 0 || len(st.Runs[0].Only) != 1 || st.Runs[0].RunID != rep.RunID {
		t.Errorf("status does not show the --only run: %+v", st.Runs[:min(1, len(st.Runs))])
	}
}

// An --only run that starts the first full sync (a pilot with one person)
// records the whole first sync: under suppress-initial the full run that
// follows still sends no invitation to the people of the first sync, and
// the pilot alone does not complete it.
func TestRunNowOnlyPilotKeepsTheFirstFullSync(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "invitations: suppress-initial\n")
	out := f.mustRun(service.ExitOK, "--run-now", "--only", "amelia.jones@example.co.uk")
	mustContain(t, "pilot", out, "created 1 ")
	if n := managedUsers(f.sim); n != 1 {
		t.Fatalf("%d managed users after the pilot, want 1", n)
	}
	b, err := os.ReadFile(filepath.Join(f.dir, "state", "target.json"))
	if err != nil || !strings.Contains(string(b), `"firstSyncDone": false`) {
		t.Errorf("target.json after the pilot (%v): %s", err, b)
	}
	f.mustRun(service.ExitOK, "--run-now")
	if n, want := managedUsers(f.sim), exportCount(t, f); n != want {
		t.Errorf("%d managed users after the full run, want %d", n, want)
	}
	if sent := f.sim.Outbox(); len(sent) != 0 {
		t.Errorf("the first full sync sent %d invitations under suppress-initial (first to %s)", len(sent), sent[0].To)
	}
}
