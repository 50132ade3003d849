package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

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

// Daemon runs a full sync at start, then on the cron schedule, until the
// context is cancelled (SIGTERM/SIGINT).
func (a *Service) Daemon(ctx context.Context, sch Schedule) ExitCode {
	a.init()
	a.Trigger = "scheduled"
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
	}

	// runCtx outlives ctx until the requests in flight have finished (at
	// most shutdownGrace), so that a SIGTERM stops new work without
	// cutting a request off, and the report is still written.
	runCtx, cancelRuns := a.Graceful(ctx)
	defer cancelRuns()

	// runs tracks the run in flight, whether cron or the start-up started
	// it (cron's own Stop does not know about the start-up run).
	var runs runTracker
	job := cron.FuncJob(func() {
		if !runs.begin() {
			return
		}
		defer runs.end()
		a.scheduledRun(runCtx)
	})
	c := cron.New(
		cron.WithLocation(loc),
		cron.WithLogger(cronLogger{a.Log.Named("cron")}),
		cron.WithChain(a.chain()...),
	)
	id, err := c.AddJob(sch.Spec, job)
	if err != nil {
		a.Log.Error("bad schedule", errField(err))
		return ExitConfig
	}
	a.Log.Info("daemon started", zap.String("schedule", sch.Spec), zap.String("time_zone", sch.TimeZone), zap.String("version", sch.Version))
	// The start-up full sync goes through the same chain, so a scheduled
	// tick that falls during it is skipped, not run twice.
	c.Start()
	go c.Entry(id).WrappedJob.Run()

	<-ctx.Done()
	c.Stop() // no new ticks
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
	return true
}

func (r *runTracker) end() { r.wg.Done() }

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
