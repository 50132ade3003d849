package reliability

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"condeco-visitor-sync/visitor/simulator"
)

// exitInterrupted is the binary's exit code for a run stopped by a signal.
const exitInterrupted = 10

// SIGTERM, SIGINT and SIGHUP during a run-now each drain it: exit 10, a
// stopped line in the audit log, the report written, and every write
// Visitor received on record; the next run converges.
func TestSignalsLeaveStoppedLineAndReport(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			writing := make(chan struct{}, 1)
			e := newEnv(t, 300, simulator.Options{Faults: simulator.Faults{Latency: 20 * time.Millisecond},
				OnRequest: func(method, path string) {
					if method == "POST" && strings.HasSuffix(path, "/Users") {
						select {
						case writing <- struct{}{}:
						default:
						}
					}
				}}, "")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd, _, errb := e.command(ctx, "--run-now")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-writing:
			case <-ctx.Done():
				t.Fatal("the run never wrote")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			rep := e.lastReport()
			b, rerr := os.ReadFile(filepath.Join(e.stateDir, "audit.log"))
			if rerr != nil {
				t.Fatal(rerr)
			}
			stopped := strings.Contains(string(b), `"result":"stopped"`)
			intents := auditIntents(t, filepath.Join(e.stateDir, "audit.log"))
			missing := 0
			for _, u := range e.sim.Users() {
				if u.ExternalID != "" && !intents[u.ExternalID] {
					missing++
				}
			}
			t.Logf("RESULT fault=%q exit=%d created=%d stoppedLine=%v reportError=%q withoutAuditLine=%d",
				"run-now stopped by "+sig.String(), code, rep.Counts.Created, stopped, rep.Error, missing)
			if code != exitInterrupted || !stopped || rep.Error == "" || missing != 0 {
				t.Fatalf("want exit %d, a stopped line, the report with its error and every write on record (%v)\n%s", exitInterrupted, err, tail(errb.String(), 2000))
			}
			if r := e.run(2*time.Minute, "--run-now"); r.code != exitOK {
				t.Fatalf("next run: %s", r)
			}
			e.checkIntact(300)
		})
	}
}
