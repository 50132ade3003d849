package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"condeco-visitor-sync/condeco"
	cvsconfig "condeco-visitor-sync/config"
	"condeco-visitor-sync/internal/ownbook"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"
	"condeco-visitor-sync/visitor"
)

// childCommand is the hidden first argument that makes cvs-bench run one
// sync in its own process, so that its peak memory (max RSS) is the sync's
// alone and not the simulator's.
const childCommand = "sync-child"

// childResult is what one sync process measured, printed as JSON.
type childResult struct {
	ExportMS, ListMS, PlanMS, ApplyMS, TotalMS float64
	// RSSPlanKB is the peak resident memory up to the end of planning
	// (export, listing, plan); RSSRunKB up to the end of the run.
	RSSPlanKB, RSSRunKB int64
	// PeakLiveKB is the largest live heap the Go runtime marked (sampled
	// every 50 ms from /gc/heap/live:bytes): what the run needed, before
	// the garbage collector's headroom (GOGC) that RSS also holds.
	PeakLiveKB  int64
	Summary     plan.Summary
	Counts      apply.Counts
	Requests    int64
	MinRequests int64
	RateLimited int64
	Retries     int64
	AuditBytes  int64 // written to the audit log by this run
	// ReportBytes and ReportMS are the run report as the CLI writes it
	// (state_dir/last-report.json, indented JSON with the whole plan),
	// when the bench is asked to write it.
	ReportBytes int64
	ReportMS    float64
	Failures    []apply.Failure
	Error       string
}

