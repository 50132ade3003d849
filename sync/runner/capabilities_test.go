package runner

import (
	"testing"

	. "condeco-visitor-sync/sync/internal/synctest"
	"condeco-visitor-sync/visitor"
)

// TestRunOnceTargetWithoutLocations: the runner gives the planner the
// target's capabilities, through the gate. A target without locations is
// not asked for them, and its users are created without access lists.
func TestRunOnceTargetWithoutLocations(t *testing.T) {
	caps := visitor.SCIM2Capabilities()
	caps.Locations, caps.LocationRoles = false, false
	f := NewFake(nil)
	f.Caps = &caps
	exp := export(CU("1", Global), CU("2"))
	r, _ := newRunner(exp, f, nil)
	r.Target = GatedTarget(f, NewGate())
	rep := run(t, r, Flags{})
	if rep.Counts.Created != 2 || rep.Counts.LocationsCreated != 0 || len(rep.Plan.LocationCreates) != 0 {
		t.Fatalf("counts = %+v, location creates %v", rep.Counts, rep.Plan.LocationCreates)
	}
	for _, ext := range []string{"condeco:1", "condeco:2"} {
		if u, _ := f.ByExt(ext); len(u.Access) != 0 || u.DefaultLocation != "" {
			t.Errorf("%s created with access %v on %q", ext, u.Access, u.DefaultLocation)
		}
	}
	// One listing of users and two creates: no listing of locations.
	if rep.Requests != 3 || rep.MinRequests != 3 {
		t.Errorf("requests = %d, min %d; want 3 (no location listing)", rep.Requests, rep.MinRequests)
	}
}
