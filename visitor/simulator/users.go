package simulator

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
)

func newUserID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkAgainstStore enforces the rules that involve other records: unique
// userName and externalId, known locations. Caller holds s.mu.
func (s *Server) checkAgainstStore(u *User) *scimError {
	s.idx.init()
	if taken(s.idx.names, strings.ToLower(u.UserName), u.ID) {
		return errf(http.StatusConflict, "uniqueness", "userName %q is already used", u.UserName)
	}
	if u.ExternalID != "" && taken(s.idx.exts, u.ExternalID, u.ID) {
		return errf(http.StatusConflict, "uniqueness", "externalId %q is already used", u.ExternalID)
	}
	if u.DefaultLocation != "" && s.locs[u.DefaultLocation] == nil {
		return invalidValue("defaultLocation %q is no location", u.DefaultLocation)
	}
	for _, l := range u.Locations {
		if s.locs[l.Value] == nil {
			return invalidValue("locations[].value %q is no location", l.Value)
		}
	}
	return nil
}

// checkLastAdmin refuses a change (after == nil for a delete) that would
// leave no active admin when there is one now: the application needs at
// least one active admin (see docs/visitor-scim.md). Caller holds s.mu.
func (s *Server) checkLastAdmin(before, after *User) *scimError {
	if !before.isAdmin() || (after != nil && after.isAdmin()) {
		return nil
	}
	for _, id := range s.userOrder {
		if o := s.users[id]; o != nil && o.ID != before.ID && o.isAdmin() {
			return nil
		}
	}
	what := "deleted"
	if after != nil {
		what = "deactivated or lose the admin role"
	}
	return errf(http.StatusConflict, "mutability", "user %s is the last active admin and cannot be %s", before.ID, what)
}

// insertUser stores a user a create made, with a new id and both times
// set to now (returned). Both flavours create through it. Caller holds
// s.mu.
func (s *Server) insertUser(u *User) time.Time {
	now := s.opts.Now().UTC()
	u.ID = newUserID()
	u.Created, u.LastModified = now, now
	s.users[u.ID] = u
	s.userOrder = append(s.userOrder, u.ID)
	s.idx.add(u)
	return now
}

// storedUser is the user /Users/{id} names, or a 404 naming the id.
// Caller holds s.mu.
func (s *Server) storedUser(id string) (*User, *scimError) {
	u := s.users[id]
	if u == nil {
		return nil, errf(http.StatusNotFound, "", "user %q not found", id)
	}
	return u, nil
}

// scanUsers lists, in creation order, the users match accepts: a
// listing's answer when no index serves its filter. Caller holds s.mu.
func (s *Server) scanUsers(match func(*User) bool) []*User {
	var hits []*User
	for _, id := range s.userOrder {
		if u := s.users[id]; u != nil && match(u) {
			hits = append(hits, u)
		}
	}
	return hits
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	b, serr := readBody(r)
	if serr != nil {
		writeError(w, serr)
		return
	}
	in, serr := s.decodeUser(b)
	if serr != nil {
		writeError(w, serr)
		return
	}
	u := &User{ViaSCIM: true}
	in.apply(u)
	if serr := validateUser(u); serr != nil {
		writeError(w, serr)
		return
	}
	s.mu.Lock()
	if serr := s.checkAgainstStore(u); serr != nil {
		s.mu.Unlock()
		writeError(w, serr)
		return
	}
	now := s.insertUser(u)
	if in.ext != nil && in.ext.SendInvitation != nil && *in.ext.SendInvitation {
		i, _ := u.primaryWorkEmail()
		s.outbox = append(s.outbox, Invitation{To: u.Emails[i].Value, UserID: u.ID, Subject: InvitationSubject, SentAt: now})
	}
	out := s.appendUser(nil, u, baseURL(r))
	s.mu.Unlock()
	w.Header().Set("Location", baseURL(r)+"/Users/"+u.ID)
	writeRaw(w, http.StatusCreated, out)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, serr := s.storedUser(r.PathValue("id"))
	if serr != nil {
		writeError(w, serr)
		return
	}
	writeRaw(w, http.StatusOK, s.appendUser(nil, u, baseURL(r)))
}

