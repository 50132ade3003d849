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
