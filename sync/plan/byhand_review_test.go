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
func TestReviewByHandRevocationSwapIsAChange(t *testing.T) {
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
