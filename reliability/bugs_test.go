package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor/simulator"
)

// knownBug skips a test that shows a reported bug, unless
// CVS_RELIABILITY_BUGS is set. Each test checks first, so once the bug
// is fixed it passes without reaching here.
func knownBug(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CVS_RELIABILITY_BUGS") == "" {
		t.Skip(msg)
	}
}

// A users query that outlives condeco_query_timeout must fail with an
// error that says so; an operator reading "Rows are closed" cannot tell a
// timeout from a bug.
func TestQueryTimeoutErrorNamesTheTimeout(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "condeco.db")
	seedDB(t, openDB(t, dbPath), 100)
	q := usersQuery("u.LastName", "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < u.UserID * 20000) SELECT count(*) FROM c) > 0")
	st, err := condeco.Open(context.Background(), condeco.Options{Driver: "sqlite", DSN: dbPath, UsersQuery: q, QueryTimeout: 500 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var msgs []string
	for range 3 {
		_, err := st.Export(context.Background())
		if err == nil {
			t.Fatal("the slow export finished inside its timeout")
		}
		msgs = append(msgs, err.Error())
	}
	for _, m := range msgs {
		if !strings.Contains(m, "deadline") && !strings.Contains(m, "timeout") && !strings.Contains(m, "timed out") {
			knownBug(t, "BUG: condeco/store.go:191 (and :290, fn gets the caller's ctx, not the timeout ctx) a query timeout surfaces as \"reading users row N: sql: Rows are closed\", which does not say the query timed out")
			t.Fatalf("timeout errors do not say so: %q", msgs)
		}
	}
}

// Every change a run makes must be in the audit log, even when the
// process is killed (OOM killer, node loss, SIGKILL from a supervisor).
func TestAuditRecordsChangesOfAKilledRun(t *testing.T) {
	const users = 300
	e := newEnv(t, users, simulator.Options{}, "")
	applied, _, exited := e.killAt(150)
	if exited {
		t.Fatal("the run finished before the kill")
	}
	if r := e.run(time.Minute, "--run-now"); r.code != exitOK {
		t.Fatalf("recovery run: %s", r)
	}
	audit := e.auditActions()
	missing := users - audit["create"]
	t.Logf("%d users created by the killed run, %d create lines in the audit log for %d users", applied, audit["create"], users)
	if missing > 0 {
		knownBug(t, fmt.Sprintf("BUG: sync/run.go:193 audit lines are appended only after the whole apply phase, so the %d creates a SIGKILLed run made are in Visitor but not in audit.log", missing))
		t.Fatalf("%d created users have no audit line", missing)
	}
}
