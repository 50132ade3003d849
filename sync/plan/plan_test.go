package plan_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"

	. "condeco-visitor-sync/sync/internal/synctest"
	. "condeco-visitor-sync/sync/plan"
)

type planCase struct {
	name  string
	users []condeco.User
	locs  []condeco.Location // nil: Condeco locations 1 and 2
	held  []string
	// heldNames are userNames claimed by held rows without a usable id.
	heldNames  []string
	problems   []condeco.RowError
	cur        []visitor.User
	firstSync  []string           // Current.FirstSync
	grants     *GrantsRecord      // Current.Grants (nil: no record)
	lookAlikes []visitor.User     // Current.LookAlikes
	vlocs      []visitor.Location // nil: baseLocs
	owed       []OwedGrant        // Current.OwedGrants
	opt        func(*Options)
	check      func(t *testing.T, p *Plan)
}

func (c planCase) build(t *testing.T) *Plan {
	t.Helper()
	exp := &condeco.Export{Users: c.users, Locations: c.locs, Held: c.held, HeldUserNames: c.heldNames, Problems: c.problems}
	if exp.Locations == nil {
		exp.Locations = CLocs("1", "2")
	}
	vlocs := c.vlocs
	if vlocs == nil {
		vlocs = BaseLocs()
	}
	o := DefaultOptions()
	if c.opt != nil {
		c.opt(&o)
	}
	p, err := BuildPlan(exp, Current{Users: c.cur, Locations: vlocs, FirstSync: c.firstSync, OwedGrants: c.owed, Grants: c.grants, LookAlikes: c.lookAlikes}, o, T0)
	if err != nil {
		t.Fatalf("BuildPlan: %v", err)
	}
	return p
}

