package simulator

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const base36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// newCompanyID makes a CO-… id unique among the locations. Caller holds s.mu.
func (s *Server) newCompanyID() string {
	for {
		var b strings.Builder
		b.WriteString("CO-")
		for range 5 {
			n, _ := rand.Int(rand.Reader, big.NewInt(36))
			b.WriteByte(base36[n.Int64()])
		}
		id := b.String()
		taken := false
		for _, l := range s.locs {
			if l.CompanyID == id {
				taken = true
			}
		}
		if !taken {
			return id
		}
	}
}

// addLocation stores l with a fresh id and company id. Caller holds s.mu or
// is New.
func (s *Server) addLocation(l Location, now time.Time) *Location {
	s.nextLoc++
	l.ID = fmt.Sprintf("loc-%04d", s.nextLoc)
	l.CompanyID = s.newCompanyID()
	l.Created, l.LastModified = now, now
	s.locs[l.ID] = &l
	s.locOrder = append(s.locOrder, l.ID)
	return &l
}

type wireLocation struct {
	Schemas    []string `json:"schemas"`
	ExternalID *string  `json:"externalId"`
	Name       *string  `json:"name"`
}

func (s *Server) decodeLocation(r *http.Request) (wireLocation, *scimError) {
	var in wireLocation
	b, serr := readBody(r)
	if serr != nil {
		return in, serr
	}
	if serr := decodeStrict(b, &in); serr != nil {
		return in, serr
	}
	if !containsFold(in.Schemas, s.opts.LocationSchema) {
		return in, errf(http.StatusBadRequest, "invalidSyntax", "schemas must list %s", s.opts.LocationSchema)
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return in, invalidValue("name is required")
	}
	for attr, v := range map[string]string{"name": *in.Name, "externalId": deref(in.ExternalID)} {
		if n := utf8.RuneCountInString(v); n > maxString {
			return in, invalidValue("%s is %d characters, over %d", attr, n, maxString)
		}
	}
	return in, nil
}

// checkLocation enforces unique name (case-insensitive) and externalId.
// Caller holds s.mu.
func (s *Server) checkLocation(self, name, externalID string) *scimError {
	for _, id := range s.locOrder {
		l := s.locs[id]
		if l.ID == self {
			continue
		}
		if strings.EqualFold(l.Name, name) {
			return errf(http.StatusConflict, "uniqueness", "location name %q is already used by %s", name, l.ID)
		}
		if externalID != "" && l.ExternalID == externalID {
			return errf(http.StatusConflict, "uniqueness", "location externalId %q is already used by %s", externalID, l.ID)
		}
	}
	return nil
}

