package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/runner"
)

// panicSource stands for a bug anywhere in a run.
type panicSource struct{}

func (panicSource) Export(context.Context) (*condeco.Export, error) { panic("bug in the export") }

func TestDaemonRunPanicIsRecoveredAndReported(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	dir := openState(t)
	a := &Service{State: dir, Log: zap.New(core),
		Runner: &runner.Runner{Source: panicSource{}, Progress: &apply.Progress{}}}

	job := cron.NewChain(a.chain()...).Then(cron.FuncJob(func() { a.scheduledRun(context.Background()) }))
	job.Run() // must return, not crash the daemon

	var logged bool
	for _, e := range logs.FilterMessage("panic").All() {
		if e.Level == zap.ErrorLevel && strings.Contains(e.ContextMap()["error"].(string), "bug in the export") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("panic not logged as an error; logs: %v", logs.All())
	}
	if n := testutil.ToFloat64(a.Metrics.runs.WithLabelValues("panic")); n != 1 {
		t.Errorf(`cvs_runs_total{result="panic"} = %v, want 1`, n)
	}
	if v := testutil.ToFloat64(a.Metrics.inProgress); v != 0 {
		t.Errorf("cvs_run_in_progress = %v after the panic, want 0", v)
	}
	probe := dir.Lock()
	if err := probe.Acquire(context.Background(), 0); err != nil {
		t.Errorf("the panicking run left the lock held: %v", err)
	}
	probe.Release()
}

func TestDaemonOverlappingTickIsSkipped(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	a := &Service{Log: zap.New(core)}
	started, release := make(chan struct{}), make(chan struct{})
	runs := 0
	job := cron.NewChain(a.chain()...).Then(cron.FuncJob(func() {
		runs++
		close(started)
		<-release
	}))
	done := make(chan struct{})
	go func() { job.Run(); close(done) }()
	<-started
	second := make(chan struct{})
	go func() { job.Run(); close(second) }() // the next tick, during the run
	select {
	case <-second:
	case <-time.After(5 * time.Second):
		t.Fatal("the overlapping tick waited instead of being skipped")
	}
	close(release)
	<-done
	if runs != 1 {
		t.Errorf("%d runs, want 1", runs)
	}
	if logs.FilterMessage("run skipped: previous run still going").Len() != 1 {
		t.Errorf("skip not logged: %v", logs.All())
	}
}

func openState(t *testing.T) *state.Dir {
	t.Helper()
	d, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}
