package reliability

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor/simulator"
)

// Exit codes of the binary (cmd/condeco-visitor-sync/exit.go). Copied,
// not imported: package main cannot be imported, and a renumbering there
// must fail here.
const (
	exitOK          = 0
	exitConfig      = 2
	exitPartial     = 3
	exitSafetyLimit = 4
	exitSourceGuard = 5
	exitAuth        = 7
	exitSource      = 8
	exitTarget      = 9
)

// binPath is the binary under test, built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cvs-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "condeco-visitor-sync")
	// Built as it ships: no -race, static. The race detector still
	// covers the simulator and the test code in this process.
	cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, "condeco-visitor-sync/cmd/condeco-visitor-sync")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the binary: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testToken is the SCIM token every fixture hands the binary; it must
// never appear in anything the binary writes.
const testToken = "tok-9d2f61c4e8a7b035-SECRET"

// env is one installation: a SQLite Condeco database, a simulator on
// loopback and a config file, run through the real binary.
type env struct {
	t        *testing.T
	dir      string
	dbPath   string
	db       *sqlx.DB
	url      string
	sim      *simulator.Server
	cfgPath  string
	stateDir string
	extra    string // config keys of the case, kept across rewrites
	// vars are the environment variables the binary gets (secrets).
	vars map[string]string
	// wrap, when set, is a command the binary runs under (prlimit …).
	wrap []string
	// generic: the simulator and the config speak generic-v1, where the
	// sync's users are those created through SCIM (no externalId).
	generic bool
}

// newEnv makes an installation whose source holds users generated users
// (ids 1..users) on four locations. extraCfg is appended to the config.
func newEnv(t *testing.T, users int, so simulator.Options, extraCfg string) *env {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "condeco.db")
	fillDB(t, openDB(t, dbPath), users)
	return newEnvOn(t, dbPath, so, extraCfg)
}

// newEnvOn is newEnv on an existing source database (shared, read-only
// for the binary), with a fresh simulator and state directory.
func newEnvOn(t *testing.T, dbPath string, so simulator.Options, extraCfg string) *env {
	t.Helper()
	dir := t.TempDir()
	if so.Token == "" {
		so.Token = testToken
	}
	url, sim, stop, err := simulator.Start(so, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(context.Background()) })
	e := &env{t: t, dir: dir, dbPath: dbPath, url: url, sim: sim,
		cfgPath: filepath.Join(dir, "config.yaml"), stateDir: filepath.Join(dir, "state"),
		vars: map[string]string{"CVS_SCIM_TOKEN": testToken}, generic: so.API == simulator.APIGenericV1}
	e.db = openDB(t, e.dbPath)
	e.extra = extraCfg
	e.writeConfig(e.sqliteConfig() + extraCfg)
	return e
}

func (e *env) sqliteConfig() string {
	return fmt.Sprintf("condeco_driver: sqlite\ncondeco_dsn: %q\n", e.dbPath)
}

