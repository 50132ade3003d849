// Package service runs syncs the way the daemon and the run-now flag do:
// under the run lock(s), with the report written to state_dir, the
// metrics updated and a notification sent when a person should look. It
// also holds the daemon's schedule loop and health endpoint. The command
// in cmd/ only wires it from configuration.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/config"
	"condeco-visitor-sync/notify"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/runner"
)

// Defaults of the timing fields of Service.
const (
	// DefaultShutdownGrace bounds how long a stopping process waits for
	// the requests in flight; past it they are cancelled.
	DefaultShutdownGrace = 30 * time.Second
	// DefaultFinishGrace bounds the wait for the report and notification
	// after the run's context ends, so that the whole stop fits in the
	// 90 s that the systemd unit and the Kubernetes pod allow.
	DefaultFinishGrace = 20 * time.Second
	// DefaultProgressEvery is how often a long run logs where it is:
	// often enough to tell a stall from a slow tenant.
	DefaultProgressEvery = 10 * time.Second
)

// DBLocker is the SQL Server application lock (condeco.AppLocker), an
// interface so that the lock order can be tested without SQL Server.
type DBLocker interface {
	Acquire(ctx context.Context, wait time.Duration) (release func(), err error)
	Close() error
}

// Service runs one sync at a time. Runner, State and Log are required;
// the rest may be left zero.
type Service struct {
	Runner *runner.Runner
	State  *state.Dir
	DBLock DBLocker // nil unless condeco_app_lock is set
	// AppLockName is condeco_app_lock, for messages.
	AppLockName string
	// SourceCheck and TargetCheck are what --check asks (Check).
	SourceCheck SourceChecker
	TargetCheck TargetChecker
	LockWait    time.Duration
	Notifier    *notify.Notifier
	Metrics     *Metrics
	Gate        *runner.Gate // the drain gate the runner's source and target pass
	Log         *zap.Logger
	// Trigger is "scheduled" in the daemon and "run-now" otherwise; it
	// goes into notifications so the reader knows who started the run.
	Trigger string
	// Target names the Visitor host in notifications.
	Target string
	// Warnings are logged at the start of every run: an insecure setting
	// left on after a debugging session must not go unnoticed in a daemon
	// that has run for months.
	Warnings []string
	// Bar, when set, shows a live progress bar there instead of progress
	// log lines (a run-now in a terminal).
	Bar io.Writer

	// Integrations are further generic-v1 integrations
	// (visitor_integrations), each run after the main one with the same
	// flags and the same export (Shared).
	Integrations []Integration
	// Shared, when set, is the export the runs of one sync share; it is
	// forgotten at the end of each sync.
	Shared *runner.SharedSource

	// RunTimeout, when set, bounds one run: past it the run stops as on
	// SIGTERM (no new request, those in flight finish) and ends
	// interrupted, so a stuck run never holds the lock into the next day.
	RunTimeout time.Duration

	// Now is the clock lock_wait is measured with; default time.Now.
	Now func() time.Time
	// Clock is the daemon schedule's time; default SystemClock.
	Clock Clock

	ShutdownGrace time.Duration // default DefaultShutdownGrace
	FinishGrace   time.Duration // default DefaultFinishGrace
	ProgressEvery time.Duration // default DefaultProgressEvery

	lock *state.Lock
	once sync.Once
}

