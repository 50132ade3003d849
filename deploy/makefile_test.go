package deploy

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeBuildStampsVersion runs `make build` as a release would and
// asks the binary its version: the ldflags path (-X main.version) must
// match the variable in cmd/condeco-visitor-sync, or every build says "dev".
func TestMakeBuildStampsVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	bin := t.TempDir()
	const v = "v9.9.9-stamp-test"
	cmd := exec.Command("make", "-s", "-C", "..", "build", "VERSION="+v, "BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "condeco-visitor-sync"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "condeco-visitor-sync "+v {
		t.Fatalf("--version printed %q, want the stamped %q", got, v)
	}
}

// TestMakeTargetsNameExistingPackages catches a Makefile that still names
// a package that moved (the old ./sync package did): `go list` of every
// package pattern in bench-go must succeed, and the fuzz loop must find
// every package that has a fuzzer.
func TestMakeTargetsNameExistingPackages(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	out, err := exec.Command("make", "-s", "-n", "-C", "..", "bench-go").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n bench-go: %v\n%s", err, out)
	}
	var pkgs []string
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "./") {
			pkgs = append(pkgs, f)
		}
	}
	if len(pkgs) == 0 {
		t.Fatalf("bench-go names no package:\n%s", out)
	}
	list := exec.Command("go", append([]string{"list"}, pkgs...)...)
	list.Dir = ".."
	if out, err := list.CombinedOutput(); err != nil {
		t.Fatalf("go list %v: %v\n%s", pkgs, err, out)
	}
	out, err = exec.Command("make", "-s", "-n", "-C", "..", "fuzz").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "grep -rl") {
		t.Fatalf("make -n fuzz should find fuzzers by grep: %v\n%s", err, out)
	}
}
