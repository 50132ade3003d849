// Package ownbook adapts state's ownership record (state_dir/ownership.json
// and ownership.journal) to the generic-v1 client's visitor.OwnershipBook.
// It lives apart from cmd/condeco-visitor-sync so that cmd/cvs-bench
// measures the very adapter the daemon runs, not a copy of it.
package ownbook

import (
	"slices"
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

	mu        sync.Mutex
	loaded    bool
	found     bool
	compacted bool // this run's first change folded the journal in
	owned     map[string]visitor.Owned
	// byExt indexes owned by ExternalID (the Visitor ids holding it: one,
	// unless a record written by other means holds a duplicate), so that
	// Add finds the entry it replaces without scanning the record: a scan
	// per create made an initial sync of n users O(n²) under the lock
	// every create takes.
	byExt map[string][]string
}

// New returns the book of d's ownership record; it reads nothing yet.
func New(d *state.Dir) *Book {
	return &Book{d: d, now: time.Now}
}

// Owned reads the record. It writes nothing: dry runs, --check and
// --explain call it without the run lock, and a compaction there could
// drop a line a running sync appends meanwhile.
func (b *Book) Owned() (map[string]visitor.Owned, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	users, found, err := b.d.ReadOwnership()
	if err != nil {
		return nil, false, err
	}
	b.owned = make(map[string]visitor.Owned, len(users))
	b.byExt = make(map[string][]string, len(users))
	for _, u := range users {
		b.put(visitor.Owned{ID: u.ID, UserName: u.UserName, ExternalID: u.ExternalID})
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
// lock, so no other process appends meanwhile; b.mu is held.
func (b *Book) compactLocked() error {
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

// Add records o, replacing any entry with the same ExternalID.
func (b *Book) Add(o visitor.Owned) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.compactLocked(); err != nil {
		return err
	}
	// One entry per externalId: a user deleted by hand and created again
	// leaves no stale entry behind.
	for _, id := range slices.Clone(b.byExt[o.ExternalID]) {
		if id == o.ID {
			continue
		}
		if err := b.d.ForgetOwned(id); err != nil {
			return err
		}
		b.drop(id)
	}
	if err := b.d.RecordOwned(state.OwnedUser{ID: o.ID, UserName: o.UserName, ExternalID: o.ExternalID}); err != nil {
		return err
	}
	b.put(o)
	return nil
}

// put sets o in owned and byExt, replacing the entry of o.ID; b.mu is
// held.
func (b *Book) put(o visitor.Owned) {
	if b.owned == nil {
		b.owned, b.byExt = map[string]visitor.Owned{}, map[string][]string{}
	}
	b.drop(o.ID)
	b.owned[o.ID] = o
	b.byExt[o.ExternalID] = append(b.byExt[o.ExternalID], o.ID)
}

// drop removes id from owned and byExt; b.mu is held.
func (b *Book) drop(id string) {
	e, ok := b.owned[id]
	if !ok {
		return
	}
	delete(b.owned, id)
	ids := slices.DeleteFunc(b.byExt[e.ExternalID], func(x string) bool { return x == id })
	if len(ids) == 0 {
		delete(b.byExt, e.ExternalID)
	} else {
		b.byExt[e.ExternalID] = ids
	}
}

// Remove forgets the user with Visitor id.
func (b *Book) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.compactLocked(); err != nil {
		return err
	}
	if err := b.d.ForgetOwned(id); err != nil {
		return err
	}
	b.drop(id)
	return nil
}
