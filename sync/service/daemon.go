package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"condeco-visitor-sync/internal/urlcheck"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/runner"
)

// Schedule is when the daemon runs.
type Schedule struct {
	Spec     string // cron spec, 5 fields
	TimeZone string // IANA zone of the spec
	// MetricsListen serves /healthz, /readyz and /metrics; empty: none.
	MetricsListen string
	Version       string // logged at start
}

// restoreMetrics carries what state_dir knows across a restart into the
// series, so a scrape never sees the last success at 0 after one. An
// unreadable record is reported by the schedule's reader.
func (a *Service) restoreMetrics() {
	if end, found, err := a.State.ReadLastSuccessEnd(); err == nil && found {
		a.Metrics.restoreLastSuccess(end)
	}
}

// Reload is a new configuration for the daemon's next runs (SIGHUP): a
// service wired from it, its schedule, and what releases its resources.
// A run in flight finishes with the service it started with.
type Reload struct {
	Service  *Service
	Schedule Schedule
	Close    func()
}

// Daemon runs a full sync at start, then on the schedule (schedule.go:
// once per named local time across DST), until the context is cancelled
// (SIGTERM/SIGINT). Each Reload received replaces the service (and the
// schedule) from the next run on.
func (a *Service) Daemon(ctx context.Context, sch Schedule, reloads <-chan Reload) ExitCode {
	a.init()
	a.Trigger = "scheduled"
	a.restoreMetrics() // before /metrics answers
	loc, err := time.LoadLocation(sch.TimeZone)
	if err != nil {
		a.Log.Error("bad time zone", errField(err))
		return ExitConfig
	}
	srv, addr, err := a.serveHTTP(sch.MetricsListen)
	if err != nil {
		a.Log.Error("metrics listener failed", errField(err))
		return ExitConfig
	}
	if srv != nil {
		defer srv.Shutdown(context.Background())
		a.Log.Info("serving health and metrics", zap.String("addr", addr))
		if host, _, _ := net.SplitHostPort(sch.MetricsListen); !urlcheck.IsLoopback(host) {
			a.Log.Warn("metrics_listen is not a loopback address: /metrics, /healthz and /readyz answer anyone who reaches it, without authentication; see docs/operations.md (Health and metrics)",
				zap.String("metrics_listen", sch.MetricsListen))
		}
	}

	// runCtx outlives ctx until the requests in flight have finished (at
	// most shutdownGrace), so that a SIGTERM stops new work without
	// cutting a request off, and the report is still written.
	runCtx, cancelRuns := a.Graceful(ctx)
	defer cancelRuns()

	clock := a.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	// runs tracks the run in flight, whether the schedule or the start-up
	// started it, so that a stop can wait for it.
	var runs runTracker
	cur := &current{svc: a}
	defer cur.closeAll()
	var ticks atomic.Pointer[scheduler] // the schedule in force, for the log
	// One chain for the daemon's life: a tick of a reloaded schedule that
	// comes during a run started by the old one is skipped too.
	job := cron.NewChain(a.chain()...).Then(cron.FuncJob(func() {
		if !runs.begin() {
			return
		}
		defer runs.end()
		svc := cur.get()
		svc.init()
		svc.Trigger = "scheduled"
		svc.scheduledRun(runCtx)
		cur.done(svc)
	}))
	// The next run is logged once the job has returned through the chain,
	// which is when the chain admits the next tick: a tick due right
	// after this line is run, not skipped as overlapping.
	runJob := func() {
		job.Run()
		a.Log.Info("next scheduled run", nextFields(ticks.Load())...)
	}
	lastSuccess := func() (time.Time, bool) {
		at, found, err := cur.get().State.ReadLastSuccess()
		if err != nil {
			a.Log.Warn("last-success.json unreadable; read as lost", errField(err))
			return time.Time{}, false
		}
		return at, found
	}
	start := func(spec string, loc *time.Location) (*scheduler, error) {
		sched, zone, err := parseSchedule(spec, loc)
		if err != nil {
			return nil, err
		}
		return startScheduler(sched, zone, clock, func() { go runJob() }, lastSuccess, a.Log), nil
	}
	ts, err := start(sch.Spec, loc)
	if err != nil {
		a.Log.Error("bad schedule", errField(err))
		return ExitConfig
	}
	ticks.Store(ts)
	a.Log.Info("daemon started", append([]zap.Field{zap.String("schedule", sch.Spec), zap.String("version", sch.Version)},
		nextFields(ts)...)...)
	// The start-up full sync is also the catch-up of any tick missed while
	// the daemon was not running. It goes through the same chain, so a
	// scheduled tick that falls during it is skipped, not run twice.
	go runJob()

loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case r := <-reloads:
			if r.Schedule.Spec != sch.Spec || r.Schedule.TimeZone != sch.TimeZone {
				nloc, err := time.LoadLocation(r.Schedule.TimeZone)
				var nts *scheduler
				if err == nil {
					nts, err = start(r.Schedule.Spec, nloc)
				}
				if err != nil {
					a.Log.Error("configuration reload refused: bad schedule; old configuration kept", errField(err))
					if r.Close != nil {
						r.Close()
					}
					continue
				}
				ts.Stop()
				ts, sch.Spec, sch.TimeZone = nts, r.Schedule.Spec, r.Schedule.TimeZone
				ticks.Store(ts)
			}
			cur.swap(r.Service, r.Close, runs.idle())
			a.Log.Info("configuration reloaded; used from the next run", append([]zap.Field{zap.String("schedule", sch.Spec)},
				nextFields(ts)...)...)
		}
	}
	ts.Stop() // no new ticks
	stopped := runs.stop()
	select {
	case <-stopped:
	case <-runCtx.Done():
		// The run's requests are finished or cut off; it now writes its
		// report and sends its notification.
		select {
		case <-stopped:
		case <-time.After(a.FinishGrace):
			a.Log.Warn("run did not finish its report in time; exiting")
		}
	}
	a.Log.Info("daemon stopped")
	return ExitOK
}

