package service

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// allHours is a cron hour field that names every hour of the day.
const allHours = 1<<24 - 1

// parseSchedule reads a cron spec (as config validates it) into the
// daemon's firing times in zone. robfig/cron parses; its Next is kept only
// where it is right across DST.
//
// cron's Next walks absolute time and matches the fields against the
// local reading, so a local time inside the spring-forward gap never
// matches (30 1 * * * in Europe/London: no run on 29 March 2026, 47 h
// between two) and one inside the repeated hour matches twice (two runs on
// 25 October). A daily sync promises one run a day, so a spec that names
// its hours is read as wall-clock appointments (wallSchedule): a time that
// does not exist runs when the clock passes it, a repeated one runs once.
//
// A spec that names every hour of the day (hourly, every 15 minutes) is a
// period instead: it runs at every matching reading of the clock, as cron
// has it, so the hour repeated at fall-back runs twice (25 hourly runs that
// day) and the skipped hour not at all (23), one run per hour that really
// passes, never two hours without one. That is what cron(8) does for specs
// with '*' in the hour field, and what someone asking for "hourly" expects.
// "@every" counts elapsed time and knows no clock.
//
// This wraps cron rather than replacing it: cron parses, and its Next in
// UTC, which has no DST, is already a plain walk over the calendar that
// names the next local time. What it lacks is the step from a local time
// to an instant, two small functions below. The loop that waits for the
// instants is the daemon's own (scheduler.go), for a reason of its own:
// cron.Cron's timers do not see a suspend.
//
// The zone returned is the one the firings are read in: time_zone, or the
// spec's own CRON_TZ=.
func parseSchedule(spec string, zone *time.Location) (cron.Schedule, *time.Location, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, nil, err
	}
	ss, ok := s.(*cron.SpecSchedule)
	if !ok {
		return s, zone, nil
	}
	local := *ss
	if local.Location == time.Local { // no CRON_TZ= in the spec
		local.Location = zone
	}
	if local.Hour&allHours == allHours {
		return &local, local.Location, nil
	}
	wall := local
	wall.Location = time.UTC // UTC has no DST: its Next enumerates wall-clock times
	return wallSchedule{wall: &wall, zone: local.Location}, local.Location, nil
}

// wallSchedule fires at each local time its spec names: the first instant
// the clock in zone reads that time or later. That is the time itself when
// the clock shows it once, its first pass when the clock shows it twice,
// and the end of the gap when the clock jumps over it. Several named times
// in one gap fall on that one instant and run once.
type wallSchedule struct {
	wall *cron.SpecSchedule // Location UTC
	zone *time.Location
}

// Next is the first firing after t. The clock has already shown every
// local time up to the highest reading so far (in the second pass of a
// repeated hour, that is the end of the first), so the next firing is the
// first named time past that reading.
func (s wallSchedule) Next(t time.Time) time.Time {
	w := s.wall.Next(highestReading(t, s.zone))
	if w.IsZero() {
		return w
	}
	return firstReaching(w, s.zone)
}

// reading is what the clock in zone shows at t, as a time in UTC: a date
// and time of day with no zone left to shift it.
func reading(t time.Time, zone *time.Location) time.Time {
	_, off := t.In(zone).Zone()
	return t.UTC().Add(time.Duration(off) * time.Second)
}

// highestReading is the latest time the clock in zone has shown up to t.
// Offsets lie between -12 h and +14 h, so a reading above the one at t can
// only come from a zone period that ended less than 26 h before t.
func highestReading(t time.Time, zone *time.Location) time.Time {
	hi := reading(t, zone)
	start, _ := t.In(zone).ZoneBounds()
	for !start.IsZero() && start.After(t.Add(-26*time.Hour)) {
		last := start.Add(-time.Nanosecond) // the period before's last instant
		if r := reading(last, zone); r.After(hi) {
			hi = r
		}
		start, _ = last.ZoneBounds()
	}
	return hi
}

// firstReaching is the first instant at which the clock in zone reads w
// or later. Within one zone period (one offset) that is w minus the offset,
// or the period's start when the clock already reads past w there; the
// first period that has such an instant has the answer. No clock reads w
// before w - 14 h, so the search starts just before that.
func firstReaching(w time.Time, zone *time.Location) time.Time {
	t := w.Add(-15 * time.Hour).In(zone)
	for range 1000 { // a bound for a broken zone; real ones end in two or three steps
		_, end := t.ZoneBounds()
		_, off := t.Zone()
		at := w.Add(-time.Duration(off) * time.Second).In(zone)
		if at.Before(t) {
			at = t
		}
		if end.IsZero() || at.Before(end) {
			return at
		}
		t = end
	}
	panic(fmt.Sprintf("time zone %s: no instant reads %s", zone, w.Format(time.DateTime)))
}

// interval is the time between the firing at due and the one before, what
// "older than one interval" measures a last success against. A firing
// before due is searched for back from due, over longer and longer spans;
// zero when none is found within the five years cron looks ahead.
func interval(s cron.Schedule, due time.Time) time.Duration {
	if d, ok := s.(cron.ConstantDelaySchedule); ok {
		return d.Delay
	}
	for back := time.Hour; back < 6*366*24*time.Hour; back *= 4 {
		f := s.Next(due.Add(-back))
		if f.IsZero() || !f.Before(due) {
			continue
		}
		for {
			g := s.Next(f)
			if g.IsZero() || !g.Before(due) {
				return due.Sub(f)
			}
			f = g
		}
	}
	return 0
}
