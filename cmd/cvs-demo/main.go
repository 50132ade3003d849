// Command cvs-demo runs the README's `make demo`: a real end-to-end sync on
// embedded defaults (SQLite for Condeco, the in-process Visitor simulator),
// driving the real condeco-visitor-sync binary so that what the demo shows
// is what an operator gets.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor/simulator"
)

const demoToken = "demo-token-not-a-secret"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cvs-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "bin/condeco-visitor-sync", "the condeco-visitor-sync binary to drive")
	data := fs.String("testdata", "testdata/condeco", "folder with schema.sql, sample.sql and day2.sql to day4.sql")
	keep := fs.Bool("keep", false, "keep the work folder (database, config, reports, audit log)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := demo(stdout, *bin, *data, *keep); err != nil {
		fmt.Fprintln(stderr, "demo failed:", err)
		return 1
	}
	return 0
}

func demo(out io.Writer, bin, data string, keep bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	work, err := os.MkdirTemp("", "cvs-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(out, "work folder:", work)
	} else {
		defer os.RemoveAll(work)
	}

	url, sim, stop, err := simulator.Start(simulator.Options{Token: demoToken, DefaultLocationName: "Eptura HQ (integration default)"}, "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("starting simulator: %w", err)
	}
	defer stop(context.Background())
	fmt.Fprintf(out, "visitor simulator listening on %s\n", url)

	dbPath := filepath.Join(work, "condeco.db")
	db, err := loadCondeco(ctx, dbPath, data)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(out, "embedded condeco database %s loaded from %s\n", dbPath, data)

	cfgPath := filepath.Join(work, "config.yaml")
	cfg := fmt.Sprintf(`# written by cvs-demo
condeco_driver: sqlite
condeco_dsn: %q
scim_url: %q
scim_rate_limit: 6000
state_dir: %q
schedule: "0 2 * * *"
metrics_listen: "127.0.0.1:0"
log_level: info
log_format: console
`, dbPath, url, filepath.Join(work, "state"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}

	var (
		hand  handmade // what a superuser did by hand, which run 2 must keep
		leave leaver   // the account days three and four deactivate and bring back
	)
	steps := []struct {
		title string
		sql   string
		args  []string
		check func() error // what the run must have done in Visitor
	}{
		{"run 1: initial full sync (everyone created)", "", []string{"--run-now"}, nil},
		{"run 2: day two (new user, renamed user, departed user, new location named like the hand-made one, promotion to Global admin)", "day2.sql", []string{"--run-now"}, func() error { return hand.check(out, sim) }},
		{"run 4: day three (a user deactivated in Condeco)", "day3.sql", []string{"--run-now"}, func() error { return leave.check(out, sim, false) }},
		{"run 5: day four (the same user reactivated)", "day4.sql", []string{"--run-now"}, func() error { return leave.check(out, sim, true) }},
		{"run 6: the same day-four data once more, as a dry run (must plan zero changes)", "", []string{"--run-now", "--dry-run"}, nil},
	}
	fmt.Fprintf(out, "\n== check: which profile does the server speak? (--check)\n")
	text, code, err := runCLI(ctx, bin, cfgPath, "--check")
	fmt.Fprint(out, text)
	if err != nil {
		return err
	}
	if code != 0 || !strings.Contains(text, "visitor profile: scim2") {
		return fmt.Errorf("--check: exit code %d, or no profile named", code)
	}
	var last string
	for i, s := range steps {
		if s.sql != "" {
			if err := condeco.ExecFile(ctx, db, filepath.Join(data, s.sql)); err != nil {
				return fmt.Errorf("applying %s: %w", s.sql, err)
			}
		}
		fmt.Fprintf(out, "\n== %s\n", s.title)
		before := sim.Stats().Total
		text, code, err := runCLI(ctx, bin, cfgPath, s.args...)
		fmt.Fprint(out, text)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "(exit code %d; the simulator saw %d requests)\n", code, sim.Stats().Total-before)
		if code != 0 {
			return fmt.Errorf("%s: exit code %d", s.title, code)
		}
		if s.check != nil {
			if err := s.check(); err != nil {
				return fmt.Errorf("%s: %w", s.title, err)
			}
		}
		switch i {
		case 0:
			fmt.Fprintf(out, "\n== by hand in Visitor, as a superuser does between two syncs\n")
			if hand, err = handEdits(out, sim); err != nil {
				return err
			}
			if leave, err = leaveOf(sim, "condeco:26"); err != nil {
				return err
			}
		case 1:
			fmt.Fprintf(out, "\n== run 3: the daemon as deployed (start-up sync, metrics, SIGTERM)\n")
			if err := daemonRun(ctx, out, bin, cfgPath); err != nil {
				return err
			}
		}
		last = text
	}
	if err := zeroChanges(last); err != nil {
		return err
	}
	fmt.Fprintf(out, "\ninvitations sent by the simulator: %d\n", len(sim.Outbox()))
	if err := printState(out, url); err != nil {
		return err
	}
	for _, q := range []struct{ title, arg, who string }{
		{"support: why is this person in Visitor as they are?", "--explain", "ingrid.solberg@example.co.uk"},
		{"support: how did the last runs go?", "--status", ""},
	} {
		args := []string{q.arg}
		if q.who != "" {
			args = append(args, q.who)
		}
		fmt.Fprintf(out, "\n== %s (%s)\n", q.title, strings.Join(args, " "))
		text, code, err := runCLI(ctx, bin, cfgPath, args...)
		fmt.Fprint(out, text)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("%s: exit code %d", strings.Join(args, " "), code)
		}
	}
	fmt.Fprintf(out, "\n== second profile: visitor_api generic-v1, Eptura's documented Generic SCIM integration (SCIM 1.1, users only)\n")
	if err := genericDemo(ctx, out, bin, data, work); err != nil {
		return err
	}
	fmt.Fprintln(out, "\ndemo ok: scim2: four days of syncs applied, what a superuser did by hand kept, and a last dry run plans zero changes; "+
		"generic-v1: two integrations provisioned, the by-hand list shown, a lost ownership record stopped the run and was rebuilt, and a last dry run plans zero changes")
	return nil
}

