package sync

import (
	"fmt"
	"testing"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

// BenchmarkBuildPlan10k plans a day two for 10 000 users (1 % changed).
func BenchmarkBuildPlan10k(b *testing.B) {
	exp := &condeco.Export{Locations: clocs("1", "2", "3")}
	var cur []visitor.User
	for i := range 10000 {
		id := fmt.Sprintf("%05d", i)
		exp.Users = append(exp.Users, cu(id))
		u := vu(id)
		if i%100 == 0 {
			u.GivenName = "Changed"
		}
		cur = append(cur, u)
	}
	o := DefaultOptions()
	b.ReportAllocs()
	for b.Loop() {
		p, err := BuildPlan(exp, Current{Users: cur, Locations: baseLocs()}, o, t0)
		if err != nil || p.Summary.Updates != 100 {
			b.Fatalf("err %v summary %+v", err, p.Summary)
		}
	}
}
