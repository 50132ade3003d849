// Package ownbook adapts state's ownership record (state_dir/ownership.json
// and ownership.journal) to the generic-v1 client's visitor.OwnershipBook.
// It lives apart from cmd/condeco-visitor-sync so that cmd/cvs-bench
// measures the very adapter the daemon runs, not a copy of it.
package ownbook

import (
	"sync"
	"time"

	"condeco-visitor-sync/state"
	"condeco-visitor-sync/visitor"
)

// Book adapts state's ownership record to the generic-v1 client's book.
// Creates run in parallel: the journal is appended under one lock, and
// what was read is kept so a run reads the files once.
type Book struct {
	d   *state.Dir
	now func() time.Time

	mu     sync.Mutex
	loaded bool
	found  bool
	owned  map[string]visitor.Owned
}

// New returns the book of d's ownership record; it reads nothing yet.
func New(d *state.Dir) *Book {
	return &Book{d: d, now: time.Now}
}

// Owned reads the record, compacting the journal into ownership.json so
// that it never grows past one run's changes.
func (b *Book) Owned() (map[string]visitor.Owned, bool, error) {
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
	b.loaded, b.found = true, found
	if found {
		if err := b.d.WriteOwnership(b.now().UTC(), users); err != nil {
			return nil, false, err
		}
	}
	out := make(map[string]visitor.Owned, len(b.owned))
	for k, v := range b.owned {
		out[k] = v
	}
	return out, found, nil
}

// Add records o, replacing any entry with the same ExternalID.
func (b *Book) Add(o visitor.Owned) error {
	b.mu.Lock()
	defer b.mu.Unlock()
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

// Remove forgets the user with Visitor id.
func (b *Book) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.d.ForgetOwned(id); err != nil {
		return err
	}
	delete(b.owned, id)
	return nil
}
