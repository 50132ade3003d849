package service

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// utc is a time in UTC, for the exact instants the tests expect.
func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// firings is every Next of s from after (excluded) to until (included).
func firings(s cron.Schedule, after, until time.Time) []time.Time {
	var out []time.Time
	for t := s.Next(after); !t.IsZero() && !t.After(until); t = s.Next(t) {
		out = append(out, t.UTC())
	}
	return out
}

// What robfig/cron itself does across DST, and so what the daemon did
// while it ran cron.Cron with cron.WithLocation: its Next steps through
// absolute time and matches the fields against the local reading, so a
// local time inside the spring-forward gap is never matched (a day
// without a run, 47 h between two) and one inside the repeated hour is
// matched twice (issue 15, point 7). This test pins that behaviour, the
// reason for wallSchedule (schedule.go).
func TestCronNextMissesAndRepeatsAcrossDST(t *testing.T) {
	cases := []struct {
		name, zone, spec string
		after, until     time.Time
		want             []time.Time
	}{
		{
			name: "London spring forward: no run on 29 March", zone: "Europe/London", spec: "30 1 * * *",
			after: utc(2026, 3, 28, 0, 0), until: utc(2026, 3, 30, 23, 0),
			want: []time.Time{utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30)},
		},
		{
			name: "London fall back: two runs on 25 October", zone: "Europe/London", spec: "30 1 * * *",
			after: utc(2026, 10, 24, 0, 0), until: utc(2026, 10, 26, 23, 0),
			want: []time.Time{utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30), utc(2026, 10, 26, 1, 30)},
		},
		{
			name: "New York spring forward: no run on 8 March", zone: "America/New_York", spec: "30 2 * * *",
			after: utc(2026, 3, 7, 0, 0), until: utc(2026, 3, 9, 23, 0),
			want: []time.Time{utc(2026, 3, 7, 7, 30), utc(2026, 3, 9, 6, 30)},
		},
		{
			name: "New York fall back: two runs on 1 November", zone: "America/New_York", spec: "30 1 * * *",
			after: utc(2026, 10, 31, 0, 0), until: utc(2026, 11, 2, 23, 0),
			want: []time.Time{utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 6, 30)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc, err := time.LoadLocation(c.zone)
			if err != nil {
				t.Fatal(err)
			}
			s, err := cron.ParseStandard(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			s.(*cron.SpecSchedule).Location = loc // what cron.WithLocation does
			got := firings(s, c.after, c.until)
			if !equalTimes(got, c.want) {
				t.Errorf("cron's Next:\n got %v\nwant %v", got, c.want)
			}
		})
	}
}

func equalTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
