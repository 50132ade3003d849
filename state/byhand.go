package state

import "time"

// ByHandFile is the by-hand list of the last run (a target profile that
// cannot carry locations and roles: generic-v1), kept so that the next
// run can say what is new and a notification goes out only then.
const ByHandFile = "byhand.json"

const byHandVersion = 1

// HandRevoke is one admin role to take back by hand, listed since Since.
type HandRevoke struct {
	UserName string    `json:"userName"`
	Since    time.Time `json:"since"`
}

// ByHand is what the last run listed.
type ByHand struct {
	Admins    []string     `json:"admins"`
	Revoke    []HandRevoke `json:"revoke,omitempty"`
	Locations []string     `json:"locations"` // Condeco location ids
}

type byHandRecord struct {
	Version int       `json:"version"`
	Run     string    `json:"run"`
	Time    time.Time `json:"time"`
	ByHand
}

// ReadByHand returns the last run's list; found is false without one.
func (d *Dir) ReadByHand() (h ByHand, found bool, err error) {
	var r byHandRecord
	found, err = readRecord(d.file(ByHandFile), byHandVersion, &r)
	return r.ByHand, found, err
}

// WriteByHand replaces the list.
func (d *Dir) WriteByHand(run string, at time.Time, h ByHand) error {
	if h.Admins == nil {
		h.Admins = []string{}
	}
	if h.Locations == nil {
		h.Locations = []string{}
	}
	return writeRecord(d.file(ByHandFile), byHandRecord{Version: byHandVersion, Run: run, Time: at, ByHand: h})
}
