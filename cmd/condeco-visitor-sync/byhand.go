package main

import (
	"time"

	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/plan"
)

// byHandStore adapts state's by-hand record to the runner's.
type byHandStore struct{ d *state.Dir }

func (s byHandStore) ReadByHand() (*plan.ByHandRecord, error) {
	h, found, err := s.d.ReadByHand()
	if err != nil || !found {
		return nil, err
	}
	rec := &plan.ByHandRecord{Admins: h.Admins, Locations: h.Locations}
	for _, r := range h.Revoke {
		rec.Revoke = append(rec.Revoke, plan.HandRevoke{UserName: r.UserName, Since: r.Since})
	}
	return rec, nil
}

func (s byHandStore) WriteByHand(run string, at time.Time, rec plan.ByHandRecord) error {
	h := state.ByHand{Admins: rec.Admins, Locations: rec.Locations}
	for _, r := range rec.Revoke {
		h.Revoke = append(h.Revoke, state.HandRevoke{UserName: r.UserName, Since: r.Since})
	}
	return s.d.WriteByHand(run, at, h)
}
