package plan_test

import (
	"testing"
	"time"

	"condeco-visitor-sync/condeco"

	. "condeco-visitor-sync/sync/internal/synctest"
	. "condeco-visitor-sync/sync/plan"
)

// One revocation expires the run another admin is demoted: the list has
// a new revocation (user2), yet as the count of revocations is the same,
// Changed is false and the notification leaves the new work out.
func TestByHandRevocationSwapIsAChange(t *testing.T) {
	prev := &ByHandRecord{Admins: []string{"user2@example.com"},
		Revoke:    []HandRevoke{{UserName: "user1@example.com", Since: T0.Add(-ByHandRevokeKeep - time.Hour)}},
		Locations: []string{"1", "2", "4"}}
	exp := &condeco.Export{Users: Users(CU("1"), CU("2")), Locations: cityLocs()}
	p, err := BuildPlan(exp, Current{Capabilities: genericCaps(), ByHand: prev}, DefaultOptions(), T0)
	if err != nil {
		t.Fatal(err)
	}
	h := p.ByHand
	if len(h.RevokeAdmin) != 1 || h.RevokeAdmin[0].UserName != "user2@example.com" {
		t.Fatalf("revoke %+v, want user2", h.RevokeAdmin)
	}
	if !h.Changed {
		t.Errorf("user2 newly to revoke, but Changed is false: not notified")
	}
}

// A Global admin whose row is held for one run (a bad value elsewhere in
// it) drops off the whole admin list and out of the record; the next run,
// the row valid again, lists the admin as new: a by-hand notification for
// nothing, each time a row flaps. A held row should carry its admin over.
func TestByHandHeldAdminIsNotNewNextRun(t *testing.T) {
	prev := &ByHandRecord{Admins: []string{"user1@example.com"}, Locations: []string{"1", "2", "4"}}
	held := &condeco.Export{Users: Users(CU("2")), Locations: cityLocs(),
		Held: []string{"1"}, HeldUserNames: []string{"user1@example.com"}}
	p, err := BuildPlan(held, Current{Capabilities: genericCaps(), ByHand: prev}, DefaultOptions(), T0)
	if err != nil {
		t.Fatal(err)
	}
	next := p.ByHand.Next
	back := &condeco.Export{Users: Users(CU("1", Global), CU("2")), Locations: cityLocs()}
	p2, err := BuildPlan(back, Current{Capabilities: genericCaps(), ByHand: &next}, DefaultOptions(), T0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if h := p2.ByHand; h.Changed || len(h.NewAdmins) > 0 {
		t.Errorf("admin held one run is listed as new the next (new %v, changed %v); held run's admin list %v",
			h.NewAdmins, h.Changed, p.ByHand.MakeAdmin)
	}
}
