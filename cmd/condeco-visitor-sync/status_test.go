package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// statusJSON runs --status --json and decodes it; it fails if status
// sent Visitor a request.
func statusJSON(t *testing.T, f *fixture) service.Status {
	t.Helper()
	before := f.sim.Stats().Total
	tok := f.token
	f.token = "" // status needs no secret
	defer func() { f.token = tok }()
	code, out, errs := f.run(context.Background(), "--status", "--json")
	if sent := f.sim.Stats().Total - before; sent != 0 {
		t.Errorf("--status sent Visitor %d requests", sent)
	}
	if code != service.ExitOK {
		t.Fatalf("--status --json: exit %d\n%s\n%s", code, out, errs)
	}
	var st service.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("--status --json is not JSON: %v\n%s", err, out)
	}
	return st
}

// statusTable runs --status and returns the table.
func statusTable(t *testing.T, f *fixture) string {
	t.Helper()
	tok := f.token
	f.token = ""
	defer func() { f.token = tok }()
	code, out, errs := f.run(context.Background(), "--status")
	if code != service.ExitOK {
		t.Fatalf("--status: exit %d\n%s\n%s", code, out, errs)
	}
	return out
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// --status after a successful, a partial and a limit-stopped run, read
// from state_dir alone (statusJSON checks that Visitor got no request,
// and the token is not in the environment). The approval command it prints
// is then run as printed and gets through the limit.
func TestStatusAfterSuccessPartialAndLimitStoppedRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "schedule: \"30 1 * * *\"\ntime_zone: Europe/London\n")
	ctx := context.Background()

	mustContain(t, "status before any run", statusTable(t, f), "no run recorded", "in progress   no", "last success  none recorded")

	// 1. A successful run.
	f.mustRun(service.ExitOK, "--run-now")
	first := lastReport(t, f)
	st := statusJSON(t, f)
	if len(st.Runs) != 1 || st.Runs[0].RunID != first.RunID || st.Runs[0].ExitCode == nil || *st.Runs[0].ExitCode != service.ExitOK ||
		st.Runs[0].Result != "ok" || st.Runs[0].Counts.Created != first.Counts.Created || st.Runs[0].Trigger != "run-now" ||
		st.Runs[0].Requests != first.Requests || st.Runs[0].Requests == 0 {
		t.Errorf("status after a good run: %+v, report %s created %d requests %d", st.Runs, first.RunID, first.Counts.Created, first.Requests)
	}
	if st.LastSuccess == nil || !st.LastSuccess.Equal(first.Start) || st.StoppedBy != nil || st.Running != "" {
		t.Errorf("status: last success %v (want %v), stopped %+v, running %q", st.LastSuccess, first.Start, st.StoppedBy, st.Running)
	}
	// The next run is the schedule's 01:30 in London, within a day.
	next, err := time.Parse(time.RFC3339, st.NextRun)
	london, _ := time.LoadLocation("Europe/London")
	if err != nil || next.Before(st.Now) || next.Sub(st.Now) > 25*time.Hour || next.In(london).Format("15:04") != "01:30" {
		t.Errorf("next run %q (now %s): want the next 01:30 in Europe/London", st.NextRun, st.Now)
	}
	mustContain(t, "status after a good run", statusTable(t, f), first.RunID, "run-now", " ok ", "Europe/London", "in progress   no")

	// 2. A partial run: day two's new starter already has a Visitor
	// account made by hand, so Visitor refuses the create (a conflict).
	if err := condeco.ExecFile(ctx, f.db, filepath.Join("..", "..", "testdata", "condeco", "day2.sql")); err != nil {
		t.Fatal(err)
	}
	f.sim.AddHandmadeUser(simulator.User{UserName: "ingrid.solberg@example.co.uk", GivenName: "Ingrid", FamilyName: "Solberg",
		Emails: []simulator.Email{{Value: "ingrid.solberg@example.co.uk", Type: "work", Primary: true}}, Active: true})
	f.mustRun(service.ExitPartial, "--run-now")
	second := lastReport(t, f)
	st = statusJSON(t, f)
	if len(st.Runs) != 2 || st.Runs[0].RunID != second.RunID || st.Runs[1].RunID != first.RunID {
		t.Fatalf("status runs, newest first: %+v", st.Runs)
	}
	if r := st.Runs[0]; r.ExitCode == nil || *r.ExitCode != service.ExitPartial || r.Result != "partial" ||
		len(r.Conflicts) != 1 || r.Conflicts[0].UserName != "ingrid.solberg@example.co.uk" || r.Counts.Updated != second.Counts.Updated {
		t.Errorf("status after a partial run: %+v", r)
	}
	if st.LastSuccess == nil || !st.LastSuccess.Equal(second.Start) {
		t.Errorf("a partial run is a success for the schedule: last success %v, want %v", st.LastSuccess, second.Start)
	}
	mustContain(t, "status after a partial run", statusTable(t, f), "partial", "conflict  ingrid.solberg@example.co.uk", "fix:")

	// 3. A run stopped by a safety limit and the source guard: 38 of the
	// 210 managed users leave, over max_delete_share and under
	// source_min_share; one approval covers both.
	if _, err := f.db.ExecContext(ctx, "UPDATE tblUsers SET Deleted = 1 WHERE UserID BETWEEN 100 AND 140"); err != nil {
		t.Fatal(err)
	}
	code, out, errs := f.run(ctx, "--run-now")
	if code != service.ExitSafetyLimit {
		t.Fatalf("shrunk run: exit %d, want %d\n%s\n%s", code, service.ExitSafetyLimit, out, errs)
	}
	third := lastReport(t, f)
	st = statusJSON(t, f)
	s := st.StoppedBy
	if s == nil || s.By != "safety limit" || !strings.HasPrefix(s.Flags, "--allow-deletes ") || len(s.Reasons) == 0 ||
		!strings.Contains(strings.Join(s.Reasons, "\n"), "max_delete_share") {
		t.Fatalf("status after a limit-stopped run: stopped %+v, runs[0] %+v", s, st.Runs[0])
	}
	if want := "condeco-visitor-sync --config " + f.cfgPath + " --run-now " + s.Flags; s.Approve != want {
		t.Errorf("approve command %q, want %q", s.Approve, want)
	}
	if !strings.Contains(s.Preview, "--dry-run") || st.LastSuccess == nil || !st.LastSuccess.Equal(second.Start) {
		t.Errorf("preview %q, last success %v (want the partial run's %v)", s.Preview, st.LastSuccess, second.Start)
	}
	if r := st.Runs[0]; r.RunID != third.RunID || r.ExitCode == nil || *r.ExitCode != service.ExitSafetyLimit {
		t.Errorf("newest run %+v, want %s exit 4", r, third.RunID)
	}
	mustContain(t, "status after a limit-stopped run", statusTable(t, f), "stopped by a safety limit", s.Approve, s.Preview, "max_delete_share")

	// The printed command, run as printed, gets through the limit.
	args := strings.Fields(strings.TrimPrefix(s.Approve, "condeco-visitor-sync --config "+f.cfgPath))
	if code, out, errs := f.run(ctx, args...); code == service.ExitSafetyLimit || code == service.ExitSourceGuard {
		t.Fatalf("%v: exit %d, still stopped\n%s\n%s", args, code, out, errs)
	}
	if rep := lastReport(t, f); rep.Counts.Deleted != third.Plan.Summary.Deletes || rep.Counts.Deleted == 0 {
		t.Errorf("approved run deleted %d, the stopped plan had %d", rep.Counts.Deleted, third.Plan.Summary.Deletes)
	}
	if st := statusJSON(t, f); st.StoppedBy != nil {
		t.Errorf("after the approved run, status still says stopped: %+v", st.StoppedBy)
	}
}

