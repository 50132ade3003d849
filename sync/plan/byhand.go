package plan

import (
	"slices"
	"strings"
	"time"

	"condeco-visitor-sync/condeco"
)

// ByHandRevokeKeep is how long a revocation stays on the by-hand list: a
// profile without roles cannot see whether a person has done it, and a
// list that never shrinks would stop being read.
const ByHandRevokeKeep = 30 * 24 * time.Hour

// ByHand is the work a target profile cannot carry (generic-v1 has no
// locations and no roles over SCIM), listed for a person to do in
// Visitor's UI rather than dropped: admins of the integration's location
// to make and to take back, the Condeco locations Visitor must have, and
// the multi-location mapping rules that give every user every location.
type ByHand struct {
	// Location is the Visitor location the integration is installed in,
	// everybody's default location and where Global admins are admin.
	Location string `json:"location"`
	// MakeAdmin lists every Condeco Global admin by userName (the whole
	// list, so a person can check Visitor against it); NewAdmins those
	// not on the previous run's list.
	MakeAdmin []string `json:"makeAdmin"`
	NewAdmins []string `json:"newAdmins,omitempty"`
	// RevokeAdmin are users listed as admins before who are Global admins
	// no more, kept on the list for ByHandRevokeKeep.
	RevokeAdmin []HandRevoke `json:"revokeAdmin,omitempty"`
	// Locations are the open Condeco locations Visitor must have (the
	// profile cannot list Visitor's), New those not listed before.
	Locations []HandLocation `json:"locations"`
	// MappingRules are the multi-location mapping rules to set in the
	// integration's location, one per other location.
	MappingRules []MappingRule `json:"mappingRules"`
	// Changed says the list differs from the previous run's (or there
	// was none): notifications carry it then.
	Changed bool `json:"changed"`
	// Next is the record the runner keeps for the next run.
	Next ByHandRecord `json:"-"`
}

// HandRevoke is one admin role to take back by hand, listed since Since.
type HandRevoke struct {
	UserName string    `json:"userName"`
	Since    time.Time `json:"since"`
}

// HandLocation is one Condeco location Visitor must have.
type HandLocation struct {
	ID   string `json:"id"` // Condeco location id
	Name string `json:"name"`
	City string `json:"city,omitempty"`
	New  bool   `json:"new,omitempty"`
	// Integration says a visitor_integrations entry serves it directly
	// (no mapping rule needed).
	Integration bool `json:"integration,omitempty"`
}

// MappingRule is one multi-location mapping rule of the integration's
// location: import Users (all, or those of City) into Into.
type MappingRule struct {
	Into  string `json:"into"`
	Users string `json:"users"` // "all users"
}

// ByHandRecord is what the previous run listed (state_dir/byhand.json).
type ByHandRecord struct {
	Admins    []string     `json:"admins"`
	Revoke    []HandRevoke `json:"revoke,omitempty"`
	Locations []string     `json:"locations"` // Condeco location ids
}

// byHand lists the work left to a person when the target carries no
// locations. exp is the export; prev the record of the last run (nil:
// none, so everything is new).
func (b *planner) byHand(exp *condeco.Export, prev *ByHandRecord) {
	where := b.o.HandLocation
	if where == "" {
		where = DefaultHandLocation
	}
	h := &ByHand{Location: where, MakeAdmin: []string{}, Locations: []HandLocation{}, MappingRules: []MappingRule{}}
	was := ByHandRecord{}
	if prev != nil {
		was = *prev
	}
	before := make(map[string]bool, len(was.Admins))
	for _, n := range was.Admins {
		before[strings.ToLower(n)] = true
	}
	admins := map[string]bool{}
	present := map[string]bool{}
	for _, u := range exp.Users {
		name := strings.ToLower(u.UserName)
		if name == "" {
			continue
		}
		present[name] = true
		if u.Inactive || !u.GlobalAdmin {
			continue
		}
		if !admins[name] {
			admins[name] = true
			h.MakeAdmin = append(h.MakeAdmin, name)
			if !before[name] {
				h.NewAdmins = append(h.NewAdmins, name)
			}
		}
	}
	// A held row (bad in Condeco this run) is no news: an admin it was
	// stays on the list, and a revocation of it stays listed.
	for _, n := range exp.HeldUserNames {
		n = strings.ToLower(n)
		present[n] = true
		if before[n] && !admins[n] {
			admins[n] = true
			h.MakeAdmin = append(h.MakeAdmin, n)
		}
	}
	slices.Sort(h.MakeAdmin)
	slices.Sort(h.NewAdmins)
	// A revocation is listed while it is fresh, its user is still in
	// Condeco (a departed user's account, and its role, go with it) and
	// not an admin again.
	seen := map[string]bool{}
	keep := func(r HandRevoke) {
		n := strings.ToLower(r.UserName)
		if seen[n] || admins[n] || !present[n] || b.now.Sub(r.Since) > ByHandRevokeKeep {
			return
		}
		seen[n] = true
		h.RevokeAdmin = append(h.RevokeAdmin, r)
	}
	for _, r := range was.Revoke {
		keep(r)
	}
	for _, n := range was.Admins {
		keep(HandRevoke{UserName: strings.ToLower(n), Since: b.now.UTC()})
	}
	slices.SortFunc(h.RevokeAdmin, func(a, c HandRevoke) int { return strings.Compare(a.UserName, c.UserName) })

	listed := make(map[string]bool, len(was.Locations))
	for _, id := range was.Locations {
		listed[id] = true
	}
	served := make(map[string]bool, len(b.o.IntegrationLocations))
	for _, n := range b.o.IntegrationLocations {
		served[strings.ToLower(n)] = true
	}
	newLocs := false
	for _, l := range exp.Locations {
		if l.Closed || strings.EqualFold(l.Name, where) {
			continue
		}
		hl := HandLocation{ID: l.ID, Name: l.Name, City: l.City, New: prev != nil && !listed[l.ID],
			Integration: served[strings.ToLower(l.Name)]}
		newLocs = newLocs || !listed[l.ID]
		h.Locations = append(h.Locations, hl)
		if !hl.Integration {
			h.MappingRules = append(h.MappingRules, MappingRule{Into: l.Name, Users: "all users"})
		}
	}
	slices.SortFunc(h.Locations, func(a, c HandLocation) int { return strings.Compare(a.Name, c.Name) })
	slices.SortFunc(h.MappingRules, func(a, c MappingRule) int { return strings.Compare(a.Into, c.Into) })

	h.Next = ByHandRecord{Admins: h.MakeAdmin, Revoke: h.RevokeAdmin, Locations: make([]string, 0, len(h.Locations))}
	for _, l := range h.Locations {
		h.Next.Locations = append(h.Next.Locations, l.ID)
	}
	slices.Sort(h.Next.Locations)
	// Revocations carried over unchanged are not news; new ones are.
	wasRevoke := make(map[string]bool, len(was.Revoke))
	for _, r := range was.Revoke {
		wasRevoke[strings.ToLower(r.UserName)] = true
	}
	fresh := len(h.RevokeAdmin) != len(was.Revoke)
	for _, r := range h.RevokeAdmin {
		fresh = fresh || !wasRevoke[r.UserName]
	}
	h.Changed = prev == nil || len(h.NewAdmins) > 0 || fresh || newLocs || len(h.Next.Locations) != len(was.Locations)
	b.p.ByHand = h
}

// DefaultHandLocation names the integration's location in the by-hand
// list when visitor_location_name is not set.
const DefaultHandLocation = "the location the SCIM integration is installed in"
