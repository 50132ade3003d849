package service

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// fakeClock is a wall clock and timers that move only when the test says.
// Timers count awake time (as Go's do), so a suspend moves the wall clock
// and leaves the timers where they were. The scheduler holds one timer at
// a time; the test takes each from armed and fires it when it is due.
type fakeClock struct {
	mu      sync.Mutex // runs read the clock while the test moves it
	wall    time.Time
	awake   time.Duration   // time the host has been awake
	armed   chan *fakeTimer // each timer the scheduler sets, in order
	pending *fakeTimer      // taken from armed, not fired yet
}

type fakeTimer struct {
	at time.Duration // awake time at which it fires
	c  chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{wall: now, armed: make(chan *fakeTimer)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	t := &fakeTimer{at: c.awake + min(d, 1000*24*time.Hour), c: make(chan time.Time, 1)}
	c.mu.Unlock()
	c.armed <- t
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }
func (t *fakeTimer) Stop() bool          { return true }

// timer waits until the scheduler has set its timer, and returns it.
func (c *fakeClock) timer() *fakeTimer {
	if c.pending == nil {
		c.pending = <-c.armed
	}
	return c.pending
}

// advance lets the host run (awake) for d, firing each timer when due.
// It returns once the scheduler has dealt with the last one and set the
// next.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	end := c.awake + d
	c.mu.Unlock()
	for {
		t := c.timer()
		c.mu.Lock()
		if t.at > end {
			c.wall = c.wall.Add(end - c.awake)
			c.awake = end
			c.mu.Unlock()
			return
		}
		if t.at > c.awake { // else overdue: a stalled process
			c.wall = c.wall.Add(t.at - c.awake)
			c.awake = t.at
		}
		now := c.wall
		c.mu.Unlock()
		c.pending = nil
		t.c <- now
	}
}

// advanceTo lets the host run until the wall clock reads until.
func (c *fakeClock) advanceTo(until time.Time) { c.advance(until.Sub(c.Now())) }

// suspend moves the wall clock by d and no timer: a host asleep, or a
// clock stepped forward.
func (c *fakeClock) suspend(d time.Duration) {
	c.timer()
	c.mu.Lock()
	c.wall = c.wall.Add(d)
	c.mu.Unlock()
}

// stall moves the wall clock and the awake time by d without letting the
// timer fire until then: a process stopped or starved, whose timer fires
// late.
func (c *fakeClock) stall(d time.Duration) {
	c.timer()
	c.mu.Lock()
	c.wall = c.wall.Add(d)
	c.awake += d
	c.mu.Unlock()
}

// harness drives one scheduler on a fake clock and records its runs, each
// of which succeeds.
type harness struct {
	clock *fakeClock
	s     *scheduler
	runs  []time.Time
	last  time.Time // the last success the scheduler reads; zero: none
	logs  *observer.ObservedLogs
}

func newHarness(t *testing.T, spec, zone string, now time.Time) *harness {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	sched, zoneOf, err := parseSchedule(spec, loc)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	h := &harness{clock: newFakeClock(now), logs: logs}
	// run and lastSuccess are called on the scheduler's goroutine while
	// the test waits on armed: the channel orders their use of h.
	h.s = startScheduler(sched, zoneOf, h.clock,
		func() {
			h.runs = append(h.runs, h.clock.Now())
			h.last = h.clock.Now()
		},
		func() (time.Time, bool) { return h.last, !h.last.IsZero() },
		zap.New(core))
	t.Cleanup(func() {
		h.clock.timer() // the loop waits on a timer, not in NewTimer
		h.s.Stop()
	})
	return h
}

func (h *harness) runsUTC() []time.Time {
	out := make([]time.Time, len(h.runs))
	for i, r := range h.runs {
		out[i] = r.UTC()
	}
	return out
}

// perDay counts the runs on each local calendar day.
func perDay(runs []time.Time, zone *time.Location) map[string]int {
	n := map[string]int{}
	for _, r := range runs {
		n[r.In(zone).Format(time.DateOnly)]++
	}
	return n
}

