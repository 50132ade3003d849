package visitor

import (
	"slices"
	"strings"

	"condeco-visitor-sync/visitor/internal/accessrule"
)

// Access lists compare as sets: a server may return them in any order, and
// the planner, the applier and the audit log must agree on what "the same
// access" means, so the comparison lives with the type.

// SortAccess returns a sorted, de-duplicated copy so that two access lists
// compare and print the same regardless of server order.
func SortAccess(in []Access) []Access {
	out := slices.Clone(in)
	slices.SortFunc(out, CompareAccess)
	return slices.Compact(out)
}

// AccessEqual compares two access lists as sets. Lists are as long as the
// tenant has locations and most compare equal, often as one shared list, so
// the common cases cost no copy and no sort.
func AccessEqual(a, b []Access) bool {
	if len(a) != len(b) {
		return slices.Equal(SortAccess(a), SortAccess(b)) // duplicates may still make them equal
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	if AccessSorted(a) && AccessSorted(b) {
		return slices.Equal(a, b)
	}
	return slices.Equal(SortAccess(a), SortAccess(b))
}

// CompareAccess orders by location, then role.
func CompareAccess(a, b Access) int {
	if c := strings.Compare(a.LocationID, b.LocationID); c != 0 {
		return c
	}
	return strings.Compare(string(a.Role), string(b.Role))
}

// AccessSorted says whether a is already what SortAccess would return.
func AccessSorted(a []Access) bool {
	for i := 1; i < len(a); i++ {
		if CompareAccess(a[i-1], a[i]) >= 0 {
			return false
		}
	}
	return true
}

// AccessString renders a list as "loc:role,loc:role", sorted.
func AccessString(a []Access) string {
	parts := make([]string, 0, len(a))
	for _, x := range SortAccess(a) {
		parts = append(parts, x.LocationID+":"+string(x.Role))
	}
	return strings.Join(parts, ",")
}

// Why an access list breaks Visitor's rule (CheckAccess); errors.Is finds
// each. The rule is accessrule's, shared with the simulator.
var (
	ErrTwoRoles    = accessrule.ErrTwoRoles
	ErrUnknownRole = accessrule.ErrUnknownRole
	ErrNoLocation  = accessrule.ErrNoLocation
)

// CheckAccess says whether Visitor accepts a as a user's access list: one
// known role per location (docs/visitor-scim.md). The simulator enforces
// the same rule (through accessrule) and the sync's test fake calls this,
// so a plan that puts two roles on one location fails a unit test, not a
// run against the real server.
func CheckAccess(a []Access) error {
	return accessrule.Check(len(a), func(i int) (string, string) { return a[i].LocationID, string(a[i].Role) })
}
