package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// SIGTERM during a run: no new request starts, the ones in flight finish
// (none is cut off), the report is written and the daemon exits.
func TestStopLetsRequestsInFlightFinish(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{Faults: simulator.Faults{Latency: 400 * time.Millisecond}},
		"scim_concurrency: 2\n")
	appendCfg(t, f, "log_level: info\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan service.ExitCode, 1)
	go func() { done <- runContext(ctx, []string{"--config", f.cfgPath}, io.Discard, &stderr, f.envs()) }()

	waitFor(t, 30*time.Second, "the start-up run to be writing", func() bool { return managedUsers(f.sim) >= 2 })
	cancel() // SIGTERM
	stopAt := time.Now()
	select {
	case code := <-done:
		if code != service.ExitOK {
			t.Fatalf("daemon exit %d\n%s", code, stderr.String())
		}
	case <-time.After(service.DefaultShutdownGrace + service.DefaultFinishGrace):
		t.Fatal("daemon did not stop within its bounds")
	}
	// Two requests at most were in flight, 400 ms each.
	if d := time.Since(stopAt); d > 5*time.Second {
		t.Errorf("stop took %s", d)
	}
	rep := lastReport(t, f)
	if rep.Counts.Created == 0 || rep.Counts.Failed == 0 {
		t.Fatalf("want a run cut short: created %d, not done %d", rep.Counts.Created, rep.Counts.Failed)
	}
	for _, fl := range rep.Failures {
		if !strings.Contains(fl.Reason, "not attempted") && !strings.Contains(fl.Reason, "not sent: stopping") {
			t.Errorf("%s: a request was cut off instead of finishing: %s", fl.User, fl.Reason)
		}
	}
	// Every create Visitor applied is in the report, none lost in flight.
	if got := managedUsers(f.sim); got != rep.Counts.Created+rep.Counts.Adopted {
		t.Errorf("Visitor holds %d managed users, report says %d created", got, rep.Counts.Created)
	}
	if !strings.Contains(stderr.String(), "stopping: no new requests") {
		t.Errorf("stop not logged:\n%s", stderr.String())
	}
}

// A request that never answers cannot hold the stop past shutdownGrace.
func TestStopIsBounded(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	f := newFixture(t, simulator.Options{Faults: simulator.Faults{Latency: 20 * time.Second},
		OnRequest: func(string, string) {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}}, "")
	f.shutdownGrace = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan service.ExitCode, 1)
	go func() {
		done <- runContext(ctx, []string{"--config", f.cfgPath, "--run-now"}, io.Discard, io.Discard, f.envs())
	}()
	select { // the export is read; the first Visitor request hangs
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("no request reached Visitor")
	}
	cancel()
	stopAt := time.Now()
	select {
	case code := <-done:
		if code != service.ExitInterrupted {
			t.Fatalf("exit %d, want %d (interrupted)", code, service.ExitInterrupted)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a hanging request held the stop past the grace period")
	}
	if d := time.Since(stopAt); d > 5*time.Second {
		t.Errorf("stop took %s with a %s grace", d, f.shutdownGrace)
	}
}
