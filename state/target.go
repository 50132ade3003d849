package state

import "time"

// TargetFile is what the sync recorded of Visitor after its last good run.
const TargetFile = "target.json"

const targetVersion = 1

// target is the record behind the target guard: how many active users the
// sync managed after its last good run, and whether its first full sync
// has completed. Visitor cannot say either: a listing that misses people
// looks like a tenant that lost them, and an empty one like a first sync.
type target struct {
	Version       int       `json:"version"`
	Run           string    `json:"run"`
	Time          time.Time `json:"time"`
	ActiveManaged int       `json:"activeManaged"`
	FirstSyncDone bool      `json:"firstSyncDone"`
}

// ReadTarget returns the record; found is false when there is none (a
// first run, or a lost state_dir).
func (d *Dir) ReadTarget() (activeManaged int, firstSyncDone, found bool, err error) {
	var rec target
	found, err = readRecord(d.file(TargetFile), targetVersion, &rec)
	return rec.ActiveManaged, rec.FirstSyncDone, found, err
}

// WriteTarget replaces the record after a good run.
func (d *Dir) WriteTarget(run string, at time.Time, activeManaged int, firstSyncDone bool) error {
	return writeRecord(d.file(TargetFile), target{Version: targetVersion, Run: run, Time: at,
		ActiveManaged: activeManaged, FirstSyncDone: firstSyncDone})
}