// TestBuildPlanRules has one named case per rule of docs/sync-rules.md.
func TestBuildPlanRules(t *testing.T) {
	cases := []planCase{
		{
			name:  "global admin gets admin on default location and user elsewhere",
			users: Users(CU("1", Global)),
			check: func(t *testing.T, p *Plan) {
				WantAccess(t, FindChange(t, p.Creates, "condeco:1").Desired.Access, "loc-1:admin,loc-2:user,loc-h:user")
			},
		},
		{
			name:  "other admin types and ordinary users get user on every location",
			users: Users(CU("1"), CU("2", Level(condeco.LevelCountryAdmin)), CU("3", Level(condeco.LevelLocationAdmin), AtLoc("2")), CU("4", Level(condeco.LevelGroupAdmin))),
			check: func(t *testing.T, p *Plan) {
				for _, id := range []string{"1", "2", "3", "4"} {
					WantAccess(t, FindChange(t, p.Creates, "condeco:"+id).Desired.Access, AllUser)
				}
			},
		},
		{
			name:  "everyone's default location is the integration default",
			users: Users(CU("1", Global), CU("2", AtLoc("2")), CU("3", AtLoc("2"))),
			cur:   []visitor.User{VU("3", VDefault("loc-2"))},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 2, 1, 0, 0, 0)
				for _, c := range append(p.Creates, p.Updates...) {
					if c.Desired.DefaultLocation != "loc-1" {
						t.Errorf("%s default = %s", c.ExternalID, c.Desired.DefaultLocation)
					}
				}
			},
		},
		{
			name:  "configured default location overrides the Visitor default",
			users: Users(CU("1", Global)),
			opt:   func(o *Options) { o.DefaultLocationID = "loc-2" },
			check: func(t *testing.T, p *Plan) {
				c := FindChange(t, p.Creates, "condeco:1")
				if c.Desired.DefaultLocation != "loc-2" || p.DefaultLocation != "loc-2" {
					t.Errorf("default = %s", c.Desired.DefaultLocation)
				}
				WantAccess(t, c.Desired.Access, "loc-1:user,loc-2:admin,loc-h:user")
			},
		},
		{
			name:  "new condeco location is created with prefixed externalId and new users get it",
			users: Users(CU("1")),
			locs:  CLocs("1", "2", "3"),
			check: func(t *testing.T, p *Plan) {
				if len(p.LocationCreates) != 1 {
					t.Fatalf("location creates = %+v", p.LocationCreates)
				}
				lc := p.LocationCreates[0]
				if lc.Key != "pending:condeco-location:3" || lc.Location.ExternalID != "condeco-location:3" || lc.Location.Name != "Berlin" {
					t.Errorf("location create = %+v", lc)
				}
				WantAccess(t, FindChange(t, p.Creates, "condeco:1").Desired.Access, AllUser+",pending:condeco-location:3:user")
			},
		},
		{
			name:  "existing location matched by externalId is not created again",
			users: Users(CU("1")),
			locs:  CLocs("1", "2"),
			check: func(t *testing.T, p *Plan) {
				if len(p.LocationCreates) != 0 {
					t.Errorf("location creates = %+v", p.LocationCreates)
				}
			},
		},
		{
			name:  "condeco location named like a hand-made Visitor location is adopted",
			users: Users(CU("1")),
			locs:  append(CLocs("1", "2"), condeco.Location{ID: "3", Name: "HAND-MADE LOBBY"}),
			check: func(t *testing.T, p *Plan) {
				if len(p.LocationCreates) != 0 || len(p.Conflicts) != 0 || len(p.LocationUpdates) != 1 || p.Summary.LocationUpdates != 1 {
					t.Fatalf("location creates %+v updates %+v conflicts %+v", p.LocationCreates, p.LocationUpdates, p.Conflicts)
				}
				lu := p.LocationUpdates[0]
				// Condeco's spelling wins along with the externalId.
				if lu.VisitorID != "loc-h" || lu.Location.ExternalID != "condeco-location:3" || lu.Location.Name != "HAND-MADE LOBBY" ||
					len(lu.Fields) != 2 || lu.Fields[0] != visitor.LocationFieldExternalID || lu.Fields[1] != visitor.LocationFieldName {
					t.Errorf("location update = %+v", lu)
				}
				WantAccess(t, FindChange(t, p.Creates, "condeco:1").Desired.Access, AllUser)
			},
		},
		{
			name:  "two condeco locations named like one hand-made Visitor location: the first is adopted, the second a conflict",
			users: Users(CU("1")),
			locs:  append(CLocs("1", "2"), condeco.Location{ID: "3", Name: "Hand-made lobby"}, condeco.Location{ID: "4", Name: "hand-made LOBBY"}),
			check: func(t *testing.T, p *Plan) {
				if len(p.LocationUpdates) != 1 || p.LocationUpdates[0].Location.ExternalID != "condeco-location:3" || len(p.LocationCreates) != 0 {
					t.Fatalf("location updates %+v creates %+v", p.LocationUpdates, p.LocationCreates)
				}
				if len(p.Conflicts) != 1 || p.Conflicts[0].ExternalID != "condeco-location:4" || !strings.Contains(p.Conflicts[0].Reason, "Condeco location 3") {
					t.Errorf("conflicts = %+v", p.Conflicts)
				}
			},
		},
		{
			name:  "condeco location named like a hand-made Visitor location is a named conflict when adopt_existing_locations is off",
			users: Users(CU("1")),
			locs:  append(CLocs("1", "2"), condeco.Location{ID: "3", Name: "Hand-made lobby"}),
			opt:   func(o *Options) { o.AdoptExistingLocations = false },
			check: func(t *testing.T, p *Plan) {
				if len(p.LocationCreates) != 0 || len(p.LocationUpdates) != 0 || len(p.Conflicts) != 1 {
					t.Fatalf("location creates %+v updates %+v conflicts %+v", p.LocationCreates, p.LocationUpdates, p.Conflicts)
				}
				c := p.Conflicts[0]
				for _, want := range []string{"Condeco location 3", "Visitor location loc-h", `"Hand-made lobby"`, "adopt_existing_locations"} {
					if !strings.Contains(c.Reason+" "+c.Fix, want) {
						t.Errorf("conflict %+v does not name %s", c, want)
					}
				}
				if c.ExternalID != "condeco-location:3" || c.VisitorID != "loc-h" || !strings.Contains(c.Fix, "adopt_existing_locations: true") {
					t.Errorf("conflict = %+v", c)
				}
				// The user is still created, with the locations that exist.
				WantAccess(t, FindChange(t, p.Creates, "condeco:1").Desired.Access, AllUser)
			},
		},
		{
			name:  "condeco location named like another source's Visitor location is a conflict and never touched",
			users: Users(CU("1")),
			locs:  CLocs("1", "2", "3"),
			vlocs: append(BaseLocs(), visitor.Location{ID: "loc-b", ExternalID: "hr-system:77", Name: "berlin"}),
			check: func(t *testing.T, p *Plan) {
				if len(p.LocationCreates) != 0 || len(p.LocationUpdates) != 0 || len(p.Conflicts) != 1 {
					t.Fatalf("location creates %+v updates %+v conflicts %+v", p.LocationCreates, p.LocationUpdates, p.Conflicts)
				}
				if c := p.Conflicts[0]; !strings.Contains(c.Reason, "hr-system:77") || !strings.Contains(c.Reason, `"Berlin"`) || c.VisitorID != "loc-b" {
					t.Errorf("conflict = %+v", c)
				}
				WantAccess(t, FindChange(t, p.Creates, "condeco:1").Desired.Access, AllUser+",loc-b:user")
			},
		},
		{
			name:  "condeco location renamed renames the Visitor location the sync owns",
			users: Users(CU("1")),
			locs:  []condeco.Location{{ID: "1", Name: "London"}, {ID: "2", Name: "Paris Nord"}},
			cur:   []visitor.User{VU("1")},
			check: func(t *testing.T, p *Plan) {
				if len(p.LocationUpdates) != 1 || p.Summary.LocationUpdates != 1 || p.Empty() {
					t.Fatalf("location updates = %+v", p.LocationUpdates)
				}
				lu := p.LocationUpdates[0]
				if lu.VisitorID != "loc-2" || lu.Before.Name != "Paris" || lu.Location.Name != "Paris Nord" || lu.Location.ExternalID != "condeco-location:2" ||
					len(lu.Fields) != 1 || lu.Fields[0] != visitor.LocationFieldName {
					t.Errorf("location update = %+v", lu)
				}
				WantCounts(t, p, 0, 0, 0, 0, 1)
			},
		},
		{
			name:  "condeco location renamed to a name another Visitor location has is a conflict",
			users: Users(CU("1")),
			locs:  []condeco.Location{{ID: "1", Name: "London"}, {ID: "2", Name: "hand-made lobby"}},
			check: func(t *testing.T, p *Plan) {
				if len(p.LocationUpdates) != 0 || len(p.Conflicts) != 1 || !strings.Contains(p.Conflicts[0].Reason, "loc-h") {
					t.Fatalf("location updates %+v conflicts %+v", p.LocationUpdates, p.Conflicts)
				}
			},
		},
		{
			name:  "closed condeco location is given to no one new, never renamed, and listed",
			users: Users(CU("1"), CU("2")),
			locs:  []condeco.Location{{ID: "1", Name: "London"}, {ID: "2", Name: "Paris (closed)", Closed: true}, {ID: "4", Name: "Madrid", Closed: true}},
			cur:   []visitor.User{VU("2")},
			check: func(t *testing.T, p *Plan) {
				WantAccess(t, FindChange(t, p.Creates, "condeco:1").Desired.Access, "loc-1:user,loc-h:user")
				WantCounts(t, p, 1, 0, 0, 0, 1) // user 2 keeps loc-2
				if len(p.LocationUpdates)+len(p.LocationCreates) != 0 {
					t.Errorf("location updates %+v creates %+v", p.LocationUpdates, p.LocationCreates)
				}
				want := []ClosedLocation{{ID: "2", ExternalID: "condeco-location:2", VisitorID: "loc-2", Name: "Paris"},
					{ID: "4", ExternalID: "condeco-location:4", Name: "Madrid"}}
				if !slices.Equal(p.ClosedLocations, want) || p.Summary.ClosedLocations != 2 {
					t.Errorf("closed = %+v, want %+v", p.ClosedLocations, want)
				}
			},
		},
		{
			name:  "owed location grants are given in the run where the location exists",
			users: Users(CU("1"), CU("2")),
			locs:  CLocs("1", "2", "3"),
			cur:   []visitor.User{VU("1", VAcc("loc-1:user,loc-h:user"))},
			owed: []OwedGrant{
				{ExternalID: "condeco:1", Location: "condeco-location:2"}, // exists now
				{ExternalID: "condeco:1", Location: "condeco-location:3"}, // created by this plan
				{ExternalID: "condeco:2", Location: "condeco-location:3"}, // a create gives it anyway
			},
			check: func(t *testing.T, p *Plan) {
				WantAccess(t, FindChange(t, p.Updates, "condeco:1").Desired.Access, AllUser+",pending:condeco-location:3:user")
				want := []OwedGrant{
					{ExternalID: "condeco:1", Location: "condeco-location:2", Key: "loc-2"},
					{ExternalID: "condeco:1", Location: "condeco-location:3", Key: "pending:condeco-location:3"},
					{ExternalID: "condeco:2", Location: "condeco-location:3", Key: "pending:condeco-location:3"},
				}
				if !slices.Equal(p.OwedGrants, want) || p.Summary.OwedGrants != 3 {
					t.Errorf("owed = %+v (summary %d), want %+v", p.OwedGrants, p.Summary.OwedGrants, want)
				}
			},
		},
		{
			name:  "owed location grant ends when held, closed or the user left, and stays while the location is missing",
			users: Users(CU("1"), CU("2")),
			locs:  []condeco.Location{{ID: "1", Name: "London"}, {ID: "2", Name: "Paris", Closed: true}, {ID: "3", Name: "Hand-made lobby"}},
			cur:   []visitor.User{VU("1"), VU("2")},
			opt:   func(o *Options) { o.AdoptExistingLocations = false },
			owed: []OwedGrant{
				{ExternalID: "condeco:1", Location: "condeco-location:1"}, // user 1 holds it
				{ExternalID: "condeco:1", Location: "condeco-location:2"}, // closed
				{ExternalID: "condeco:9", Location: "condeco-location:1"}, // left Condeco
				{ExternalID: "condeco:2", Location: "condeco-location:3"}, // in a name conflict: kept
				{ExternalID: "condeco:2", Location: "condeco-location:4"}, // gone from Condeco
			},
			check: func(t *testing.T, p *Plan) {
				want := []OwedGrant{{ExternalID: "condeco:2", Location: "condeco-location:3"}}
				if !slices.Equal(p.OwedGrants, want) || p.Summary.OwedGrants != 0 {
					t.Errorf("owed = %+v, want %+v", p.OwedGrants, want)
				}
				WantCounts(t, p, 0, 0, 0, 0, 2)
			},
		},
		{
			name:  "existing user is not given new locations by default",
			users: Users(CU("1")),
			locs:  CLocs("1", "2", "3"),
			cur:   []visitor.User{VU("1")},
			check: func(t *testing.T, p *Plan) { WantCounts(t, p, 0, 0, 0, 0, 1) },
		},
		{
			name:  "existing user gets new locations when GrantNewLocationsToExistingUsers",
			users: Users(CU("1")),
			locs:  CLocs("1", "2", "3"),
			cur:   []visitor.User{VU("1", VAcc("loc-1:user,loc-2:reception"))},
			opt:   func(o *Options) { o.GrantNewLocationsToExistingUsers = true },
			check: func(t *testing.T, p *Plan) {
				c := FindChange(t, p.Updates, "condeco:1")
				WantAccess(t, c.Desired.Access, "loc-1:user,loc-2:reception,loc-h:user,pending:condeco-location:3:user")
			},
		},
		{
			name:  "hand-granted access is kept",
			users: Users(CU("1"), CU("2", Global)),
			cur: []visitor.User{
				VU("1", VAcc("loc-1:reception,loc-2:admin")),
				VU("2", VAcc("loc-1:admin,loc-h:admin")),
			},
			check: func(t *testing.T, p *Plan) { WantCounts(t, p, 0, 0, 0, 0, 2) },
		},
		{
			name:  "hand-set role on the default location is kept alone, never joined by user",
			users: Users(CU("1"), CU("2"), CU("3")),
			cur: []visitor.User{
				VU("1", VGiven("Old"), VAcc("loc-1:reception,loc-2:user")),
				VU("2", VAcc("loc-1:security,loc-2:user,loc-h:user")),
				// A listing that breaks the contract is brought back to it.
				VU("3", VAcc("loc-1:assistant,loc-1:user,loc-2:user")),
			},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 2, 0, 0, 1)
				WantAccess(t, FindChange(t, p.Updates, "condeco:1").Desired.Access, "loc-1:reception,loc-2:user")
				c := FindChange(t, p.Updates, "condeco:3")
				WantAccess(t, c.Desired.Access, "loc-1:assistant,loc-2:user")
				if c.AdminChange != "" {
					t.Errorf("admin change = %q, want none", c.AdminChange)
				}
			},
		},
		{
			name:  "global admin gets admin on the default location in place of a hand-set role, which the change names",
			users: Users(CU("1", Global)),
			cur:   []visitor.User{VU("1", VAcc("loc-1:reception,loc-2:user,loc-h:security"))},
			check: func(t *testing.T, p *Plan) {
				c := FindChange(t, p.Updates, "condeco:1")
				WantAccess(t, c.Desired.Access, "loc-1:admin,loc-2:user,loc-h:security")
				if c.AdminChange != "grant" || c.Replaced() != "loc-1:reception" || !strings.Contains(c.Reason, "reception") {
					t.Errorf("admin change %q replaced %q reason %q", c.AdminChange, c.Replaced(), c.Reason)
				}
			},
		},
		{
			name:   "user demoted from global admin loses exactly the admin the sync granted",
			users:  Users(CU("1"), CU("2")),
			grants: &GrantsRecord{Admin: []AdminGrant{{ExternalID: "condeco:1", LocationID: "loc-1"}, {ExternalID: "condeco:2", LocationID: "loc-1", Replaced: visitor.RoleReception}}},
			cur:    []visitor.User{VU("1", VAcc("loc-1:admin,loc-2:admin")), VU("2", VAcc("loc-1:admin,loc-2:user"))},
			check: func(t *testing.T, p *Plan) {
				c := FindChange(t, p.Updates, "condeco:1")
				WantAccess(t, c.Desired.Access, "loc-1:user,loc-2:admin") // admin on loc-2 was never the sync's
				if c.AdminChange != "revoke" || p.Summary.AdminChanges != 2 || c.Record == nil || c.Record.Revoke == nil || c.Record.Revoke.LocationID != "loc-1" {
					t.Errorf("admin change = %q, record %+v, summary %d", c.AdminChange, c.Record, p.Summary.AdminChanges)
				}
				// The grant had replaced a hand-set role: that role comes back.
				WantAccess(t, FindChange(t, p.Updates, "condeco:2").Desired.Access, "loc-1:reception,loc-2:user")
			},
		},
		{
			name:   "admin granted by hand on the default location is kept, for ordinary users too",
			users:  Users(CU("1"), CU("2", Level(condeco.LevelCountryAdmin))),
			grants: &GrantsRecord{Admin: []AdminGrant{{ExternalID: "condeco:9", LocationID: "loc-1"}}},
			cur:    []visitor.User{VU("1", VAcc("loc-1:admin,loc-2:user,loc-h:user")), VU("2", VGiven("Old"), VAcc("loc-1:admin,loc-2:admin"))},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 1, 0, 0, 1)
				c := FindChange(t, p.Updates, "condeco:2")
				WantAccess(t, c.Desired.Access, "loc-1:admin,loc-2:admin")
				if c.AdminChange != "" || c.Record != nil || p.Summary.AdminChanges != 0 || len(p.Warnings) != 0 {
					t.Errorf("admin change %q record %+v summary %d warnings %+v", c.AdminChange, c.Record, p.Summary.AdminChanges, p.Warnings)
				}
			},
		},
		{
			name:  "without a grants record no admin role is revoked, and each kept one is a warning with the fix",
			users: Users(CU("1"), CU("2", Global)),
			cur:   []visitor.User{VU("1", VAcc("loc-1:admin,loc-2:user,loc-h:user")), VU("2", VAcc("loc-1:admin,loc-2:user,loc-h:user"))},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 2)
				WantIssue(t, p.Warnings, "condeco:1", "no grants record")
				if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0].Fix, "by hand in Visitor") {
					t.Errorf("warnings = %+v, want one for condeco:1 with the fix", p.Warnings)
				}
			},
		},
		{
			name:   "the sync records the admin it grants on the default location, and the role it replaced",
			users:  Users(CU("1", Global), CU("2", Global), CU("3", Global)),
			grants: &GrantsRecord{},
			cur:    []visitor.User{VU("2", VAcc("loc-1:security,loc-2:user")), VU("3", VAcc("loc-1:admin,loc-2:user,loc-h:user"))},
			check: func(t *testing.T, p *Plan) {
				if r := FindChange(t, p.Creates, "condeco:1").Record; r == nil || r.Grant == nil || *r.Grant != (AdminGrant{ExternalID: "condeco:1", LocationID: "loc-1"}) {
					t.Errorf("create record = %+v", r)
				}
				if r := FindChange(t, p.Updates, "condeco:2").Record; r == nil || r.Grant == nil || r.Grant.Replaced != visitor.RoleSecurity {
					t.Errorf("promotion record = %+v, want a grant replacing security", r)
				}
				// Already admin: nothing granted, so nothing recorded.
				WantCounts(t, p, 1, 1, 0, 0, 1)
			},
		},
		{
			name:  "user promoted to global admin gains admin on the default location",
			users: Users(CU("1", Global)),
			cur:   []visitor.User{VU("1")},
			check: func(t *testing.T, p *Plan) {
				c := FindChange(t, p.Updates, "condeco:1")
				WantAccess(t, c.Desired.Access, "loc-1:admin,loc-2:user,loc-h:user")
				if len(c.Changes) != 1 || c.Changes[0].Field != visitor.FieldAccess || c.AdminChange != "grant" {
					t.Errorf("changes = %+v admin %q", c.Changes, c.AdminChange)
				}
			},
		},
		{
			name:  "location admin becomes admin on mapped location when LocationAdmins",
			users: Users(CU("1", Level(condeco.LevelLocationAdmin), AtLoc("2")), CU("2", Level(condeco.LevelLocationAdmin), AtLoc("2"))),
			cur:   []visitor.User{VU("2")},
			opt:   func(o *Options) { o.LocationAdmins = true },
			check: func(t *testing.T, p *Plan) {
				WantAccess(t, FindChange(t, p.Creates, "condeco:1").Desired.Access, "loc-1:user,loc-2:admin,loc-h:user")
				WantAccess(t, FindChange(t, p.Updates, "condeco:2").Desired.Access, "loc-1:user,loc-2:admin,loc-h:user")
			},
		},
		{
			name:  "location admin gets no admin role while LocationAdmins is off (the default)",
			users: Users(CU("1", Level(condeco.LevelLocationAdmin), AtLoc("2"))),
			cur:   []visitor.User{VU("2")},
			check: func(t *testing.T, p *Plan) {
				WantAccess(t, FindChange(t, p.Creates, "condeco:1").Desired.Access, AllUser)
				if p.Summary.AdminChanges != 0 {
					t.Errorf("admin changes = %d, want 0", p.Summary.AdminChanges)
				}
			},
		},
		{
			name:  "hand-granted locations and roles are kept when other fields change",
			users: Users(CU("1"), CU("2", Global)),
			cur: []visitor.User{
				// user 1: no access to loc-h (removed by hand), reception on the
				// default location, admin on loc-2; user 2: security and
				// assistant elsewhere.
				VU("1", VGiven("Old"), VAcc("loc-1:reception,loc-2:admin")),
				VU("2", VGiven("Old"), VAcc("loc-1:admin,loc-2:security,loc-h:assistant")),
			},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 2, 0, 0, 0)
				for ext, was := range map[string]string{
					"condeco:1": "loc-1:reception,loc-2:admin",
					"condeco:2": "loc-1:admin,loc-2:security,loc-h:assistant",
				} {
					c := FindChange(t, p.Updates, ext)
					WantAccess(t, c.Desired.Access, was)
					if len(c.Changes) != 1 || c.Changes[0].Field != visitor.FieldGivenName || c.AdminChange != "" {
						t.Errorf("%s changes = %+v admin %q, want givenName only", ext, c.Changes, c.AdminChange)
					}
				}
			},
		},
		{
			name:  "unmanaged visitor user with the same userName is planned as a create",
			users: Users(CU("1")),
			cur:   []visitor.User{VU("9", VExt(""), VName("user1@example.com"))},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 1, 0, 0, 0, 0)
				if p.Summary.Managed != 0 {
					t.Errorf("managed = %d, want 0", p.Summary.Managed)
				}
			},
		},
		{
			name:       "hand-made look-alike is adopted keeping every role it holds, an adoption and not a create",
			users:      Users(CU("1"), CU("2")),
			lookAlikes: []visitor.User{VU("9", VExt(""), VName("user1@example.com"), VGiven("Hand"), VAcc("loc-1:admin,loc-2:admin"))},
			opt:        func(o *Options) { o.AdoptExistingUsers = true },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 1, 0, 0, 0, 0)
				if len(p.Adoptions) != 1 || p.Summary.Adoptions != 1 || p.Summary.AdminChanges != 0 {
					t.Fatalf("adoptions %+v (summary %d), admin changes %d; want one, none", p.Adoptions, p.Summary.Adoptions, p.Summary.AdminChanges)
				}
				c := p.Adoptions[0]
				WantAccess(t, c.Desired.Access, "loc-1:admin,loc-2:admin,loc-h:user")
				if c.Action != ActionAdopt || c.VisitorID != "v-9" || c.Desired.ExternalID != "condeco:1" || c.Changes[0].Field != visitor.FieldExternalID {
					t.Errorf("adoption = %+v", c)
				}
			},
		},
		{
			name:       "adopting a global admin is an admin change, in the first full sync too",
			users:      Users(CU("1", Global)),
			lookAlikes: []visitor.User{VU("9", VExt(""), VName("user1@example.com"), VAcc("loc-1:reception"))},
			opt:        func(o *Options) { o.AdoptExistingUsers = true },
			check: func(t *testing.T, p *Plan) {
				if !p.Initial || len(p.Adoptions) != 1 || p.Summary.AdminChanges != 1 {
					t.Fatalf("initial %v, adoptions %d, admin changes %d; want an initial plan with one adoption, one admin change", p.Initial, len(p.Adoptions), p.Summary.AdminChanges)
				}
				c := p.Adoptions[0]
				WantAccess(t, c.Desired.Access, "loc-1:admin,loc-2:user,loc-h:user")
				if c.Replaced() != "loc-1:reception" || c.Record.Grant == nil {
					t.Errorf("record %+v, want a grant replacing loc-1:reception", c.Record)
				}
			},
		},
		{
			name:       "look-alike owned by another source is a conflict, and without adopt_existing_users a create",
			users:      Users(CU("1"), CU("2")),
			lookAlikes: []visitor.User{VU("8", VExt("okta:8"), VName("user1@example.com")), VU("9", VExt(""), VName("user2@example.com"))},
			opt:        func(o *Options) { o.AdoptExistingUsers = true },
			check: func(t *testing.T, p *Plan) {
				WantIssue(t, p.Conflicts, "condeco:1", "externalId okta:8")
				if len(p.Adoptions) != 1 || p.Adoptions[0].ExternalID != "condeco:2" {
					t.Errorf("adoptions = %+v, want condeco:2's", p.Adoptions)
				}
				off := planCase{users: Users(CU("2")), lookAlikes: []visitor.User{VU("9", VExt(""), VName("user2@example.com"))}}.build(t)
				if len(off.Adoptions) != 0 || len(off.Creates) != 1 {
					t.Errorf("adopt off: adoptions %d creates %d, want 0, 1", len(off.Adoptions), len(off.Creates))
				}
			},
		},
		{
			name:       "an owed grant stays owed, not carried, when the user's create is a look-alike conflict; an adoption carries it",
			users:      Users(CU("1"), CU("2")),
			locs:       CLocs("1", "2", "3"),
			lookAlikes: []visitor.User{VU("8", VExt("okta:8"), VName("user1@example.com")), VU("9", VExt(""), VName("user2@example.com"))},
			owed: []OwedGrant{
				{ExternalID: "condeco:1", Location: "condeco-location:3"},
				{ExternalID: "condeco:2", Location: "condeco-location:3"},
			},
			opt: func(o *Options) { o.AdoptExistingUsers = true },
			check: func(t *testing.T, p *Plan) {
				WantIssue(t, p.Conflicts, "condeco:1", "externalId okta:8")
				want := []OwedGrant{
					{ExternalID: "condeco:1", Location: "condeco-location:3"},
					{ExternalID: "condeco:2", Location: "condeco-location:3", Key: "pending:condeco-location:3"},
				}
				if !slices.Equal(p.OwedGrants, want) || p.Summary.OwedGrants != 1 {
					t.Errorf("owed = %+v (summary %d), want %+v", p.OwedGrants, p.Summary.OwedGrants, want)
				}
			},
		},
		{
			name:  "users without the managed prefix are never updated or deleted",
			users: Users(CU("1")),
			cur:   []visitor.User{VU("1"), VU("2", VExt("okta:2")), VU("3", VExt("condecox3"))},
			check: func(t *testing.T, p *Plan) { WantCounts(t, p, 0, 0, 0, 0, 1) },
		},
		{
			name:  "email change updates userName in place",
			users: Users(CU("1", Email("ana.new@example.com"))),
			cur:   []visitor.User{VU("1")},
			check: func(t *testing.T, p *Plan) {
				c := FindChange(t, p.Updates, "condeco:1")
				if c.VisitorID != "v-1" || c.Desired.UserName != "ana.new@example.com" || c.Desired.Email != "ana.new@example.com" {
					t.Errorf("update = %+v", c)
				}
				want := FieldChange{Field: visitor.FieldUserName, Old: "user1@example.com", New: "ana.new@example.com"}
				if len(c.Changes) != 1 || c.Changes[0] != want {
					t.Errorf("changes = %+v", c.Changes)
				}
			},
		},
		{
			name:  "email change to a userName another managed user keeps is a conflict",
			users: Users(CU("1", Email("user2@example.com")), CU("2"), CU("3", Global, Email("user2@example.com"))),
			cur:   []visitor.User{VU("1"), VU("2"), VU("3")},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 1, 0, 0, 1)
				WantIssue(t, p.Conflicts, "condeco:1", "already uses")
				WantIssue(t, p.Conflicts, "condeco:3", "already uses")
				// The other changes of a user with a blocked rename still go through.
				c := FindChange(t, p.Updates, "condeco:3")
				if c.Desired.UserName != "user3@example.com" || len(c.Changes) != 1 || c.Changes[0].Field != visitor.FieldAccess {
					t.Errorf("update = %+v", c)
				}
			},
		},
		{
			name:  "userName freed by a rename or a delete can be taken in the same plan",
			users: Users(CU("1", Email("user2@example.com")), CU("2", Email("two@example.com")), CU("4", Email("user3@example.com"))),
			cur:   []visitor.User{VU("1"), VU("2"), VU("3")},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 1, 2, 1, 0, 0)
				if len(p.Conflicts) != 0 {
					t.Errorf("conflicts = %+v", p.Conflicts)
				}
			},
		},
		{
			name:  "protected user is never changed or deleted",
			users: Users(CU("1", Global), CU("5")),
			cur:   []visitor.User{VU("1"), VU("2"), VU("3")},
			opt:   func(o *Options) { o.ProtectedUsers = []string{"USER1@example.com", "condeco:2", "user5@example.com"} },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 1, 0, 0)
				FindChange(t, p.Deletes, "condeco:3")
				WantIssue(t, p.Skipped, "condeco:1", "protected")
				WantIssue(t, p.Skipped, "condeco:2", "protected")
				WantIssue(t, p.Skipped, "condeco:5", "protected")
			},
		},
		{
			name:  "held source user is left exactly as is",
			users: Users(CU("1")),
			held:  []string{"2"},
			cur:   []visitor.User{VU("1"), VU("2", VGiven("Stale"))},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 1)
				WantIssue(t, p.Held, "condeco:2", "held")
			},
		},
		{
			name:     "held source row not in Visitor yet is listed as held with its rule",
			users:    Users(CU("1")),
			held:     []string{"2", "3"},
			problems: []condeco.RowError{{Table: "users", RowID: "3", Field: "first_name", Rule: "must not contain \"_\""}},
			cur:      []visitor.User{VU("1"), VU("2")},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 1)
				WantIssue(t, p.Held, "condeco:2", "Visitor user left as is")
				WantIssue(t, p.Held, "condeco:3", `users row 3: field first_name: must not contain "_"; not created`)
				if p.Summary.Held != 2 || len(p.Held) != 2 {
					t.Errorf("held = %d (%+v), want 2", p.Summary.Held, p.Held)
				}
			},
		},
		{
			name:      "held row without a usable id protects its Visitor user by userName",
			users:     Users(CU("1")),
			heldNames: []string{strings.ToUpper(VU("2").UserName)},
			cur:       []visitor.User{VU("1"), VU("2")},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 1)
				WantIssue(t, p.Held, "condeco:2", "held")
			},
		},
		{
			name:  "deprovision delete removes a departed user",
			users: Users(CU("1")),
			cur:   []visitor.User{VU("1"), VU("2")},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 1, 0, 1)
				if c := FindChange(t, p.Deletes, "condeco:2"); c.VisitorID != "v-2" || c.Before == nil {
					t.Errorf("delete = %+v", c)
				}
			},
		},
		{
			name:  "deprovision deactivate sets active false and leaves inactive users",
			users: Users(CU("1")),
			cur:   []visitor.User{VU("1"), VU("2"), VU("3", Inactive(400))},
			opt:   func(o *Options) { o.Deprovision = DeprovisionDeactivate },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 1, 2)
				c := FindChange(t, p.Deactivates, "condeco:2")
				if c.Desired.Active || len(c.Changes) != 1 || c.Changes[0].Field != visitor.FieldActive {
					t.Errorf("deactivate = %+v", c)
				}
			},
		},
		{
			name:  "deactivate-then-delete deactivates now and deletes after DeleteAfter days",
			users: Users(CU("1")),
			cur: []visitor.User{VU("1"), VU("2"), VU("3", Inactive(31)), VU("4", Inactive(29)),
				VU("5", InactiveFor(30*24*time.Hour)), VU("6", InactiveFor(30*24*time.Hour-time.Minute))},
			opt: func(o *Options) { o.Deprovision, o.DeleteAfter = DeprovisionDeactivateThenDelete, 30 },
			check: func(t *testing.T, p *Plan) {
				// 2 deactivated now; 3 (31 days) and 5 (exactly 30) deleted;
				// 4 (29 days) and 6 (a minute short of 30) left; 1 unchanged.
				WantCounts(t, p, 0, 0, 2, 1, 3)
				FindChange(t, p.Deactivates, "condeco:2")
				FindChange(t, p.Deletes, "condeco:3")
				if c := FindChange(t, p.Deletes, "condeco:5"); !strings.Contains(c.Reason, "inactive since 2026-10-23") {
					t.Errorf("reason = %q", c.Reason)
				}
			},
		},
		{
			name:  "deactivate-then-delete never deletes a user whose deactivation time is unknown",
			users: Users(CU("1")),
			cur:   []visitor.User{VU("1"), VU("2", Inactive(400), VLastModifiedZero)},
			opt:   func(o *Options) { o.Deprovision = DeprovisionDeactivateThenDelete },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 1)
				WantIssue(t, p.Skipped, "condeco:2", "no lastModified")
			},
		},
		{
			name:  "deactivated user back in condeco is reactivated",
			users: Users(CU("1")),
			cur:   []visitor.User{VU("1", Inactive(5))},
			opt:   func(o *Options) { o.Deprovision = DeprovisionDeactivate },
			check: func(t *testing.T, p *Plan) {
				c := FindChange(t, p.Updates, "condeco:1")
				if !c.Desired.Active || len(c.Changes) != 1 || c.Changes[0] != (FieldChange{Field: visitor.FieldActive, Old: "false", New: "true"}) {
					t.Errorf("reactivate = %+v", c.Changes)
				}
			},
		},
		{
			name:  "deactivated in condeco deactivates the same account, access kept, whatever deprovision says",
			users: Users(CU("1"), CU("2", deactivatedRow)),
			cur:   []visitor.User{VU("1"), VU("2", VAcc("loc-1:reception,loc-2:user,loc-h:user"))},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 1, 1)
				c := FindChange(t, p.Deactivates, "condeco:2")
				if c.VisitorID != "v-2" || c.Desired.Active || len(c.Changes) != 1 || c.Changes[0].Field != visitor.FieldActive || c.Reason != "deactivated in Condeco" {
					t.Errorf("deactivate = %+v", c)
				}
				WantAccess(t, c.Desired.Access, "loc-1:reception,loc-2:user,loc-h:user")
			},
		},
		{
			name:  "deactivated in condeco and inactive in Visitor is never deleted, even by deactivate-then-delete",
			users: Users(CU("1"), CU("2", deactivatedRow)),
			cur:   []visitor.User{VU("1"), VU("2", Inactive(400))},
			opt:   func(o *Options) { o.Deprovision = DeprovisionDeactivateThenDelete },
			check: func(t *testing.T, p *Plan) { WantCounts(t, p, 0, 0, 0, 0, 2) },
		},
		{
			name:  "deactivated in condeco without a Visitor account creates nothing",
			users: Users(CU("1"), CU("2", deactivatedRow)),
			cur:   []visitor.User{VU("1")},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 1)
				if len(p.Skipped)+len(p.Conflicts)+len(p.Held) != 0 || p.Summary.SourceUsers != 2 {
					t.Errorf("issues %+v %+v %+v, source users %d", p.Skipped, p.Conflicts, p.Held, p.Summary.SourceUsers)
				}
			},
		},
		{
			name:  "reactivated in condeco reactivates the same account with its hand-granted access",
			users: Users(CU("1")),
			cur:   []visitor.User{VU("1", Inactive(5), VAcc("loc-1:reception,loc-2:user,loc-h:user"))},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 1, 0, 0, 0)
				c := FindChange(t, p.Updates, "condeco:1")
				if c.VisitorID != "v-1" || !c.Desired.Active || len(c.Changes) != 1 || c.Changes[0].Field != visitor.FieldActive {
					t.Errorf("reactivate = %+v", c)
				}
				WantAccess(t, c.Desired.Access, "loc-1:reception,loc-2:user,loc-h:user")
			},
		},
		{
			name:  "a deactivated row renames nobody: its account keeps its userName",
			users: Users(CU("1"), CU("2", deactivatedRow, Email("moved@example.com")), CU("10", Email("user2@example.com"))),
			cur:   []visitor.User{VU("1"), VU("2", Inactive(5))},
			opt:   func(o *Options) { o.Deprovision = DeprovisionDeactivate },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 2)
				wantRehireConflict(t, p, "deprovision: deactivate deletes no one")
			},
		},
		{
			name:  "policy upsert-only leaves a deactivated row's account active",
			users: Users(CU("1"), CU("2", deactivatedRow)),
			cur:   []visitor.User{VU("1"), VU("2")},
			opt:   func(o *Options) { o.Policy = PolicyUpsertOnly },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 1)
				WantIssue(t, p.Skipped, "condeco:2", "policy upsert-only: deactivated in Condeco but not deactivated")
			},
		},
		{
			name:  "rehire: the inactive old account is deleted and the new one created",
			users: Users(CU("1"), CU("2", deactivatedRow), CU("10", Email("user2@example.com"))),
			cur:   []visitor.User{VU("1"), VU("2", Inactive(5))},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 1, 0, 1, 0, 1)
				if c := FindChange(t, p.Deletes, "condeco:2"); c.VisitorID != "v-2" || !strings.Contains(c.Reason, "goes to condeco:10") {
					t.Errorf("delete = %+v", c)
				}
				if c := FindChange(t, p.Creates, "condeco:10"); c.Desired.UserName != "user2@example.com" {
					t.Errorf("create = %+v", c)
				}
				if len(p.Conflicts) != 0 {
					t.Errorf("conflicts = %+v", p.Conflicts)
				}
			},
		},
		{
			name:  "rehire in the run that deactivates the old account deletes it instead",
			users: Users(CU("1"), CU("2", deactivatedRow), CU("10", Email("user2@example.com"))),
			cur:   []visitor.User{VU("1"), VU("2")},
			opt:   func(o *Options) { o.Deprovision = DeprovisionDeactivateThenDelete },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 1, 0, 1, 0, 1)
				FindChange(t, p.Deletes, "condeco:2")
				FindChange(t, p.Creates, "condeco:10")
			},
		},
		{
			name:  "rehire of a departed, inactive account under deactivate-then-delete deletes it before its due date",
			users: Users(CU("1"), CU("10", Email("user2@example.com"))),
			cur:   []visitor.User{VU("1"), VU("2", Inactive(5)), VU("3", Inactive(400), VLastModifiedZero)},
			opt:   func(o *Options) { o.Deprovision = DeprovisionDeactivateThenDelete },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 1, 0, 1, 0, 1)
				FindChange(t, p.Deletes, "condeco:2")
				WantIssue(t, p.Skipped, "condeco:3", "no lastModified")
			},
		},
		{
			name:  "rehire under deprovision deactivate is a conflict naming both accounts",
			users: Users(CU("1"), CU("2", deactivatedRow), CU("10", Email("user2@example.com"))),
			cur:   []visitor.User{VU("1"), VU("2", Inactive(5))},
			opt:   func(o *Options) { o.Deprovision = DeprovisionDeactivate },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 2)
				wantRehireConflict(t, p, "deprovision: deactivate deletes no one")
			},
		},
		{
			name:  "rehire beyond max_deletes is a conflict naming both accounts",
			users: Users(CU("1"), CU("2", deactivatedRow), CU("10", Email("user2@example.com"))),
			cur:   []visitor.User{VU("1"), VU("2", Inactive(5))},
			opt:   func(o *Options) { o.MaxDeletes = 0 },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 2)
				wantRehireConflict(t, p, "would exceed max_deletes (0)")
			},
		},
		{
			name:  "rehire under policy upsert-only is a conflict naming both accounts",
			users: Users(CU("1"), CU("10", Email("user2@example.com"))),
			cur:   []visitor.User{VU("1"), VU("2", Inactive(5))},
			opt:   func(o *Options) { o.Policy = PolicyUpsertOnly },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 1)
				wantRehireConflict(t, p, "policy upsert-only deletes no one")
			},
		},
		{
			name:  "policy upsert-only creates and updates but never deletes or deactivates",
			users: Users(CU("1", Global), CU("4")),
			cur:   []visitor.User{VU("1"), VU("2"), VU("3")},
			opt:   func(o *Options) { o.Policy = PolicyUpsertOnly },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 1, 1, 0, 0, 0)
				WantIssue(t, p.Skipped, "condeco:2", "upsert-only")
				WantIssue(t, p.Skipped, "condeco:3", "upsert-only")
			},
		},
		{
			name:  "policy create-only only creates",
			users: Users(CU("1", Global), CU("4")),
			locs:  CLocs("1", "2", "3"),
			cur:   []visitor.User{VU("1"), VU("2")},
			opt:   func(o *Options) { o.Policy = PolicyCreateOnly },
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 1, 0, 0, 0, 0)
				WantIssue(t, p.Skipped, "condeco:1", "create-only")
				WantIssue(t, p.Skipped, "condeco:2", "create-only")
				if len(p.LocationCreates) != 1 {
					t.Errorf("location creates = %d, want 1", len(p.LocationCreates))
				}
			},
		},
		{
			name:  "update carries only the differing fields with old and new values",
			users: Users(CU("1", Phone("+442071234567"))),
			cur:   []visitor.User{VU("1", VGiven("Old"), VPhone("+33123456789"), VDefault("loc-2"))},
			check: func(t *testing.T, p *Plan) {
				c := FindChange(t, p.Updates, "condeco:1")
				want := []FieldChange{
					{Field: visitor.FieldGivenName, Old: "Old", New: "First1"},
					{Field: visitor.FieldPhone, Old: "+33123456789", New: "+442071234567"},
					{Field: visitor.FieldDefaultLocation, Old: "loc-2", New: "loc-1"},
				}
				if got, _ := json.Marshal(c.Changes); string(got) != MustJSON(t, want) {
					t.Errorf("changes = %s", got)
				}
				if f := c.Fields(); len(f) != 3 || f[0] != visitor.FieldGivenName {
					t.Errorf("fields = %v", f)
				}
			},
		},
		{
			name:  "user in sync is counted unchanged even with a differently cased userName",
			users: Users(CU("1")),
			cur:   []visitor.User{VU("1", VName("User1@Example.com"))},
			check: func(t *testing.T, p *Plan) { WantCounts(t, p, 0, 0, 0, 0, 1) },
		},
		{
			name:  "invitations send",
			users: Users(CU("1")),
			check: func(t *testing.T, p *Plan) { wantInvite(t, p, true) },
		},
		{
			name:  "invitations suppress",
			users: Users(CU("1")),
			cur:   []visitor.User{VU("2")},
			opt:   func(o *Options) { o.Invitations = InvitationsSuppress },
			check: func(t *testing.T, p *Plan) { wantInvite(t, p, false) },
		},
		{
			name:  "invitations suppress-initial suppresses the first full sync",
			users: Users(CU("1")),
			opt:   func(o *Options) { o.Invitations = InvitationsSuppressInitial },
			check: func(t *testing.T, p *Plan) {
				if !p.Initial {
					t.Error("plan not initial")
				}
				wantInvite(t, p, false)
			},
		},
		{
			name:  "invitations suppress-initial sends once managed users exist",
			users: Users(CU("1"), CU("2")),
			cur:   []visitor.User{VU("2")},
			opt:   func(o *Options) { o.Invitations = InvitationsSuppressInitial },
			check: func(t *testing.T, p *Plan) { wantInvite(t, p, true) },
		},
		{
			name:      "invitations suppress-initial covers the first full sync's users after a failed first run",
			users:     Users(CU("1"), CU("2", Global), CU("3")),
			cur:       []visitor.User{VU("1")}, // the failed first run created only user 1
			firstSync: []string{"condeco:1", "condeco:2"},
			opt:       func(o *Options) { o.Invitations = InvitationsSuppressInitial },
			check: func(t *testing.T, p *Plan) {
				if p.Initial || !p.SendInvitations {
					t.Errorf("initial = %v sendInvitations = %v, want false, true", p.Initial, p.SendInvitations)
				}
				c2, c3 := FindChange(t, p.Creates, "condeco:2"), FindChange(t, p.Creates, "condeco:3")
				if c2.Desired.SendInvitation || !c3.Desired.SendInvitation {
					t.Errorf("invitations: first-sync user 2 %v, new user 3 %v; want false, true", c2.Desired.SendInvitation, c3.Desired.SendInvitation)
				}
				// A Global admin of the first full sync is no admin change.
				if c2.AdminChange != "" || p.Summary.AdminChanges != 0 {
					t.Errorf("admin change = %q, summary %d", c2.AdminChange, p.Summary.AdminChanges)
				}
			},
		},
		{
			name:      "invitations send ignores the first-sync record",
			users:     Users(CU("1"), CU("2")),
			cur:       []visitor.User{VU("1")},
			firstSync: []string{"condeco:1", "condeco:2"},
			check:     func(t *testing.T, p *Plan) { wantInvite(t, p, true) },
		},
		{
			name:  "externalId on two visitor users is a conflict and neither is touched",
			users: Users(CU("1")),
			cur:   []visitor.User{VU("1", VGiven("A")), func() visitor.User { u := VU("1"); u.ID = "v-dup"; return u }()},
			check: func(t *testing.T, p *Plan) {
				WantCounts(t, p, 0, 0, 0, 0, 0)
				WantIssue(t, p.Conflicts, "condeco:1", "on 2 Visitor users")
			},
		},
		{
			name:  "new admins count as admin changes only after the initial sync",
			users: Users(CU("1", Global), CU("2", Global)),
			cur:   []visitor.User{VU("2")},
			check: func(t *testing.T, p *Plan) {
				if p.Summary.AdminChanges != 2 {
					t.Errorf("admin changes = %d, want 2", p.Summary.AdminChanges)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.build(t)
			wantContract(t, p)
			c.check(t, p)
		})
	}
}

