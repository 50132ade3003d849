package runner

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"condeco-visitor-sync/sync/audit"
	. "condeco-visitor-sync/sync/internal/synctest"
)

// A run after a crash that cut the audit log's last line short ends and
// marks the part, says so, and leaves a log that reads whole, with what
// was there before unchanged.
func TestRunOnceMendsATornAuditLog(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1", VGiven("Old")))
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	torn := `{"run":"run-0","time":"2026-12-05T00:00:00Z","action":"run","result":"started"}` + "\n" + `{"run":`
	if err := os.WriteFile(path, []byte(torn), 0o600); err != nil {
		t.Fatal(err)
	}
	r, logs := newRunner(export(CU("1"), CU("2")), f, nil)
	r.AuditPath = path
	run(t, r, Flags{})
	said := logs.FilterMessageSnippet("cut short by a crash").All()
	if len(said) != 1 {
		t.Errorf("warnings about the torn line: %v", said)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(torn+"\n")) {
		t.Errorf("what was in the log before the run changed")
	}
	runs := map[string]int{}
	if err := audit.Read(bytes.NewReader(b), func(e audit.Entry) error { runs[e.Run]++; return nil }); err != nil {
		t.Fatalf("the log after the run does not read: %v", err)
	}
	if runs["run-0"] != 1 || runs["run-1"] < 5 || !bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("lines per run %v (want the old header and this run's header, intents and outcomes)", runs)
	}
}