// A daily schedule runs once on every calendar day around each 2026
// change, at its time; a time that does not exist runs when the clock
// passes the gap, a repeated one at its first pass. A time outside the
// changed hour keeps its time.
func TestSchedulerDailyAcrossDST(t *testing.T) {
	cases := []struct {
		name, zone, spec string
		from, until      time.Time
		want             []time.Time
	}{
		{
			name: "London 01:30, spring forward: 02:00 BST on 29 March", zone: "Europe/London", spec: "30 1 * * *",
			from: utc(2026, 3, 26, 12, 0), until: utc(2026, 4, 1, 12, 0),
			want: []time.Time{utc(2026, 3, 27, 1, 30), utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0),
				utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30), utc(2026, 4, 1, 0, 30)},
		},
		{
			name: "London 01:30, fall back: the first 01:30 on 25 October", zone: "Europe/London", spec: "30 1 * * *",
			from: utc(2026, 10, 22, 12, 0), until: utc(2026, 10, 28, 12, 0),
			want: []time.Time{utc(2026, 10, 23, 0, 30), utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30),
				utc(2026, 10, 26, 1, 30), utc(2026, 10, 27, 1, 30), utc(2026, 10, 28, 1, 30)},
		},
		{
			name: "New York 02:30, spring forward: 03:00 EDT on 8 March", zone: "America/New_York", spec: "30 2 * * *",
			from: utc(2026, 3, 5, 12, 0), until: utc(2026, 3, 11, 12, 0),
			want: []time.Time{utc(2026, 3, 6, 7, 30), utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0),
				utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30), utc(2026, 3, 11, 6, 30)},
		},
		{
			name: "New York 02:30, fall back: 02:30 is not repeated, kept", zone: "America/New_York", spec: "30 2 * * *",
			from: utc(2026, 10, 29, 12, 0), until: utc(2026, 11, 4, 12, 0),
			want: []time.Time{utc(2026, 10, 30, 6, 30), utc(2026, 10, 31, 6, 30), utc(2026, 11, 1, 7, 30),
				utc(2026, 11, 2, 7, 30), utc(2026, 11, 3, 7, 30), utc(2026, 11, 4, 7, 30)},
		},
		{
			name: "New York 01:30, fall back: the first 01:30 on 1 November", zone: "America/New_York", spec: "30 1 * * *",
			from: utc(2026, 10, 29, 12, 0), until: utc(2026, 11, 4, 12, 0),
			want: []time.Time{utc(2026, 10, 30, 5, 30), utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30),
				utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30), utc(2026, 11, 4, 6, 30)},
		},
		{
			name: "London 03:00, outside the change: keeps its time", zone: "Europe/London", spec: "0 3 * * *",
			from: utc(2026, 3, 27, 12, 0), until: utc(2026, 3, 31, 12, 0),
			want: []time.Time{utc(2026, 3, 28, 3, 0), utc(2026, 3, 29, 2, 0), utc(2026, 3, 30, 2, 0), utc(2026, 3, 31, 2, 0)},
		},
		{
			name: "London 02:00, the end of the gap: keeps its time", zone: "Europe/London", spec: "0 2 * * *",
			from: utc(2026, 3, 27, 12, 0), until: utc(2026, 3, 31, 12, 0),
			want: []time.Time{utc(2026, 3, 28, 2, 0), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 1, 0), utc(2026, 3, 31, 1, 0)},
		},
		{
			name: "London 00:30, outside the change, fall back: keeps its time", zone: "Europe/London", spec: "30 0 * * *",
			from: utc(2026, 10, 23, 12, 0), until: utc(2026, 10, 27, 12, 0),
			want: []time.Time{utc(2026, 10, 23, 23, 30), utc(2026, 10, 24, 23, 30), utc(2026, 10, 26, 0, 30), utc(2026, 10, 27, 0, 30)},
		},
		{
			name: "Lord Howe 02:15, a 30-minute change: 02:30 on 4 October", zone: "Australia/Lord_Howe", spec: "15 2 * * *",
			from: utc(2026, 10, 1, 12, 0), until: utc(2026, 10, 5, 12, 0),
			want: []time.Time{utc(2026, 10, 1, 15, 45), utc(2026, 10, 2, 15, 45), utc(2026, 10, 3, 15, 30), utc(2026, 10, 4, 15, 15)},
		},
		{
			name: "Havana midnight, which 8 March lacks: 01:00 that day", zone: "America/Havana", spec: "0 0 * * *",
			from: utc(2026, 3, 6, 12, 0), until: utc(2026, 3, 10, 12, 0),
			want: []time.Time{utc(2026, 3, 7, 5, 0), utc(2026, 3, 8, 5, 0), utc(2026, 3, 9, 4, 0), utc(2026, 3, 10, 4, 0)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.spec, c.zone, c.from)
			h.clock.advanceTo(c.until)
			got := h.runsUTC()
			if !equalTimes(got, c.want) {
				t.Errorf("runs:\n got %v\nwant %v", got, c.want)
			}
			// One run on each calendar day from the first to the last.
			if len(got) == 0 {
				return
			}
			zone := h.s.zone
			days := perDay(got, zone)
			first, last := got[0].In(zone), got[len(got)-1].In(zone).Format(time.DateOnly)
			n := 0
			for d := time.Date(first.Year(), first.Month(), first.Day(), 12, 0, 0, 0, zone); d.Format(time.DateOnly) <= last; d = d.AddDate(0, 0, 1) {
				if day := d.Format(time.DateOnly); days[day] != 1 {
					t.Errorf("%s: %d runs, want 1", day, days[day])
				}
				n++
			}
			if n != len(got) {
				t.Errorf("%d runs over %d days", len(got), n)
			}
		})
	}
}