// writeConfig writes the config with the common keys and extra.
func (e *env) writeConfig(extra string) {
	e.t.Helper()
	cfg := fmt.Sprintf("scim_url: %q\nscim_rate_limit: 60000\nstate_dir: %q\nlog_level: info\nmetrics_listen: \"\"\n%s",
		e.url, e.stateDir, extra)
	if e.generic {
		cfg += "visitor_api: generic-v1\n"
	}
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) readConfig() string {
	e.t.Helper()
	b, err := os.ReadFile(e.cfgPath)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func (e *env) writeRaw(cfg string) {
	e.t.Helper()
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func openDB(t *testing.T, path string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fillDB loads the assumed schema, four locations and n plain users.
// User 1 is a Global admin so Visitor always has an active admin.
func fillDB(t *testing.T, db *sqlx.DB, n int) {
	t.Helper()
	ctx := context.Background()
	if err := condeco.ExecFile(ctx, db, filepath.Join("..", "testdata", "condeco", "schema.sql")); err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		"INSERT INTO tblCountries (CountryID, CountryCode, CountryName) VALUES (1, 'GB', 'United Kingdom')",
		"INSERT INTO tblRegions (RegionID, CountryID, RegionName) VALUES (10, 1, 'London')",
	}
	for i := 101; i <= 104; i++ {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO tblLocations (LocationID, RegionID, CountryID, LocationName, Active) VALUES (%d, 10, 1, 'Office %d', 1)", i, i))
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	insertUsers(t, db, 1, n)
}

// addUsers adds n users from id first on.
func (e *env) addUsers(first, n int) { insertUsers(e.t, e.db, first, n) }

func insertUsers(t *testing.T, db *sqlx.DB, first, n int) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, AccessLevel, UserType, DefaultLocationID, Active, Deleted)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?, 1, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	for i := first; i < first+n; i++ {
		email := fmt.Sprintf("person%05d@example.com", i)
		level := 0
		if i == 1 {
			level = 1
		}
		if _, err := st.ExecContext(ctx, i, email, email, "First", fmt.Sprintf("Person%05d", i), level, 101+i%4); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// result is one finished run of the binary.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %s\nstdout:\n%s\nstderr:\n%s", r.code, r.elapsed.Round(time.Millisecond), tail(r.stdout, 3000), tail(r.stderr, 3000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// command builds the child process with only the variables it needs.
func (e *env) command(ctx context.Context, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	argv := append([]string{binPath, "--config", e.cfgPath}, args...)
	if len(e.wrap) > 0 {
		argv = append(append([]string(nil), e.wrap...), argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "TZ=UTC"}
	for k, v := range e.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	return cmd, &out, &errb
}

// run runs the binary to the end; every run is bounded by a timeout so a
// hang fails the test instead of the whole package.
func (e *env) run(timeout time.Duration, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd, out, errb := e.command(ctx, args...)
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		e.t.Fatalf("run %v did not finish within %s\n%s", args, timeout, r)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running the binary: %v", err)
	}
	return r
}

// converged runs a dry run and fails unless it plans nothing.
func (e *env) converged() {
	e.t.Helper()
	r := e.run(2*time.Minute, "--run-now", "--dry-run")
	if r.code != exitOK || !strings.Contains(r.stdout, "planned changes: 0") {
		e.t.Fatalf("the next run does not converge to zero changes:\n%s", r)
	}
}

// census is what the simulator holds, checked for duplicates.
type census struct {
	managed       int // users whose externalId has the managed prefix
	dupNames      []string
	dupExternalID []string
}

func (e *env) census() census {
	var c census
	names, exts := map[string]bool{}, map[string]bool{}
	for _, u := range e.sim.Users() {
		n := strings.ToLower(u.UserName)
		if names[n] {
			c.dupNames = append(c.dupNames, n)
		}
		names[n] = true
		if u.ExternalID != "" {
			if exts[u.ExternalID] {
				c.dupExternalID = append(c.dupExternalID, u.ExternalID)
			}
			exts[u.ExternalID] = true
		}
		if strings.HasPrefix(u.ExternalID, "condeco:") || (e.generic && u.ViaSCIM) {
			c.managed++
		}
	}
	return c
}

// createsAccepted counts the user creates the simulator applied, answered
// or not. Each user must be created exactly once over all runs.
func createsAccepted(st simulator.Stats) int {
	return st.ByRouteStatus["POST /Users 201"] + st.ByRouteStatus["POST /Users droppedAfterWrite"]
}

// checkIntact fails on a duplicate, a lost user, a second create of one
// user or any delete; it returns the census for logging.
func (e *env) checkIntact(want int) census {
	e.t.Helper()
	c := e.census()
	if len(c.dupNames) > 0 || len(c.dupExternalID) > 0 {
		e.t.Errorf("duplicates: userName %v, externalId %v", c.dupNames, c.dupExternalID)
	}
	if c.managed != want {
		e.t.Errorf("simulator holds %d managed users, source has %d (lost %d)", c.managed, want, want-c.managed)
	}
	st := e.sim.Stats()
	if n := createsAccepted(st); n != want {
		e.t.Errorf("simulator applied %d user creates for %d users: a user was created twice (%v)", n, want, st.ByRouteStatus)
	}
	if n := st.ByMethod["DELETE"]; n != 0 {
		e.t.Errorf("%d DELETE requests; the plan called for none", n)
	}
	return c
}

// report is the part of state_dir/last-report.json the tests read. It is
// decoded on its own rather than as sync.Report so that these tests read
// the file as an operator's script would.
type report struct {
	RunID  string `json:"runId"`
	Counts struct {
		Created   int `json:"created"`
		Updated   int `json:"updated"`
		Deleted   int `json:"deleted"`
		Failed    int `json:"failed"`
		Conflicts int `json:"conflicts"`
		Held      int `json:"held"`
	} `json:"counts"`
	Failures []struct {
		User, ExternalID, Action, Reason string
	} `json:"failures"`
	SourceProblems int      `json:"sourceProblems"`
	Problems       []string `json:"problems"`
	Requests       int64    `json:"requests"`
	Plan           *struct {
		Held []struct {
			UserName   string `json:"userName"`
			ExternalID string `json:"externalId"`
			Reason     string `json:"reason"`
		} `json:"held"`
	} `json:"plan"`
	Error string `json:"error"`
}

func (e *env) lastReport() report {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.stateDir, "last-report.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		e.t.Fatal(err)
	}
	return rep
}

// exec runs SQL against the fixture database.
func (e *env) exec(q string, args ...any) sql.Result {
	e.t.Helper()
	r, err := e.db.Exec(q, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return r
}

// lockedBuffer is a bytes.Buffer safe to read while a child process
// writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// daemon starts the binary as a daemon (no --run-now), waits until it has
// finished n runs or until timeout, calls during (if set) while it is
// still up, then stops it with SIGTERM. It returns the runs seen, stdout
// and stderr.
func (e *env) daemon(n int, timeout time.Duration, during func()) (runs int, stdout, stderr string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	cmd, _, _ := e.command(ctx)
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if runs = strings.Count(errb.String(), `"msg":"sync run finished"`); runs >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if during != nil {
		during()
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		e.t.Errorf("daemon exit after SIGTERM: %v\n%s", err, tail(errb.String(), 2000))
	}
	runs = strings.Count(errb.String(), `"msg":"sync run finished"`)
	return runs, out.String(), errb.String()
}

// daemonRuns runs the daemon for n runs and returns the runs and stderr.
func (e *env) daemonRuns(n int, timeout time.Duration) (int, string) {
	runs, _, stderr := e.daemon(n, timeout, nil)
	return runs, stderr
}