// wantContract fails a plan that sends Visitor an access list its
// contract refuses (visitor.CheckAccess: one role per location), whatever
// the case is about.
func wantContract(t *testing.T, p *Plan) {
	t.Helper()
	for _, cs := range [][]UserChange{p.Creates, p.Adoptions, p.Updates} {
		for _, c := range cs {
			if err := visitor.CheckAccess(c.Desired.Access); err != nil {
				t.Errorf("%s %s: %v", c.Action, c.ExternalID, err)
			}
		}
	}
}

// deactivatedRow marks a Condeco row deactivated (its active column 0).
func deactivatedRow(u *condeco.User) { u.Inactive = true }

// wantRehireConflict checks the conflict of the rehire condeco:10, whose
// userName user2@example.com the inactive account v-2 (condeco:2) holds:
// its reason and fix name both accounts, and nothing is deleted.
func wantRehireConflict(t *testing.T, p *Plan, why string) {
	t.Helper()
	WantIssue(t, p.Conflicts, "condeco:10", why)
	for _, is := range p.Conflicts {
		if is.ExternalID != "condeco:10" {
			continue
		}
		for _, w := range []string{"user2@example.com", "v-2", "condeco:2", "rehire"} {
			if !strings.Contains(is.Reason, w) {
				t.Errorf("reason %q lacks %q", is.Reason, w)
			}
		}
		for _, w := range []string{"v-2", "condeco:2", "user2@example.com", "condeco:10"} {
			if !strings.Contains(is.Fix, w) {
				t.Errorf("fix %q lacks %q", is.Fix, w)
			}
		}
	}
	if len(p.Deletes)+len(p.Creates) != 0 {
		t.Errorf("deletes %+v creates %+v, want none", p.Deletes, p.Creates)
	}
}

