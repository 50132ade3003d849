// Command cvs-bench is `make bench`: it measures a sync at enterprise scale
// against the one limit that matters, Visitor's call budget. For each size
// it generates a Condeco database in embedded SQLite, serves the Visitor
// simulator on loopback with the budget and latency scaled by the same
// factor (so that the ratios it reports hold at the real budget), and runs
// three syncs in their own processes: the initial sync, a sync with no
// change, and a day with 1 % of the users changed. It prints the figures of
// docs/benchmarks.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"condeco-visitor-sync/visitor/simulator"
)

const benchToken = "bench-token-not-a-secret"

func main() {
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		os.Exit(childMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is the bench's flags.
type config struct {
	sizes       []int
	budget      int           // the real budget, calls per minute
	scale       float64       // the factor of the size being run
	scales      []float64     // one per size
	latency     time.Duration // the real per-request latency
	serverBurst int
	concurrency int
	perLocation int
	maxLocs     int   // the cap of the size being run; 0: none
	maxLocsAll  []int // one per size
	changeShare float64
	schema      string
	jsonOut     string
	keep        bool
	profile     string // folder for the child syncs' CPU profiles
	memLimit    string // GOMEMLIMIT for the child syncs; empty: the Go default (none)
	report      bool   // also write last-report.json as the CLI does
	memProfile  string // folder for heap profiles of the syncs
	self        string // the executable that runs the child syncs
	// api is the target profile (visitor_api) of the simulator and of the
	// syncs: scim2 or generic-v1; genericPatch makes a generic-v1
	// simulator serve (and advertise) SCIM 1.1 PATCH, else updates PUT.
	api          string
	genericPatch bool
}

// generic says whether the bench runs the generic-v1 profile.
func (c config) generic() bool { return c.api == simulator.APIGenericV1 }

// benchLocationName is the simulator's default location, and generic-v1's
// visitor_location_name (the by-hand list's label).
const benchLocationName = "Eptura HQ (integration default)"

func (c config) rate() int { return int(float64(c.budget) * c.scale) }

// simulatorGCPercent is the bench process's GOGC. This process is the
// simulator, a test double whose memory nobody measures; at a million
// stored users its collector was a fifth of its CPU, on the two cores it
// shares with the sync being measured. The syncs run in child processes
// at the product's setting (config.DefaultGCPercent, see childMain).
const simulatorGCPercent = 400

func run(args []string, stdout, stderr io.Writer) int {
	debug.SetGCPercent(simulatorGCPercent)
	fs := flag.NewFlagSet("cvs-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", "1000,10000,100000,1000000", "comma-separated numbers of Condeco user rows")
	var c config
	fs.IntVar(&c.budget, "budget", 500, "the target's call budget per minute (Visitor: 500)")
	scales := fs.String("scale", autoSetting, "multiply the budget (client and server alike) and divide the latency by this, so that big sizes finish in minutes; one factor, one per size (comma-separated), or auto: 100, and 50 where users have 500 locations or more (the bench machine serves both ends of 35 KB requests)")
	fs.DurationVar(&c.latency, "latency", 100*time.Millisecond, "real-world time the target takes per request (simulated as latency/scale)")
	fs.IntVar(&c.serverBurst, "server-burst", 10, "calls the simulator accepts at once before its per-minute rate applies")
	fs.IntVar(&c.concurrency, "concurrency", 4, "scim_concurrency of the sync")
	fs.IntVar(&c.perLocation, "users-per-location", 100, "one Condeco location per this many users")
	maxLocs := fs.String("max-locations", autoSetting, "at most this many locations (0: no cap), one value or one per size, or auto: 100 from 1 000 000 users, no cap below; every user has every location, so a user's size grows with them")
	fs.Float64Var(&c.changeShare, "change-share", 0.01, "share of users changed on the measured day")
	fs.StringVar(&c.schema, "schema", "testdata/condeco/schema.sql", "the Condeco schema to generate into")
	fs.StringVar(&c.jsonOut, "json", "", "also write every measurement as JSON to this file")
	fs.BoolVar(&c.keep, "keep", false, "keep the work folders (databases, audit logs)")
	fs.StringVar(&c.memLimit, "gomemlimit", "", "run the syncs with this GOMEMLIMIT (e.g. 150MiB): the Go runtime then collects harder instead of growing")
	fs.BoolVar(&c.report, "write-report", false, "after each measured sync, also write last-report.json as the CLI does (the whole plan, indented) and report its size")
	fs.StringVar(&c.profile, "cpuprofile-dir", "", "write CPU profiles of every sync and of the simulator into this folder")
	fs.StringVar(&c.api, "api", simulator.APIScim2, "the target profile (visitor_api) of the simulator and the syncs: scim2, or generic-v1 (SCIM 1.1, users only, an ownership record in state_dir)")
	fs.BoolVar(&c.genericPatch, "generic-patch", false, "with --api generic-v1: the simulator serves and advertises SCIM 1.1 PATCH, so updates PATCH the changed attributes instead of PUTting the whole user")
	fs.StringVar(&c.memProfile, "memprofile-dir", "", "write a heap profile of every sync, taken when its users listing ends (costs a full GC there), into this folder")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if c.sizes, err = parseSizes(*sizes); err != nil {
		fmt.Fprintln(stderr, "cvs-bench: --sizes:", err)
		return 2
	}
	if c.maxLocsAll, err = parseMaxLocations(*maxLocs, c.sizes); err != nil {
		fmt.Fprintln(stderr, "cvs-bench: --max-locations:", err)
		return 2
	}
	if c.scales, err = parseScales(*scales, c.sizes, func(i int) int { return locationsFor(c.sizes[i], c.perLocation, c.maxLocsAll[i]) }); err != nil {
		fmt.Fprintln(stderr, "cvs-bench: --scale:", err)
		return 2
	}
	c.scale, c.maxLocs = c.scales[0], c.maxLocsAll[0]
	if c.api != simulator.APIScim2 && c.api != simulator.APIGenericV1 {
		fmt.Fprintf(stderr, "cvs-bench: --api %q is not %s or %s\n", c.api, simulator.APIScim2, simulator.APIGenericV1)
		return 2
	}
	if c.genericPatch && !c.generic() {
		fmt.Fprintln(stderr, "cvs-bench: --generic-patch needs --api", simulator.APIGenericV1)
		return 2
	}
	if c.budget <= 0 || c.concurrency <= 0 || c.perLocation <= 0 || c.serverBurst <= 0 {
		fmt.Fprintln(stderr, "cvs-bench: --budget, --concurrency, --users-per-location and --server-burst must be positive")
		return 2
	}
	if c.self, err = os.Executable(); err != nil {
		fmt.Fprintln(stderr, "cvs-bench:", err)
		return 1
	}
	if c.profile != "" {
		f, err := os.Create(filepath.Join(c.profile, "simulator.cpu"))
		if err != nil {
			fmt.Fprintln(stderr, "cvs-bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "cvs-bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	results, err := bench(context.Background(), c, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "cvs-bench:", err)
		return 1
	}
	printTables(stdout, c, results)
	if c.jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "cvs-bench:", err)
			return 1
		}
	}
	return 0
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(f, "_", "")))
		if err != nil || n < 10 {
			return nil, fmt.Errorf("%q is not a size of at least 10", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// Defaults of --scale auto and --max-locations auto.
const (
	autoSetting     = "auto"
	autoScale       = 100
	autoScaleHeavy  = 50  // where a user has heavyLocations or more
	heavyLocations  = 500 // a user of ~17 KB and more on the wire
	autoMaxLocsFrom = 1_000_000
	autoMaxLocs     = 100
)

// parseMaxLocations reads one cap for every size, one per size, or auto.
func parseMaxLocations(s string, sizes []int) ([]int, error) {
	return perSize(s, len(sizes), func(i int) int {
		if sizes[i] >= autoMaxLocsFrom {
			return autoMaxLocs
		}
		return 0
	}, func(f string) (int, error) {
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("%q is not a number of locations (0: no cap)", f)
		}
		return v, nil
	})
}

// parseScales reads one factor for every size, one per size, or auto
// (locations(i) is the number of locations of size i).
func parseScales(s string, sizes []int, locations func(int) int) ([]float64, error) {
	return perSize(s, len(sizes), func(i int) float64 {
		if locations(i) >= heavyLocations {
			return autoScaleHeavy
		}
		return autoScale
	}, func(f string) (float64, error) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("%q is not a positive factor", f)
		}
		return v, nil
	})
}

