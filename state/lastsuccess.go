package state

import "time"

// LastSuccessFile is the last run that got through, whoever started it.
const LastSuccessFile = "last-success.json"

const lastSuccessVersion = 1

// lastSuccess is what the daemon's schedule reads after a missed tick
// (the host was suspended or its clock stepped past a firing time): a
// tick is caught up at once unless a run succeeded less than one interval
// ago. last-report.json cannot say it: a failed run overwrites it, and it
// is a report for people, which the sync never reads back.
type lastSuccess struct {
	Version int       `json:"version"`
	Run     string    `json:"run"`
	Trigger string    `json:"trigger"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

// ReadLastSuccess returns the start of the last run that succeeded (fully
// or with some users failed); found is false when there is none (no run
// has succeeded yet, or state_dir was lost).
func (d *Dir) ReadLastSuccess() (start time.Time, found bool, err error) {
	var rec lastSuccess
	found, err = readRecord(d.file(LastSuccessFile), lastSuccessVersion, &rec)
	return rec.Start, found, err
}

// ReadLastSuccessEnd returns when the last run that succeeded finished,
// as ReadLastSuccess does its start.
func (d *Dir) ReadLastSuccessEnd() (end time.Time, found bool, err error) {
	var rec lastSuccess
	found, err = readRecord(d.file(LastSuccessFile), lastSuccessVersion, &rec)
	return rec.End, found, err
}

// WriteLastSuccess replaces the record after a run that succeeded.
func (d *Dir) WriteLastSuccess(run, trigger string, start, end time.Time) error {
	return writeRecord(d.file(LastSuccessFile), lastSuccess{Version: lastSuccessVersion, Run: run,
		Trigger: trigger, Start: start.UTC(), End: end.UTC()})
}
