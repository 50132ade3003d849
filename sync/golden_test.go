package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/sync")

const goldenDir = "../testdata/sync"

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./sync -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run with -update if the change is intended\ngot:\n%s", name, got)
	}
}

func goldenPlan(t *testing.T, name string, p *Plan, limits error) {
	t.Helper()
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, name+".plan.json", append(b, '\n'))
	var tb bytes.Buffer
	if err := p.WriteTable(&tb); err != nil {
		t.Fatal(err)
	}
	if limits != nil {
		tb.WriteString("\n" + limits.Error() + "\n")
	}
	golden(t, name+".table.txt", tb.Bytes())
}

// TestGoldenDemoDays plans the demo's first full sync and its day two (a new
// user, a renamed user, a departed user, a new location, a promotion to
// Global admin), applying day one to the fake so day two starts from what
// Visitor really holds after it.
func TestGoldenDemoDays(t *testing.T) {
	var locs []visitor.Location
	var day1, day2 condeco.Export
	readJSON(t, "visitor-locations.json", &locs)
	readJSON(t, "day1-export.json", &day1)
	readJSON(t, "day2-export.json", &day2)
	f := newFake(locs)
	r, _ := newRunner(&day1, f, func(o *Options) {
		o.Concurrency = 1 // ids in creation order, so the golden files are stable
		o.Invitations = InvitationsSuppressInitial
	})
	ctx := context.Background()
	cur := func() Current {
		us, _ := f.ListManagedUsers(ctx, DefaultExternalIDPrefix)
		ls, _ := f.ListLocations(ctx)
		return Current{Users: us, Locations: ls}
	}

	p1, err := BuildPlan(&day1, cur(), r.Options, t0)
	if err != nil {
		t.Fatal(err)
	}
	goldenPlan(t, "day1", p1, CheckLimits(p1, p1.Summary.Managed, r.Options, Approvals{}))
	rep := run(t, r, RunFlags{})
	if rep.Counts.Created != 6 || rep.Counts.LocationsCreated != 2 {
		t.Fatalf("day one counts = %+v", rep.Counts)
	}

	p2, err := BuildPlan(&day2, cur(), r.Options, t0)
	if err != nil {
		t.Fatal(err)
	}
	limits := CheckLimits(p2, p2.Summary.Managed, r.Options, Approvals{})
	goldenPlan(t, "day2", p2, limits)
	if s := p2.Summary; s.Creates != 1 || s.Updates != 2 || s.Deletes != 1 || s.LocationCreates != 1 || s.AdminChanges != 1 {
		t.Errorf("day two summary = %+v", s)
	}

	r.Source = fakeSource{exp: &day2}
	rep = run(t, r, RunFlags{Approvals: Approvals{AllowDeletes: 1}})
	if c := rep.Counts; c.Created != 1 || c.Updated != 2 || c.Deleted != 1 || c.LocationsCreated != 1 || c.Unchanged != 3 {
		t.Errorf("day two counts = %+v", c)
	}
	gina, _ := f.byExt("condeco:1007")
	if len(gina.Access) != 4 {
		t.Errorf("new user access = %v", gina.Access)
	}
	p3, err := BuildPlan(&day2, cur(), r.Options, t0)
	if err != nil || !p3.Empty() {
		t.Errorf("after day two the plan is not empty: %v %+v", err, p3.Summary)
	}
}
