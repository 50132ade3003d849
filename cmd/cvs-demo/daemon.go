package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

var addrRe = regexp.MustCompile(`serving health and metrics.*"addr":\s*"([0-9.:]+)"|serving health and metrics\s+\{"addr": "([0-9.:]+)"\}`)

// daemonRun starts the real binary as a daemon (no --run-now), waits for
// its start-up sync, prints where its metrics are and what they say, and
// stops it with SIGTERM as systemd or Kubernetes would.
func daemonRun(ctx context.Context, out io.Writer, bin, cfg string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--config", cfg)
	cmd.Env = append(os.Environ(), "CVS_SCIM_TOKEN="+demoToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting daemon: %w", err)
	}
	addr := make(chan string, 1)
	finished := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if m := addrRe.FindStringSubmatch(line); m != nil {
				addr <- m[1] + m[2]
			}
			if strings.Contains(line, "sync run finished") {
				select {
				case finished <- line:
				default:
				}
			}
		}
	}()
	var a string
	select {
	case a = <-addr:
	case <-ctx.Done():
		return fmt.Errorf("daemon never served metrics: %w", ctx.Err())
	}
	fmt.Fprintf(out, "daemon serving /healthz, /readyz and /metrics on http://%s\n", a)
	select {
	case line := <-finished:
		fmt.Fprintf(out, "daemon start-up sync: %s\n", compactLog(line))
	case <-ctx.Done():
		return fmt.Errorf("daemon start-up sync did not finish: %w", ctx.Err())
	}
	// The summary line is logged just before the run's metrics are
	// recorded: scrape until the run is no longer in progress.
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + a + "/metrics")
		if err != nil {
			return fmt.Errorf("scraping metrics: %w", err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "\ncvs_run_in_progress 0\n") {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("metrics still show the start-up run in progress after 10s")
		}
	}
	fmt.Fprintf(out, "metrics from http://%s/metrics (cvs_ series):\n", a)
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "cvs_") {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("daemon did not stop cleanly on SIGTERM: %w", err)
	}
	fmt.Fprintln(out, "daemon stopped cleanly on SIGTERM (exit code 0)")
	return nil
}

// compactLog keeps the counts of zap's summary line.
func compactLog(line string) string {
	if i := strings.Index(line, "{"); i >= 0 {
		return line[i:]
	}
	return line
}
