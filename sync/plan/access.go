package plan

import (
	"cmp"
	"slices"
	"strings"

	"condeco-visitor-sync/visitor"
)

// managedRole says whether the sync grants a role. Only admin and user are
// granted by the integration; anything else (reception, security, …) was
// granted by a Visitor superuser, and is kept unless a Global admin's
// admin on the default location replaces it (one role per location).
func managedRole(r visitor.Role) bool {
	return r == visitor.RoleAdmin || r == visitor.RoleUser
}

func hasAdmin(a []visitor.Access) map[string]bool {
	m := map[string]bool{}
	for _, x := range a {
		if x.Role == visitor.RoleAdmin {
			m[x.LocationID] = true
		}
	}
	return m
}

// adminChange names how the admin roles differ between two access lists.
func adminChange(before, after []visitor.Access) string {
	b, a := hasAdmin(before), hasAdmin(after)
	var grant, revoke bool
	for l := range a {
		if !b[l] {
			grant = true
		}
	}
	for l := range b {
		if !a[l] {
			revoke = true
		}
	}
	switch {
	case grant && revoke:
		return "grant,revoke"
	case grant:
		return "grant"
	case revoke:
		return "revoke"
	}
	return ""
}

// setRole makes role the one role the user holds on loc: Visitor keeps
// one role per user per location (visitor.CheckAccess).
func setRole(a []visitor.Access, loc string, role visitor.Role) []visitor.Access {
	out := a[:0:0]
	for _, x := range a {
		if x.LocationID != loc {
			out = append(out, x)
		}
	}
	return append(out, visitor.Access{LocationID: loc, Role: role})
}

// rolesAt lists the roles a holds on loc.
func rolesAt(a []visitor.Access, loc string) []visitor.Role {
	var out []visitor.Role
	for _, x := range a {
		if x.LocationID == loc {
			out = append(out, x.Role)
		}
	}
	return out
}

// hasRoleAt says whether a holds role on loc, without a list per call:
// it is asked of every user on every run.
func hasRoleAt(a []visitor.Access, loc string, role visitor.Role) bool {
	for _, x := range a {
		if x.LocationID == loc && x.Role == role {
			return true
		}
	}
	return false
}

// handRole is the first role in have the sync never grants (reception,
// security, …), or "".
func handRole(have []visitor.Role) visitor.Role {
	for _, r := range have {
		if !managedRole(r) {
			return r
		}
	}
	return ""
}

// OverlayAccess is the access of a hand-made Visitor user the sync adopts:
// every role the user holds is kept (admin too: the integration grants
// admin to Global admins only, and leaves anyone else's to the
// superuser), a location the user lacks gets want's role, and admin in
// want replaces whatever the user holds there. One role per location.
func OverlayAccess(cur, want []visitor.Access) []visitor.Access {
	out := slices.Clone(cur)
	for _, w := range want {
		have := rolesAt(cur, w.LocationID)
		switch {
		case w.Role == visitor.RoleAdmin || len(have) == 0:
			out = setRole(out, w.LocationID, w.Role)
		case len(have) > 1:
			out = setRole(out, w.LocationID, keepOne(have))
		}
	}
	return visitor.SortAccess(out)
}

// keepOne is the role kept of several on one location (a listing that
// breaks the contract): admin, else a hand-set role, else user.
func keepOne(have []visitor.Role) visitor.Role {
	if slices.Contains(have, visitor.RoleAdmin) {
		return visitor.RoleAdmin
	}
	if r := handRole(have); r != "" {
		return r
	}
	return visitor.RoleUser
}

// accessPlan is what the sync requires of one user's access.
type accessPlan struct {
	defaultLoc string
	all        []string // every Visitor location id or pending key, sorted
	roles      map[string]visitor.Role
	// granted are the admin roles the grants record says the sync gave
	// this user: location -> the role it replaced. Only these are revoked.
	granted map[string]visitor.Role
}

