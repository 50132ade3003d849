package plan_test

import (
	"slices"
	"testing"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"

	. "condeco-visitor-sync/sync/internal/synctest"
	. "condeco-visitor-sync/sync/plan"
)

// genericCaps are those of a profile like generic-v1: users only, no
// externalId on the wire (an ownership record instead), title and city.
func genericCaps() *visitor.Capabilities {
	return &visitor.Capabilities{OwnershipRecord: true, Title: true, City: true,
		FilterOperators: []string{"eq", "co", "sw", "pr", "gt", "ge", "lt", "le"}, OrFilters: true}
}

func cityLocs() []condeco.Location {
	return []condeco.Location{
		{ID: "1", Name: "London Bridge", City: "London"},
		{ID: "2", Name: "Paris Opéra", City: "Paris"},
		{ID: "3", Name: "Berlin Mitte", City: "Berlin", Closed: true},
		{ID: "4", Name: "Madrid Centro", City: "Madrid"},
	}
}

// TestByHandList: under a target without locations the plan lists what a
// person must do in Visitor, and says when that changed.
func TestByHandList(t *testing.T) {
	later := T0.Add(24 * time.Hour)
	cases := []struct {
		name  string
		users []condeco.User
		prev  *ByHandRecord
		now   time.Time
		opt   func(*Options)
		want  func(t *testing.T, h *ByHand)
	}{
		{
			name:  "first run lists every admin, location and rule",
			users: Users(CU("1", Global), CU("2"), CU("3", Global)),
			opt:   func(o *Options) { o.HandLocation = "London Bridge" },
			want: func(t *testing.T, h *ByHand) {
				wantStrings(t, "make admin", h.MakeAdmin, "user1@example.com", "user3@example.com")
				wantStrings(t, "new admins", h.NewAdmins, "user1@example.com", "user3@example.com")
				// The integration's own location and the closed one need
				// no rule.
				wantStrings(t, "locations", locNames(h.Locations), "Madrid Centro", "Paris Opéra")
				wantStrings(t, "rules", ruleTargets(h.MappingRules), "Madrid Centro", "Paris Opéra")
				if !h.Changed || h.Location != "London Bridge" {
					t.Errorf("changed %v, location %q", h.Changed, h.Location)
				}
			},
		},
		{
			name:  "nothing new is not a change",
			users: Users(CU("1", Global), CU("2")),
			prev:  &ByHandRecord{Admins: []string{"user1@example.com"}, Locations: []string{"1", "2", "4"}},
			want: func(t *testing.T, h *ByHand) {
				if h.Changed || len(h.NewAdmins) != 0 || len(h.RevokeAdmin) != 0 {
					t.Errorf("changed %v, new %v, revoke %v; want no change", h.Changed, h.NewAdmins, h.RevokeAdmin)
				}
				for _, l := range h.Locations {
					if l.New {
						t.Errorf("location %s marked new", l.Name)
					}
				}
			},
		},
		{
			name:  "demoted admin is to revoke, new admin and new location are news",
			users: Users(CU("1"), CU("2", Global)),
			prev:  &ByHandRecord{Admins: []string{"user1@example.com"}, Locations: []string{"1", "2"}},
			now:   later,
			want: func(t *testing.T, h *ByHand) {
				wantStrings(t, "make admin", h.MakeAdmin, "user2@example.com")
				wantStrings(t, "new admins", h.NewAdmins, "user2@example.com")
				if len(h.RevokeAdmin) != 1 || h.RevokeAdmin[0].UserName != "user1@example.com" || !h.RevokeAdmin[0].Since.Equal(later) {
					t.Errorf("revoke %+v, want user1 since %s", h.RevokeAdmin, later)
				}
				var madrid HandLocation
				for _, l := range h.Locations {
					if l.ID == "4" {
						madrid = l
					}
				}
				if !madrid.New || !h.Changed {
					t.Errorf("Madrid new %v, changed %v", madrid.New, h.Changed)
				}
			},
		},
		{
			name:  "revocation stays listed for its keep time, then goes",
			users: Users(CU("1"), CU("2")),
			prev: &ByHandRecord{Revoke: []HandRevoke{{UserName: "user1@example.com", Since: T0}, {UserName: "user2@example.com", Since: T0.Add(-ByHandRevokeKeep - time.Hour)}},
				Locations: []string{"1", "2", "4"}},
			want: func(t *testing.T, h *ByHand) {
				if len(h.RevokeAdmin) != 1 || h.RevokeAdmin[0].UserName != "user1@example.com" || !h.RevokeAdmin[0].Since.Equal(T0) {
					t.Errorf("revoke %+v, want user1 only, since kept", h.RevokeAdmin)
				}
			},
		},
		{
			name:  "departed or re-promoted admin is not to revoke",
			users: Users(CU("2", Global)),
			prev:  &ByHandRecord{Admins: []string{"user1@example.com", "user2@example.com"}, Revoke: []HandRevoke{{UserName: "user2@example.com", Since: T0}}},
			want: func(t *testing.T, h *ByHand) {
				if len(h.RevokeAdmin) != 0 {
					t.Errorf("revoke %+v, want none", h.RevokeAdmin)
				}
			},
		},
		{
			name:  "a location an integration serves needs no mapping rule",
			users: Users(CU("1")),
			opt:   func(o *Options) { o.IntegrationLocations = []string{"madrid centro"} },
			want: func(t *testing.T, h *ByHand) {
				wantStrings(t, "rules", ruleTargets(h.MappingRules), "London Bridge", "Paris Opéra")
				wantStrings(t, "locations", locNames(h.Locations), "London Bridge", "Madrid Centro", "Paris Opéra")
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			if c.opt != nil {
				c.opt(&o)
			}
			now := c.now
			if now.IsZero() {
				now = T0
			}
			exp := &condeco.Export{Users: c.users, Locations: cityLocs()}
			p, err := BuildPlan(exp, Current{Capabilities: genericCaps(), ByHand: c.prev}, o, now)
			if err != nil {
				t.Fatalf("BuildPlan: %v", err)
			}
			if p.ByHand == nil {
				t.Fatal("no by-hand list for a target without locations")
			}
			c.want(t, p.ByHand)
		})
	}
}