// perSize reads a flag that takes auto (auto(i) for size i), one value for
// every size, or one per size, comma-separated.
func perSize[T any](s string, sizes int, auto func(int) T, parse func(string) (T, error)) ([]T, error) {
	if strings.TrimSpace(s) == autoSetting {
		out := make([]T, sizes)
		for i := range out {
			out[i] = auto(i)
		}
		return out, nil
	}
	var out []T
	for _, f := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	switch len(out) {
	case sizes:
		return out, nil
	case 1:
		return slices.Repeat(out, sizes), nil
	}
	return nil, fmt.Errorf("%d values for %d sizes: give one, or one per size", len(out), sizes)
}

// sizeResult is every measurement for one size.
type sizeResult struct {
	Scale      float64 // the budget's and latency's factor for this size
	Rate       int     // calls a minute on client and server: budget x Scale
	Users      int     // Condeco user rows
	Exported   int     // users the export hands to the sync
	Locations  int
	GenerateMS float64
	Day        dayChanges
	// Load is /proc/loadavg before and after the size's runs.
	LoadBefore, LoadAfter string
	Runs                  []runResult
}

// runResult is one sync: what the child measured and what the server saw.
type runResult struct {
	Scenario string
	Child    childResult
	// Server side, during this run only.
	ServerRequests int
	Server429      int
	Writes         int
	WriteSpanMS    float64
	Conns          int64
	WallMS         float64
	// ClientCPUMS is the sync process's user+system CPU time; ServerCPUMS
	// the bench process's (the simulator) during the run.
	ClientCPUMS, ServerCPUMS float64
	// WriteBytes is the request bodies the server received, by write
	// method (POST, PUT, PATCH, DELETE); counted for generic-v1 only,
	// where PUT sends the whole user and PATCH the changed attributes.
	WriteBytes map[string]int64 `json:",omitempty"`
}