// newUserAccess gives a new user every location, with the required roles.
func (ap accessPlan) newUserAccess() []visitor.Access {
	out := make([]visitor.Access, 0, len(ap.all))
	for _, l := range ap.all {
		role := visitor.RoleUser
		if r, ok := ap.roles[l]; ok {
			role = r
		}
		out = append(out, visitor.Access{LocationID: l, Role: role})
	}
	return visitor.SortAccess(out)
}

// existingUserAccess changes only what the rules require: the role on the
// default location (promotion, demotion), admin on a Location admin's own
// location, and, when grantNew, a user role on locations the user has no
// access to at all. Hand-granted access is kept, one role per location.
func (ap accessPlan) existingUserAccess(cur []visitor.Access, grantNew bool) []visitor.Access {
	if !grantNew && visitor.AccessSorted(cur) && ap.holds(cur) {
		return cur // the usual case: nothing to change, and no copy of a long list
	}
	return ap.applyRules(cur, grantNew)
}

// roleAt is the one role the rules give a user holding have on loc, a
// location whose role the sync owns (the default location, or one where
// it grants admin). Admin required is admin, whatever was there (the
// replaced role is the change's Replaced). Otherwise (user on the default
// location) a hand-set role is kept, not joined by user; an admin role is
// revoked only when the sync recorded granting it (back to the role it
// replaced), and kept when granted by hand or when no record says.
func (ap accessPlan) roleAt(loc string, have []visitor.Role) visitor.Role {
	if ap.roles[loc] == visitor.RoleAdmin {
		return visitor.RoleAdmin
	}
	if slices.Contains(have, visitor.RoleAdmin) {
		if replaced, ours := ap.granted[loc]; ours {
			return cmp.Or(replaced, visitor.RoleUser)
		}
		return visitor.RoleAdmin
	}
	if r := handRole(have); r != "" {
		return r
	}
	return visitor.RoleUser
}

// owns says whether the sync sets the role on loc for this user.
func (ap accessPlan) owns(loc string, role visitor.Role) bool {
	return loc == ap.defaultLoc || role == visitor.RoleAdmin
}

// applyRules is existingUserAccess the long way: the rules applied to a
// copy, then sorted.
func (ap accessPlan) applyRules(cur []visitor.Access, grantNew bool) []visitor.Access {
	out := slices.Clone(cur)
	for l, role := range ap.roles {
		if ap.owns(l, role) {
			out = setRole(out, l, ap.roleAt(l, rolesAt(cur, l)))
		}
	}
	if grantNew {
		has := map[string]bool{}
		for _, x := range out {
			has[x.LocationID] = true
		}
		for _, l := range ap.all {
			if !has[l] {
				out = append(out, visitor.Access{LocationID: l, Role: visitor.RoleUser})
			}
		}
	}
	return visitor.SortAccess(out)
}

// holds says whether a sorted cur already is what existingUserAccess
// (without grantNew) would make of it: on each location whose role the
// sync owns, the one role the rules give.
func (ap accessPlan) holds(cur []visitor.Access) bool {
	for l, role := range ap.roles {
		if !ap.owns(l, role) {
			continue
		}
		i, _ := slices.BinarySearchFunc(cur, l, func(x visitor.Access, loc string) int { return strings.Compare(x.LocationID, loc) })
		j := i
		for j < len(cur) && cur[j].LocationID == l {
			j++
		}
		if j-i != 1 || cur[i].Role != ap.roleAt(l, []visitor.Role{cur[i].Role}) {
			return false
		}
	}
	return true
}

// replacedRole is the hand-set role a required admin replaces on a
// location of cur ("" if none; of several, the first location by id): the
// change says so, and the audit line. A plain range over the map, not
// maps.Keys: an iterator would move every user's roles map to the heap.
func (ap accessPlan) replacedRole(cur []visitor.Access) (loc string, role visitor.Role) {
	for l, r := range ap.roles {
		if r != visitor.RoleAdmin || (loc != "" && l > loc) {
			continue
		}
		if h := handRole(rolesAt(cur, l)); h != "" {
			loc, role = l, h
		}
	}
	return loc, role
}

