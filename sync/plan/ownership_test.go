package plan_test

import (
	"testing"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

// A Condeco row deactivated with a valid email keeps its userName in the
// export: --rebuild-ownership matches its (deactivated) Visitor account
// like any other, so the sync deletes it when the row leaves Condeco and
// reactivates it when the row is active again. A deactivated row whose
// other values broke a rule is exported with its id alone and cannot be
// matched by email: its account is listed as "in Visitor only", never
// claimed by a guess (found by review; docs/operations.md says so).
func TestRebuildMatchesDeactivatedRowsByEmail(t *testing.T) {
	cond := []condeco.User{{ID: "7", UserName: "gone@example.com", Email: "gone@example.com", Inactive: true}, {ID: "8", Inactive: true}}
	listed := []visitor.User{{ID: "v7", UserName: "gone@example.com", Active: false}, {ID: "v8", UserName: "broken@example.com", Active: false}}
	owned, visitorOnly, _, _ := plan.MatchOwnership(cond, listed, "condeco:")
	if len(owned) != 1 || owned[0].ID != "v7" || owned[0].ExternalID != "condeco:7" {
		t.Fatalf("deactivated account with its email not reclaimed: owned %v", owned)
	}
	if len(visitorOnly) != 1 || visitorOnly[0] != "broken@example.com" {
		t.Fatalf("visitor only %v, want the account of the id-only row", visitorOnly)
	}
}
