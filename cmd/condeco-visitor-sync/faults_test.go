package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/sync/service"
	"condeco-visitor-sync/visitor/simulator"
)

// The demonstration for the client: a run-now against a Visitor
// that answers 20 % of requests with 5xx and bursts of 429 (its budget is
// below the client's) still finishes with zero failed users, no duplicate,
// and a report that says how many requests the faults cost.
func TestRunNowThrough429BurstAnd5xx(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simulator.Options{
		RateLimit: 3000, // per minute, burst 5: the client sends 6000 a minute, so it bursts into 429s
		RateBurst: 5,
		Faults: simulator.Faults{
			ErrorRate: map[int]float64{500: 0.1, 503: 0.1},
			Sequence:  7,
		},
	}, "scim_retry_max: 12\nscim_concurrency: 8\n") // eight workers overlap the retry waits
	appendCfg(t, f, "scim_rate_limit: 6000\n")
	code, out, errs := f.run(context.Background(), "--run-now")
	if code != service.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	rep := lastReport(t, f)
	if rep.Counts.Failed != 0 {
		t.Fatalf("%d failed users: %+v", rep.Counts.Failed, rep.Failures)
	}
	st := f.sim.Stats()
	var n429, n5xx int
	for k, v := range st.ByStatus {
		switch {
		case k == "429":
			n429 += v
		case strings.HasPrefix(k, "5"):
			n5xx += v
		}
	}
	if n429 == 0 || n5xx == 0 {
		t.Fatalf("faults not exercised: %d × 429, %d × 5xx (stats %v)", n429, n5xx, st.ByStatus)
	}
	seenName, seenExt := map[string]bool{}, map[string]bool{}
	for _, u := range f.sim.Users() {
		if seenName[strings.ToLower(u.UserName)] || (u.ExternalID != "" && seenExt[u.ExternalID]) {
			t.Errorf("duplicate user %s / %s", u.UserName, u.ExternalID)
		}
		seenName[strings.ToLower(u.UserName)], seenExt[u.ExternalID] = true, true
	}
	if got, want := managedUsers(f.sim), exportCount(t, f); got != want {
		t.Errorf("simulator holds %d managed users, export has %d", got, want)
	}
	if rep.Requests <= rep.MinRequests || rep.ExtraRequests != rep.Requests-rep.MinRequests {
		t.Errorf("report: requests %d, minimum %d, extra %d", rep.Requests, rep.MinRequests, rep.ExtraRequests)
	}
	t.Logf("429s %d, 5xx %d; requests %d, minimum %d, extra %d", n429, n5xx, rep.Requests, rep.MinRequests, rep.ExtraRequests)

	// The next run converges to zero changes.
	code, out, _ = f.run(context.Background(), "--run-now", "--dry-run")
	if code != service.ExitOK || !strings.Contains(out, "planned changes: 0") {
		t.Fatalf("after the faulty run, a dry run should plan nothing (exit %d):\n%s", code, out)
	}
}

func lastReport(t *testing.T, f *fixture) runner.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "state", "last-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep runner.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}
