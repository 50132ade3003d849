package visitor

import "fmt"

// ownership is Generic's copy of the book, read once and kept in step
// with each Add and Remove, so that a re-read of thousands of written
// users does not read the book once per user.
type ownership struct {
	loaded bool
	exists bool
	byID   map[string]Owned
	byExt  map[string]string // externalId -> Visitor id
}

// loadLocked reads the book (again, with reload); g.ownMu is held.
func (g *Generic) loadLocked(reload bool) error {
	if g.own.loaded && !reload {
		return nil
	}
	m, ok, err := g.book.Owned()
	if err != nil {
		return fmt.Errorf("reading the ownership record: %w", err)
	}
	o := ownership{loaded: true, exists: ok, byID: make(map[string]Owned, len(m)), byExt: make(map[string]string, len(m))}
	for id, e := range m {
		e.ID = id
		o.byID[id] = e
		o.byExt[e.ExternalID] = id
	}
	g.own = o
	return nil
}

// owned is a copy of the record, read from the book again with reload
// (once a run, before its listing).
func (g *Generic) owned(reload bool) (map[string]Owned, bool, error) {
	g.ownMu.Lock()
	defer g.ownMu.Unlock()
	if err := g.loadLocked(reload); err != nil {
		return nil, false, err
	}
	m := make(map[string]Owned, len(g.own.byID))
	for id, e := range g.own.byID {
		m[id] = e
	}
	return m, g.own.exists, nil
}

// externalIDOf is the externalId the record gives id, "" for a user the
// sync does not own.
func (g *Generic) externalIDOf(id string) (string, error) {
	g.ownMu.Lock()
	defer g.ownMu.Unlock()
	if err := g.loadLocked(false); err != nil {
		return "", err
	}
	return g.own.byID[id].ExternalID, nil
}

// idOf is the Visitor id the record gives externalID, "" for none.
func (g *Generic) idOf(externalID string) (string, error) {
	g.ownMu.Lock()
	defer g.ownMu.Unlock()
	if err := g.loadLocked(false); err != nil {
		return "", err
	}
	return g.own.byExt[externalID], nil
}

// withExternalID sets u.ExternalID from the record.
func (g *Generic) withExternalID(u User) (User, error) {
	ext, err := g.externalIDOf(u.ID)
	u.ExternalID = ext
	return u, err
}

// record adds o to the book, then to the copy.
func (g *Generic) record(o Owned) error {
	g.ownMu.Lock()
	defer g.ownMu.Unlock()
	if err := g.loadLocked(false); err != nil {
		return err
	}
	if err := g.book.Add(o); err != nil {
		return err
	}
	if old, ok := g.own.byExt[o.ExternalID]; ok { // Add replaces it
		delete(g.own.byID, old)
	}
	if prev, ok := g.own.byID[o.ID]; ok {
		delete(g.own.byExt, prev.ExternalID)
	}
	g.own.byID[o.ID], g.own.byExt[o.ExternalID] = o, o.ID
	g.own.exists = true
	return nil
}

// forget removes id from the book, then from the copy.
func (g *Generic) forget(id string) error {
	g.ownMu.Lock()
	defer g.ownMu.Unlock()
	if err := g.loadLocked(false); err != nil {
		return err
	}
	if err := g.book.Remove(id); err != nil {
		return err
	}
	if e, ok := g.own.byID[id]; ok {
		delete(g.own.byID, id)
		if g.own.byExt[e.ExternalID] == id {
			delete(g.own.byExt, e.ExternalID)
		}
	}
	return nil
}
