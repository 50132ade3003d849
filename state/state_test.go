package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPruneReportsKeepsNewest(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 7; i++ {
		name := fmt.Sprintf("2026112%dT020000Z-run%d.json", i, i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pruneReports(dir, 3)
	left, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(left) != 3 || !strings.Contains(left[0], "run4") || !strings.Contains(left[2], "run6") {
		t.Fatalf("kept %v, want the three newest (run4..run6)", left)
	}
}
