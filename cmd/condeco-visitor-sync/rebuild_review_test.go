package main

import (
	"testing"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

// A Condeco row deactivated (exported with its id alone) whose Visitor
// account the sync created and deactivated: --rebuild-ownership cannot
// match it by email, lists it as "in Visitor only (never touched)", and
// the sync never deletes it when the row leaves Condeco nor reactivates
// it (409 on create) when the row is active again.
func TestReviewRebuildOrphansDeactivatedUsers(t *testing.T) {
	cond := []condeco.User{{ID: "7", Inactive: true}}
	listed := []visitor.User{{ID: "v7", UserName: "gone@example.com", Active: false}}
	owned, visitorOnly, _, _ := matchOwnership(cond, listed, "condeco:")
	if len(owned) != 1 {
		t.Fatalf("deactivated account not reclaimed: owned %v, visitor only %v", owned, visitorOnly)
	}
}