// runCLI runs the real binary and returns what it printed on stdout, with
// log lines (stderr) passed through.
func runCLI(ctx context.Context, bin, cfg string, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"--config", cfg}, args...)...)
	var sb strings.Builder
	cmd.Stdout = &sb
	cmd.Stderr = io.Discard // the summary on stdout is what the demo shows; logs are in the report
	cmd.Env = append(os.Environ(), "CVS_SCIM_TOKEN="+demoToken)
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return sb.String(), ee.ExitCode(), nil
	}
	if err != nil {
		return sb.String(), -1, fmt.Errorf("running %s: %w", bin, err)
	}
	return sb.String(), 0, nil
}

// zeroChanges checks the dry run's summary line rather than trusting an
// exit code: a converged sync plans nothing.
func zeroChanges(summary string) error {
	sc := bufio.NewScanner(strings.NewReader(summary))
	for sc.Scan() {
		if strings.HasPrefix(strings.TrimSpace(sc.Text()), "planned changes:") {
			if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "planned changes:")) == "0" {
				return nil
			}
			return fmt.Errorf("the converged dry run still plans changes: %s", sc.Text())
		}
	}
	return errors.New("the dry run printed no 'planned changes:' line")
}

func printState(out io.Writer, url string) error {
	base := strings.TrimSuffix(url, "/scim/v2")
	resp, err := http.Get(base + "/state")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var st struct {
		Users     []json.RawMessage `json:"users"`
		Locations []json.RawMessage `json:"locations"`
		Digest    string            `json:"digest"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return fmt.Errorf("reading simulator state: %w", err)
	}
	fmt.Fprintf(out, "visitor now holds %d users and %d locations (state digest %s)\n", len(st.Users), len(st.Locations), st.Digest)
	return nil
}

// loadCondeco makes the embedded Condeco database at path from the
// sample data: the same rows for each profile the demo runs.
func loadCondeco(ctx context.Context, path, data string) (*sqlx.DB, error) {
	db, err := sqlx.Open("sqlite", path)
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"schema.sql", "sample.sql"} {
		if err := condeco.ExecFile(ctx, db, filepath.Join(data, f)); err != nil {
			db.Close()
			return nil, fmt.Errorf("loading %s: %w", f, err)
		}
	}
	return db, nil
}