func (s *Service) init() {
	s.once.Do(func() {
		s.lock = s.State.Lock()
		if s.Metrics == nil {
			s.Metrics = NewMetrics()
		}
		if s.Trigger == "" {
			s.Trigger = "run-now"
		}
		if s.ShutdownGrace <= 0 {
			s.ShutdownGrace = DefaultShutdownGrace
		}
		if s.FinishGrace <= 0 {
			s.FinishGrace = DefaultFinishGrace
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.ProgressEvery <= 0 {
			s.ProgressEvery = DefaultProgressEvery
		}
	})
}

// Graceful returns the context runs use: it outlives stop until the calls
// in flight have finished, or ShutdownGrace has passed.
func (s *Service) Graceful(stop context.Context) (context.Context, context.CancelFunc) {
	s.init()
	g := s.Gate
	if g == nil {
		g = runner.NewGate()
	}
	return g.Graceful(stop, s.ShutdownGrace, s.Log)
}

// RunOnce takes the lock, runs one sync, and records the report whatever
// the outcome, so that a failed run is never silent. A run that needs a
// person's attention is then notified, after the lock is released: a slow
// mail relay must not hold up the next run.
func (s *Service) RunOnce(ctx context.Context, flags runner.Flags) (*runner.Report, error) {
	s.init()
	rep, err := s.runLocked(ctx, flags)
	// A dry run changes nothing and a person is watching it; a run refused
	// by the lock did nothing: neither is news.
	if !flags.DryRun && !errors.Is(err, state.ErrLockBusy) {
		s.notifyRun(ctx, rep, err)
	}
	return rep, err
}

func (s *Service) runLocked(ctx context.Context, flags runner.Flags) (*runner.Report, error) {
	if !flags.DryRun {
		release, err := s.acquireLocks(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	s.warn()
	s.Metrics.runStarted()
	start := time.Now()
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch() // also on a panic, so the progress goroutine ends
	var shown sync.WaitGroup
	shown.Go(func() {
		if s.Bar != nil {
			showBar(watch, s.Bar, s.Runner.Progress)
		} else {
			logProgress(watch, s.Log, s.Runner.Progress, s.ProgressEvery)
		}
	})
	runCtx, timedOut, endTimeout := s.timeout(ctx)
	if s.Shared != nil {
		// Also after a panic: the next run must read Condeco afresh.
		defer s.Shared.Forget()
	}
	rep, err := s.Runner.RunOnce(runCtx, flags)
	err = s.runIntegrations(runCtx, flags, rep, err)
	endTimeout()
	if timedOut() {
		err = fmt.Errorf("run_timeout %s reached; stopped like SIGTERM: %w", s.RunTimeout, err)
		if rep != nil {
			rep.Error = err.Error()
		}
	}
	stopWatch()
	shown.Wait()
	if rep != nil && !flags.DryRun {
		// A report that could not be written is the run's error too: it
		// is logged, notified and ends the run with ExitAudit.
		if werr := s.State.WriteReport(rep.Start, rep.RunID, fileReport(rep, err, s.Trigger)); werr != nil {
			s.Log.Error("writing report failed", zap.String("error", werr.Error()))
			err = errors.Join(err, fmt.Errorf("writing the run's report: %w", werr))
			rep.Error = err.Error()
		}
		// The same "success" as cvs_last_success_timestamp_seconds: a
		// run that went through with some users failed still brought
		// everyone else up to date, so a missed tick is not owed for it.
		if code := Classify(err); code == ExitOK || code == ExitPartial {
			if werr := s.State.WriteLastSuccess(rep.RunID, s.Trigger, rep.Start, rep.End); werr != nil {
				s.Log.Warn("writing last-success.json failed; a missed scheduled run will be caught up even after this run", errField(werr))
			}
		}
	}
	s.Metrics.runFinished(rep, err, time.Since(start))
	return rep, err
}

// timeout gives the run a context that drains like a SIGTERM once
// RunTimeout has passed. timedOut says whether it did; end releases it and
// opens the gate again for the next run when only this run was stopped.
func (s *Service) timeout(ctx context.Context) (run context.Context, timedOut func() bool, end func()) {
	if s.RunTimeout <= 0 || s.Gate == nil {
		return ctx, func() bool { return false }, func() {}
	}
	stop, cancel := context.WithTimeout(ctx, s.RunTimeout)
	run, done := s.Gate.Graceful(stop, s.ShutdownGrace, s.Log)
	hit := func() bool { return errors.Is(stop.Err(), context.DeadlineExceeded) && ctx.Err() == nil }
	return run, hit, func() {
		done()
		if hit() {
			s.Gate.Reopen()
		}
		cancel()
	}
}

// warn logs the insecure settings; with log_level: error a warning would
// be dropped, so the same line is then logged at error level.
func (s *Service) warn() {
	warn := s.Log.Warn
	if !s.Log.Core().Enabled(zap.WarnLevel) {
		warn = s.Log.Error
	}
	for _, w := range s.Warnings {
		warn(w)
	}
}

// acquireLocks takes the host lock, then the database lock when
// condeco_app_lock is set, sharing one lock_wait budget. The host lock
// comes first so that a second run on the same host never touches the
// database; one global lock after per-host ones cannot deadlock.
func (s *Service) acquireLocks(ctx context.Context) (release func(), err error) {
	start := s.Now()
	if err := s.lock.Acquire(ctx, s.LockWait); err != nil {
		return nil, err
	}
	if w := s.lock.Warning; w != "" {
		s.Log.Warn(w)
	}
	if s.DBLock == nil {
		return func() { s.lock.Release() }, nil
	}
	wait := max(s.LockWait-s.Now().Sub(start), 0)
	dbRelease, err := s.DBLock.Acquire(ctx, wait)
	if err != nil {
		s.lock.Release()
		var busy *condeco.AppLockBusyError
		switch {
		case errors.As(err, &busy):
			since := "an unknown time"
			if !busy.Since.IsZero() {
				since = busy.Since.UTC().Format(time.RFC3339)
			}
			return nil, fmt.Errorf("%w: another sync has been running since %s (%v)", state.ErrLockBusy, since, err)
		case errors.Is(err, condeco.ErrBadOptions):
			return nil, fmt.Errorf("%w: condeco_app_lock: %w", config.ErrInvalid, err)
		case errors.Is(err, context.Canceled):
			return nil, err
		}
		return nil, fmt.Errorf("%w: condeco_app_lock: %w", runner.ErrSource, err)
	}
	return func() {
		dbRelease()
		s.lock.Release()
	}, nil
}

// progressOf is *apply.Progress as the displays see it.
type progressOf interface {
	Snapshot() (done, total int64, since time.Time)
}

var _ progressOf = (*apply.Progress)(nil)