func childMain(args []string, stdout, stderr io.Writer) int {
	// As cmd/condeco-visitor-sync does (applyGCPercent): the product's
	// collector setting, unless GOGC says otherwise.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cvsconfig.DefaultGCPercent)
	}
	fs := flag.NewFlagSet(childCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "sqlite database")
	url := fs.String("url", "", "SCIM base URL")
	token := fs.String("token", "", "bearer token")
	rate := fs.Int("rate", visitor.DefaultRateLimit, "client calls per minute")
	conc := fs.Int("concurrency", apply.DefaultConcurrency, "scim_concurrency")
	state := fs.String("state", "", "state dir (audit log)")
	dry := fs.Bool("dry-run", false, "plan only")
	allow := fs.Int("allow", 0, "approve this many deletions and admin changes")
	report := fs.Bool("write-report", false, "write last-report.json as the CLI does, after the measurements")
	cpu := fs.String("cpuprofile", "", "write a CPU profile of the sync here")
	mem := fs.String("memprofile", "", "write a heap profile here when the listing ends (export and listing both live)")
	api := fs.String("api", visitor.ProfileSCIM2, "visitor_api: scim2 or generic-v1")
	locName := fs.String("location-name", "", "visitor_location_name (generic-v1)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	res, err := childSync(childTarget{api: *api, url: *url, token: *token, locationName: *locName}, *db, *state, *mem, *rate, *conc, *allow, *dry, *report)
	if err != nil {
		res.Error = err.Error()
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// childTarget is the Visitor a child sync talks to: its profile
// (visitor_api), URL and token, and visitor_location_name.
type childTarget struct {
	api, url, token, locationName string
}

// benchClient is what the child needs of either profile's client: the
// runner's calls, and the optional methods the runner looks for
// (Capabilities, ListRequests), which an embedded interface promotes only
// when it names them.
type benchClient interface {
	runner.Target
	Capabilities() visitor.Capabilities
	ListRequests(n int) int64
	Stats() visitor.Stats
}

// newBenchClient builds the client of the profile, as
// cmd/condeco-visitor-sync's newTarget does: generic-v1 with the daemon's
// own ownership record adapter on state_dir.
func newBenchClient(ct childTarget, dir *state.Dir, rate int) (benchClient, error) {
	o := visitor.Options{BaseURL: ct.url, Token: ct.token, RateLimit: rate, RetryMax: 6}
	switch ct.api {
	case "", visitor.ProfileSCIM2:
		return visitor.New(o, nil)
	case visitor.ProfileGeneric:
		return visitor.NewGeneric(o, ownbook.New(dir), nil)
	}
	return nil, fmt.Errorf("--api %q is not %s or %s", ct.api, visitor.ProfileSCIM2, visitor.ProfileGeneric)
}

// childSync wires the parts the way cmd/condeco-visitor-sync does (its
// wiring is unexported): condeco.Store on the embedded database, a
// visitor client of the profile, a runner.Runner with an audit log, and
// one RunOnce.
func childSync(ct childTarget, db, stateDir, memProfile string, rate, conc, allow int, dry, report bool) (childResult, error) {
	var res childResult
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Hour)
	defer cancel()
	store, err := condeco.Open(ctx, condeco.Options{Driver: "sqlite", DSN: db, PhoneRegion: "GB"}, nil)
	if err != nil {
		return res, fmt.Errorf("opening condeco database: %w", err)
	}
	defer store.Close()
	dir, err := state.Open(stateDir)
	if err != nil {
		return res, err
	}
	client, err := newBenchClient(ct, dir, rate)
	if err != nil {
		return res, err
	}
	o := plan.DefaultOptions()
	o.Invitations = plan.InvitationsSuppressInitial
	o.HandLocation = ct.locationName
	t := &timedTarget{benchClient: client, memProfile: memProfile}
	src := &timedSource{s: store}
	r := &runner.Runner{Source: src, Target: t, Plan: o, Apply: apply.Options{Concurrency: conc}, AuditPath: dir.AuditPath()}
	var auditBefore int64
	if fi, serr := os.Stat(r.AuditPath); serr == nil {
		auditBefore = fi.Size()
	}
	var onPeak func()
	if memProfile != "" {
		onPeak = func() { writeHeapProfile(strings.TrimSuffix(memProfile, ".heap")+".peak.heap", false) }
	}
	stopSampling := sampleLiveHeap(&res.PeakLiveKB, onPeak)
	start := time.Now()
	rep, err := r.RunOnce(ctx, runner.Flags{DryRun: dry, Approvals: plan.Approvals{AllowDeletes: allow, AllowAdminChanges: allow}})
	end := time.Now()
	stopSampling()
	res.RSSRunKB = maxRSS()
	res.TotalMS = ms(end.Sub(start))
	res.ExportMS = ms(src.took)
	res.ListMS = ms(t.listTook)
	planEnd, rss := t.firstWriteAt()
	if planEnd.IsZero() {
		planEnd, rss = end, res.RSSRunKB
	}
	res.RSSPlanKB = rss
	res.PlanMS = ms(planEnd.Sub(t.listEnd))
	res.ApplyMS = ms(end.Sub(planEnd))
	st := client.Stats()
	res.RateLimited, res.Retries = st.RateLimited, st.Retries
	if fi, serr := os.Stat(r.AuditPath); serr == nil {
		res.AuditBytes = fi.Size() - auditBefore
	}
	if rep != nil {
		if rep.Plan != nil {
			res.Summary = rep.Plan.Summary
		}
		res.Counts, res.Requests, res.MinRequests = rep.Counts, rep.Requests, rep.MinRequests
		res.Failures = rep.Failures[:min(len(rep.Failures), 5)]
		if report {
			// As the daemon writes it.
			t := time.Now()
			if werr := dir.WriteReport(rep.Start, rep.RunID, rep.ForFile()); werr != nil {
				return res, werr
			}
			fi, serr := os.Stat(filepath.Join(dir.Path(), state.LastReportFile))
			if serr != nil {
				return res, serr
			}
			res.ReportBytes, res.ReportMS = fi.Size(), ms(time.Since(t))
			res.RSSRunKB = maxRSS() // the report is part of the run
		}
	}
	return res, err
}

// sampleLiveHeap keeps the largest /gc/heap/live:bytes seen in *peakKB
// until the returned function is called. onPeak, when set, is called each
// time the peak grows by a twentieth, so a heap profile taken there shows
// what the run holds at its largest (a heap profile describes the last
// completed collection, the same one the live figure comes from).
func sampleLiveHeap(peakKB *int64, onPeak func()) (stop func()) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	done, finished := make(chan struct{}), make(chan struct{})
	var profiled int64
	read := func() {
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			*peakKB = max(*peakKB, int64(s[0].Value.Uint64()/1024))
		}
		if onPeak != nil && *peakKB > profiled+profiled/20 {
			profiled = *peakKB
			onPeak()
		}
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				read()
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() { close(done); <-finished }
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// maxRSS is this process's peak resident set so far, in KiB: VmHWM of
// /proc/self/status, the high-water mark of this program's own memory.
// getrusage and wait4 are not: Linux carries the parent's peak over into
// the child's ru_maxrss at exec, so a sync started by the bench (which
// serves the simulator and holds every Visitor user) reported the bench's
// size, not its own. Elsewhere it falls back to getrusage.
func maxRSS() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok { // "  1234 kB"
				if f := strings.Fields(v); len(f) > 0 {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						return kb
					}
				}
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss
}

