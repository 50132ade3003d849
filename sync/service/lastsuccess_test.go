package service

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"

	. "condeco-visitor-sync/sync/internal/synctest"
)

// Only a run that brought Visitor up to date (fully, or but for some
// users) counts as the last success the schedule reads after a missed
// tick; a failed run or a dry run leaves the record as it was.
func TestRunOnceRecordsLastSuccess(t *testing.T) {
	exp := &condeco.Export{Users: []condeco.User{CU("1")}, Locations: CLocs("1", "2")}
	cases := []struct {
		name      string
		sourceErr error
		dryRun    bool
		want      bool
	}{
		{name: "a run that succeeds", want: true},
		{name: "a dry run", dryRun: true, want: false},
		{name: "a run that fails", sourceErr: errors.New("database down"), want: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := openState(t)
			svc := &Service{State: dir, Log: zap.NewNop(), Trigger: "scheduled",
				Runner: &runner.Runner{Source: FakeSource{Exp: exp, Err: c.sourceErr}, Target: NewFake(BaseLocs()),
					Plan: plan.DefaultOptions(), Apply: apply.Options{Concurrency: 1}, Progress: &apply.Progress{}}}
			rep, _ := svc.RunOnce(context.Background(), runner.Flags{DryRun: c.dryRun})
			start, found, err := dir.ReadLastSuccess()
			if err != nil || found != c.want {
				t.Fatalf("record found %v (%v), want %v", found, err, c.want)
			}
			if found && !start.Equal(rep.Start) {
				t.Errorf("recorded start %v, want the run's %v", start, rep.Start)
			}
		})
	}
}

// A restarted daemon serves the last success on record, not 0 (the
// dashboard's hours-since panel and an alert on the gauge would read a
// restart as "never succeeded"); a run of the new process wins.
func TestLastSuccessGaugeSurvivesRestart(t *testing.T) {
	exp := &condeco.Export{Users: []condeco.User{CU("1")}, Locations: CLocs("1", "2")}
	dir := openState(t)
	newSvc := func() *Service {
		s := &Service{State: dir, Log: zap.NewNop(), Trigger: "scheduled",
			Runner: &runner.Runner{Source: FakeSource{Exp: exp}, Target: NewFake(BaseLocs()),
				Plan: plan.DefaultOptions(), Apply: apply.Options{Concurrency: 1}, Progress: &apply.Progress{}}}
		s.init()
		return s
	}
	gauge := func(s *Service) float64 {
		t.Helper()
		return testutil.ToFloat64(s.Metrics.lastSuccess)
	}
	first := newSvc()
	if _, err := first.RunOnce(context.Background(), runner.Flags{}); err != nil {
		t.Fatal(err)
	}
	end, found, err := dir.ReadLastSuccessEnd()
	if err != nil || !found || end.IsZero() {
		t.Fatalf("record end %v, found %v, err %v", end, found, err)
	}

	restarted := newSvc()
	if g := gauge(restarted); g != 0 {
		t.Fatalf("a new process serves %v before the restore", g)
	}
	restarted.restoreMetrics()
	if g, want := gauge(restarted), float64(end.UnixNano())/1e9; g != want {
		t.Errorf("after a restart the gauge is %v, want the recorded end %v", g, want)
	}

	ran := newSvc()
	if _, err := ran.RunOnce(context.Background(), runner.Flags{}); err != nil {
		t.Fatal(err)
	}
	before := gauge(ran)
	ran.Metrics.restoreLastSuccess(end.Add(-time.Hour))
	if gauge(ran) != before {
		t.Errorf("the restore overwrote the process's own success: %v → %v", before, gauge(ran))
	}
}
