package visitor

import (
	"errors"
	"strings"
	"testing"
)

func list(s string) []Access {
	var out []Access
	for _, p := range strings.Split(s, ",") {
		l, r, _ := strings.Cut(p, ":")
		out = append(out, Access{LocationID: l, Role: Role(r)})
	}
	return out
}

func TestAccessEqualIsSetEquality(t *testing.T) {
	shared := list("loc-1:user,loc-2:user")
	for _, tc := range []struct {
		name string
		a, b []Access
		want bool
	}{
		{"same list", shared, shared, true},
		{"equal copies", list("loc-1:user,loc-2:user"), list("loc-1:user,loc-2:user"), true},
		{"other order", list("loc-2:user,loc-1:user"), list("loc-1:user,loc-2:user"), true},
		{"duplicate", list("loc-1:user,loc-1:user,loc-2:user"), list("loc-1:user,loc-2:user"), true},
		{"other role", list("loc-1:admin,loc-2:user"), list("loc-1:user,loc-2:user"), false},
		{"prefix of the same list", shared[:1], shared, false},
		{"both empty", nil, []Access{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AccessEqual(tc.a, tc.b); got != tc.want {
				t.Fatalf("AccessEqual = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSamePhone(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b string
		same bool
	}{
		{"equal", "+442071234567", "+442071234567", true},
		{"tel URI with separators", "+442071234567", "tel:+44-20-7123-4567", true},
		{"upper-case scheme, dots and parentheses", "TEL:+44.(20).7123.4567", "+442071234567", true},
		{"spaces", "+44 20 7123 4567", "+442071234567", true},
		{"another number", "tel:+44-20-7123-4568", "+442071234567", false},
		{"extension kept", "tel:+44-20-7123-4567;ext=12", "+442071234567", false},
		{"both empty", "", "", true},
		{"one empty", "", "+442071234567", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SamePhone(tc.a, tc.b); got != tc.same {
				t.Fatalf("SamePhone(%q, %q) = %v", tc.a, tc.b, got)
			}
			if got := FieldEqual(User{Phone: tc.a}, User{Phone: tc.b}, FieldPhone); got != tc.same {
				t.Fatalf("FieldEqual phone = %v", got)
			}
		})
	}
}

// TestCheckAccess is Visitor's one-role-per-location rule, the one the
// simulator enforces and the sync's test fake calls.
func TestCheckAccess(t *testing.T) {
	for _, tc := range []struct {
		name, list string
		want       error
	}{
		{"one role per location", "loc-1:admin,loc-2:user,loc-3:reception", nil},
		{"empty list", "", nil},
		{"hand-set role beside user on one location", "loc-1:reception,loc-1:user", ErrTwoRoles},
		{"admin beside user on one location", "loc-2:user,loc-1:admin,loc-1:user", ErrTwoRoles},
		{"the same entry twice", "loc-1:user,loc-1:user", ErrTwoRoles},
		{"unknown role", "loc-1:boss", ErrUnknownRole},
		{"no location", ":user", ErrNoLocation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a []Access
			if tc.list != "" {
				a = list(tc.list)
			}
			err := CheckAccess(a)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CheckAccess(%s) = %v, want %v", tc.list, err, tc.want)
			}
		})
	}
}
