package reliability

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"condeco-visitor-sync/visitor/simulator"
)

// faultUsers is the source size of each target-fault case: big enough for
// several list pages and hundreds of writes under fire, small enough that
// all cases together stay near a minute under -race.
const faultUsers = 200

// faultAdds users join and faultAdds change their last name before each
// faulty run after the first, so every faulty run has writes to make.
const faultAdds = 20

// faultyRuns is how many runs each case makes with the fault switched on
// before one clean run; runs after the first start from a half-synced
// Visitor, which is where duplicates would come from.
const faultyRuns = 3

// targetCase is one kind of trouble on the Visitor side.
type targetCase struct {
	name   string
	opts   simulator.Options // rate limit and credentials
	faults simulator.Faults  // switched on for the faulty runs
	cfg    string            // extra config keys
	// during, when set, runs beside each faulty run until stop closes
	// (pulsing faults, expiring the token).
	// It returns how many times it injected its fault.
	during func(e *env, stop <-chan struct{}) int
	// duringName labels what during counts.
	duringName string
	// noWrites says the faulty runs must not write at all.
	noWrites bool
	// oauth makes the binary fetch tokens from the simulator's endpoint
	// instead of using the static token.
	oauth bool
	// allowed are the exit codes a faulty run may end with; anything
	// else (1, a signal, a panic) is not a clean stop.
	allowed []int
	// after, when set, replaces the credentials before the clean run.
	after func(e *env)
}

const (
	oauthClient = "cvs-client"
	oauthSecret = "cs-51f0a9d3c7e2-SECRET"
)

// pulse switches f on for on and off for off, again and again, so faults
// come in bursts rather than as a steady drizzle.
func pulse(f simulator.Faults, on, off time.Duration) func(*env, <-chan struct{}) int {
	return func(e *env, stop <-chan struct{}) int {
		pulses := 0
		for {
			f.Sequence++
			e.sim.SetFaults(f)
			pulses++
			select {
			case <-stop:
				return pulses
			case <-time.After(on):
			}
			e.sim.SetFaults(simulator.Faults{})
			select {
			case <-stop:
				return pulses
			case <-time.After(off):
			}
		}
	}
}

// expireAfterCreates expires every token once n more user creates have
// been applied: the token's lifetime ends in the middle of the run.
func expireAfterCreates(n int) func(*env, <-chan struct{}) int {
	return func(e *env, stop <-chan struct{}) int {
		start := createsAccepted(e.sim.Stats())
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return 0
			case <-tick.C:
				if createsAccepted(e.sim.Stats())-start >= n {
					e.sim.ExpireTokens()
					return 1
				}
			}
		}
	}
}

func targetCases() []targetCase {
	clean := []int{exitOK, exitPartial, exitTarget}
	return []targetCase{
		{
			name: "429 storm",
			// The client may send 1000 calls a second; Visitor allows 50
			// with a burst of 10 and answers another 30 % with 429 on top.
			opts:    simulator.Options{RateLimit: 3000, RateBurst: 10},
			faults:  simulator.Faults{ErrorRate: map[int]float64{429: 0.3}, Sequence: 11},
			cfg:     "scim_retry_max: 12\n",
			allowed: clean,
		},
		{
			name: "5xx bursts",
			// 150ms in every 500ms, 60 % of requests get a 500, 502 or 503.
			allowed:    clean,
			during:     pulse(simulator.Faults{ErrorRate: map[int]float64{500: 0.2, 502: 0.2, 503: 0.2}, Sequence: 12}, 150*time.Millisecond, 350*time.Millisecond),
			duringName: "5xx bursts",
		},
		{
			name: "connection resets",
			// Dropped before handling (nothing applied) and after a write
			// was applied (the client cannot know the outcome).
			faults:  simulator.Faults{DropRate: 0.08, DropAfterWriteRate: 0.08, Sequence: 13},
			allowed: clean,
		},
		{
			name: "timeouts",
			// Requests that start during a pulse (half the time) wait 3s;
			// the client gives up after 1s and retries.
			cfg:        "scim_timeout: 1s\n",
			allowed:    clean,
			during:     pulse(simulator.Faults{Latency: 3 * time.Second, Sequence: 14}, 500*time.Millisecond, 500*time.Millisecond),
			duringName: "latency pulses",
		},
		{
			name:    "malformed JSON",
			faults:  simulator.Faults{MalformedRate: 0.05, Sequence: 15},
			allowed: clean,
		},
		{
			name: "slow pages",
			// Every listing page takes 300ms, with 20 users a page.
			faults:  simulator.Faults{SlowPage: 300 * time.Millisecond, Sequence: 16},
			cfg:     "scim_page_size: 20\n",
			allowed: []int{exitOK},
		},
		{
			name: "pages slower than the timeout",
			// Listing never answers in time: the run must stop before any
			// write, not plan from a partial listing.
			faults:   simulator.Faults{SlowPage: 2 * time.Second, Sequence: 17},
			cfg:      "scim_timeout: 500ms\nscim_retry_max: 1\n",
			allowed:  []int{exitTarget},
			noWrites: true,
		},
		{
			name:       "token expires mid-run",
			opts:       simulator.Options{ClientID: oauthClient, ClientSecret: oauthSecret},
			oauth:      true,
			during:     expireAfterCreates(10),
			duringName: "token expiries",
			allowed:    []int{exitOK},
		},
		{
			name: "static token revoked mid-run",
			// No way to refresh: the run must stop cleanly (the failed
			// users are listed), and the next run uses a new credential.
			opts:       simulator.Options{ClientID: oauthClient, ClientSecret: oauthSecret},
			during:     expireAfterCreates(10),
			duringName: "token revocations",
			allowed:    []int{exitPartial, exitAuth},
			after:      func(e *env) { e.useOAuth() },
		},
	}
}

