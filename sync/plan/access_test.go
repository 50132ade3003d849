package plan

import (
	"slices"
	"strings"
	"testing"

	"condeco-visitor-sync/visitor"
)

// The shortcut of existingUserAccess must never differ from the rules.
func TestExistingAccessShortcutMatchesRules(t *testing.T) {
	all := []string{"loc-1", "loc-2", "loc-3"}
	user := accessPlan{defaultLoc: "loc-1", all: all, roles: map[string]visitor.Role{"loc-1": visitor.RoleUser}}
	admin := accessPlan{defaultLoc: "loc-1", all: all, roles: map[string]visitor.Role{"loc-1": visitor.RoleAdmin}}
	demoted := accessPlan{defaultLoc: "loc-1", all: all, roles: map[string]visitor.Role{"loc-1": visitor.RoleUser}, granted: map[string]visitor.Role{"loc-1": ""}}
	locAdmin := accessPlan{defaultLoc: "loc-1", all: all, roles: map[string]visitor.Role{"loc-1": visitor.RoleUser, "loc-3": visitor.RoleAdmin}}
	for _, tc := range []struct {
		name   string
		ap     accessPlan
		cur    string
		grant  bool
		shared bool // the shortcut returns cur itself
	}{
		{"in order and as required", user, "loc-1:user,loc-2:user,loc-3:user", false, true},
		{"global admin in order", admin, "loc-1:admin,loc-2:user,loc-3:user", false, true},
		{"out of order", user, "loc-2:user,loc-1:user", false, false},
		{"duplicate entry", user, "loc-1:user,loc-1:user,loc-2:user", false, false},
		{"promotion", admin, "loc-1:user,loc-2:user", false, false},
		{"demotion", demoted, "loc-1:admin,loc-2:user", false, false},
		{"admin granted by hand kept", user, "loc-1:admin,loc-2:user", false, true},
		{"no access on the default location", user, "loc-2:user,loc-3:user", false, false},
		{"two managed roles on the default", user, "loc-1:admin,loc-1:user", false, false},
		{"hand-granted reception kept", user, "loc-1:reception,loc-2:security", false, true},
		{"hand-granted reception beside user", user, "loc-1:reception,loc-1:user,loc-2:security", false, false},
		{"global admin replaces reception", admin, "loc-1:reception,loc-2:user", false, false},
		{"location admin holds it", locAdmin, "loc-1:user,loc-2:user,loc-3:admin", false, true},
		{"location admin lacks it", locAdmin, "loc-1:user,loc-2:user,loc-3:user", false, false},
		{"grant new locations", user, "loc-1:user", true, false},
		{"empty", user, "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := parseAccess(tc.cur)
			want := tc.ap.applyRules(cur, tc.grant)
			for _, got := range [][]visitor.Access{tc.ap.existingUserAccess(cur, tc.grant), newAccessCache().existing(tc.ap, cur, tc.grant)} {
				if !slices.Equal(got, want) {
					t.Fatalf("got %v, want %v", got, want)
				}
				if isShared := len(got) > 0 && len(cur) > 0 && &got[0] == &cur[0]; isShared != tc.shared {
					t.Errorf("returned the current list itself: %v, want %v", isShared, tc.shared)
				}
			}
		})
	}
}

// New users with the same roles share one list; a Global admin gets another.
func TestNewUserAccessShared(t *testing.T) {
	all := []string{"loc-1", "loc-2"}
	c := newAccessCache()
	u1 := c.newUser(accessPlan{defaultLoc: "loc-1", all: all, roles: map[string]visitor.Role{"loc-1": visitor.RoleUser}})
	u2 := c.newUser(accessPlan{defaultLoc: "loc-1", all: all, roles: map[string]visitor.Role{"loc-1": visitor.RoleUser}})
	ad := c.newUser(accessPlan{defaultLoc: "loc-1", all: all, roles: map[string]visitor.Role{"loc-1": visitor.RoleAdmin}})
	if visitor.AccessString(u1) != "loc-1:user,loc-2:user" || visitor.AccessString(ad) != "loc-1:admin,loc-2:user" {
		t.Fatalf("lists %v %v", u1, ad)
	}
	if &u1[0] != &u2[0] || &u1[0] == &ad[0] || cap(u1) != len(u1) {
		t.Fatal("new users with the same roles must share one clipped list, and only they")
	}
}

// parseAccess reads "loc-1:user,loc-2:admin"; synctest.Acc does the same
// but imports this package, which an internal test cannot.
func parseAccess(s string) []visitor.Access {
	var out []visitor.Access
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' }) {
		l, r, _ := strings.Cut(p, ":")
		out = append(out, visitor.Access{LocationID: l, Role: visitor.Role(r)})
	}
	return out
}