// "Hourly" is one run per hour that passes: the hour repeated at fall-back
// runs twice (25 runs that day, never two hours without one) and the hour
// skipped in spring does not run (23), as cron(8) does for '*' hours.
func TestSchedulerHourlyAcrossDST(t *testing.T) {
	cases := []struct {
		name, zone  string
		day         string // the day of the change, local
		from, until time.Time
		wantRuns    int
	}{
		{name: "London spring forward", zone: "Europe/London", day: "2026-03-29",
			from: utc(2026, 3, 27, 23, 30), until: utc(2026, 3, 30, 22, 30), wantRuns: 23},
		{name: "London fall back", zone: "Europe/London", day: "2026-10-25",
			from: utc(2026, 10, 23, 22, 30), until: utc(2026, 10, 26, 23, 30), wantRuns: 25},
		{name: "New York spring forward", zone: "America/New_York", day: "2026-03-08",
			from: utc(2026, 3, 7, 4, 30), until: utc(2026, 3, 10, 3, 30), wantRuns: 23},
		{name: "New York fall back", zone: "America/New_York", day: "2026-11-01",
			from: utc(2026, 10, 31, 3, 30), until: utc(2026, 11, 3, 4, 30), wantRuns: 25},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, "0 * * * *", c.zone, c.from)
			h.clock.advanceTo(c.until)
			got := h.runsUTC()
			for i := 1; i < len(got); i++ {
				if gap := got[i].Sub(got[i-1]); gap != time.Hour {
					t.Errorf("%v after %v: %s, want every hour", got[i], got[i-1], gap)
				}
			}
			zone := h.s.zone
			days := perDay(got, zone)
			if days[c.day] != c.wantRuns {
				t.Errorf("%s: %d runs, want %d", c.day, days[c.day], c.wantRuns)
			}
			for day, n := range days {
				if day != c.day && n != 24 {
					t.Errorf("%s: %d runs, want 24", day, n)
				}
			}
			if len(days) != 3 {
				t.Errorf("runs on %d days, want the day before, the day, the day after: %v", len(days), days)
			}
		})
	}
}

