package service

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"

	. "condeco-visitor-sync/sync/internal/synctest"
)

// countingSource counts the daemon's runs.
type countingSource struct {
	FakeSource
	n *atomic.Int32
}

func (s countingSource) Export(ctx context.Context) (*condeco.Export, error) {
	s.n.Add(1)
	return s.FakeSource.Export(ctx)
}

// The daemon runs at start whatever last-success.json says (the start-up
// run is the catch-up of ticks missed while it was down), then at 02:00
// BST for the 01:30 that 29 March 2026 lacks in London, and once when it
// resumes from a suspend past two firings. It logs the next run, in its
// zone, at start and after each run.
func TestDaemonScheduleOnAFakeClock(t *testing.T) {
	start := utc(2026, 3, 28, 12, 0) // 12:00 GMT
	cases := []struct {
		name string
		last time.Time // in last-success.json; zero: none
	}{
		{name: "no successful run recorded"},
		{name: "last success three days ago", last: start.Add(-72 * time.Hour)},
		{name: "last success a minute ago", last: start.Add(-time.Minute)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock(start)
			dir := openState(t)
			if !c.last.IsZero() {
				if err := dir.WriteLastSuccess("run-0", "run-now", c.last, c.last.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			ran := make(chan struct{}, 10)
			core, logs := observer.New(zap.InfoLevel)
			log := zap.New(core, zap.Hooks(func(e zapcore.Entry) error {
				if e.Message == "next scheduled run" {
					ran <- struct{}{}
				}
				return nil
			}))
			var exports atomic.Int32
			exp := &condeco.Export{Users: []condeco.User{CU("1")}, Locations: CLocs("1", "2")}
			svc := &Service{State: dir, Log: log, Clock: clock,
				Runner: &runner.Runner{Source: countingSource{FakeSource{Exp: exp}, &exports}, Target: NewFake(BaseLocs()),
					Plan: plan.DefaultOptions(), Apply: apply.Options{Concurrency: 1}, Progress: &apply.Progress{},
					Now: clock.Now}}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan ExitCode, 1)
			go func() {
				done <- svc.Daemon(ctx, Schedule{Spec: "30 1 * * *", TimeZone: "Europe/London"}, nil)
			}()

			<-ran // the start-up run, at once
			if n := exports.Load(); n != 1 {
				t.Fatalf("%d runs at start, want 1", n)
			}
			clock.advanceTo(utc(2026, 3, 29, 0, 59))
			if n := exports.Load(); n != 1 {
				t.Fatalf("%d runs before 02:00 BST on 29 March, want 1 (the start-up run)", n)
			}
			clock.advanceTo(utc(2026, 3, 29, 1, 0)) // 02:00 BST
			<-ran
			clock.suspend(2 * 24 * time.Hour) // asleep through the firings of 30 and 31 March
			clock.advance(time.Minute)
			<-ran
			clock.advanceTo(utc(2026, 3, 31, 23, 59))
			if n := exports.Load(); n != 3 {
				t.Errorf("%d runs, want 3: at start, at 02:00 BST on 29 March, once at resume", n)
			}

			cancel()
			clock.timer() // the scheduler is waiting: it sees the stop
			if code := <-done; code != ExitOK {
				t.Fatalf("daemon exit %d", code)
			}
			var nexts []string
			for _, e := range logs.All() {
				if e.Message == "daemon started" || e.Message == "next scheduled run" {
					nexts = append(nexts, e.Message+" "+e.ContextMap()["next"].(string)+" "+e.ContextMap()["time_zone"].(string))
				}
			}
			want := []string{
				"daemon started 2026-03-29T02:00:00+01:00 Europe/London",
				"next scheduled run 2026-03-29T02:00:00+01:00 Europe/London",
				"next scheduled run 2026-03-30T01:30:00+01:00 Europe/London",
				"next scheduled run 2026-04-01T01:30:00+01:00 Europe/London",
			}
			if len(nexts) != len(want) {
				t.Fatalf("next runs logged:\n%q\nwant\n%q", nexts, want)
			}
			for i := range want {
				if nexts[i] != want[i] {
					t.Errorf("log %d: %q, want %q", i, nexts[i], want[i])
				}
			}
			if logs.FilterMessage("missed scheduled run (host suspended or clock stepped); running now").Len() != 1 {
				t.Errorf("the catch-up at resume is not logged: %v", messages(logs))
			}
		})
	}
}