// TestNoByHandListWithLocations: a target that carries locations and
// roles leaves nothing to a person.
func TestNoByHandListWithLocations(t *testing.T) {
	exp := &condeco.Export{Users: Users(CU("1", Global)), Locations: CLocs("1", "2")}
	p, err := BuildPlan(exp, Current{Locations: BaseLocs()}, DefaultOptions(), T0)
	if err != nil {
		t.Fatal(err)
	}
	if p.ByHand != nil {
		t.Errorf("by-hand list %+v under scim2", p.ByHand)
	}
}

// TestGenericPlansTitleAndCity: a profile that carries title and city
// sends the Condeco title and the home location's city, and updates them
// when Condeco changes; a profile that does not never compares them.
func TestGenericPlansTitleAndCity(t *testing.T) {
	titled := func(s string) UMod { return func(u *condeco.User) { u.Title = s } }
	exp := &condeco.Export{Users: Users(CU("1", titled("Receptionist"), AtLoc("2")), CU("2", AtLoc("4"))), Locations: cityLocs(),
		TitleRead: true, CityRead: true}
	cur := []visitor.User{unlocated("2", func(u *visitor.User) { u.City = "Paris" })}
	o := DefaultOptions()
	o.Invitations = InvitationsSend
	p, err := BuildPlan(exp, Current{Users: cur, Capabilities: genericCaps()}, o, T0)
	if err != nil {
		t.Fatal(err)
	}
	c := FindChange(t, p.Creates, "condeco:1")
	if c.Desired.Title != "Receptionist" || c.Desired.City != "Paris" {
		t.Errorf("create title %q city %q", c.Desired.Title, c.Desired.City)
	}
	// The profile cannot ask for an invitation: the plan promises none.
	if c.Desired.SendInvitation {
		t.Error("a create under a profile without invitations plans one")
	}
	u := FindChange(t, p.Updates, "condeco:2")
	if len(u.Changes) != 1 || u.Changes[0].Field != visitor.FieldCity || u.Changes[0].New != "Madrid" {
		t.Errorf("update changes %+v, want city Paris -> Madrid", u.Changes)
	}
	// The same export against today's contract: no title, no city.
	p2, err := BuildPlan(exp, Current{Users: []visitor.User{VU("2")}, Locations: BaseLocs()}, DefaultOptions(), T0)
	if err != nil {
		t.Fatal(err)
	}
	if c := FindChange(t, p2.Creates, "condeco:1"); c.Desired.Title != "" || c.Desired.City != "" {
		t.Errorf("scim2 create carries title %q city %q", c.Desired.Title, c.Desired.City)
	}
}

// TestGenericLeavesUnmanagedTitleAndCity: a title or city the queries do
// not read, or one dropped as bad, is not the sync's: Visitor keeps the
// value it holds (a person may have set it) instead of having it cleared.
func TestGenericLeavesUnmanagedTitleAndCity(t *testing.T) {
	handSet := func(u *visitor.User) { u.Title, u.City = "Set by hand", "Lyon" }
	cases := []struct {
		name      string
		edit      func(*condeco.Export)
		wantTitle string
		wantCity  string
	}{
		{"queries without the columns", func(e *condeco.Export) { e.TitleRead, e.CityRead = false, false }, "Set by hand", "Lyon"},
		{"title dropped as bad", func(e *condeco.Export) { e.Users[0].TitleDropped = true }, "Set by hand", "Paris"},
		{"city dropped as bad", func(e *condeco.Export) { e.Locations[1].CityDropped = true }, "Head of desk", "Lyon"},
		{"both read and valid", func(*condeco.Export) {}, "Head of desk", "Paris"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exp := &condeco.Export{Users: Users(CU("1", AtLoc("2"), func(u *condeco.User) { u.Title = "Head of desk" })),
				Locations: cityLocs(), TitleRead: true, CityRead: true}
			tc.edit(exp)
			p, err := BuildPlan(exp, Current{Users: []visitor.User{unlocated("1", handSet)}, Capabilities: genericCaps()}, DefaultOptions(), T0)
			if err != nil {
				t.Fatal(err)
			}
			want := visitor.User{Title: tc.wantTitle, City: tc.wantCity}
			var got visitor.User
			got.Title, got.City = "Set by hand", "Lyon"
			for _, c := range p.Updates {
				got = *c.Desired
			}
			if got.Title != want.Title || got.City != want.City {
				t.Errorf("planned title %q city %q, want %q %q (updates %d)", got.Title, got.City, want.Title, want.City, len(p.Updates))
			}
		})
	}
}

func wantStrings(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func locNames(ls []HandLocation) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

func ruleTargets(rs []MappingRule) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Into)
	}
	return out
}
