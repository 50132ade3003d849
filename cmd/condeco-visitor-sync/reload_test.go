package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// SIGHUP in daemon mode reloads the file: a valid one is used from the
// next run (here its schedule fires every second, so more runs follow);
// an invalid one is logged with its key and the daemon keeps going on the
// configuration it has.
func TestDaemonSIGHUPReloadsConfiguration(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "schedule: \"0 2 1 1 *\"\n")
	appendCfg(t, f, "log_level: info\n")
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan service.ExitCode, 1)
	e := f.envs()
	e.hup = hup
	go func() { done <- runContext(ctx, []string{"--config", f.cfgPath}, io.Discard, &stderr, e) }()
	waitFor(t, 30*time.Second, "the start-up run", func() bool { return reportCount(f.dir) >= 1 })
	if reportCount(f.dir) != 1 {
		t.Fatalf("%d runs before the reload; the schedule fires once a year", reportCount(f.dir))
	}

	appendCfg(t, f, "max_deletess: 3\n") // a typo: refused, old configuration kept
	hup <- os.Interrupt
	waitFor(t, 10*time.Second, "the refused reload", func() bool {
		return strings.Contains(stderr.String(), "configuration reload refused") && strings.Contains(stderr.String(), "max_deletess")
	})
	removeCfgKey(t, f, "max_deletess")
	appendCfg(t, f, "schedule: \"@every 1s\"\n")
	appendCfg(t, f, "allow_frequent_schedule: true\n")
	hup <- os.Interrupt
	waitFor(t, 10*time.Second, "the reload", func() bool {
		return strings.Contains(stderr.String(), "configuration reloaded; used from the next run")
	})
	waitFor(t, 30*time.Second, "a run on the reloaded schedule", func() bool { return reportCount(f.dir) >= 2 })
	cancel()
	if code := <-done; code != service.ExitOK {
		t.Fatalf("daemon exit %d\n%s", code, stderr.String())
	}
}

// SIGHUP during a run-now (its terminal closed) stops it like SIGTERM:
// exit 10, a stopped line in the audit log, the report written.
func TestRunNowSIGHUPStopsLikeSIGTERM(t *testing.T) {
	t.Parallel()
	hup := make(chan os.Signal, 1)
	writing := make(chan struct{}, 1)
	f := newFixture(t, simulator.Options{Faults: simulator.Faults{Latency: 50 * time.Millisecond},
		OnRequest: func(method, _ string) {
			if method == "POST" {
				select {
				case writing <- struct{}{}:
				default:
				}
			}
		}}, "")
	e := f.envs()
	e.hup = hup
	done := make(chan service.ExitCode, 1)
	go func() {
		done <- runContext(context.Background(), []string{"--config", f.cfgPath, "--run-now"}, io.Discard, io.Discard, e)
	}()
	<-writing
	hup <- os.Interrupt
	if code := <-done; code != service.ExitInterrupted {
		t.Fatalf("exit %d, want %d", code, service.ExitInterrupted)
	}
	rep := lastReport(t, f)
	if rep.Counts.Failed == 0 || !strings.Contains(rep.Error, "canceled") {
		t.Errorf("report = counts %+v error %q, want a stopped run", rep.Counts, rep.Error)
	}
	b, err := os.ReadFile(f.dir + "/state/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"result":"stopped"`) {
		t.Errorf("no stopped line in the audit log")
	}
}
