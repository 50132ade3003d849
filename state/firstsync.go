package state

import (
	"time"
)

// firstSyncVersion is the format of first-sync.json.
const firstSyncVersion = 1

// firstSync says who the first full sync set out to create. Visitor cannot
// tell: after a first run that dies half-way it holds some managed users,
// and "no managed users yet" would no longer call the retry initial, so
// suppress-initial would send the rest their invitations.
type firstSync struct {
	Version     int       `json:"version"`
	Run         string    `json:"run"`
	Time        time.Time `json:"time"`
	ExternalIDs []string  `json:"externalIds"`
}

// ReadFirstSync returns the recorded externalIds, nil when there is no
// record yet.
func (d *Dir) ReadFirstSync() ([]string, error) {
	var rec firstSync
	found, err := readRecord(d.file(FirstSyncFile), firstSyncVersion, &rec)
	if err != nil || !found {
		return nil, err
	}
	return rec.ExternalIDs, nil
}

// WriteFirstSync records the creates of an initial plan before the first
// write, so that a run killed half-way still leaves the record behind.
func (d *Dir) WriteFirstSync(run string, at time.Time, externalIDs []string) error {
	if externalIDs == nil {
		externalIDs = []string{}
	}
	return writeRecord(d.file(FirstSyncFile), firstSync{Version: firstSyncVersion, Run: run, Time: at, ExternalIDs: externalIDs})
}