func (s *Server) putUser(w http.ResponseWriter, r *http.Request) {
	b, serr := readBody(r)
	if serr != nil {
		writeError(w, serr)
		return
	}
	in, serr := s.decodeUser(b)
	if serr != nil {
		writeError(w, serr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, serr := s.storedUser(r.PathValue("id"))
	if serr != nil {
		writeError(w, serr)
		return
	}
	u := old.clone()
	in.apply(&u)
	s.commitUser(w, r, old, &u)
}

// commitUser validates a changed copy and stores it. Caller holds s.mu.
func (s *Server) commitUser(w http.ResponseWriter, r *http.Request, old, u *User) {
	if old.ExternalID != "" && u.ExternalID != old.ExternalID {
		writeError(w, errf(http.StatusBadRequest, "mutability", "externalId %q cannot be changed", old.ExternalID))
		return
	}
	if serr := validateUser(u); serr != nil {
		writeError(w, serr)
		return
	}
	if serr := s.checkAgainstStore(u); serr != nil {
		writeError(w, serr)
		return
	}
	if serr := s.checkLastAdmin(old, u); serr != nil {
		writeError(w, serr)
		return
	}
	u.LastModified = s.opts.Now().UTC()
	if slices.Equal(u.Locations, old.Locations) {
		u.Locations = old.Locations // the stored shared list: not keyed again
	}
	s.idx.remove(old, false)
	s.users[u.ID] = u
	s.idx.add(u)
	writeRaw(w, http.StatusOK, s.appendUser(nil, u, baseURL(r)))
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	u, serr := s.storedUser(id)
	if serr != nil {
		writeError(w, serr)
		return
	}
	if !u.ViaSCIM {
		writeError(w, errf(http.StatusForbidden, "", "user %s was not created through SCIM and cannot be deleted", id))
		return
	}
	if serr := s.checkLastAdmin(u, nil); serr != nil {
		writeError(w, serr)
		return
	}
	delete(s.users, id)
	s.idx.remove(u, true)
	s.dropFromOrder()
	w.WriteHeader(http.StatusNoContent)
}

// dropFromOrder notes that a user left s.users. Its id stays in
// s.userOrder as a gap, skipped by every walk of it, until gaps are half
// the slice: removing each at once cost a scan and a copy of every id per
// delete, under the server's lock (at a million users the simulator, not
// the client, set the pace of a day's deletions).
func (s *Server) dropFromOrder() {
	s.orderGaps++
	if s.orderGaps > len(s.userOrder)/2 {
		s.compactOrder()
	}
}

// compactOrder removes the gaps from s.userOrder.
func (s *Server) compactOrder() {
	kept := s.userOrder[:0]
	for _, id := range s.userOrder {
		if s.users[id] != nil {
			kept = append(kept, id)
		}
	}
	clear(s.userOrder[len(kept):])
	s.userOrder, s.orderGaps = kept, 0
}

// Users returns a snapshot of every user in creation order.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, id := range s.userOrder {
		if u := s.users[id]; u != nil {
			out = append(out, u.clone())
		}
	}
	return out
}

// Outbox returns the invitation emails sent so far.
func (s *Server) Outbox() []Invitation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Invitation{}, s.outbox...)
}

// User returns a snapshot of the user with this id, in either flavour.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[id]; u != nil {
		return u.clone(), true
	}
	return User{}, false
}

// UserByName returns a snapshot of the user holding userName, compared
// without case as the servers do; ok is false when none (or, for users
// made by hand without the uniqueness check, more than one) holds it.
func (s *Server) UserByName(userName string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.init()
	ids := s.idx.names[strings.ToLower(userName)]
	if len(ids) != 1 {
		return User{}, false
	}
	return s.users[ids[0]].clone(), true
}

// AddHandmadeUser stores a user as if made in the Visitor UI: no SCIM
// validation, hidden from unfiltered listings, and in the scim2 flavour
// not deletable through SCIM. It returns the stored user (with its id).
// On a generic-v1 server it is how a test or the demo makes the user the
// integration did not create (found by a filter, not listed without
// one); what such a user cannot hold there (externalId, locations,
// defaultLocation) is dropped.
func (s *Server) AddHandmadeUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u = u.clone()
	u.ViaSCIM = false
	if s.generic() {
		u.ExternalID, u.DefaultLocation, u.Locations = "", "", nil
	}
	if u.ID == "" {
		u.ID = newUserID()
	}
	now := s.opts.Now().UTC()
	if u.Created.IsZero() {
		u.Created = now
	}
	if u.LastModified.IsZero() {
		u.LastModified = now
	}
	if old, ok := s.users[u.ID]; !ok {
		if s.orderGaps > 0 {
			s.compactOrder() // the id may be a gap: it must not be listed twice
		}
		s.userOrder = append(s.userOrder, u.ID)
	} else {
		s.idx.remove(old, false)
	}
	s.users[u.ID] = &u
	s.idx.add(&u)
	return u.clone()
}

// GrantByHand gives user id role on location loc as a superuser does in
// the Visitor UI: the role replaces the one the user held there (one role
// per location), an empty role takes the location away. It says false for
// an unknown user, and on a generic-v1 server, which has no roles.
func (s *Server) GrantByHand(id, loc, role string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.users[id]
	if old == nil || s.generic() {
		return false
	}
	u := old.clone()
	var out []LocationRole
	for _, l := range u.Locations {
		if l.Value != loc {
			out = append(out, l)
		}
	}
	if role != "" {
		out = append(out, LocationRole{Value: loc, Role: role})
	}
	u.Locations = out
	u.LastModified = s.opts.Now().UTC()
	s.idx.remove(old, false) // stored as a write is: the index and cached listings follow
	s.users[id] = &u
	s.idx.add(&u)
	return true
}