type timedSource struct {
	s    *condeco.Store
	took time.Duration
}

func (t *timedSource) Export(ctx context.Context) (*condeco.Export, error) {
	start := time.Now()
	e, err := t.s.Export(ctx)
	t.took = time.Since(start)
	return e, err
}

// timedTarget is the client with clocks on the listings and on the first
// write: the time between the end of the listing and the first write is
// planning (and the limit check).
type timedTarget struct {
	benchClient
	listTook time.Duration
	listEnd  time.Time

	once     sync.Once
	first    time.Time
	firstRSS int64

	memProfile string // heap profile written when the users listing ends
}

func (t *timedTarget) ListLocations(ctx context.Context) ([]visitor.Location, error) {
	start := time.Now()
	l, err := t.benchClient.ListLocations(ctx)
	t.listEnd = time.Now()
	t.listTook += t.listEnd.Sub(start)
	return l, err
}

func (t *timedTarget) ListManagedUsers(ctx context.Context, prefix string) ([]visitor.User, error) {
	start := time.Now()
	u, err := t.benchClient.ListManagedUsers(ctx, prefix)
	t.listEnd = time.Now()
	t.listTook += t.listEnd.Sub(start)
	if t.memProfile != "" {
		writeHeapProfile(t.memProfile, true)
	}
	return u, err
}

// writeHeapProfile records what was live at the last collection, after
// forcing one when gc is set (a full GC: only when asked for).
func writeHeapProfile(path string, gc bool) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	if gc {
		runtime.GC()
	}
	_ = pprof.WriteHeapProfile(f)
}

func (t *timedTarget) wrote() {
	t.once.Do(func() { t.first, t.firstRSS = time.Now(), maxRSS() })
}

// firstWriteAt is zero when the run wrote nothing; the caller reads it
// after RunOnce returned, when no write can still be starting.
func (t *timedTarget) firstWriteAt() (time.Time, int64) {
	return t.first, t.firstRSS
}

func (t *timedTarget) CreateLocation(ctx context.Context, l visitor.Location) (visitor.Location, error) {
	t.wrote()
	return t.benchClient.CreateLocation(ctx, l)
}

func (t *timedTarget) CreateUser(ctx context.Context, u visitor.User) (visitor.User, error) {
	t.wrote()
	return t.benchClient.CreateUser(ctx, u)
}

func (t *timedTarget) UpdateUser(ctx context.Context, id string, u visitor.User, f []visitor.Field) (visitor.User, error) {
	t.wrote()
	return t.benchClient.UpdateUser(ctx, id, u, f)
}

func (t *timedTarget) DeleteUser(ctx context.Context, id string) error {
	t.wrote()
	return t.benchClient.DeleteUser(ctx, id)
}