// CPUPerRequest is CPU time per request sent, in microseconds.
func (r runResult) CPUPerRequest(cpuMS float64) float64 {
	if r.Child.Requests == 0 {
		return 0
	}
	return cpuMS * 1000 / float64(r.Child.Requests)
}

// BudgetUse is the achieved write rate over the configured rate: writes
// after the first, divided by the time from the first write's arrival to
// the last's, over the per-second budget.
func (r runResult) BudgetUse(rate int) float64 {
	if r.Writes < 2 || r.WriteSpanMS <= 0 {
		return 0
	}
	return float64(r.Writes-1) / (r.WriteSpanMS / 1000) / (float64(rate) / 60)
}

// Overhead is requests sent over the minimum a perfect client needs.
func (r runResult) Overhead() float64 {
	if r.Child.MinRequests == 0 {
		return 0
	}
	return float64(r.Child.Requests) / float64(r.Child.MinRequests)
}

func bench(ctx context.Context, c config, progress io.Writer) ([]sizeResult, error) {
	root, err := os.MkdirTemp("", "cvs-bench-")
	if err != nil {
		return nil, err
	}
	if c.keep {
		fmt.Fprintln(progress, "work folder:", root)
	} else {
		defer os.RemoveAll(root)
	}
	var out []sizeResult
	for i, n := range c.sizes {
		c.scale, c.maxLocs = c.scales[i], c.maxLocsAll[i]
		if c.generic() {
			fmt.Fprintf(progress, "target profile %s, updates by %s\n", c.api, c.updateMethod())
		}
		fmt.Fprintf(progress, "budget %d calls/min x %g = %d/min (client and server), latency %s/%g = %s, server burst %d, concurrency %d\n",
			c.budget, c.scale, c.rate(), c.latency, c.scale, scaledLatency(c), c.serverBurst, c.concurrency)
		r, err := benchSize(ctx, c, filepath.Join(root, strconv.Itoa(n)), n, progress)
		if err != nil {
			return out, fmt.Errorf("%d users: %w", n, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func scaledLatency(c config) time.Duration {
	return time.Duration(float64(c.latency) / c.scale)
}

func benchSize(ctx context.Context, c config, dir string, n int, progress io.Writer) (sizeResult, error) {
	res := sizeResult{Users: n, Scale: c.scale, Rate: c.rate(), LoadBefore: loadAvg()}
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o755); err != nil {
		return res, err
	}
	db := filepath.Join(dir, "condeco.db")
	start := time.Now()
	locs, err := generate(ctx, db, c.schema, n, c.perLocation, c.maxLocs)
	if err != nil {
		return res, fmt.Errorf("generating: %w", err)
	}
	res.Locations, res.GenerateMS = locs, ms(time.Since(start))
	for i := 1; i <= n; i++ {
		if exported(i) {
			res.Exported++
		}
	}
	fmt.Fprintf(progress, "%d users: generated %d rows (%d exported) and %d locations in %.1fs\n", n, n, res.Exported, locs, res.GenerateMS/1000)

	so := simulator.Options{Token: benchToken, RateLimit: c.rate(), RateBurst: c.serverBurst,
		DefaultLocationName: benchLocationName, Faults: simulator.Faults{Latency: scaledLatency(c)}}
	if c.generic() {
		so.API, so.GenericPatch = c.api, c.genericPatch
	}
	t, err := startTarget(so)
	if err != nil {
		return res, err
	}
	defer t.stop(context.Background())

	steps := []struct {
		scenario string
		before   func() error
	}{
		{"initial", nil},
		{"no change", nil},
		{fmt.Sprintf("%g %% day", c.changeShare*100), func() error {
			d, err := applyDay(ctx, db, n, locs, c.changeShare)
			res.Day = d
			return err
		}},
	}
	for _, s := range steps {
		if s.before != nil {
			if err := s.before(); err != nil {
				return res, fmt.Errorf("%s: %w", s.scenario, err)
			}
		}
		r, err := runChild(ctx, c, t, db, filepath.Join(dir, "state"), n, s.scenario)
		r.Scenario = s.scenario
		if err != nil {
			return res, fmt.Errorf("%s: %w", s.scenario, err)
		}
		res.Runs = append(res.Runs, r)
		fmt.Fprintf(progress, "%d users, %s: %d requests (min %d, x%.3f), %d writes in %.1fs (budget use %.3f), %d x 429, export %.0f ms, plan %.0f ms, peak %d MiB, %.1fs\n",
			n, s.scenario, r.Child.Requests, r.Child.MinRequests, r.Overhead(), r.Writes, r.WriteSpanMS/1000,
			r.BudgetUse(c.rate()), r.Server429, r.Child.ExportMS, r.Child.PlanMS, r.Child.RSSRunKB/1024, r.WallMS/1000)
		if r.Child.Error != "" || r.Child.Counts.Failed > 0 {
			return res, fmt.Errorf("%s: sync failed: %s %+v", s.scenario, r.Child.Error, r.Child.Failures)
		}
		if c.generic() {
			if err := checkGeneric(t, res, r); err != nil {
				return res, fmt.Errorf("%s: %w", s.scenario, err)
			}
		}
	}
	if !c.keep {
		os.RemoveAll(dir)
	}
	res.LoadAfter = loadAvg()
	return res, nil
}

// runChild runs one sync in a child process and reads what the server saw
// meanwhile.
func runChild(ctx context.Context, c config, t *target, db, state string, n int, scenario string) (runResult, error) {
	var r runResult
	allow := n // approve the day's deletions and admin changes: the bench measures, it does not guard
	args := []string{childCommand, "--db", db, "--url", t.url, "--token", benchToken,
		"--rate", strconv.Itoa(c.rate()), "--concurrency", strconv.Itoa(c.concurrency), "--state", state,
		"--allow", strconv.Itoa(allow)}
	if c.report {
		args = append(args, "--write-report")
	}
	if c.generic() {
		args = append(args, "--api", c.api, "--location-name", benchLocationName)
	}
	if c.profile != "" {
		name := fmt.Sprintf("%d-%s.cpu", n, strings.NewReplacer(" ", "", "%", "pct").Replace(scenario))
		args = append(args, "--cpuprofile", filepath.Join(c.profile, name))
	}
	if c.memProfile != "" {
		name := fmt.Sprintf("%d-%s.heap", n, strings.NewReplacer(" ", "", "%", "pct").Replace(scenario))
		args = append(args, "--memprofile", filepath.Join(c.memProfile, name))
	}
	cmd := exec.CommandContext(ctx, c.self, args...)
	cmd.Env = os.Environ()
	if c.memLimit != "" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+c.memLimit)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t.rec.reset()
	before := t.sim.Stats()
	cpu0 := selfCPU()
	start := time.Now()
	err := cmd.Run()
	r.WallMS = ms(time.Since(start))
	r.ServerCPUMS = ms(selfCPU() - cpu0)
	after := t.sim.Stats()
	w := t.rec.window()
	if err != nil {
		return r, fmt.Errorf("sync process: %w: %s", err, tail(stderr.String()))
	}
	if err := json.Unmarshal(stdout.Bytes(), &r.Child); err != nil {
		return r, fmt.Errorf("reading sync process output: %w: %s", err, tail(stdout.String()))
	}
	r.ClientCPUMS = ms(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime())
	r.ServerRequests = after.Total - before.Total
	r.Server429 = after.ByStatus["429"] - before.ByStatus["429"]
	r.Writes, r.Conns = w.Writes, w.Conns
	r.WriteBytes = w.Bytes
	if w.Writes > 0 {
		r.WriteSpanMS = ms(w.Last.Sub(w.First))
	}
	if int64(r.ServerRequests) != r.Child.Requests {
		return r, errors.New("the server and the client disagree on the requests sent: " +
			strconv.Itoa(r.ServerRequests) + " vs " + strconv.FormatInt(r.Child.Requests, 10))
	}
	return r, nil
}

// selfCPU is this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg is /proc/loadavg's first three fields: the bench shares the
// machine, and a busy machine slows everything it measures in time.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// updateMethod is how a generic-v1 sync writes an update here.
func (c config) updateMethod() string {
	if c.genericPatch {
		return "PATCH"
	}
	return "PUT"
}

// checkGeneric checks what a generic-v1 run left in Visitor and in
// Visitor: generic-v1 has no externalId on the wire, so the users the sync
// holds are the active ones created through SCIM (ViaSCIM), one per
// exported Condeco user (the day's leavers deleted, its joiners
// created); and a perfect client spends no request on locations, which
// the profile has none of, so none may have been created.
func checkGeneric(t *target, s sizeResult, r runResult) error {
	want := s.Exported
	if s.Day.users() > 0 { // after the day
		want += s.Day.Joined - s.Day.Departed
	}
	via := 0
	for _, u := range t.sim.Users() {
		if u.ViaSCIM && u.Active {
			via++
		}
	}
	if via != want {
		return fmt.Errorf("generic-v1: Visitor holds %d users created through SCIM, want %d", via, want)
	}
	if n := len(t.sim.Locations()); n != t.locations {
		return fmt.Errorf("generic-v1: Visitor holds %d locations, %d at the start", n, t.locations)
	}
	if r.Child.Counts.LocationsCreated != 0 {
		return fmt.Errorf("generic-v1: the sync created %d locations", r.Child.Counts.LocationsCreated)
	}
	return nil
}