// --status shows a run in progress with what the lock file says of it,
// without taking the lock (a run starting meanwhile would find it busy).
func TestStatusShowsTheRunInProgress(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	l := holdLock(t, f)
	st := statusJSON(t, f)
	if st.LockUnknown != "" {
		t.Skipf("no flock table on this host: %s", st.LockUnknown)
	}
	if !strings.HasPrefix(st.Running, "since ") || !strings.Contains(st.Running, "(pid ") {
		t.Errorf("running %q, want the lock holder", st.Running)
	}
	mustContain(t, "status during a run", statusTable(t, f), "in progress   yes, since ")
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if st := statusJSON(t, f); st.Running != "" {
		t.Errorf("after the release, running %q", st.Running)
	}
	// Status never took the lock: it is free to take now, and was held
	// by the test alone meanwhile.
	if err := l.Acquire(context.Background(), 0); err != nil {
		t.Fatalf("lock after --status: %v", err)
	}
	l.Release()
}

// holdLock takes the fixture's run lock as a run in progress would.
func holdLock(t *testing.T, f *fixture) *state.Lock {
	t.Helper()
	dir, err := state.Open(filepath.Join(f.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	l := dir.Lock()
	if err := l.Acquire(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	return l
}

// mustRun runs the binary with args and fails unless it exits with want.
func (f *fixture) mustRun(want service.ExitCode, args ...string) string {
	f.t.Helper()
	code, out, errs := f.run(context.Background(), args...)
	if code != want {
		f.t.Fatalf("%v: exit %d, want %d\n%s\n%s", args, code, want, out, errs)
	}
	return out
}