func wantInvite(t *testing.T, p *Plan, want bool) {
	t.Helper()
	if p.SendInvitations != want {
		t.Errorf("plan sendInvitations = %v, want %v", p.SendInvitations, want)
	}
	for _, c := range p.Creates {
		if c.Desired.SendInvitation != want {
			t.Errorf("%s sendInvitation = %v, want %v", c.ExternalID, c.Desired.SendInvitation, want)
		}
	}
}

func TestBuildPlanErrors(t *testing.T) {
	two := BaseLocs()
	two[1].Default = true
	none := BaseLocs()
	none[0].Default = false
	cases := []struct {
		name  string
		exp   *condeco.Export
		locs  []visitor.Location
		opt   func(*Options)
		want  error
		words string
	}{
		{"nil export", nil, BaseLocs(), nil, ErrNilExport, "no export"},
		{"no default location", &condeco.Export{}, none, nil, ErrNoDefaultLocation, "no location marked default"},
		{"two default locations", &condeco.Export{}, two, nil, ErrNoDefaultLocation, "loc-1, loc-2"},
		{"configured default location missing", &condeco.Export{}, BaseLocs(), func(o *Options) { o.DefaultLocationID = "loc-x" }, ErrNoDefaultLocation, `"loc-x"`},
		{"unknown policy", &condeco.Export{}, BaseLocs(), func(o *Options) { o.Policy = "mirror" }, nil, `policy: "mirror"`},
		{"unknown deprovision", &condeco.Export{}, BaseLocs(), func(o *Options) { o.Deprovision = "archive" }, nil, "deprovision"},
		{"unknown invitations", &condeco.Export{}, BaseLocs(), func(o *Options) { o.Invitations = "later" }, nil, "invitations"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			if c.opt != nil {
				c.opt(&o)
			}
			_, err := BuildPlan(c.exp, Current{Locations: c.locs}, o, T0)
			if err == nil || !strings.Contains(err.Error(), c.words) {
				t.Fatalf("err = %v, want it to mention %q", err, c.words)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("err = %v, want errors.Is %v", err, c.want)
			}
		})
	}
}

