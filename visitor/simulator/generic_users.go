package simulator

import (
	"net/http"
	"slices"
	"strings"
)

func (s *Server) genericCreateUser(w http.ResponseWriter, r *http.Request) {
	in, serr := readGeneric(r)
	if serr != nil {
		writeGenericError(w, serr)
		return
	}
	u := &User{ViaSCIM: true}
	in.replace(u)
	if serr := validateGeneric(u); serr != nil {
		writeGenericError(w, serr)
		return
	}
	s.mu.Lock()
	if serr := s.checkGenericUnique(u); serr != nil {
		s.mu.Unlock()
		writeGenericError(w, serr)
		return
	}
	s.insertUser(u)
	out := genericResource(u, genericBaseURL(r))
	s.mu.Unlock()
	w.Header().Set("Location", out.Meta.Location)
	writeGenericJSON(w, http.StatusCreated, out)
}

// checkGenericUnique refuses a userName another user holds, whatever its
// case. Caller holds s.mu.
func (s *Server) checkGenericUnique(u *User) *scimError {
	s.idx.init()
	if taken(s.idx.names, strings.ToLower(u.UserName), u.ID) {
		return errf(http.StatusConflict, "uniqueness", "userName %q is already used", u.UserName)
	}
	return nil
}

func (s *Server) genericGetUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, serr := s.storedUser(r.PathValue("id"))
	if serr != nil {
		writeGenericError(w, serr)
		return
	}
	writeGenericJSON(w, http.StatusOK, genericResource(u, genericBaseURL(r)))
}

// genericPutUser replaces the whole user: documented attributes the body
// leaves out are cleared.
func (s *Server) genericPutUser(w http.ResponseWriter, r *http.Request) {
	in, serr := readGeneric(r)
	if serr != nil {
		writeGenericError(w, serr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, serr := s.storedUser(r.PathValue("id"))
	if serr != nil {
		writeGenericError(w, serr)
		return
	}
	u := old.clone()
	in.replace(&u)
	s.genericCommit(w, r, old, &u)
}

// genericCommit validates a changed copy and stores it. Caller holds s.mu.
func (s *Server) genericCommit(w http.ResponseWriter, r *http.Request, old, u *User) {
	if serr := validateGeneric(u); serr != nil {
		writeGenericError(w, serr)
		return
	}
	if serr := s.checkGenericUnique(u); serr != nil {
		writeGenericError(w, serr)
		return
	}
	u.LastModified = s.opts.Now().UTC()
	s.idx.remove(old, false)
	s.users[u.ID] = u
	s.idx.add(u)
	writeGenericJSON(w, http.StatusOK, genericResource(u, genericBaseURL(r)))
}

// genericDeleteUser deletes any user, hand-made ones too: Eptura's page
// gives DELETE no exception.
func (s *Server) genericDeleteUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	u, serr := s.storedUser(id)
	if serr != nil {
		writeGenericError(w, serr)
		return
	}
	delete(s.users, id)
	s.idx.remove(u, true)
	s.dropFromOrder()
	w.WriteHeader(http.StatusNoContent)
}

// genericListUsers lists users a page at a time. Without a filter only
// users created through SCIM are listed, active or not; with one, every
// user matching, so a client can look a userName up before creating it.
func (s *Server) genericListUsers(w http.ResponseWriter, r *http.Request) {
	start, count, serr := s.page(r)
	if serr != nil {
		writeGenericError(w, serr)
		return
	}
	f := r.URL.Query().Get("filter")
	match := func(u *User) bool { return u.ViaSCIM }
	name, byName := "", false
	if f != "" {
		if match, name, byName, serr = compileGenericFilter(f); serr != nil {
			writeGenericError(w, serr)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var lookup func() []*User
	if byName {
		lookup = func() []*User { return s.byUserName(name) }
	}
	hits := s.hits(f, lookup, match)
	lo, hi := window(len(hits), start, count)
	base := genericBaseURL(r)
	out := genericList{Schemas: []string{genericSchema}, TotalResults: len(hits), StartIndex: start,
		Resources: make([]genericOut, 0, hi-lo)}
	for _, u := range hits[lo:hi] {
		out.Resources = append(out.Resources, genericResource(u, base))
	}
	out.ItemsPerPage = len(out.Resources)
	writeGenericJSON(w, http.StatusOK, out)
}

// byUserName finds the users holding a userName (any case) from the
// index, in listing order: a client checks a userName before each create,
// and scanning the store for each would measure the simulator at scale.
// Caller holds s.mu.
func (s *Server) byUserName(name string) []*User {
	s.idx.init()
	var hits []*User
	for _, id := range s.idx.names[strings.ToLower(name)] {
		hits = append(hits, s.users[id])
	}
	slices.SortFunc(hits, func(a, b *User) int { return int(s.idx.seq[a.ID] - s.idx.seq[b.ID]) })
	return hits
}
