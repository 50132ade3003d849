package sync

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

// sortAccess returns a sorted, de-duplicated copy so that two access lists
// compare and print the same regardless of server order.
func sortAccess(in []visitor.Access) []visitor.Access {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b visitor.Access) int {
		if c := strings.Compare(a.LocationID, b.LocationID); c != 0 {
			return c
		}
		return strings.Compare(string(a.Role), string(b.Role))
	})
	return slices.Compact(out)
}

func accessEqual(a, b []visitor.Access) bool {
	return slices.Equal(sortAccess(a), sortAccess(b))
}

func accessString(a []visitor.Access) string {
	parts := make([]string, 0, len(a))
	for _, x := range sortAccess(a) {
		parts = append(parts, x.LocationID+":"+string(x.Role))
	}
	return strings.Join(parts, ",")
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

// overlayAccess puts the managed roles of want onto cur: on every location
// want names, the managed role becomes want's; other roles and other
// locations of cur stay. Used when adopting a hand-made Visitor user.
func overlayAccess(cur, want []visitor.Access) []visitor.Access {
	out := slices.Clone(cur)
	for _, w := range want {
		out = setManagedRole(out, w.LocationID, w.Role)
	}
	return sortAccess(out)
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
	return sortAccess(out)
}

// existingUserAccess changes only what the rules require: the managed role
// on the default location (promotion, demotion), admin on a Location
// admin's own location, and, when grantNew, a user role on locations the
// user has no access to at all. Hand-granted access is kept.
func (ap accessPlan) existingUserAccess(cur []visitor.Access, grantNew bool) []visitor.Access {
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
	return sortAccess(out)
}
