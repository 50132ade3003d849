package service

import (
	"context"
	"errors"
	"testing"

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
