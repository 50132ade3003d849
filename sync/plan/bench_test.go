package plan_test

import (
	"fmt"
	"testing"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"

	. "condeco-visitor-sync/sync/internal/synctest"
	. "condeco-visitor-sync/sync/plan"
)

// BenchmarkBuildPlan10k plans a day two for 10 000 users (1 % changed).
func BenchmarkBuildPlan10k(b *testing.B) {
	exp := &condeco.Export{Locations: CLocs("1", "2", "3")}
	var cur []visitor.User
	for i := range 10000 {
		id := fmt.Sprintf("%05d", i)
		exp.Users = append(exp.Users, CU(id))
		u := VU(id)
		if i%100 == 0 {
			u.GivenName = "Changed"
		}
		cur = append(cur, u)
	}
	o := DefaultOptions()
	b.ReportAllocs()
	for b.Loop() {
		p, err := BuildPlan(exp, Current{Users: cur, Locations: BaseLocs()}, o, T0)
		if err != nil || p.Summary.Updates != 100 {
			b.Fatalf("err %v summary %+v", err, p.Summary)
		}
	}
}

// scale builds an enterprise-sized plan input: n Condeco users, one
// location per hundred (the ratio), and, when existing, Visitor
// already holding every user with every location, the lists shared the way
// visitor.Client decodes a listing. changed users get a new surname.
func scale(n int, existing bool, changed int) (*condeco.Export, Current) {
	nl := max(1, n/100)
	exp := &condeco.Export{}
	cur := Current{Locations: []visitor.Location{{ID: "loc-default", Name: "HQ", Default: true}}}
	for i := range nl {
		id := fmt.Sprintf("%d", i+1)
		exp.Locations = append(exp.Locations, condeco.Location{ID: id, Name: "Office " + id})
		cur.Locations = append(cur.Locations, visitor.Location{ID: fmt.Sprintf("loc-%05d", i+1),
			ExternalID: DefaultLocationExternalIDPrefix + id, Name: "Office " + id})
	}
	var user, admin []visitor.Access
	for _, l := range cur.Locations {
		user = append(user, visitor.Access{LocationID: l.ID, Role: visitor.RoleUser})
		role := visitor.RoleUser
		if l.Default {
			role = visitor.RoleAdmin
		}
		admin = append(admin, visitor.Access{LocationID: l.ID, Role: role})
	}
	user, admin = visitor.SortAccess(user), visitor.SortAccess(admin)
	step := n
	if changed > 0 {
		step = n / changed
	}
	for i := range n {
		id := fmt.Sprintf("%07d", i)
		u := CU(id)
		u.LocationID = fmt.Sprintf("%d", 1+i%nl)
		if i%200 == 3 {
			Global(&u)
		}
		exp.Users = append(exp.Users, u)
		if !existing {
			continue
		}
		v := VU(id)
		v.DefaultLocation, v.Access = "loc-default", user
		if u.GlobalAdmin {
			v.Access = admin
		}
		if changed > 0 && i%step == 0 {
			v.FamilyName = "Before"
		}
		cur.Users = append(cur.Users, v)
	}
	return exp, cur
}

// BenchmarkBuildPlanInitial100k plans the first sync of 100 000 users
// onto 1 000 existing locations: 100 000 creates, each with every location.
func BenchmarkBuildPlanInitial100k(b *testing.B) {
	exp, cur := scale(100_000, false, 0)
	o := DefaultOptions()
	b.ReportAllocs()
	for b.Loop() {
		p, err := BuildPlan(exp, cur, o, T0)
		if err != nil || p.Summary.Creates != 100_000 {
			b.Fatalf("err %v summary %+v", err, p.Summary)
		}
	}
}

// BenchmarkBuildPlanDay100k plans a day with 1 % of 100 000 users changed,
// 1 000 locations on every user.
func BenchmarkBuildPlanDay100k(b *testing.B) {
	exp, cur := scale(100_000, true, 1000)
	o := DefaultOptions()
	b.ReportAllocs()
	for b.Loop() {
		p, err := BuildPlan(exp, cur, o, T0)
		if err != nil || p.Summary.Updates != 1000 {
			b.Fatalf("err %v summary %+v", err, p.Summary)
		}
	}
}