// current is the service the next run uses, and the replaced ones whose
// resources are released once no run uses them.
type current struct {
	mu       sync.Mutex
	svc      *Service
	closeNow func() // releases svc (nil for the daemon's own)
	retired  map[*Service]func()
}

func (c *current) get() *Service {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.svc
}

// swap makes s the service of the next runs. The one it replaces is
// released at once when no run is going (idle), else when its run ends.
func (c *current) swap(s *Service, closeS func(), idle bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, oldClose := c.svc, c.closeNow
	c.svc, c.closeNow = s, closeS
	if oldClose == nil {
		return
	}
	if idle {
		oldClose()
		return
	}
	if c.retired == nil {
		c.retired = map[*Service]func(){}
	}
	c.retired[old] = oldClose
}

// done releases svc after its run if it was replaced meanwhile.
func (c *current) done(svc *Service) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.retired[svc]; ok {
		delete(c.retired, svc)
		f()
	}
}

// closeAll releases every service the daemon was given by a reload.
func (c *current) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.retired {
		f()
	}
	c.retired = nil
	if c.closeNow != nil {
		c.closeNow()
		c.closeNow = nil
	}
}

// chain wraps every daemon run: a panic is recovered and logged with its
// stack (the daemon lives on for the next tick), and a tick that comes
// while a run is still going is skipped and logged rather than queued.
func (a *Service) chain() []cron.JobWrapper {
	l := cronLogger{a.Log.Named("cron")}
	return []cron.JobWrapper{cron.Recover(l), cron.SkipIfStillRunning(l)}
}

// runTracker counts daemon runs in flight so that a stop can wait for them.
type runTracker struct {
	mu       sync.Mutex
	stopping bool
	active   int
	wg       sync.WaitGroup
}

// begin admits a run unless the daemon is stopping.
func (r *runTracker) begin() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return false
	}
	r.wg.Add(1)
	r.active++
	return true
}

func (r *runTracker) end() {
	r.mu.Lock()
	r.active--
	r.mu.Unlock()
	r.wg.Done()
}

// idle says whether no run is going.
func (r *runTracker) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active == 0
}

// stop refuses new runs and returns a channel closed when none is left.
func (r *runTracker) stop() <-chan struct{} {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	return done
}

// scheduledRun is one cron tick.
func (a *Service) scheduledRun(ctx context.Context) {
	defer func() {
		if r := recover(); r != nil {
			// Counted here, logged with its stack by cron.Recover.
			a.Metrics.runPanicked()
			panic(r)
		}
	}()
	_, err := a.RunOnce(ctx, runner.Flags{})
	switch {
	case errors.Is(err, state.ErrLockBusy):
		a.Log.Warn("run skipped: lock busy", errField(err))
	case err != nil:
		a.Log.Error("run failed", errField(err), zap.Int("exit_code", int(Classify(err))))
	}
}

// serveHTTP serves /healthz, /readyz and /metrics on metrics_listen.
func (a *Service) serveHTTP(listen string) (*http.Server, string, error) {
	if listen == "" {
		return nil, "", nil
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, "", fmt.Errorf("metrics_listen %s: %w", listen, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		// Ready means "configured and able to reach both systems": it
		// drops when a run fails on credentials or reachability and comes
		// back with the next run that gets through.
		if why := a.Metrics.unreadyReason(); why != "" {
			http.Error(w, "last run failed: "+why, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("/metrics", a.Metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv, ln.Addr().String(), nil
}

// cronLogger adapts zap to cron.Logger.
type cronLogger struct{ l *zap.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		c.l.Warn("run skipped: previous run still going")
		return
	}
	c.l.Debug(msg, zap.Any("kv", kv))
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error(msg, errField(err), zap.Any("kv", kv))
}

func errField(err error) zap.Field { return zap.String("error", err.Error()) }

// nextFields say when the schedule fires next, in its own time zone, for
// support staff reading the log across a DST change.
func nextFields(s *scheduler) []zap.Field {
	return []zap.Field{zap.String("next", inZone(s.next(), s.zone)), zap.String("time_zone", s.zone.String())}
}
