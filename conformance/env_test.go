package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"condeco-visitor-sync/condeco"
)

// testToken is the bearer token of every SCIMMY server the tests start.
const testToken = "conformance-token-4b1d7e"

// Schema URNs of docs/visitor-scim.md, as server.js declares them.
const visitorUserURN = "urn:ietf:params:scim:schemas:extension:eptura:visitor:2.0:User"

// runTimeout bounds every run of the binary: a hang fails the test, not
// the package.
const runTimeout = 3 * time.Minute

// env is one installation: a SQLite Condeco database made from
// testdata/condeco, a fresh SCIMMY server behind the tests' proxy, a config
// file and a state directory, run through the real binary.
type env struct {
	t        *testing.T
	dir      string
	dbPath   string
	db       *sqlx.DB
	server   *scimmy
	proxy    *proxy
	cfgPath  string
	stateDir string
}

// newEnv loads schema.sql and sample.sql and writes a config whose
// scim_url is the proxy; extraCfg is appended. Pages of 100 make the
// sample's managed users three pages, so page faults have pages to hit.
func newEnv(t *testing.T, extraCfg string) *env {
	t.Helper()
	needServer(t)
	dir := t.TempDir()
	e := &env{t: t, dir: dir, dbPath: filepath.Join(dir, "condeco.db"),
		cfgPath: filepath.Join(dir, "config.yaml"), stateDir: filepath.Join(dir, "state")}
	db, err := sqlx.Open("sqlite", e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	for _, f := range []string{"schema.sql", "sample.sql"} {
		e.execFile(f)
	}
	e.server = startSCIMMY(t, testToken)
	e.proxy = startProxy(t, e.server.url)
	cfg := fmt.Sprintf("condeco_driver: sqlite\ncondeco_dsn: %q\nscim_url: %q\nscim_rate_limit: 60000\nscim_page_size: 100\nscim_retry_max: 2\n"+
		"state_dir: %q\nlog_level: info\nmetrics_listen: \"\"\n%s", e.dbPath, e.proxy.url, e.stateDir, extraCfg)
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// execFile runs one of testdata/condeco's SQL files on the source.
func (e *env) execFile(name string) {
	e.t.Helper()
	if err := condeco.ExecFile(context.Background(), e.db, filepath.Join("..", "testdata", "condeco", name)); err != nil {
		e.t.Fatal(err)
	}
}

// exported is what the sync reads from the source: the externalIds the
// server must end up holding, and the userNames by externalId.
func (e *env) exported() map[string]string {
	e.t.Helper()
	st, err := condeco.Open(context.Background(), condeco.Options{Driver: "sqlite", DSN: e.dbPath}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	exp, err := st.Export(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range exp.Users {
		if !u.Inactive { // a deactivated row is read, but given no account
			out["condeco:"+u.ID] = u.UserName
		}
	}
	return out
}

// result is one finished run of the binary.
type result struct {
	name           string
	code           int
	stdout, stderr string
	planned        int // "planned changes: N", -1 when the run printed none
	writes         int // writes that reached the server during the run
	elapsed        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("%s: exit %d after %s, planned %d, writes %d\nstdout:\n%s\nstderr:\n%s", r.name, r.code,
		r.elapsed.Round(time.Millisecond), r.planned, r.writes, tail(r.stdout, 3000), tail(r.stderr, 4000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

var plannedRe = regexp.MustCompile(`planned changes: (\d+)`)

// run runs the binary once with args and logs a RESULT line: the
// conformance runs' exit codes and counts are the evidence.
func (e *env) run(name string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"--config", e.cfgPath}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "TZ=UTC", "CVS_SCIM_TOKEN=" + testToken}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	before := e.proxy.writeCount()
	reportBefore := e.reportTime()
	start := time.Now()
	err := cmd.Run()
	r := result{name: name, stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start), planned: -1}
	r.writes = e.proxy.writeCount() - before
	if ctx.Err() != nil {
		e.t.Fatalf("run %q did not finish within %s\n%s", name, runTimeout, r)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running the binary: %v", err)
	}
	if m := plannedRe.FindStringSubmatch(r.stdout); m != nil {
		r.planned, _ = strconv.Atoi(m[1])
	}
	e.logResult(r, !e.reportTime().Equal(reportBefore))
	return r
}

// reportTime is when last-report.json was last written (zero if never).
func (e *env) reportTime() time.Time {
	fi, err := os.Stat(filepath.Join(e.stateDir, "last-report.json"))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// logResult writes the run's RESULT line, with its report's counts when
// the run wrote one (dry runs and --check do not).
func (e *env) logResult(r result, reported bool) {
	e.t.Helper()
	line := fmt.Sprintf("RESULT %s: exit %d, planned %d, writes %d, %s", r.name, r.code, r.planned, r.writes, r.elapsed.Round(time.Millisecond))
	if reported {
		if rep, ok := e.report(); ok {
			c := rep.Counts
			line += fmt.Sprintf(", created %d updated %d deleted %d deactivated %d failed %d conflicts %d locations created %d, requests %d",
				c.Created, c.Updated, c.Deleted, c.Deactivated, c.Failed, c.Conflicts, c.LocationsCreated, rep.Requests)
			if rep.Error != "" {
				line += ", error: " + rep.Error
			}
		}
	}
	e.t.Log(line)
}

// report is the part of state_dir/last-report.json the tests read,
// decoded as an operator's script would.
type report struct {
	Counts struct {
		Created, Adopted, Updated, Deleted, Deactivated, Unchanged, Failed, Conflicts, LocationsCreated int
	} `json:"counts"`
	Failures []struct{ User, ExternalID, Action, Reason string } `json:"failures"`
	Requests int64                                               `json:"requests"`
	Error    string                                              `json:"error"`
}

func (e *env) report() (report, bool) {
	var rep report
	b, err := os.ReadFile(filepath.Join(e.stateDir, "last-report.json"))
	if err != nil {
		return rep, false
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		e.t.Errorf("last-report.json: %v", err)
		return rep, false
	}
	return rep, true
}

// want fails the test unless r ended with code.
func (e *env) want(r result, code int) {
	e.t.Helper()
	if r.code != code {
		e.t.Fatalf("want exit %d:\n%s", code, r)
	}
}

// hit fails unless the proxy's fault altered at least one answer: a case
// the binary never ran into would pass without proving anything.
func (e *env) hit(f fault) {
	e.t.Helper()
	if e.proxy.hitCount() == 0 {
		e.t.Errorf("the proxy never answered with %q: the case did not test it", f)
	}
}

// converged runs a dry run and fails unless it exits 0 planning nothing.
func (e *env) converged(name string) {
	e.t.Helper()
	r := e.run(name, "--run-now", "--dry-run")
	if r.code != exitOK || r.planned != 0 || r.writes != 0 {
		e.t.Fatalf("does not converge: want exit 0, 0 planned changes, 0 writes:\n%s", r)
	}
}

// serverUser is a user as the server holds it, read from the server
// itself, not through the proxy.
type serverUser struct {
	ID           string `json:"id"`
	ExternalID   string `json:"externalId"`
	UserName     string `json:"userName"`
	Active       bool   `json:"active"`
	Name         struct{ GivenName, FamilyName string }
	PhoneNumbers []struct{ Value, Type string } `json:"phoneNumbers"`
	Visitor      struct {
		DefaultLocation string `json:"defaultLocation"`
		Locations       []struct {
			Value string `json:"value"`
			Role  string `json:"role"`
		} `json:"locations"`
	}
}

type serverLocation struct {
	ID         string `json:"id"`
	ExternalID string `json:"externalId"`
	Name       string `json:"name"`
	Default    bool   `json:"default"`
}

// census is everything the server holds.
type census struct {
	users     []serverUser
	locations []serverLocation
}

func (e *env) census() census {
	e.t.Helper()
	var c census
	for _, raw := range e.list("Users") {
		var u serverUser
		var ext map[string]json.RawMessage
		if err := json.Unmarshal(raw, &u); err != nil {
			e.t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &ext); err != nil {
			e.t.Fatal(err)
		}
		if v, ok := ext[visitorUserURN]; ok {
			if err := json.Unmarshal(v, &u.Visitor); err != nil {
				e.t.Fatal(err)
			}
		}
		c.users = append(c.users, u)
	}
	for _, raw := range e.list("Locations") {
		var l serverLocation
		if err := json.Unmarshal(raw, &l); err != nil {
			e.t.Fatal(err)
		}
		c.locations = append(c.locations, l)
	}
	return c
}

// list reads a whole resource type from the server in one page (SCIMMY
// does not cap count).
func (e *env) list(endpoint string) []json.RawMessage {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.server.url+"/"+endpoint+"?"+url.Values{"startIndex": {"1"}, "count": {"100000"}}.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var pg listPage
	if err := json.NewDecoder(resp.Body).Decode(&pg); err != nil || resp.StatusCode != http.StatusOK {
		e.t.Fatalf("listing %s from the server: %d %v", endpoint, resp.StatusCode, err)
	}
	if len(pg.Resources) != pg.TotalResults {
		e.t.Fatalf("listing %s from the server: %d of %d in one page", endpoint, len(pg.Resources), pg.TotalResults)
	}
	return pg.Resources
}

func (c census) byExternalID() map[string]serverUser {
	m := map[string]serverUser{}
	for _, u := range c.users {
		m[u.ExternalID] = u
	}
	return m
}

func (c census) location(externalID string) (serverLocation, bool) {
	for _, l := range c.locations {
		if l.ExternalID == externalID {
			return l, true
		}
	}
	return serverLocation{}, false
}

func (c census) defaultLocation() serverLocation {
	for _, l := range c.locations {
		if l.Default {
			return l
		}
	}
	return serverLocation{}
}

// intact fails unless the server holds exactly the exported users, once
// each, with no userName or externalId on two users. A user the export no
// longer has may stay only if inactive (deprovision: deactivate).
func (e *env) intact(c census, want map[string]string) {
	e.t.Helper()
	names, ids, active := map[string]int{}, map[string]int{}, map[string]bool{}
	for _, u := range c.users {
		names[strings.ToLower(u.UserName)]++
		ids[u.ExternalID]++
		active[u.ExternalID] = active[u.ExternalID] || u.Active
	}
	var dups, missing, extra []string
	for k, n := range names {
		if n > 1 {
			dups = append(dups, "userName "+k)
		}
	}
	for k, n := range ids {
		if n > 1 {
			dups = append(dups, "externalId "+k)
		}
		if _, ok := want[k]; !ok && active[k] {
			extra = append(extra, k)
		}
	}
	for k, name := range want {
		if ids[k] == 0 {
			missing = append(missing, k+" "+name)
		}
	}
	sort.Strings(dups)
	sort.Strings(missing)
	sort.Strings(extra)
	if len(dups)+len(missing)+len(extra) > 0 {
		e.t.Errorf("server holds %d users for %d exported: duplicates %v, missing %v, active and not exported %v",
			len(c.users), len(want), dups, missing, extra)
	}
}

// handMade stores a user on the server as a person would in Visitor's UI:
// straight to the server, without an externalId.
func (e *env) handMade(userName, given, family string) {
	e.t.Helper()
	e.send(http.MethodPost, "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]string{"givenName": given, "familyName": family},
		"emails":   []map[string]any{{"value": userName, "type": "work", "primary": true}},
		"active":   true,
	}, http.StatusCreated)
}

// send makes a request to the server as a superuser editing the tenant by
// hand would, and fails the test unless it answers want.
func (e *env) send(method, path string, body any, want int) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.server.url+path, bytes.NewReader(mustJSON(body)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("%s %s on the server: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
}