// accessKey is a list's identity: the same backing array and length.
type accessKey struct {
	first *visitor.Access
	n     int
}

// accessCache lets users share access lists within one plan. A new user
// gets every location, so an initial sync of 100 000 users at 1 000
// locations would otherwise plan 100 million entries; and the existing
// users of a listing share a few lists (visitor.Client decodes them so),
// which need checking for order once, not once per user. Shared lists are
// clipped, and neither plan nor apply changes one in place.
type accessCache struct {
	forNew map[string][]visitor.Access
	sorted map[accessKey]bool
	admin  map[accessKey]bool // adminAt's answers; one default location per plan
}

func newAccessCache() *accessCache {
	return &accessCache{forNew: map[string][]visitor.Access{}, sorted: map[accessKey]bool{}, admin: map[accessKey]bool{}}
}

// adminAt says whether cur holds admin on loc (the plan's default
// location), scanning each shared list once: without a grants record it is
// asked of every existing user, and a list is as long as the tenant has
// locations (100 000 users × 1 000 locations doubled the planning time).
func (c *accessCache) adminAt(cur []visitor.Access, loc string) bool {
	if len(cur) == 0 {
		return false
	}
	k := accessKey{&cur[0], len(cur)}
	has, ok := c.admin[k]
	if !ok {
		has = hasRoleAt(cur, loc, visitor.RoleAdmin)
		c.admin[k] = has
	}
	return has
}

// newUser is accessPlan.newUserAccess, shared among users with the same roles.
func (c *accessCache) newUser(ap accessPlan) []visitor.Access {
	keys := make([]string, 0, len(ap.roles))
	for l, r := range ap.roles {
		keys = append(keys, l+"\x00"+string(r))
	}
	slices.Sort(keys)
	key := strings.Join(keys, "\x00")
	if a, ok := c.forNew[key]; ok {
		return a
	}
	a := slices.Clip(ap.newUserAccess())
	c.forNew[key] = a
	return a
}

// existing is accessPlan.existingUserAccess, checking each shared list's
// order once.
func (c *accessCache) existing(ap accessPlan, cur []visitor.Access, grantNew bool) []visitor.Access {
	if grantNew || len(cur) == 0 {
		return ap.existingUserAccess(cur, grantNew)
	}
	k := accessKey{&cur[0], len(cur)}
	sorted, ok := c.sorted[k]
	if !ok {
		sorted = visitor.AccessSorted(cur)
		c.sorted[k] = sorted
	}
	if sorted && ap.holds(cur) {
		return cur
	}
	return ap.existingUserAccess(cur, grantNew)
}

// recordOf is what going from before to after does to the grants record
// (granted is the user's, as in accessPlan) and to a hand-set role
// (replaced, "loc:role" or ""): the admin on the default location it
// grants, with the role that grant replaced, or the recorded grant it
// takes back. nil when it does neither. Callers pass the planner's fields,
// not an accessPlan's: escape analysis is not field-sensitive, and a
// string stored from an accessPlan would move every user's roles map to
// the heap.
func recordOf(c *accessCache, defaultLoc string, granted map[string]visitor.Role, ext, replaced string, before, after []visitor.Access) *RecordChange {
	var rc RecordChange
	switch hadAdmin, hasAdmin := c.adminAt(before, defaultLoc), c.adminAt(after, defaultLoc); {
	case defaultLoc == "":
	case !hadAdmin && hasAdmin:
		rc.Grant = &AdminGrant{ExternalID: ext, LocationID: defaultLoc, Replaced: handRole(rolesAt(before, defaultLoc))}
	case hadAdmin && !hasAdmin:
		if r, ours := granted[defaultLoc]; ours {
			rc.Revoke = &AdminGrant{ExternalID: ext, LocationID: defaultLoc, Replaced: r}
		}
	}
	rc.Replaced = replaced
	if rc == (RecordChange{}) {
		return nil // the usual case, with no allocation
	}
	out := rc
	return &out
}
