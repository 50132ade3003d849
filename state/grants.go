package state

import "time"

// GrantsFile is the record of the admin roles the sync granted.
const GrantsFile = "grants.json"

const grantsVersion = 1

// grants is what the sync granted, so that it takes back only that (as
// external-dns deletes only the records it marked as its own). Visitor
// cannot say who granted a role: an admin on the default location looks
// the same whether the sync or a superuser gave it.
type grants struct {
	Version int          `json:"version"`
	Run     string       `json:"run"`
	Time    time.Time    `json:"time"`
	Admin   []AdminGrant `json:"admin"`
}

// AdminGrant is one admin role the sync granted: the user's externalId,
// the Visitor location id, and the hand-set role it replaced ("": none).
type AdminGrant struct {
	ExternalID string `json:"externalId"`
	LocationID string `json:"locationId"`
	Replaced   string `json:"replaced,omitempty"`
}

// ReadGrants returns the recorded grants; found is false when there is no
// record (a first run, a lost state_dir, or one from before the record).
func (d *Dir) ReadGrants() (admin []AdminGrant, found bool, err error) {
	var g grants
	found, err = readRecord(d.file(GrantsFile), grantsVersion, &g)
	return g.Admin, found, err
}

// WriteGrants replaces the record after a run's writes.
func (d *Dir) WriteGrants(run string, at time.Time, admin []AdminGrant) error {
	if admin == nil {
		admin = []AdminGrant{}
	}
	return writeRecord(d.file(GrantsFile), grants{Version: grantsVersion, Run: run, Time: at, Admin: admin})
}
