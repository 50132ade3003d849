package main

import (
	"sync"
	"time"

	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

// ownershipBook adapts state's ownership record to the generic-v1
// client's book. Creates run in parallel: the journal is appended under
// one lock, and what was read is kept so a run reads the files once.
type ownershipBook struct {
	d   *state.Dir
	now func() time.Time

	mu        sync.Mutex
	loaded    bool
	found     bool
	compacted bool // this run's first change folded the journal in
	owned     map[string]visitor.Owned
}

func newOwnershipBook(d *state.Dir) *ownershipBook {
	return &ownershipBook{d: d, now: time.Now}
}

// Owned reads the record. It writes nothing: dry runs, --check and
// --explain call it without the run lock, and a compaction there could
// drop a line a running sync appends meanwhile.
func (b *ownershipBook) Owned() (map[string]visitor.Owned, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	users, found, err := b.d.ReadOwnership()
	if err != nil {
		return nil, false, err
	}
	b.owned = make(map[string]visitor.Owned, len(users))
	for _, u := range users {
		b.owned[u.ID] = visitor.Owned{ID: u.ID, UserName: u.UserName, ExternalID: u.ExternalID}
	}
	b.loaded, b.found, b.compacted = true, found, false
	out := make(map[string]visitor.Owned, len(b.owned))
	for k, v := range b.owned {
		out[k] = v
	}
	return out, found, nil
}

// compactLocked folds the journal into ownership.json before a run's
// first change, so the journal never holds more than one run's lines. Only
// a run that writes to Visitor changes the record, and it holds the run
// lock, so no other process appends meanwhile.
func (b *ownershipBook) compactLocked() error {
	if b.compacted {
		return nil
	}
	users, found, err := b.d.ReadOwnership()
	if err != nil {
		return err
	}
	if found {
		if err := b.d.WriteOwnership(b.now().UTC(), users); err != nil {
			return err
		}
	}
	b.compacted = true
	return nil
}

func (b *ownershipBook) Add(o visitor.Owned) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.compactLocked(); err != nil {
		return err
	}
	// One entry per externalId: a user deleted by hand and created again
	// leaves no stale entry behind.
	for id, e := range b.owned {
		if e.ExternalID == o.ExternalID && id != o.ID {
			if err := b.d.ForgetOwned(id); err != nil {
				return err
			}
			delete(b.owned, id)
		}
	}
	if err := b.d.RecordOwned(state.OwnedUser{ID: o.ID, UserName: o.UserName, ExternalID: o.ExternalID}); err != nil {
		return err
	}
	if b.owned == nil {
		b.owned = map[string]visitor.Owned{}
	}
	b.owned[o.ID] = o
	return nil
}

func (b *ownershipBook) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.compactLocked(); err != nil {
		return err
	}
	if err := b.d.ForgetOwned(id); err != nil {
		return err
	}
	delete(b.owned, id)
	return nil
}

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
