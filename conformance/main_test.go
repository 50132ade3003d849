package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serverDirVar names the folder of the SCIMMY server with its node_modules
// installed. Unset, the suite skips: `go test ./...` must pass on a machine
// without Node.js.
const serverDirVar = "CVS_CONFORMANCE_SERVER_DIR"

// runSkippedVar, set to 1, runs the cases marked pending or known too, so
// that whoever implements the behaviour (or upgrades the server) sees them
// fail or pass before removing the mark.
const runSkippedVar = "CVS_CONFORMANCE_RUN_SKIPPED"

// Exit codes of the binary (README, "Exit codes"). Copied, not imported:
// package main cannot be imported, and a renumbering there must fail here.
const (
	exitOK     = 0
	exitTarget = 9
	// exitTargetGuard is the target guard's code (issue 14 point 2).
	exitTargetGuard = 12
)

var (
	binPath   string // the binary under test, built once by TestMain
	serverDir string // absolute path of the SCIMMY server folder
	nodePath  string
	setupErr  error // why the suite cannot run although it was asked to
)

func TestMain(m *testing.M) {
	dir := os.Getenv(serverDirVar)
	if dir == "" {
		os.Exit(m.Run()) // every test skips, saying how to run it
	}
	tmp, err := os.MkdirTemp("", "cvs-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	setupErr = setup(dir, tmp)
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// setup finds node and the server and builds the binary as it ships (no
// -race, static), as reliability's TestMain does.
func setup(dir, tmp string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	serverDir = abs
	if _, err := os.Stat(filepath.Join(serverDir, "node_modules", "scimmy")); err != nil {
		return fmt.Errorf("%s=%s has no node_modules/scimmy: run `npm ci --prefix %s` (make conformance does)", serverDirVar, dir, dir)
	}
	if nodePath, err = exec.LookPath("node"); err != nil {
		return fmt.Errorf("%s is set but node is not on PATH: %w", serverDirVar, err)
	}
	binPath = filepath.Join(tmp, "condeco-visitor-sync")
	cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, "condeco-visitor-sync/cmd/condeco-visitor-sync")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the binary: %v\n%s", err, out)
	}
	return nil
}

// needServer skips without the server folder and fails when it was named
// but cannot be used: a conformance run that silently did nothing would
// read as a pass.
func needServer(t *testing.T) {
	t.Helper()
	if os.Getenv(serverDirVar) == "" {
		t.Skipf("%s is not set: the conformance suite needs Node.js and SCIMMY; run `make conformance`", serverDirVar)
	}
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

// pending skips a case whose behaviour issue 14 asks for and the code
// does not have yet, unless runSkippedVar is set.
func pending(t *testing.T, why string) {
	t.Helper()
	skipUnless(t, "pending: ", why)
}

// known skips a case where the server, not the sync, breaks the RFC; why
// names the server, the behaviour and the section.
func known(t *testing.T, why string) {
	t.Helper()
	skipUnless(t, "known: ", why)
}

func skipUnless(t *testing.T, kind, why string) {
	t.Helper()
	if why != "" && os.Getenv(runSkippedVar) != "1" {
		t.Skip(kind + why)
	}
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

// scimmy is one SCIMMY server process, empty but for the primary location.
type scimmy struct {
	url    string // base URL, …/scim/v2
	token  string
	stdout *lockedBuffer
}

var listening = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+/scim/v2)`)

// startSCIMMY starts a fresh server on a free loopback port; it is stopped
// when the test ends.
func startSCIMMY(t *testing.T, token string) *scimmy {
	t.Helper()
	cmd := exec.Command(nodePath, "server.js", "--port", "0", "--token", token)
	cmd.Dir = serverDir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NODE_ENV=production"}
	pr, pw := io.Pipe()
	out := &lockedBuffer{}
	var errb lockedBuffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(pw, out), &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, pr) // out keeps the rest
	}()
	select {
	case u := <-urls:
		return &scimmy{url: u, token: token, stdout: out}
	case err := <-done:
		t.Fatalf("SCIMMY server exited before listening: %v\n%s%s", err, out, errb.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("SCIMMY server did not say it was listening within 30s\n%s%s", out, errb.String())
	}
	return nil
}

// invitations are the users the server sent a "Join your team" email to,
// in order (server.js logs each honoured sendInvitation).
func (s *scimmy) invitations() []string {
	var out []string
	for _, l := range strings.Split(s.stdout.String(), "\n") {
		if u, ok := strings.CutPrefix(l, "invitation sent to "); ok {
			out = append(out, u)
		}
	}
	return out
}
