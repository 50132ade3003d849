package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"condeco-visitor-sync/sync"
)

// shutdownGrace bounds how long a stopping daemon waits for the run in
// flight; requests already sent finish or time out within it.
const shutdownGrace = 30 * time.Second

// Daemon runs a full sync at start, then on the cron schedule, until the
// context is cancelled (SIGTERM/SIGINT).
func (a *app) Daemon(ctx context.Context) int {
	loc, err := time.LoadLocation(a.cfg.TimeZone)
	if err != nil {
		a.log.Error("bad time zone", errField(err))
		return ExitConfig
	}
	srv, addr, err := a.serveHTTP()
	if err != nil {
		a.log.Error("metrics listener failed", errField(err))
		return ExitConfig
	}
	if srv != nil {
		defer srv.Shutdown(context.Background())
		a.log.Info("serving health and metrics", zap.String("addr", addr))
	}

	// runCtx outlives ctx by the grace period so that a SIGTERM lets the
	// requests in flight finish and the report be written.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()

	job := cron.FuncJob(func() {
		if ctx.Err() != nil {
			return
		}
		a.scheduledRun(runCtx)
	})
	c := cron.New(
		cron.WithLocation(loc),
		cron.WithLogger(cronLogger{a.log.Named("cron")}),
		cron.WithChain(cron.Recover(cronLogger{a.log.Named("cron")}), cron.SkipIfStillRunning(cronLogger{a.log.Named("cron")})),
	)
	id, err := c.AddJob(a.cfg.Schedule, job)
	if err != nil {
		a.log.Error("bad schedule", errField(err))
		return ExitConfig
	}
	a.log.Info("daemon started", zap.String("schedule", a.cfg.Schedule), zap.String("time_zone", a.cfg.TimeZone), zap.String("version", version))
	// The start-up full sync goes through the same chain, so a scheduled
	// tick that falls during it is skipped, not run twice.
	c.Start()
	go c.Entry(id).WrappedJob.Run()

	<-ctx.Done()
	a.log.Info("stopping: no new runs; waiting for the run in flight", zap.Duration("grace", shutdownGrace))
	stopped := c.Stop()
	select {
	case <-stopped.Done():
	case <-time.After(shutdownGrace):
		a.log.Warn("grace period over: cancelling the run in flight")
		cancelRuns()
		select {
		case <-stopped.Done():
		case <-time.After(5 * time.Second):
		}
	}
	a.log.Info("daemon stopped")
	return ExitOK
}

// scheduledRun is one cron tick.
func (a *app) scheduledRun(ctx context.Context) {
	rep, err := a.RunOnce(ctx, sync.RunFlags{})
	if err != nil {
		if errors.Is(err, ErrLockBusy) {
			a.log.Warn("run skipped: lock busy", errField(err))
			return
		}
		a.log.Error("run failed", errField(err), zap.Int("exit_code", exitCode(err)))
		return
	}
	_ = rep
}

// serveHTTP serves /healthz, /readyz and /metrics on metrics_listen.
func (a *app) serveHTTP() (*http.Server, string, error) {
	if a.cfg.MetricsListen == "" {
		return nil, "", nil
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsListen)
	if err != nil {
		return nil, "", fmt.Errorf("metrics_listen %s: %w", a.cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		// Ready means "configured and able to reach both systems": it
		// drops when a run fails on credentials or reachability and comes
		// back with the next run that gets through.
		if why := a.metrics.unreadyReason(); why != "" {
			http.Error(w, "last run failed: "+why, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("/metrics", a.metrics.handler())
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
