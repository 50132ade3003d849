package reliability

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"condeco-visitor-sync/visitor/simulator"
)

// exitAudit is the binary's exit code for an audit log or report it could
// not write.
const exitAudit = 11

// An audit log that cannot be opened stops the run before its first
// write: nothing reaches Visitor without a line on record.
func TestAuditUnwritableWritesNothing(t *testing.T) {
	e := newEnv(t, 50, simulator.Options{}, "")
	// A folder where the log should be: no process, root included, can
	// append to it.
	if err := os.MkdirAll(filepath.Join(e.stateDir, "audit.log"), 0o750); err != nil {
		t.Fatal(err)
	}
	r := e.run(time.Minute, "--run-now")
	writes := writeRequests(e.sim.Stats())
	t.Logf("RESULT fault=%q exit=%d writes=%d", "audit log unopenable", r.code, writes)
	if r.code != exitAudit || writes != 0 {
		t.Fatalf("want exit %d and no write; got %d writes\n%s", exitAudit, writes, r)
	}
	if !strings.Contains(r.stdout+r.stderr, "audit log not written") {
		t.Errorf("the error does not name the audit log:\n%s", r)
	}
}

// state_dir on a 64 KiB filesystem: the audit log fills it half-way
// through an initial sync. The first line that fails stops new writes at
// once; every write Visitor received has its intent line; the run exits
// 11; with room again, the next run converges.
func TestAuditDiskFullStopsWrites(t *testing.T) {
	const users = 500
	e := newEnv(t, users, simulator.Options{}, "")
	small := smallStateDir(t, e, 64<<10)
	r := e.run(2*time.Minute, "--run-now")
	st := e.sim.Stats()
	applied := createsAccepted(st)
	intents := auditIntents(t, filepath.Join(e.stateDir, "audit.log"))
	missing := 0
	for _, u := range e.sim.Users() {
		if u.ExternalID != "" && !intents[u.ExternalID] {
			missing++
		}
	}
	t.Logf("RESULT fault=%q how=%s users=%d exit=%d createdBeforeStop=%d intentLines=%d withoutAuditLine=%d",
		"state_dir full (64 KiB)", small, users, r.code, applied, len(intents), missing)
	if r.code != exitAudit {
		t.Fatalf("want exit %d\n%s", exitAudit, r)
	}
	if applied == 0 || applied >= users {
		t.Fatalf("the disk should fill part-way: %d of %d created", applied, users)
	}
	if missing != 0 {
		t.Fatalf("%d users created without an audit line", missing)
	}
	// Room again: the same state_dir elsewhere, and the run converges.
	e.stateDir, e.wrap = filepath.Join(e.dir, "state-roomy"), nil
	if err := os.MkdirAll(e.stateDir, 0o750); err != nil {
		t.Fatal(err)
	}
	e.writeConfig(e.sqliteConfig() + e.extra)
	if r := e.run(2*time.Minute, "--run-now"); r.code != exitOK {
		t.Fatalf("run with room again:\n%s", r)
	}
	e.checkIntact(users)
	e.converged()
}

// smallStateDir puts state_dir on a tmpfs of size bytes (root, mount
// allowed); elsewhere it limits the size of any file the binary writes
// (RLIMIT_FSIZE through prlimit), which fails the audit log's appends the
// same way (EFBIG instead of ENOSPC). It says which it used.
func smallStateDir(t *testing.T, e *env, size int) string {
	t.Helper()
	if err := os.MkdirAll(e.stateDir, 0o750); err != nil {
		t.Fatal(err)
	}
	dir := e.stateDir
	err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size))
	if err == nil {
		t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
		return "tmpfs"
	}
	prlimit, lerr := exec.LookPath("prlimit")
	if lerr != nil {
		t.Skipf("cannot mount a tmpfs (%v) and no prlimit to limit file sizes", err)
	}
	e.wrap = []string{prlimit, "--fsize=" + strconv.Itoa(size), "--"}
	return "RLIMIT_FSIZE"
}

// auditIntents are the externalIds with a create intent line.
func auditIntents(t *testing.T, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct{ Action, Result, ExternalID string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("audit line is not JSON (a line cut short must be cut off): %v: %q", err, sc.Text())
		}
		if l.Action == "create" && l.Result == "intent" {
			out[l.ExternalID] = true
		}
	}
	return out
}

// writeRequests counts the requests that could change Visitor.
func writeRequests(st simulator.Stats) int {
	return st.ByMethod["POST"] + st.ByMethod["PATCH"] + st.ByMethod["PUT"] + st.ByMethod["DELETE"]
}

// A 429 asking for years: the run does not wait (and hold its lock) for
// them; the request fails at once and the run exits as a target failure,
// naming the value and the limit.
func TestHugeRetryAfterDoesNotHoldTheRun(t *testing.T) {
	e := newEnv(t, 20, simulator.Options{}, "")
	target, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "99999999")
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429","detail":"slow down"}`))
	}))
	defer proxy.Close()
	e.url = proxy.URL + target.Path
	e.writeConfig(e.sqliteConfig() + e.extra)
	r := e.run(time.Minute, "--run-now")
	t.Logf("RESULT fault=%q exit=%d elapsed=%s", "429 with Retry-After 99999999", r.code, r.elapsed.Round(time.Millisecond))
	if r.code != exitTarget || r.elapsed > 30*time.Second || !strings.Contains(r.stdout+r.stderr, "scim_retry_wait_max") {
		t.Fatalf("want exit %d at once, naming scim_retry_wait_max\n%s", exitTarget, r)
	}
}
