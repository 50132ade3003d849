package service

import (
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// Clock is the daemon's time: the wall clock and timers. Tests pass a fake
// one to step through days, DST changes and suspends without sleeping.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the scheduler uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now strips the monotonic reading: the schedule is a wall-clock promise,
// so a host suspended overnight, or a clock stepped by NTP, must find the
// firing time passed, which comparisons on the monotonic clock would hide.
func (SystemClock) Now() time.Time { return time.Now().Round(0) }

// NewTimer is time.NewTimer.
func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }

const (
	// recheckEvery bounds each wait: Go's timers count time the host is
	// awake, so after a suspend, or a clock stepped forward, a timer set
	// for the firing time would fire hours late. Looking at the wall clock
	// once a minute catches up within a minute of the resume.
	recheckEvery = time.Minute
	// lateAfter is how late a tick must be to count as missed. Timers
	// wake within milliseconds; only a suspended or stalled host, or a
	// clock that jumped, is a minute late.
	lateAfter = time.Minute
)

// scheduler starts a run at each firing of its schedule, on the wall clock.
// A run is started, not waited for: the job's chain skips a tick that
// comes during a run, so two runs never overlap.
type scheduler struct {
	sched cron.Schedule
	clock Clock
	run   func()
	// lastSuccess is when the last successful run started (from
	// last-success.json); ok is false when it is not known.
	lastSuccess func() (start time.Time, ok bool)
	log         *zap.Logger
	zone        *time.Location

	mu   sync.Mutex
	due  time.Time
	stop chan struct{}
	done chan struct{}
}

// startScheduler computes the first firing after now and starts waiting
// for it. The caller runs the start-up sync itself: it is also the
// catch-up for any tick missed while the daemon was not running.
func startScheduler(sched cron.Schedule, zone *time.Location, clock Clock, run func(),
	lastSuccess func() (time.Time, bool), log *zap.Logger) *scheduler {
	s := &scheduler{sched: sched, zone: zone, clock: clock, run: run, lastSuccess: lastSuccess, log: log,
		stop: make(chan struct{}), done: make(chan struct{})}
	s.due = sched.Next(clock.Now())
	go s.loop()
	return s
}

// next is the firing the scheduler waits for; zero when there is none.
func (s *scheduler) next() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.due
}

// Stop ends the loop (no new runs; one in flight goes on).
func (s *scheduler) Stop() {
	close(s.stop)
	<-s.done
}

func (s *scheduler) loop() {
	defer close(s.done)
	due := s.next()
	for {
		wait := recheckEvery
		if due.IsZero() {
			wait = 1<<63 - 1
		} else if d := due.Sub(s.clock.Now()); d < wait {
			wait = max(d, 0)
		}
		t := s.clock.NewTimer(wait)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C():
		}
		now := s.clock.Now()
		if due.IsZero() || now.Before(due) {
			continue
		}
		owed := s.owed(due, now)
		// From now, not from due: the ticks missed meanwhile are covered
		// by this one run. Set before the run starts, which logs it.
		due = s.sched.Next(now)
		s.mu.Lock()
		s.due = due
		s.mu.Unlock()
		if owed {
			s.run()
		}
	}
}

// owed says whether the tick due runs. One on time always does. One found
// late (the host was suspended, or its clock stepped) runs at once unless a
// run succeeded less than one interval ago: after the start-up sync, or a
// run-now, the data is as fresh as the schedule promises.
func (s *scheduler) owed(due, now time.Time) bool {
	late := now.Sub(due)
	if late <= lateAfter {
		return true
	}
	fields := []zap.Field{zap.String("missed", inZone(due, s.zone)), zap.Duration("late", late)}
	if last, ok := s.lastSuccess(); ok {
		if every := interval(s.sched, due); every > 0 && now.Sub(last) < every {
			s.log.Info("missed scheduled run not caught up: the last successful run is less than one interval old",
				append(fields, zap.String("last_success", inZone(last, s.zone)), zap.Duration("interval", every))...)
			return false
		}
	}
	s.log.Warn("missed scheduled run (host suspended or clock stepped); running now", fields...)
	return true
}

// inZone writes t as support staff read it: RFC 3339 in the schedule's
// zone, so the offset shows whether summer time applies.
func inZone(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	return t.In(zone).Format(time.RFC3339)
}
