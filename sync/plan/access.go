package plan

import (
	"slices"
	"strings"

	"condeco-visitor-sync/visitor"
)

// managedRole says whether the sync owns a role. Only admin and user are
// granted by the integration; anything else (reception, security, …) was
// granted by a Visitor superuser and is never touched.
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

// setManagedRole makes role the one managed role the user holds on loc,
// keeping any hand-granted role there.
func setManagedRole(a []visitor.Access, loc string, role visitor.Role) []visitor.Access {
	out := a[:0:0]
	for _, x := range a {
		if x.LocationID == loc && managedRole(x.Role) {
			continue
		}
		out = append(out, x)
	}
	return append(out, visitor.Access{LocationID: loc, Role: role})
}

// OverlayAccess puts the managed roles of want onto cur: on every location
// want names, the managed role becomes want's; other roles and other
// locations of cur stay. Used when adopting a hand-made Visitor user.
func OverlayAccess(cur, want []visitor.Access) []visitor.Access {
	out := slices.Clone(cur)
	for _, w := range want {
		out = setManagedRole(out, w.LocationID, w.Role)
	}
	return visitor.SortAccess(out)
}

// accessPlan is what the sync requires of one user's access.
type accessPlan struct {
	defaultLoc string
	all        []string // every Visitor location id or pending key, sorted
	roles      map[string]visitor.Role
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

// existingUserAccess changes only what the rules require: the managed role
// on the default location (promotion, demotion), admin on a Location
// admin's own location, and, when grantNew, a user role on locations the
// user has no access to at all. Hand-granted access is kept.
func (ap accessPlan) existingUserAccess(cur []visitor.Access, grantNew bool) []visitor.Access {
	if !grantNew && visitor.AccessSorted(cur) && ap.holds(cur) {
		return cur // the usual case: nothing to change, and no copy of a long list
	}
	return ap.applyRules(cur, grantNew)
}

// applyRules is existingUserAccess the long way: the rules applied to a
// copy, then sorted.
func (ap accessPlan) applyRules(cur []visitor.Access, grantNew bool) []visitor.Access {
	out := slices.Clone(cur)
	for l, role := range ap.roles {
		if l == ap.defaultLoc || role == visitor.RoleAdmin {
			out = setManagedRole(out, l, role)
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
// sync owns, that role as the only managed one.
func (ap accessPlan) holds(cur []visitor.Access) bool {
	for l, role := range ap.roles {
		if l != ap.defaultLoc && role != visitor.RoleAdmin {
			continue
		}
		i, _ := slices.BinarySearchFunc(cur, l, func(x visitor.Access, loc string) int { return strings.Compare(x.LocationID, loc) })
		n := 0
		for ; i < len(cur) && cur[i].LocationID == l; i++ {
			if managedRole(cur[i].Role) {
				if cur[i].Role != role {
					return false
				}
				n++
			}
		}
		if n != 1 {
			return false
		}
	}
	return true
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
}

func newAccessCache() *accessCache {
	return &accessCache{forNew: map[string][]visitor.Access{}, sorted: map[accessKey]bool{}}
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
