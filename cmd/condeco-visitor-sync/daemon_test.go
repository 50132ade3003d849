package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test
// reading it at the same time.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond for at most limit; tests are bounded, never timed.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func reportCount(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "state", "reports", "*.json"))
	return len(m)
}

func TestDaemonStartupRunScheduledRunAndLock(t *testing.T) {
	t.Parallel()
	// Latency makes the start-up sync last long enough for a run-now to
	// collide with it; the schedule fires every second.
	f := newFixture(t, simulator.Options{Faults: simulator.Faults{Latency: 15 * time.Millisecond}},
		"schedule: \"@every 1s\"\nallow_frequent_schedule: true\nscim_concurrency: 2\n")
	appendCfg(t, f, "log_level: info\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var stderr syncBuffer
	done := make(chan service.ExitCode, 1)
	go func() {
		done <- runContext(ctx, []string{"--config", f.cfgPath}, io.Discard, &stderr, f.envs())
	}()

	waitFor(t, 20*time.Second, "the start-up run to begin writing", func() bool {
		return len(f.sim.Users()) > 0
	})
	// A support engineer presses "run now" while the start-up sync runs.
	code, out, errs := f.run(context.Background(), "--run-now")
	if code != service.ExitLockBusy {
		t.Fatalf("concurrent run-now: exit %d, want %d (lock busy)\n%s\n%s", code, service.ExitLockBusy, out, errs)
	}
	if !strings.Contains(out+errs, "another sync has been running since") {
		t.Errorf("refusal does not say since when:\n%s%s", out, errs)
	}

	waitFor(t, 60*time.Second, "the start-up run and one scheduled run", func() bool {
		return reportCount(f.dir) >= 2
	})

	// The metrics endpoint serves the run metrics while the daemon is up.
	m := regexp.MustCompile(`"addr":"([0-9.:]+)"`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("daemon did not log its metrics address:\n%s", stderr.String())
	}
	resp, err := http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{
		"cvs_last_attempt_timestamp_seconds", "cvs_last_success_timestamp_seconds",
		"cvs_last_run_duration_seconds", `cvs_changes_total{action="created"}`,
		"cvs_user_failures_total", `cvs_scim_requests_total{method="POST",status="201"}`,
		"cvs_scim_rate_limited_total", "cvs_rate_limiter_wait_seconds_total", "cvs_source_rows_read",
		`cvs_runs_total{result="success"}`,
	} {
		if !bytes.Contains(body, []byte(name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// The series exist from the start at 0: the count must have moved.
	if !regexp.MustCompile(`(?m)^cvs_changes_total\{action="created"\} [1-9]`).Match(body) {
		t.Errorf("cvs_changes_total{action=\"created\"} did not count the start-up run's creates")
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		r, err := http.Get("http://" + m[1] + p)
		if err != nil || r.StatusCode != http.StatusOK {
			t.Errorf("%s: %v %v", p, err, r)
		}
		if r != nil {
			r.Body.Close()
		}
	}

	cancel() // SIGTERM in production
	select {
	case code := <-done:
		if code != service.ExitOK {
			t.Fatalf("daemon exit %d\n%s", code, stderr.String())
		}
	case <-time.After(45 * time.Second):
		t.Fatal("daemon did not stop within its grace period")
	}
	if _, err := os.Stat(filepath.Join(f.dir, "state", "last-report.json")); err != nil {
		t.Errorf("no report after the daemon's runs: %v", err)
	}
}
