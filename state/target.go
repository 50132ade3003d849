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
	// ExternalIDPrefix is the prefix the managed users carried: a changed
	// external_id_prefix would otherwise read them all as gone (or, with
	// the old users unlisted, as a first sync).
	ExternalIDPrefix string `json:"externalIdPrefix,omitempty"`
}

// TargetRecord is the target record as callers see it.
type TargetRecord struct {
	ActiveManaged    int
	FirstSyncDone    bool
	ExternalIDPrefix string
}

// ReadTarget returns the record; found is false when there is none (a
// first run, or a lost state_dir).
func (d *Dir) ReadTarget() (rec TargetRecord, found bool, err error) {
	var t target
	found, err = readRecord(d.file(TargetFile), targetVersion, &t)
	return TargetRecord{ActiveManaged: t.ActiveManaged, FirstSyncDone: t.FirstSyncDone, ExternalIDPrefix: t.ExternalIDPrefix}, found, err
}

// WriteTarget replaces the record after a good run.
func (d *Dir) WriteTarget(run string, at time.Time, rec TargetRecord) error {
	return writeRecord(d.file(TargetFile), target{Version: targetVersion, Run: run, Time: at,
		ActiveManaged: rec.ActiveManaged, FirstSyncDone: rec.FirstSyncDone, ExternalIDPrefix: rec.ExternalIDPrefix})
}
