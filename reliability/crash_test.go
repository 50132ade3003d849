package reliability

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"condeco-visitor-sync/sync/audit"
	"condeco-visitor-sync/visitor/simulator"
)

// Crash sizes: the 5,000 users and 20 kills, in `make test`.
// -short runs a smaller crash for a quick check.
const (
	crashUsers      = 5000
	crashKills      = 20
	crashUsersShort = 1000
	crashKillsShort = 5
	crashRandom     = 20261122 // CVS_RELIABILITY_RANDOM overrides it
	// crashRateLimit lifts the client's rate limit so the crash test is
	// bound by CPU, not by 1,000 calls a second.
	crashRateLimit = "600000"
)

func crashSize() (users, kills int, random uint64) {
	users, kills, random = crashUsers, crashKills, crashRandom
	if testing.Short() {
		users, kills = crashUsersShort, crashKillsShort
	}
	if s, err := strconv.ParseUint(os.Getenv("CVS_RELIABILITY_RANDOM"), 10, 64); err == nil {
		random = s
	}
	return users, kills, random
}

// The process is killed with SIGKILL at a random point of an initial
// sync, again and again, each time on a fresh Visitor; after each kill one
// more run must converge with nobody created twice, nobody missing and no
// delete at all (the plan of an initial sync calls for none). Every user
// in Visitor has an audit line: the intent line of a create is written
// before its request goes out, so not even the writes in flight at the
// kill lack one.
func TestCrashDuringInitialSync(t *testing.T) {
	users, kills, random := crashSize()
	rng := rand.New(rand.NewPCG(random, 0))
	dbPath := filepath.Join(t.TempDir(), "condeco.db")
	fillDB(t, openDB(t, dbPath), users)
	// An initial sync sends about one request per user plus listing,
	// location creates and the batched verification; kill points are
	// spread over all of it, so some land before the first write and
	// some during verification.
	span := users + users/50 + 10
	var beforeWrites, afterFinish, late, unaudited, lost, dups, deletes int
	start := time.Now()
	for i := 0; i < kills; i++ {
		e := newEnvOn(t, dbPath, simulator.Options{}, "")
		e.rewriteKey("scim_rate_limit", crashRateLimit)
		at := 1 + rng.IntN(span)
		if rng.IntN(5) == 0 {
			at = 1 + rng.IntN(8) // discovery, listing, location creates
		}
		applied, l, exited := e.killAt(at)
		if exited {
			afterFinish++
			t.Logf("kill %d: the run finished before request %d", i+1, at)
		}
		if applied == 0 {
			beforeWrites++
		}
		late += l

		r := e.run(3*time.Minute, "--run-now")
		if r.code != exitOK {
			t.Fatalf("kill %d (at request %d): the run after the kill: %s", i+1, at, r)
		}
		e.converged()
		c := e.checkIntact(users)
		lost += users - c.managed
		dups += len(c.dupNames) + len(c.dupExternalID)
		deletes += e.sim.Stats().ByMethod["DELETE"]
		rep := e.lastReport()
		if rep.Counts.Deleted != 0 {
			t.Errorf("kill %d: the recovery run deleted %d users", i+1, rep.Counts.Deleted)
		}
		au := e.audit()
		if au.deletes != 0 {
			t.Errorf("kill %d: audit log records %d deletes", i+1, au.deletes)
		}
		missing := 0
		for _, u := range e.sim.Users() {
			if !au.created[u.ExternalID] && u.ExternalID != "" {
				missing++
			}
		}
		if missing != 0 {
			t.Errorf("kill %d: %d users in Visitor have no create line in the audit log", i+1, missing)
		}
		unaudited += missing
		t.Logf("kill %d: SIGKILL at request %d of ~%d, %d users created before the kill (%d of them after the signal); recovery created %d; managed %d, lost %d, duplicates %d/%d, without audit line %d, audit lines cut short by a kill so far %d",
			i+1, at, span, applied, l, rep.Counts.Created, c.managed, users-c.managed, len(c.dupNames), len(c.dupExternalID), missing, au.mended)
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("RESULT fault=%q users=%d kills=%d random=%d killsBeforeFirstWrite=%d runsFinishedBeforeKill=%d lost=%d duplicates=%d deletes=%d createsAppliedAfterSignal=%d usersWithoutAuditLine=%d elapsed=%s",
		"SIGKILL during initial sync", users, kills, random, beforeWrites, afterFinish, lost, dups, deletes, late, unaudited, time.Since(start).Round(time.Second))
}

// Every change a run makes is in the audit log even when the process is
// killed half-way (OOM killer, node loss, SIGKILL from a supervisor): a
// write's intent line is written before its request, not at the end.
func TestAuditRecordsChangesOfAKilledRun(t *testing.T) {
	const users = 300
	e := newEnv(t, users, simulator.Options{}, "")
	applied, _, exited := e.killAt(150)
	if exited {
		t.Fatal("the run finished before the kill")
	}
	killed := e.audit()
	missing := 0
	for _, u := range e.sim.Users() {
		if u.ExternalID != "" && !killed.created[u.ExternalID] {
			missing++
		}
	}
	t.Logf("RESULT fault=%q users=%d createdBeforeKill=%d auditedBeforeRecovery=%d withoutAuditLine=%d", "audit of a SIGKILLed run",
		users, applied, len(killed.created), missing)
	if applied == 0 || missing != 0 {
		t.Fatalf("%d users created by the killed run, %d of them without an audit line", applied, missing)
	}
	if r := e.run(time.Minute, "--run-now"); r.code != exitOK {
		t.Fatalf("recovery run: %s", r)
	}
	e.checkIntact(users)
}

// killAt starts a sync and sends SIGKILL once the simulator has answered
// n requests. It returns the user creates applied in all, how many of
// them landed after the signal (requests in flight), and whether the run
// ended by itself first.
func (e *env) killAt(n int) (applied, late int, exited bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd, _, _ := e.command(ctx, "--run-now")
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return createsAccepted(e.sim.Stats()), 0, true
		case <-tick.C:
		}
		if e.sim.Stats().Total >= n {
			break
		}
	}
	atKill := createsAccepted(e.sim.Stats())
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		e.t.Fatal(err)
	}
	<-done
	// Requests the dead process had sent may still be applied: give the
	// simulator a moment so the count below is final.
	time.Sleep(100 * time.Millisecond)
	applied = createsAccepted(e.sim.Stats())
	return applied, applied - atKill, false
}

// auditSummary is what the audit log records over all runs.
type auditSummary struct {
	// created holds the externalIds with a create line: its intent,
	// written before the request, or an outcome Visitor accepted.
	created map[string]bool
	deletes int // delete lines, any result
	mended  int // lines a kill cut short that a later run marked
	lines   int
}

func (e *env) audit() auditSummary {
	e.t.Helper()
	out := auditSummary{created: map[string]bool{}}
	f, err := os.Open(filepath.Join(e.stateDir, "audit.log"))
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	// audit.Read skips only what a kill left unfinished: the last line
	// until the next run, then the line its "mended" line follows.
	err = audit.Read(f, func(l audit.Entry) error {
		out.lines++
		switch {
		case l.Action == "delete":
			out.deletes++
		case l.Action == audit.ActionRun && l.Result == audit.ResultMended:
			out.mended++
		case l.Action == "create" && (l.Result == "intent" || l.Result == "applied" || l.Result == "ok" || l.Result == "ok-unverified"):
			out.created[l.ExternalID] = true
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("audit log: %v", err)
	}
	return out
}
