package plan_test

import (
	"testing"

	"condeco-visitor-sync/visitor"

	. "condeco-visitor-sync/sync/internal/synctest"
	. "condeco-visitor-sync/sync/plan"
)

// NextGrants: a grant is recorded only once its change succeeded, a
// revoke forgets it only then, and an entry the listing no longer backs is
// dropped (dropping makes the sync keep a role, never take one).
func TestNextGrants(t *testing.T) {
	g := func(ext string) *AdminGrant { return &AdminGrant{ExternalID: ext, LocationID: "loc-1"} }
	listed := []visitor.User{
		VU("1", VAcc("loc-1:admin,loc-2:user")), // recorded, still admin
		VU("2", VAcc("loc-1:user,loc-2:user")),  // recorded, admin taken away by hand
		VU("3", VAcc("loc-1:admin")),            // demoted: revoke planned
		VU("4", VAcc("loc-1:user")),             // promoted: grant planned
		VU("5", VAcc("loc-1:user")),             // promoted, but the write failed
		VU("6", VAcc("loc-1:admin")),            // deleted by this run
	}
	old := &GrantsRecord{Admin: []AdminGrant{*g("condeco:1"), *g("condeco:2"), *g("condeco:3"), *g("condeco:6"), *g("condeco:7")}} // 7: not listed
	p := &Plan{
		Updates: []UserChange{
			{Action: ActionUpdate, ExternalID: "condeco:3", Record: &RecordChange{Revoke: g("condeco:3")}},
			{Action: ActionUpdate, ExternalID: "condeco:4", Record: &RecordChange{Grant: g("condeco:4")}},
			{Action: ActionUpdate, ExternalID: "condeco:5", Record: &RecordChange{Grant: g("condeco:5")}},
		},
		Creates: []UserChange{{Action: ActionCreate, ExternalID: "condeco:8", Record: &RecordChange{Grant: g("condeco:8")}}},
		Deletes: []UserChange{{Action: ActionDelete, ExternalID: "condeco:6"}},
	}
	done := func(c *UserChange) bool { return c.ExternalID != "condeco:5" }
	for _, tc := range []struct {
		name string
		old  *GrantsRecord
		want []string
	}{
		{"with a record", old, []string{"condeco:1", "condeco:4", "condeco:8"}},
		{"without a record: only this run's grants", nil, []string{"condeco:4", "condeco:8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NextGrants(tc.old, listed, p, done)
			var exts []string
			for _, a := range got.Admin {
				exts = append(exts, a.ExternalID)
			}
			if MustJSON(t, exts) != MustJSON(t, tc.want) {
				t.Errorf("next record = %v, want %v", exts, tc.want)
			}
		})
	}
}