// A host suspended (or a clock stepped, or a process stalled) past a
// firing runs once when it comes back, not the next day and not once per
// firing missed, unless a run succeeded less than one interval ago.
func TestSchedulerMissedTick(t *testing.T) {
	day := func(d, h, m int) time.Time { return utc(2026, 6, d, h, m) }
	cases := []struct {
		name     string
		spec     string
		last     time.Time // last successful run; zero: none recorded
		at       time.Time // when the host stops
		miss     func(h *harness)
		until    time.Time
		want     []time.Time
		wantLogs string
	}{
		{
			name: "suspended past the firing: one run at resume", spec: "0 2 * * *",
			last: day(1, 2, 0), at: day(2, 1, 0), miss: func(h *harness) { h.clock.suspend(5 * time.Hour) },
			until: day(3, 12, 0),
			want:  []time.Time{day(2, 6, 1), day(3, 2, 0)}, wantLogs: "missed scheduled run (host suspended or clock stepped); running now",
		},
		{
			name: "suspended over three firings: one run at resume", spec: "0 2 * * *",
			last: day(1, 2, 0), at: day(1, 12, 0), miss: func(h *harness) { h.clock.suspend(3*24*time.Hour + 30*time.Minute) },
			until: day(5, 12, 0),
			want:  []time.Time{day(4, 12, 31), day(5, 2, 0)}, wantLogs: "missed scheduled run (host suspended or clock stepped); running now",
		},
		{
			name: "process stalled, the timer fires late: one run", spec: "0 2 * * *",
			last: day(1, 2, 0), at: day(2, 1, 59), miss: func(h *harness) { h.clock.stall(3 * time.Hour) },
			until: day(3, 12, 0),
			want:  []time.Time{day(2, 4, 59), day(3, 2, 0)}, wantLogs: "missed scheduled run (host suspended or clock stepped); running now",
		},
		{
			name: "no run recorded as successful: caught up", spec: "0 2 * * *",
			at: day(2, 1, 0), miss: func(h *harness) { h.clock.suspend(5 * time.Hour) },
			until: day(3, 12, 0),
			want:  []time.Time{day(2, 6, 1), day(3, 2, 0)}, wantLogs: "missed scheduled run (host suspended or clock stepped); running now",
		},
		{
			name: "the start-up run a minute before the missed firing: not caught up", spec: "0 2 * * *",
			last: day(2, 1, 59), at: day(2, 1, 59), miss: func(h *harness) { h.clock.suspend(5 * time.Hour) },
			until: day(3, 12, 0),
			want:  []time.Time{day(3, 2, 0)}, wantLogs: "missed scheduled run not caught up: the last successful run is less than one interval old",
		},
		{
			name: "weekdays, Friday missed, last success Thursday: caught up", spec: "0 2 * * 1-5",
			last: day(4, 2, 0), at: day(5, 1, 0), miss: func(h *harness) { h.clock.suspend(3 * time.Hour) }, // Friday 5 June
			until: day(8, 12, 0),
			want:  []time.Time{day(5, 4, 1), day(8, 2, 0)}, wantLogs: "missed scheduled run (host suspended or clock stepped); running now",
		},
		{
			name: "on time, a run-now ten minutes before: runs as scheduled", spec: "0 2 * * *",
			last: day(2, 1, 50), at: day(2, 1, 55), miss: func(h *harness) {},
			until: day(3, 12, 0),
			want:  []time.Time{day(2, 2, 0), day(3, 2, 0)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.spec, "UTC", c.at.Add(-30*time.Minute))
			h.last = c.last
			h.clock.advanceTo(c.at)
			c.miss(h)
			h.clock.advance(time.Minute) // awake again: the wall clock is looked at within a minute
			h.clock.advanceTo(c.until)
			if got := h.runsUTC(); !equalTimes(got, c.want) {
				t.Errorf("runs:\n got %v\nwant %v", got, c.want)
			}
			if c.wantLogs != "" && h.logs.FilterMessage(c.wantLogs).Len() != 1 {
				t.Errorf("want one %q; logs: %v", c.wantLogs, messages(h.logs))
			}
		})
	}
}

func messages(l *observer.ObservedLogs) []string {
	var out []string
	for _, e := range l.All() {
		out = append(out, fmt.Sprintf("%s %v", e.Message, e.ContextMap()))
	}
	return out
}
