package plan_test

import (
	"errors"
	"testing"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"

	. "condeco-visitor-sync/sync/internal/synctest"
	. "condeco-visitor-sync/sync/plan"
)

// noLocations is a target that carries users but no locations.
func noLocations() *visitor.Capabilities {
	c := visitor.SCIM2Capabilities()
	c.Locations, c.LocationRoles = false, false
	return &c
}

// unlocated is VU(id) as a target without locations lists it.
func unlocated(id string, mods ...VMod) visitor.User {
	return VU(id, append([]VMod{VAcc(""), VDefault("")}, mods...)...)
}

// TestPlanWithoutLocationsCapability: a target that does not carry
// locations gets a plan with no location creates and no access lists,
// and needs no default location; everything else is planned as usual.
func TestPlanWithoutLocationsCapability(t *testing.T) {
	cases := []struct {
		name  string
		users []condeco.User
		cur   []visitor.User
		opt   func(*Options)
		check func(t *testing.T, p *Plan)
	}{
		{
			name:  "first sync creates users without access and no locations",
			users: Users(CU("1", Global), CU("2"), CU("3", AtLoc("3"))),
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 3, 0, 0, 0, 0)
				for _, c := range p.Creates {
					if d := c.Desired; len(d.Access) != 0 || d.DefaultLocation != "" || c.AdminChange != "" {
						t.Errorf("%s: access %v, default location %q, admin change %q", c.ExternalID, d.Access, d.DefaultLocation, c.AdminChange)
					}
				}
			},
		},
		{
			name:  "existing users are compared on what the target carries",
			users: Users(CU("1"), CU("2", Global), CU("3")),
			cur:   []visitor.User{unlocated("1"), unlocated("2"), unlocated("3", VGiven("Old"))},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 1, 0, 0, 2)
				c := FindChange(t, p.Updates, "condeco:3")
				if len(c.Changes) != 1 || c.Changes[0].Field != visitor.FieldGivenName || c.AdminChange != "" {
					t.Errorf("update changes %+v, admin change %q; want givenName only", c.Changes, c.AdminChange)
				}
			},
		},
		{
			name:  "location options plan nothing on locations",
			users: Users(CU("1", Level(condeco.LevelLocationAdmin), AtLoc("3")), CU("2")),
			cur:   []visitor.User{unlocated("2")},
			opt:   func(o *Options) { o.LocationAdmins, o.GrantNewLocationsToExistingUsers = true, true },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 1, 0, 0, 0, 1)
				if a := FindChange(t, p.Creates, "condeco:1").Desired.Access; len(a) != 0 {
					t.Errorf("location admin given access %v", a)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			if c.opt != nil {
				c.opt(&o)
			}
			// Condeco location 3 is new: a target with locations would
			// get it created. This one lists no locations at all.
			exp := &condeco.Export{Users: c.users, Locations: CLocs("1", "2", "3")}
			p, err := BuildPlan(exp, Current{Users: c.cur, Capabilities: noLocations()}, o, T0)
			if err != nil {
				t.Fatalf("BuildPlan: %v", err)
			}
			if len(p.LocationCreates) != 0 || p.Summary.LocationCreates != 0 || p.DefaultLocation != "" {
				t.Errorf("location creates %v, default location %q; want none", p.LocationCreates, p.DefaultLocation)
			}
			for _, ch := range append(p.Creates, p.Updates...) {
				if len(ch.Desired.Access) != 0 || ch.Desired.DefaultLocation != "" {
					t.Errorf("%s plans access %v on %q", ch.ExternalID, ch.Desired.Access, ch.Desired.DefaultLocation)
				}
			}
			c.check(t, p)
		})
	}
}

// TestPlanCapabilitiesDefault: no capabilities is today's contract, the
// same plan as SCIM2Capabilities.
func TestPlanCapabilitiesDefault(t *testing.T) {
	exp := &condeco.Export{Users: Users(CU("1", Global), CU("2")), Locations: CLocs("1", "2", "3")}
	cur := []visitor.User{VU("2")}
	full := visitor.SCIM2Capabilities()
	a, err := BuildPlan(exp, Current{Users: cur, Locations: BaseLocs()}, DefaultOptions(), T0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildPlan(exp, Current{Users: cur, Locations: BaseLocs(), Capabilities: &full}, DefaultOptions(), T0)
	if err != nil {
		t.Fatal(err)
	}
	if ja, jb := MustJSON(t, a), MustJSON(t, b); ja != jb {
		t.Errorf("plans differ:\n%s\n%s", ja, jb)
	}
	if len(a.LocationCreates) != 1 {
		t.Errorf("location creates %v, want Condeco location 3", a.LocationCreates)
	}
}

// TestPlanUnsupportedCapabilities: what the planner cannot plan for is
// refused before anything is planned.
func TestPlanUnsupportedCapabilities(t *testing.T) {
	cases := []struct {
		name string
		edit func(*visitor.Capabilities)
	}{
		{"no externalId", func(c *visitor.Capabilities) { c.ExternalID = false }},
		{"locations without roles", func(c *visitor.Capabilities) { c.LocationRoles = false }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			caps := visitor.SCIM2Capabilities()
			c.edit(&caps)
			exp := &condeco.Export{Users: Users(CU("1"))}
			_, err := BuildPlan(exp, Current{Locations: BaseLocs(), Capabilities: &caps}, DefaultOptions(), T0)
			if !errors.Is(err, ErrUnsupportedTarget) {
				t.Fatalf("err = %v, want ErrUnsupportedTarget", err)
			}
		})
	}
}
