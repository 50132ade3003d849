package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"

	"condeco-visitor-sync/condeco"
	. "condeco-visitor-sync/sync/internal/synctest"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/sync")

const goldenDir = "../../testdata/sync"

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
		t.Fatalf("%v (run go test ./sync/runner -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run with -update if the change is intended\ngot:\n%s", name, got)
	}
}

func goldenPlan(t *testing.T, name string, p *plan.Plan, limits error) {
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

// TestGoldenDemoDays plans the demo's day two from the demo's own data:
// testdata/condeco/schema.sql and sample.sql read through the real Condeco
// reader (embedded SQLite) are synced to the fake as day one, then day2.sql
// (a new user, a renamed user, a departed user, a new location, a promotion
// to Global admin) is applied and planned. testdata/sync/day2.plan.json and
// day2.table.txt are that plan; refresh with go test ./sync/runner -run Golden -update.
func TestGoldenDemoDays(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "condeco.db")
	db, err := sqlx.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sqlDir := filepath.Join("..", "..", "testdata", "condeco")
	for _, f := range []string{"schema.sql", "sample.sql"} {
		if err := condeco.ExecFile(ctx, db, filepath.Join(sqlDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	// The configuration defaults of the demo (config.Default*).
	store, err := condeco.Open(ctx, condeco.Options{Driver: "sqlite", DSN: dbPath, GlobalAdminLevels: []int{1}, PhoneRegion: "GB"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	// The simulator's one location at start, as in make demo.
	f := NewFake([]visitor.Location{{ID: "loc-primary", Name: "Eptura HQ (integration default)", CompanyID: "CO-PRIMARY", Default: true}})
	r, _ := newRunner(nil, f, func(o *opts) { o.Concurrency = 1 }) // ids in creation order: stable golden files
	r.Source = store
	// The sample's deactivated rows are exported with their state; with
	// no Visitor account yet, nothing is created for them.
	day0, err := store.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inactive := 0
	for _, u := range day0.Users {
		if u.Inactive {
			inactive++
		}
	}
	if inactive == 0 {
		t.Fatal("the sample has no deactivated rows: the day-one count below proves less")
	}
	rep := run(t, r, Flags{})
	day1 := rep.Plan.Summary
	if rep.Counts.Created != day1.SourceUsers-inactive || rep.Counts.Failed != 0 || day1.Held == 0 || rep.Counts.Held != day1.Held ||
		rep.Counts.LocationsCreated != day1.SourceLocations-day1.ClosedLocations || day1.ClosedLocations != 1 {
		t.Fatalf("day one: counts %+v, plan %+v", rep.Counts, day1)
	}

	if err := condeco.ExecFile(ctx, db, filepath.Join(sqlDir, "day2.sql")); err != nil {
		t.Fatal(err)
	}
	day2, err := store.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	us, _ := f.ListManagedUsers(ctx, plan.DefaultExternalIDPrefix)
	ls, _ := f.ListLocations(ctx)
	p2, err := plan.BuildPlan(day2, plan.Current{Users: us, Locations: ls}, r.Plan, T0)
	if err != nil {
		t.Fatal(err)
	}
	goldenPlan(t, "day2", p2, plan.CheckLimits(p2, activeCount(us), r.Plan, plan.Approvals{}))
	// The five changes of day2.sql, one each, and the same held rows.
	if s := p2.Summary; s.Creates != 1 || s.Updates != 2 || s.Deletes != 1 || s.LocationCreates != 1 || s.AdminChanges != 1 ||
		s.Deactivates != 0 || s.Conflicts != 0 || s.Held != day1.Held {
		t.Errorf("day two summary = %+v", s)
	}
	for ext, what := range map[string]string{"condeco:231": "create", "condeco:20": "update", "condeco:21": "delete", "condeco:22": "update"} {
		found := false
		for _, c := range append(append(p2.Creates, p2.Updates...), p2.Deletes...) {
			found = found || (c.ExternalID == ext && string(c.Action) == what)
		}
		if !found {
			t.Errorf("day two plans no %s of %s", what, ext)
		}
	}
	if c := FindChange(t, p2.Updates, "condeco:22"); c.AdminChange != "grant" {
		t.Errorf("promotion admin change = %q", c.AdminChange)
	}
	if lc := p2.LocationCreates; len(lc) != 1 || lc[0].Location.Name != "Manchester Piccadilly" {
		t.Errorf("location creates = %+v", lc)
	}

	rep = run(t, r, Flags{})
	if c := rep.Counts; c.Created != 1 || c.Updated != 2 || c.Deleted != 1 || c.LocationsCreated != 1 || c.Failed != 0 {
		t.Errorf("day two counts = %+v", c)
	}
	rep = run(t, r, Flags{DryRun: true})
	if !rep.Plan.Empty() || rep.Counts.Held != day1.Held {
		t.Errorf("after day two the plan is not empty: %+v", rep.Plan.Summary)
	}
}

// TestGoldenSmallDays is a six-user initial sync with suppressed
// invitations and a day two with an email change (userName follows it),
// a departure, a new location and a promotion, from hand-written exports.
func TestGoldenSmallDays(t *testing.T) {
	var locs []visitor.Location
	var day1, day2 condeco.Export
	readJSON(t, "visitor-locations.json", &locs)
	readJSON(t, "small-day1-export.json", &day1)
	readJSON(t, "small-day2-export.json", &day2)
	f := NewFake(locs)
	r, _ := newRunner(&day1, f, func(o *opts) {
		o.Concurrency = 1 // ids in creation order, so the golden files are stable
		o.Invitations = plan.InvitationsSuppressInitial
	})
	ctx := context.Background()
	cur := func() plan.Current {
		us, _ := f.ListManagedUsers(ctx, plan.DefaultExternalIDPrefix)
		ls, _ := f.ListLocations(ctx)
		return plan.Current{Users: us, Locations: ls}
	}

	p1, err := plan.BuildPlan(&day1, cur(), r.Plan, T0)
	if err != nil {
		t.Fatal(err)
	}
	goldenPlan(t, "small-day1", p1, plan.CheckLimits(p1, p1.Summary.Managed, r.Plan, plan.Approvals{}))
	rep := run(t, r, Flags{})
	if rep.Counts.Created != 6 || rep.Counts.LocationsCreated != 2 {
		t.Fatalf("day one counts = %+v", rep.Counts)
	}

	p2, err := plan.BuildPlan(&day2, cur(), r.Plan, T0)
	if err != nil {
		t.Fatal(err)
	}
	limits := plan.CheckLimits(p2, activeCount(cur().Users), r.Plan, plan.Approvals{})
	goldenPlan(t, "small-day2", p2, limits)
	if s := p2.Summary; s.Creates != 1 || s.Updates != 2 || s.Deletes != 1 || s.LocationCreates != 1 || s.AdminChanges != 1 {
		t.Errorf("day two summary = %+v", s)
	}

	r.Source = FakeSource{Exp: &day2}
	rep = run(t, r, Flags{Approvals: plan.Approvals{AllowDeletes: 1}})
	if c := rep.Counts; c.Created != 1 || c.Updated != 2 || c.Deleted != 1 || c.LocationsCreated != 1 || c.Unchanged != 3 {
		t.Errorf("day two counts = %+v", c)
	}
	gina, _ := f.ByExt("condeco:1007")
	if len(gina.Access) != 4 {
		t.Errorf("new user access = %v", gina.Access)
	}
	p3, err := plan.BuildPlan(&day2, cur(), r.Plan, T0)
	if err != nil || !p3.Empty() {
		t.Errorf("after day two the plan is not empty: %v %+v", err, p3.Summary)
	}
}