// useOAuth switches the installation to client credentials.
func (e *env) useOAuth() {
	delete(e.vars, "CVS_SCIM_TOKEN")
	e.vars["CVS_SCIM_CLIENT_SECRET"] = oauthSecret
	e.writeConfig(e.sqliteConfig() + fmt.Sprintf("scim_token_url: %q\nscim_client_id: %q\n",
		strings.TrimSuffix(e.url, simulator.BasePath)+"/oauth/token", oauthClient) + e.extra)
}

// Every target fault: each faulty run completes or stops with a documented
// exit code, the next clean run converges to zero changes, and over all
// runs no user is created twice, lost or deleted.
func TestTargetFaults(t *testing.T) { targetFaults(t, targetCases(), "") }

// TestGenericTargetFaults: the same faults against a Visitor speaking the
// documented Generic SCIM integration (generic-v1), where the sync knows
// its users by its ownership record: a create whose answer was lost, a
// retry after a 5xx or a 429, must neither lose a user from the record
// nor create one twice. The token cases are scim2's own (generic-v1 has
// no token endpoint).
func TestGenericTargetFaults(t *testing.T) {
	var cases []targetCase
	for _, tc := range targetCases() {
		if tc.opts.ClientID == "" {
			cases = append(cases, tc)
		}
	}
	targetFaults(t, cases, simulator.APIGenericV1)
}

func targetFaults(t *testing.T, cases []targetCase, api string) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			so := tc.opts
			so.API = api
			e := newEnv(t, faultUsers, so, tc.cfg)
			if tc.oauth {
				e.useOAuth()
			}
			var codes []int
			injected := map[string]int{}
			want := faultUsers
			for i := 0; i < faultyRuns; i++ {
				if i > 0 {
					e.addUsers(want+1, faultAdds)
					want += faultAdds
					e.exec("UPDATE tblUsers SET LastName = LastName || 'x' WHERE UserID % 10 = ?", i)
				}
				f := tc.faults
				f.Sequence += int64(i) * 100
				e.sim.SetFaults(f)
				before := e.sim.Stats()
				stop := make(chan struct{})
				var wg sync.WaitGroup
				pulses := 0
				if tc.during != nil {
					wg.Go(func() { pulses = tc.during(e, stop) })
				}
				r := e.run(3*time.Minute, "--run-now")
				close(stop)
				wg.Wait()
				e.sim.SetFaults(simulator.Faults{})
				codes = append(codes, r.code)
				if !slices.Contains(tc.allowed, r.code) {
					t.Fatalf("faulty run %d: exit %d, want one of %v\n%s", i+1, r.code, tc.allowed, r)
				}
				if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
					t.Fatalf("faulty run %d crashed:\n%s", i+1, r)
				}
				for k, v := range faultCounts(tc.faults, before, e.sim.Stats(), e.lastReport().Requests) {
					injected[k] += v
				}
				if pulses > 0 {
					injected[tc.duringName] += pulses
				}
			}
			if st := e.sim.Stats(); tc.noWrites && st.ByMethod["POST"]+st.ByMethod["PATCH"]+st.ByMethod["DELETE"] > 0 {
				t.Fatalf("faulty runs wrote: %v", st.ByMethodRoute)
			}
			if tc.after != nil {
				tc.after(e)
			}
			r := e.run(3*time.Minute, "--run-now")
			if r.code != exitOK {
				t.Fatalf("clean run after the faults: %s", r)
			}
			e.converged()
			c := e.checkIntact(want)
			total := 0
			for _, v := range injected {
				total += v
			}
			if total == 0 {
				t.Fatalf("no fault was injected")
			}
			t.Logf("RESULT fault=%q runs=%d exit=%v injected=%d %v users=%d lost=%d dupName=%d dupExt=%d creates=%d",
				tc.name, faultyRuns, codes, total, injected, c.managed, want-c.managed, len(c.dupNames), len(c.dupExternalID), createsAccepted(e.sim.Stats()))
		})
	}
}

// faultCounts is what was injected between two simulator snapshots: the
// simulator's own fault counters, the 429s its rate limiter added, the
// slow list pages, and the requests the client sent that the simulator
// never answered (timed out on the client's side).
func faultCounts(f simulator.Faults, before, after simulator.Stats, clientRequests int64) map[string]int {
	out := map[string]int{}
	for k, v := range after.Faults {
		if d := v - before.Faults[k]; d > 0 {
			out["injected "+k] = d
		}
	}
	if d := after.ByStatus["429"] - before.ByStatus["429"]; d > 0 {
		if _, ok := f.ErrorRate[429]; ok && len(f.ErrorRate) == 1 {
			d -= out["injected error"]
		}
		if d > 0 {
			out["rate-limit 429"] = d
		}
	}
	if f.SlowPage > 0 {
		out["slow list pages"] = after.ByMethodRoute["GET /Users"] - before.ByMethodRoute["GET /Users"] +
			after.ByMethodRoute["GET /Locations"] - before.ByMethodRoute["GET /Locations"]
	}
	if d := clientRequests - int64(after.Total-before.Total); d > 0 {
		out["client timeouts"] = int(d)
	}
	return out
}
