package visitor

import (
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
