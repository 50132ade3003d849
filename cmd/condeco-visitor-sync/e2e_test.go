package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

const testToken = "test-token-9f1c2e7a"

// fixture is a real embedded Condeco database and a real simulator on
// loopback, wired through a config file, as an operator would run it.
type fixture struct {
	t       *testing.T
	dir     string
	db      *sqlx.DB
	url     string
	sim     *simulator.Server
	cfgPath string
	token   string // what CVS_SCIM_TOKEN holds
	// shutdownGrace, when set, replaces the default grace of a stop.
	shutdownGrace time.Duration
}

func newFixture(t *testing.T, simOpts simulator.Options, extraCfg string) *fixture {
	t.Helper()
	dir := t.TempDir()
	if simOpts.Token == "" {
		simOpts.Token = testToken
	}
	url, sim, stop, err := simulator.Start(simOpts, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(context.Background()) })
	dbPath := filepath.Join(dir, "condeco.db")
	db, err := sqlx.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, f := range []string{"schema.sql", "sample.sql"} {
		if err := condeco.ExecFile(context.Background(), db, filepath.Join("..", "..", "testdata", "condeco", f)); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{t: t, dir: dir, db: db, url: url, sim: sim, cfgPath: filepath.Join(dir, "config.yaml"), token: testToken}
	cfg := fmt.Sprintf("condeco_driver: sqlite\ncondeco_dsn: %q\nscim_url: %q\nscim_rate_limit: 60000\nstate_dir: %q\nlog_level: warn\nmetrics_listen: \"127.0.0.1:0\"\n%s",
		dbPath, url, filepath.Join(dir, "state"), extraCfg)
	if err := os.WriteFile(f.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) env(k string) string {
	if k == "CVS_SCIM_TOKEN" {
		return f.token
	}
	return ""
}

// envs is the fixture's environment and graces for runContext.
func (f *fixture) envs() env {
	return env{getenv: f.env, shutdownGrace: f.shutdownGrace}
}

func (f *fixture) run(ctx context.Context, args ...string) (service.ExitCode, string, string) {
	var out, errb bytes.Buffer
	code := runContext(ctx, append([]string{"--config", f.cfgPath}, args...), &out, &errb, f.envs())
	return code, out.String(), errb.String()
}

func (f *fixture) state() string {
	resp, err := http.Get(strings.TrimSuffix(f.url, "/scim/v2") + "/state")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Digest string `json:"digest"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		f.t.Fatal(err)
	}
	return st.Digest
}

func TestRunNowConvergesAndDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	ctx := context.Background()

	before := f.state()
	code, out, errs := f.run(ctx, "--run-now", "--dry-run")
	if code != service.ExitOK {
		t.Fatalf("dry run exit %d\n%s\n%s", code, out, errs)
	}
	if after := f.state(); after != before {
		t.Fatalf("dry run changed the simulator: %s → %s", before, after)
	}
	if !strings.Contains(out, "create") {
		t.Errorf("dry run table shows no creates:\n%s", out)
	}

	code, out, errs = f.run(ctx, "--run-now")
	if code != service.ExitOK {
		t.Fatalf("first run exit %d\n%s\n%s", code, out, errs)
	}
	exp := exportCount(t, f)
	if got := managedUsers(f.sim); got != exp {
		t.Errorf("simulator holds %d managed users, export has %d", got, exp)
	}

	code, out, _ = f.run(ctx, "--run-now", "--dry-run")
	if code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
		t.Fatalf("second dry run should plan nothing (exit %d):\n%s", code, out)
	}

	if err := condeco.ExecFile(ctx, f.db, filepath.Join("..", "..", "testdata", "condeco", "day2.sql")); err != nil {
		t.Fatal(err)
	}
	// A dry run with real changes pending (update, delete, create, new
	// location) prints them and still writes nothing.
	before = f.state()
	code, out, errs = f.run(ctx, "--run-now", "--dry-run")
	if code != service.ExitOK {
		t.Fatalf("day-two dry run exit %d\n%s\n%s", code, out, errs)
	}
	if after := f.state(); after != before {
		t.Fatalf("day-two dry run changed the simulator: %s → %s", before, after)
	}
	for _, want := range []string{"create", "update", "delete", "ingrid.solberg@example.co.uk", "planned changes: 5"} {
		if !strings.Contains(out, want) {
			t.Errorf("day-two dry run output lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = f.run(ctx, "--run-now")
	if code != service.ExitOK {
		t.Fatalf("day-two run exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "planned changes: 5") {
		t.Errorf("day-two run should apply the 5 changes its dry run showed:\n%s", out)
	}
	code, out, _ = f.run(ctx, "--run-now", "--dry-run")
	if code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
		t.Fatalf("day-two data once more should plan nothing (exit %d):\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "state", "last-report.json")); err != nil {
		t.Errorf("no report written: %v", err)
	}
}

// exportCount counts the exported users that get a Visitor account: the
// active ones (deactivated rows are exported too, and given none).
func exportCount(t *testing.T, f *fixture) int {
	t.Helper()
	active, _ := exportCounts(t, f)
	return active
}

// exportCounts counts the exported users, active and all.
func exportCounts(t *testing.T, f *fixture) (active, all int) {
	t.Helper()
	st, err := condeco.Open(context.Background(), condeco.Options{Driver: "sqlite", DSN: filepath.Join(f.dir, "condeco.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	exp, err := st.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range exp.Users {
		if !u.Inactive {
			active++
		}
	}
	return active, len(exp.Users)
}

func managedUsers(s *simulator.Server) int {
	n := 0
	for _, u := range s.Users() {
		if strings.HasPrefix(u.ExternalID, "condeco:") {
			n++
		}
	}
	return n
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T, f *fixture) []string
		want  service.ExitCode
	}{
		{"no config", func(t *testing.T, f *fixture) []string { f.cfgPath = ""; return []string{"--run-now"} }, service.ExitConfig},
		{"unknown key", func(t *testing.T, f *fixture) []string {
			appendCfg(t, f, "max_deletess: 3\n")
			return []string{"--run-now"}
		}, service.ExitConfig},
		{"bad flag", func(t *testing.T, f *fixture) []string { return []string{"--allow-deletes", "-4"} }, service.ExitConfig},
		{"wrong token", func(t *testing.T, f *fixture) []string {
			f.token = "wrong-token"
			return []string{"--run-now"}
		}, service.ExitAuth},
		{"lock busy", func(t *testing.T, f *fixture) []string {
			l := holdLock(t, f)
			t.Cleanup(func() { l.Release() })
			return []string{"--run-now"}
		}, service.ExitLockBusy},
		{"source unreachable", func(t *testing.T, f *fixture) []string {
			appendCfg(t, f, "condeco_users_query: SELECT * FROM no_such_table\n")
			return []string{"--run-now"}
		}, service.ExitSource},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, simulator.Options{}, "")
			args := tc.setup(t, f)
			var code service.ExitCode
			var out, errs string
			if f.cfgPath == "" {
				var o, e bytes.Buffer
				code = runContext(context.Background(), args, &o, &e, env{getenv: func(string) string { return "" }})
				out, errs = o.String(), e.String()
			} else {
				code, out, errs = f.run(context.Background(), args...)
			}
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.want, out, errs)
			}
			if strings.Contains(out+errs, testToken) {
				t.Error("output leaks the SCIM token")
			}
		})
	}
}

// appendCfg overrides a key: yaml.v3 refuses duplicate keys, so the old
// line is removed first.
// appendCfg sets the key of line in the config file, replacing its line.
func appendCfg(t *testing.T, f *fixture, line string) {
	t.Helper()
	removeCfgKey(t, f, strings.SplitN(line, ":", 2)[0])
	b, err := os.ReadFile(f.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.cfgPath, append(b, line...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// removeCfgKey drops key's line from the config file.
func removeCfgKey(t *testing.T, f *fixture, key string) {
	t.Helper()
	b, err := os.ReadFile(f.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, key+":") {
			kept = append(kept, l)
		}
	}
	if err := os.WriteFile(f.cfgPath, []byte(strings.Join(kept, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if code := run([]string{"--version"}, &out, &out); code != int(service.ExitOK) || !strings.Contains(out.String(), "condeco-visitor-sync") {
		t.Fatalf("version: exit %d %q", code, out.String())
	}
}

var _ = time.Second

// TestReportFileLeavesPerUserDetailToTheAuditLog: the report on disk keeps
// counts, held rows and deletions, but not the creates' access lists,
// which made it grow with users × locations.
func TestReportFileLeavesPerUserDetailToTheAuditLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{}, "")
	if code, out, errs := f.run(context.Background(), "--run-now"); code != service.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	b, err := os.ReadFile(filepath.Join(f.dir, "state", "last-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Counts struct {
			Created int `json:"created"`
		} `json:"counts"`
		Plan struct {
			Creates []json.RawMessage `json:"creates"`
			Held    []json.RawMessage `json:"held"`
			Summary struct {
				Creates int `json:"creates"`
			} `json:"summary"`
		} `json:"plan"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Created == 0 || rep.Plan.Summary.Creates != rep.Counts.Created {
		t.Errorf("report counts: created %d, plan summary %d", rep.Counts.Created, rep.Plan.Summary.Creates)
	}
	if len(rep.Plan.Creates) != 0 {
		t.Errorf("report file lists %d creates; they belong in the audit log", len(rep.Plan.Creates))
	}
	if len(rep.Plan.Held) == 0 {
		t.Errorf("report file lost the held rows")
	}
	audit, err := os.ReadFile(filepath.Join(f.dir, "state", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for _, line := range strings.Split(strings.TrimSpace(string(audit)), "\n") {
		var e struct{ Action, Result string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if e.Action == "create" && e.Result == "ok" {
			created++
		}
	}
	if created != rep.Counts.Created {
		t.Errorf("audit log has %d verified creates, report counts %d", created, rep.Counts.Created)
	}
}