// TestBuildPlanStable: the same inputs in any order give byte-identical
// JSON, so dry-run output and golden files can be diffed.
func TestBuildPlanStable(t *testing.T) {
	exp := &condeco.Export{Users: Users(CU("3"), CU("1", Global), CU("2")), Locations: CLocs("3", "1", "2")}
	cur := []visitor.User{VU("9"), VU("2", VGiven("X")), VU("8")}
	a, err := BuildPlan(exp, Current{Users: cur, Locations: BaseLocs()}, DefaultOptions(), T0)
	if err != nil {
		t.Fatal(err)
	}
	exp2 := &condeco.Export{Users: Users(CU("2"), CU("3"), CU("1", Global)), Locations: CLocs("2", "3", "1")}
	cur2 := []visitor.User{VU("8"), VU("9"), VU("2", VGiven("X"))}
	locs := BaseLocs()
	locs[0], locs[2] = locs[2], locs[0]
	b, err := BuildPlan(exp2, Current{Users: cur2, Locations: locs}, DefaultOptions(), T0)
	if err != nil {
		t.Fatal(err)
	}
	if ja, jb := MustJSON(t, a), MustJSON(t, b); ja != jb {
		t.Errorf("plans differ:\n%s\n%s", ja, jb)
	}
}

// The first-sync record covers the first full sync only: once it has
// completed, a user it named who is created again (a leaver back a year
// later) gets the invitation like any new starter.
func TestFirstSyncRecordEndsWhenTheFirstSyncCompleted(t *testing.T) {
	o := DefaultOptions()
	o.Invitations = InvitationsSuppressInitial
	exp := &condeco.Export{Users: Users(CU("1"), CU("2")), Locations: CLocs("1", "2")}
	for _, tc := range []struct {
		name   string
		target *TargetRecord
		invite bool
	}{
		{"first sync not completed: still part of it", &TargetRecord{ActiveManaged: 1}, false},
		{"no record: still part of it", nil, false},
		{"first sync completed: a new starter", &TargetRecord{ActiveManaged: 1, FirstSyncDone: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := Current{Users: []visitor.User{VU("1")}, Locations: BaseLocs(), FirstSync: []string{"condeco:1", "condeco:2"}, Target: tc.target}
			p, err := BuildPlan(exp, cur, o, T0)
			if err != nil {
				t.Fatal(err)
			}
			if c := FindChange(t, p.Creates, "condeco:2"); c.Desired.SendInvitation != tc.invite {
				t.Errorf("invitation = %v, want %v", c.Desired.SendInvitation, tc.invite)
			}
		})
	}
}
