package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"condeco-visitor-sync/visitor/simulator"
)

// The superuser's edits between run 1 and day two: each is one of the
// ways a tenant people also run by hand used to break the sync (a second
// role on the default location, a revoked hand-made admin, a location
// named like a new Condeco one failing every new user).
const (
	receptionUser = "condeco:20" // an ordinary user whom day two renames
	handAdminUser = "condeco:25" // an ordinary user, not a Condeco Global admin
	handLocation  = "Manchester Piccadilly"
)

// handmade is what run 2 must have kept.
type handmade struct {
	defaultLoc string
	reception  string // Visitor id of receptionUser
	admin      string // Visitor id of handAdminUser
	location   string // Visitor id of the hand-made location
}

func handEdits(out io.Writer, sim *simulator.Server) (handmade, error) {
	var h handmade
	for _, l := range sim.Locations() {
		if l.Default {
			h.defaultLoc = l.ID
		}
	}
	r, ok1 := userByExternalID(sim, receptionUser)
	a, ok2 := userByExternalID(sim, handAdminUser)
	if h.defaultLoc == "" || !ok1 || !ok2 {
		return h, errors.New("run 1 left no default location or lacks users 20 and 25")
	}
	h.reception, h.admin = r.ID, a.ID
	if !sim.GrantByHand(r.ID, h.defaultLoc, "reception") || !sim.GrantByHand(a.ID, h.defaultLoc, "admin") {
		return h, errors.New("granting by hand failed")
	}
	l, ok := sim.AddHandmadeLocation(handLocation)
	if !ok {
		return h, fmt.Errorf("making location %q by hand failed", handLocation)
	}
	h.location = l.ID
	fmt.Fprintf(out, "reception on the default location %s for %s (an ordinary user; day two renames them)\n", h.defaultLoc, r.UserName)
	fmt.Fprintf(out, "admin on the default location %s for %s (an ordinary user, not a Condeco Global admin)\n", h.defaultLoc, a.UserName)
	fmt.Fprintf(out, "location %s %q, made in the UI without an externalId (Condeco opens one by that name on day two)\n", l.ID, l.Name)
	return h, nil
}

// check fails unless Visitor still holds what was done by hand: the
// roles, each alone on its location, and the hand-made location adopted
// rather than a second one created.
func (h handmade) check(out io.Writer, sim *simulator.Server) error {
	var errs []error
	for _, want := range []struct{ id, role string }{{h.reception, "reception"}, {h.admin, "admin"}} {
		u, ok := userByID(sim, want.id)
		if got := rolesOn(u, h.defaultLoc); !ok || !slices.Equal(got, []string{want.role}) {
			errs = append(errs, fmt.Errorf("user %s holds %v on the default location, want the hand-set %s alone", want.id, got, want.role))
		}
	}
	n := 0
	for _, l := range sim.Locations() {
		if strings.EqualFold(l.Name, handLocation) {
			n++
			if l.ID != h.location || !strings.HasPrefix(l.ExternalID, "condeco-location:") {
				errs = append(errs, fmt.Errorf("location %q is %s with externalId %q, want %s adopted", handLocation, l.ID, l.ExternalID, h.location))
			}
		}
	}
	if n != 1 {
		errs = append(errs, fmt.Errorf("Visitor holds %d locations named %q, want the hand-made one only", n, handLocation))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintln(out, "kept: both roles set by hand, each alone on its location, and the hand-made location adopted (externalId set, no second one)")
	return nil
}

// leaver is the account day three deactivates and day four reactivates.
type leaver struct {
	id     string
	access []simulator.LocationRole
}

func leaveOf(sim *simulator.Server, ext string) (leaver, error) {
	u, ok := userByExternalID(sim, ext)
	if !ok {
		return leaver{}, fmt.Errorf("run 1 did not create %s", ext)
	}
	return leaver{id: u.ID, access: u.Locations}, nil
}

// check fails unless the same account is there, active as wanted, with
// the access it had.
func (l leaver) check(out io.Writer, sim *simulator.Server, active bool) error {
	u, ok := userByID(sim, l.id)
	switch {
	case !ok:
		return fmt.Errorf("account %s is gone: a deactivation deleted it", l.id)
	case u.Active != active:
		return fmt.Errorf("account %s active=%v, want %v", l.id, u.Active, active)
	case !slices.Equal(u.Locations, l.access):
		return fmt.Errorf("account %s holds %d locations, had %d", l.id, len(u.Locations), len(l.access))
	}
	fmt.Fprintf(out, "same account %s, active=%v, its %d locations kept\n", l.id, u.Active, len(u.Locations))
	return nil
}

func userByExternalID(sim *simulator.Server, ext string) (simulator.User, bool) {
	for _, u := range sim.Users() {
		if u.ExternalID == ext {
			return u, true
		}
	}
	return simulator.User{}, false
}

func userByID(sim *simulator.Server, id string) (simulator.User, bool) {
	for _, u := range sim.Users() {
		if u.ID == id {
			return u, true
		}
	}
	return simulator.User{}, false
}

func rolesOn(u simulator.User, loc string) []string {
	var out []string
	for _, l := range u.Locations {
		if l.Value == loc {
			out = append(out, l.Role)
		}
	}
	return out
}