func (s *Server) createLocation(w http.ResponseWriter, r *http.Request) {
	in, serr := s.decodeLocation(r)
	if serr != nil {
		writeError(w, serr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if serr := s.checkLocation("", *in.Name, deref(in.ExternalID)); serr != nil {
		writeError(w, serr)
		return
	}
	l := s.addLocation(Location{Name: *in.Name, ExternalID: deref(in.ExternalID)}, s.opts.Now().UTC())
	w.Header().Set("Location", baseURL(r)+s.opts.LocationsEndpoint+"/"+l.ID)
	writeJSON(w, http.StatusCreated, s.locationWire(l, baseURL(r)))
}

// putLocation renames a location; externalId is immutable once set.
func (s *Server) putLocation(w http.ResponseWriter, r *http.Request) {
	in, serr := s.decodeLocation(r)
	if serr != nil {
		writeError(w, serr)
		return
	}
	s.editLocation(w, r, func(l, old *Location) *scimError {
		if in.ExternalID != nil {
			if old.ExternalID != "" && *in.ExternalID != old.ExternalID {
				return errf(http.StatusBadRequest, "mutability", "location externalId %q cannot be changed", old.ExternalID)
			}
			l.ExternalID = *in.ExternalID
		}
		l.Name = *in.Name
		return nil
	})
}

// patchLocation applies PatchOp replace operations on a location's name
// and externalId: the name is renamed (unique case-insensitively), and an
// empty externalId may be set once (a location claimed by a sync);
// externalId is immutable once set. All or nothing.
func (s *Server) patchLocation(w http.ResponseWriter, r *http.Request) {
	body, serr := readPatch(r)
	if serr != nil {
		writeError(w, serr)
		return
	}
	s.editLocation(w, r, func(l, old *Location) *scimError {
		for i, op := range body.Operations {
			if serr := patchLocationOp(l, old, op); serr != nil {
				serr.Detail = "operation " + strconv.Itoa(i+1) + ": " + serr.Detail
				return serr
			}
		}
		return nil
	})
}

// editLocation applies edit to a copy of the location the path names
// (404 if none) and stores it if the name and externalId stay unique.
func (s *Server) editLocation(w http.ResponseWriter, r *http.Request, edit func(l, old *Location) *scimError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	old := s.locs[id]
	if old == nil {
		writeError(w, errf(http.StatusNotFound, "", "location %q not found", id))
		return
	}
	l := *old
	if serr := edit(&l, old); serr != nil {
		writeError(w, serr)
		return
	}
	if serr := s.checkLocation(id, l.Name, l.ExternalID); serr != nil {
		writeError(w, serr)
		return
	}
	l.LastModified = s.opts.Now().UTC()
	s.locs[id] = &l
	writeJSON(w, http.StatusOK, s.locationWire(&l, baseURL(r)))
}

// patchLocationOp applies one operation to l; old is the stored location.
func patchLocationOp(l, old *Location, op patchOp) *scimError {
	kind := strings.ToLower(op.Op)
	path := strings.ToLower(op.Path)
	if path != "name" && path != "externalid" {
		return errf(http.StatusBadRequest, "invalidPath", "path %q is not name or externalId", op.Path)
	}
	switch kind {
	case "add", "replace":
	case "remove":
		if path == "externalid" {
			return errf(http.StatusBadRequest, "mutability", "location externalId cannot be removed")
		}
		return invalidValue("name is required")
	default:
		return errf(http.StatusBadRequest, "invalidSyntax", "op %q is not add, replace or remove", op.Op)
	}
	var v string
	if err := json.Unmarshal(op.Value, &v); err != nil {
		return invalidValue("%s must be a string", op.Path)
	}
	if n := utf8.RuneCountInString(v); n > maxString {
		return invalidValue("%s is %d characters, over %d", op.Path, n, maxString)
	}
	if path == "name" {
		if strings.TrimSpace(v) == "" {
			return invalidValue("name is required")
		}
		l.Name = v
		return nil
	}
	if old.ExternalID != "" && v != old.ExternalID {
		return errf(http.StatusBadRequest, "mutability", "location externalId %q cannot be changed", old.ExternalID)
	}
	l.ExternalID = v
	return nil
}

func (s *Server) getLocation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locs[r.PathValue("id")]
	if l == nil {
		writeError(w, errf(http.StatusNotFound, "", "location %q not found", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, s.locationWire(l, baseURL(r)))
}

func (s *Server) listLocations(w http.ResponseWriter, r *http.Request) {
	start, count, serr := s.page(r)
	if serr != nil {
		writeError(w, serr)
		return
	}
	match := func(*Location) bool { return true }
	if f := r.URL.Query().Get("filter"); f != "" {
		attrs := map[string]attrGetter[*Location]{
			"id":         {values: func(l *Location) []string { return []string{l.ID} }, caseExact: true},
			"externalid": {values: func(l *Location) []string { return []string{l.ExternalID} }, caseExact: true},
			"name":       {values: func(l *Location) []string { return []string{l.Name} }},
		}
		m, serr := compileFilter(f, attrs, s.opts.LocationSchema)
		if serr != nil {
			writeError(w, serr)
			return
		}
		match = m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []*Location
	for _, id := range s.locOrder {
		if l := s.locs[id]; match(l) {
			hits = append(hits, l)
		}
	}
	lo, hi := window(len(hits), start, count)
	res := make([]any, 0, hi-lo)
	for _, l := range hits[lo:hi] {
		res = append(res, s.locationWire(l, baseURL(r)))
	}
	writeJSON(w, http.StatusOK, listResponse(len(hits), start, res))
}

func (s *Server) locationWire(l *Location, base string) map[string]any {
	m := map[string]any{
		"schemas":   []string{s.opts.LocationSchema},
		"id":        l.ID,
		"name":      l.Name,
		"companyId": l.CompanyID,
		"default":   l.Default,
		"meta": wireMeta{
			ResourceType: "Location",
			Created:      l.Created.UTC().Format(time.RFC3339),
			LastModified: l.LastModified.UTC().Format(time.RFC3339),
			Location:     base + s.opts.LocationsEndpoint + "/" + l.ID,
		},
	}
	if l.ExternalID != "" {
		m["externalId"] = l.ExternalID
	}
	return m
}

// Locations returns a snapshot of every location in creation order.
func (s *Server) Locations() []Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Location, 0, len(s.locOrder))
	for _, id := range s.locOrder {
		out = append(out, *s.locs[id])
	}
	return out
}

// AddHandmadeLocation adds a location as a superuser does in the Visitor
// UI: no externalId. It says false when the name is taken (Visitor's
// names are unique, case-insensitively), and on a generic-v1 server, whose
// SCIM shows no locations.
func (s *Server) AddHandmadeLocation(name string) (Location, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.generic() || s.checkLocation("", name, "") != nil {
		return Location{}, false
	}
	return *s.addLocation(Location{Name: name}, s.opts.Now().UTC()), true
}
