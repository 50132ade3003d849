// Package accessrule is Visitor's rule for a user's access list, in the
// one place both sides of the contract read it: package visitor exports it
// (visitor.CheckAccess) to the sync and its test fake, and the simulator,
// which package visitor's own tests import (so it cannot import visitor),
// enforces it on every write. It imports nothing.
package accessrule

import (
	"errors"
	"fmt"
)

// Why an access list breaks the rule; errors.Is finds each.
var (
	// ErrTwoRoles: Visitor holds one role per user per location
	// (docs/visitor-scim.md); a list naming a location twice is refused.
	ErrTwoRoles = errors.New("more than one role on one location")
	// ErrUnknownRole: the role is none of Visitor's (Roles).
	ErrUnknownRole = errors.New("not a Visitor role")
	// ErrNoLocation: an entry names no location.
	ErrNoLocation = errors.New("no location")
)

// Roles are Visitor's user roles (Default, Administrators, Reception,
// Security, Assistants, Agents) under the names docs/visitor-scim.md gives
// them.
var Roles = []string{"admin", "user", "reception", "security", "assistant", "agent"}

// Check says whether a list of n entries, entry i being at(i), is one
// Visitor accepts: each entry names a location and one of Roles, and no
// location twice (two roles on one location is the same refusal: the
// server keeps one role per location). The first broken entry is named.
func Check(n int, at func(i int) (location, role string)) error {
	seen := make(map[string]string, n)
	for i := range n {
		loc, role := at(i)
		if loc == "" {
			return fmt.Errorf("access entry %d (role %q): %w", i, role, ErrNoLocation)
		}
		if !known(role) {
			return fmt.Errorf("location %q: role %q: %w", loc, role, ErrUnknownRole)
		}
		if prev, dup := seen[loc]; dup {
			return fmt.Errorf("location %q is listed twice (roles %q and %q): %w", loc, prev, role, ErrTwoRoles)
		}
		seen[loc] = role
	}
	return nil
}

func known(role string) bool {
	for _, r := range Roles {
		if r == role {
			return true
		}
	}
	return false
}
