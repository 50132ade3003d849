package state

import "time"

// OwedGrantsFile holds the location grants owed to users.
const OwedGrantsFile = "owed-grants.json"

const owedGrantsVersion = 1

// owedGrants is the record of location grants owed: a location that
// could not be created when its users were written is left out of their
// access, so that the location fails alone; Visitor cannot say later
// which users should have had it (existing users are not given new
// locations), so the sync remembers until a write carrying it succeeds.
type owedGrants struct {
	Version int         `json:"version"`
	Run     string      `json:"run"`
	Time    time.Time   `json:"time"`
	Grants  []OwedGrant `json:"grants"`
}

// OwedGrant is one location owed to one user.
type OwedGrant struct {
	ExternalID string `json:"externalId"` // the user's
	UserName   string `json:"userName,omitempty"`
	Location   string `json:"location"` // the location's externalId
}

// ReadOwedGrants returns the grants still owed, nil when there is no
// record.
func (d *Dir) ReadOwedGrants() ([]OwedGrant, error) {
	var rec owedGrants
	found, err := readRecord(d.file(OwedGrantsFile), owedGrantsVersion, &rec)
	if err != nil || !found {
		return nil, err
	}
	return rec.Grants, nil
}

// WriteOwedGrants replaces the record with the grants still owed after
// a run.
func (d *Dir) WriteOwedGrants(run string, at time.Time, grants []OwedGrant) error {
	if grants == nil {
		grants = []OwedGrant{}
	}
	return writeRecord(d.file(OwedGrantsFile), owedGrants{Version: owedGrantsVersion, Run: run, Time: at, Grants: grants})
}
