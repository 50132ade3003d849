package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/state"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/audit"
	. "condeco-visitor-sync/sync/internal/synctest"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

// opts are the plan's and apply's options as one flat struct, the way the
// configuration sets them.
type opts struct {
	plan.Options
	applyOptions
}

type applyOptions = apply.Options

func newRunner(exp *condeco.Export, f *Fake, opt func(*opts)) (*Runner, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	o := opts{Options: plan.DefaultOptions(), applyOptions: applyOptions{Concurrency: apply.DefaultConcurrency, VerifyWrites: apply.DefaultVerifyWrites}}
	if opt != nil {
		opt(&o)
	}
	n := 0
	return &Runner{Source: FakeSource{Exp: exp}, Target: f, Plan: o.Options, Apply: o.applyOptions, Log: zap.New(core),
		Now:      func() time.Time { return T0 },
		NewRunID: func() string { n++; return "run-" + string(rune('0'+n)) }}, logs
}

func export(us ...condeco.User) *condeco.Export {
	return &condeco.Export{Users: us, Locations: CLocs("1", "2"), RowsRead: len(us) + 2}
}

func run(t *testing.T, r *Runner, f Flags) *Report {
	t.Helper()
	rep, err := r.RunOnce(context.Background(), f)
	if err != nil {
		t.Fatalf("RunOnce: %v (report %+v)", err, rep)
	}
	return rep
}

func TestRunOnceInitialThenIdempotent(t *testing.T) {
	f := NewFake(BaseLocs())
	exp := export(CU("1", Global), CU("2"), CU("3"))
	exp.Locations = CLocs("1", "2", "3")
	r, logs := newRunner(exp, f, nil)
	rep := run(t, r, Flags{})
	if rep.Counts.Created != 3 || rep.Counts.LocationsCreated != 1 || rep.Counts.Failed != 0 {
		t.Fatalf("counts = %+v", rep.Counts)
	}
	if len(rep.LocationsCreated) != 1 || rep.LocationsCreated[0] != "condeco-location:3" {
		t.Errorf("locations created = %v", rep.LocationsCreated)
	}
	admin, _ := f.ByExt("condeco:1")
	WantAccess(t, admin.Access, "loc-1:admin,loc-2:user,loc-h:user,loc-new-4:user")
	if admin.DefaultLocation != "loc-1" {
		t.Errorf("default location = %s", admin.DefaultLocation)
	}
	if rep.Requests == 0 || rep.Requests != f.Requests() {
		t.Errorf("requests = %d, fake saw %d", rep.Requests, f.Requests())
	}
	if rep.SourceRows != 5 || rep.RunID != "run-1" {
		t.Errorf("source rows = %d, run id %q", rep.SourceRows, rep.RunID)
	}
	if n := logs.FilterMessage("user created").Len(); n != 3 {
		t.Errorf("%d 'user created' lines, want 3", n)
	}
	if n := logs.FilterMessage("location created").Len(); n != 1 {
		t.Errorf("%d 'location created' lines, want 1", n)
	}
	if n := logs.FilterMessage("sync run finished").Len(); n != 1 {
		t.Errorf("%d summary lines, want 1", n)
	}
	var shape map[string]any
	if err := json.Unmarshal([]byte(MustJSON(t, rep)), &shape); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"runId", "start", "end", "durationMs", "counts", "failures", "conflicts", "locationsCreated", "sourceRows", "requests", "plan"} {
		if _, ok := shape[k]; !ok {
			t.Errorf("report JSON lacks %q", k)
		}
	}

	writes := f.Writes.Load()
	rep = run(t, r, Flags{})
	if rep.Counts.Unchanged != 3 || rep.Counts.Created+rep.Counts.Updated+rep.Counts.Deleted != 0 {
		t.Errorf("second run counts = %+v", rep.Counts)
	}
	if f.Writes.Load() != writes {
		t.Errorf("second run wrote %d times", f.Writes.Load()-writes)
	}
}

func TestRunOnceDryRunWritesNothing(t *testing.T) {
	f := NewFake(BaseLocs(), VU("9"))
	exp := export(CU("1"), CU("2"), CU("3"), CU("4"), CU("5"), CU("6"), CU("7"), CU("8"), CU("10"), CU("11"))
	exp.Locations = CLocs("1", "2", "3")
	r, _ := newRunner(exp, f, nil)
	rep := run(t, r, Flags{DryRun: true, Approvals: plan.Approvals{AllowDeletes: 1}})
	if f.Writes.Load() != 0 {
		t.Errorf("dry run wrote %d times", f.Writes.Load())
	}
	if rep.Plan == nil || rep.Plan.Summary.Creates != 10 || rep.Plan.Summary.Deletes != 1 || !rep.DryRun {
		t.Errorf("dry-run plan = %+v", rep.Plan)
	}
}

func TestRunOnceLimitsStopBeforeWrites(t *testing.T) {
	cases := []struct {
		name string
		exp  *condeco.Export
		f    Flags
		want error
	}{
		{"empty export", export(), Flags{}, plan.ErrSourceGuard},
		{"shrunk export", export(CU("1"), CU("2"), CU("3"), CU("4"), CU("5"), CU("6"), CU("7"), CU("8")), Flags{}, plan.ErrSourceGuard},
		{"too many deletions in a dry run", export(CU("1"), CU("2"), CU("3"), CU("4"), CU("5"), CU("6"), CU("7"), CU("8")),
			Flags{DryRun: true, Approvals: plan.Approvals{AllowSourceShrink: true}}, plan.ErrSafetyLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cur []visitor.User
			for _, id := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"} {
				cur = append(cur, VU(id))
			}
			f := NewFake(BaseLocs(), cur...)
			r, _ := newRunner(c.exp, f, nil)
			rep, err := r.RunOnce(context.Background(), c.f)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if f.Writes.Load() != 0 {
				t.Errorf("wrote %d times despite the limit", f.Writes.Load())
			}
			if rep == nil || rep.Plan == nil || rep.Error == "" {
				t.Fatalf("report = %+v, want the plan and the error", rep)
			}
			// A stopped run's minimum is its listings: nothing beyond,
			// never a negative extra.
			if rep.MinRequests != rep.Requests || rep.ExtraRequests != 0 {
				t.Errorf("requests %d, minimum %d, extra %d; want the listings only", rep.Requests, rep.MinRequests, rep.ExtraRequests)
			}
		})
	}
}

func TestRunOnceApprovedDeletionsApply(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1"), VU("2"), VU("3"))
	r, _ := newRunner(export(CU("1"), CU("2")), f, func(o *opts) { o.SourceMinShare = 0.5 })
	if _, err := r.RunOnce(context.Background(), Flags{}); !errors.Is(err, plan.ErrSafetyLimit) {
		t.Fatalf("err = %v, want the delete share limit (1 of 3)", err)
	}
	rep := run(t, r, Flags{Approvals: plan.Approvals{AllowDeletes: 1}})
	if rep.Counts.Deleted != 1 {
		t.Errorf("deleted = %d", rep.Counts.Deleted)
	}
	if _, ok := f.ByExt("condeco:3"); ok {
		t.Error("condeco:3 still in Visitor")
	}
}

func TestRunOnceOneFailureDoesNotStopOthers(t *testing.T) {
	f := NewFake(BaseLocs(), VU("4", VGiven("Old")))
	f.Fail["create:user2@example.com"] = SCIMErr(500, "", "boom")
	f.Fail["update:user4@example.com"] = SCIMErr(400, "invalidValue", "bad name")
	r, logs := newRunner(export(CU("1"), CU("2"), CU("3"), CU("4")), f, nil)
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("err = %v, want ErrPartial", err)
	}
	if rep.Counts.Created != 2 || rep.Counts.Failed != 2 {
		t.Fatalf("counts = %+v", rep.Counts)
	}
	got := map[string]plan.Action{}
	for _, fl := range rep.Failures {
		got[fl.User] = fl.Action
		if fl.Reason == "" {
			t.Errorf("failure without reason: %+v", fl)
		}
	}
	if got["user2@example.com"] != plan.ActionCreate || got["user4@example.com"] != plan.ActionUpdate {
		t.Errorf("failures = %+v", rep.Failures)
	}
	if logs.FilterMessage("user change failed").Len() != 2 {
		t.Errorf("want 2 failure log lines")
	}
	// The next run plans the failed changes again.
	rep = run(t, r, Flags{})
	if rep.Counts.Created != 1 || rep.Counts.Updated != 1 || rep.Counts.Unchanged != 2 {
		t.Errorf("retry counts = %+v", rep.Counts)
	}
}

func TestRunOnceCreateConflicts(t *testing.T) {
	hand := visitor.User{ID: "h-1", UserName: "user1@example.com", Email: "user1@example.com", GivenName: "Hand",
		FamilyName: "Made", Active: true, DefaultLocation: "loc-2", Access: Acc("loc-2:reception,loc-h:admin")}
	cases := []struct {
		name      string
		existing  visitor.User
		adopt     bool
		protected []string
		wantFix   string
		adopted   bool
		skipped   bool
	}{
		{name: "unmanaged user without adopt is a conflict with the fix", existing: hand, wantFix: "adopt_existing_users"},
		{name: "adopt claims an unmanaged user with empty externalId", existing: hand, adopt: true, adopted: true},
		{name: "adopt leaves a user owned by another source", existing: func() visitor.User { u := hand; u.ExternalID = "okta:77"; return u }(),
			adopt: true, wantFix: "another source"},
		{name: "adopt leaves a protected user", existing: hand, adopt: true, protected: []string{"user1@example.com"}, skipped: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := NewFake(BaseLocs(), c.existing)
			r, _ := newRunner(export(CU("1", Global)), f, func(o *opts) {
				o.AdoptExistingUsers = c.adopt
				o.ProtectedUsers = c.protected
			})
			rep, err := r.RunOnce(context.Background(), Flags{})
			got, _ := f.GetUser(context.Background(), "h-1")
			if c.adopted {
				if err != nil || rep.Counts.Adopted != 1 {
					t.Fatalf("err = %v counts = %+v", err, rep.Counts)
				}
				if got.ExternalID != "condeco:1" || got.GivenName != "First1" || got.DefaultLocation != "loc-1" {
					t.Errorf("adopted user = %+v", got)
				}
				// Every role the hand-made user held is kept (admin on
				// loc-h too); the Global admin's admin is added.
				WantAccess(t, got.Access, "loc-1:admin,loc-2:reception,loc-h:admin")
				return
			}
			if c.skipped {
				if err != nil || rep.Counts.Skipped != 1 || f.Writes.Load() != 0 {
					t.Errorf("err = %v counts = %+v writes %d", err, rep.Counts, f.Writes.Load())
				}
				return
			}
			if !errors.Is(err, ErrPartial) || rep.Counts.Conflicts != 1 || len(rep.Conflicts) != 1 {
				t.Fatalf("err = %v, counts %+v", err, rep.Counts)
			}
			if !strings.Contains(rep.Conflicts[0].Fix, c.wantFix) {
				t.Errorf("fix = %q, want it to mention %q", rep.Conflicts[0].Fix, c.wantFix)
			}
			if !equalJSON(t, got, c.existing) {
				t.Errorf("Visitor user changed: %+v", got)
			}
		})
	}
}

func equalJSON(t *testing.T, a, b any) bool { return MustJSON(t, a) == MustJSON(t, b) }

func TestRunOnceEmailChangeRefusedIsConflict(t *testing.T) {
	other := visitor.User{ID: "h-1", UserName: "taken@example.com", Email: "taken@example.com", GivenName: "T", FamilyName: "K", Active: true}
	f := NewFake(BaseLocs(), VU("1"), other)
	r, _ := newRunner(export(CU("1", Email("taken@example.com"))), f, nil)
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) || rep.Counts.Conflicts != 1 {
		t.Fatalf("err = %v counts %+v", err, rep.Counts)
	}
	c := rep.Conflicts[0]
	if c.ExternalID != "condeco:1" || !strings.Contains(c.Fix, "taken@example.com") || !strings.Contains(c.Reason, "409") {
		t.Errorf("conflict = %+v", c)
	}
	if u, _ := f.ByExt("condeco:1"); u.UserName != "user1@example.com" {
		t.Errorf("userName = %s", u.UserName)
	}
}

func TestRunOnceRefusedRenameStillAppliesOtherFields(t *testing.T) {
	other := visitor.User{ID: "h-1", UserName: "taken@example.com", Email: "taken@example.com", GivenName: "T", FamilyName: "K", Active: true}
	f := NewFake(BaseLocs(), VU("1"), other)
	r, _ := newRunner(export(CU("1", Global, Email("taken@example.com"))), f, nil)
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) || rep.Counts.Conflicts != 1 || rep.Counts.Updated != 1 || rep.Counts.Failed != 0 {
		t.Fatalf("err = %v counts %+v failures %+v", err, rep.Counts, rep.Failures)
	}
	u, _ := f.ByExt("condeco:1")
	if u.UserName != "user1@example.com" {
		t.Errorf("userName = %s", u.UserName)
	}
	WantAccess(t, u.Access, "loc-1:admin,loc-2:user,loc-h:user")
}

func TestRunOnceVerifyCountsMismatchAsFailure(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1", VGiven("Old")))
	f.Drop[visitor.FieldGivenName] = true
	r, _ := newRunner(export(CU("1")), f, nil)
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) || rep.Counts.Updated != 0 || rep.Counts.Failed != 1 {
		t.Fatalf("err = %v counts %+v", err, rep.Counts)
	}
	if !strings.Contains(rep.Failures[0].Reason, `givenName is "Old", want "First1"`) {
		t.Errorf("reason = %q", rep.Failures[0].Reason)
	}
}

// memOwed is an OwedGrantStore in memory.
type memOwed struct {
	grants []plan.OwedGrant
	writes int
}

func (m *memOwed) ReadOwedGrants() ([]plan.OwedGrant, error) { return slices.Clone(m.grants), nil }
func (m *memOwed) WriteOwedGrants(_ string, _ time.Time, g []plan.OwedGrant) error {
	m.grants, m.writes = slices.Clone(g), m.writes+1
	return nil
}

// A location that cannot be created fails alone: the users that need it
// are created (and updated) with the locations that exist, the grant is
// owed, and the run in which the location exists gives it.
func TestRunOnceLocationFailureFailsOnlyItself(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1", VGiven("Old")))
	f.Fail["location:berlin"] = SCIMErr(500, "", "down")
	exp := export(CU("1"), CU("2"))
	exp.Locations = CLocs("1", "2", "3")
	r, _ := newRunner(exp, f, nil)
	owed := &memOwed{}
	r.Owed = owed
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("err = %v", err)
	}
	if rep.Counts.Updated != 1 || rep.Counts.Created != 1 || rep.Counts.Failed != 1 || rep.Counts.LocationsCreated != 0 {
		t.Fatalf("counts = %+v failures %+v", rep.Counts, rep.Failures)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].Action != plan.ActionCreateLocation || rep.Failures[0].ExternalID != "condeco-location:3" {
		t.Errorf("failures = %+v, want only the location create", rep.Failures)
	}
	u2, _ := f.ByExt("condeco:2")
	WantAccess(t, u2.Access, AllUser)
	want := []plan.OwedGrant{{ExternalID: "condeco:2", UserName: "user2@example.com", Location: "condeco-location:3"}}
	if !slices.Equal(owed.grants, want) {
		t.Fatalf("owed = %+v, want %+v", owed.grants, want)
	}

	// Next run: Berlin is created and user 2 gets it; user 1, who was
	// never owed it, does not (grant_new_locations_to_existing_users off).
	rep = run(t, r, Flags{})
	if rep.Counts.LocationsCreated != 1 || rep.Counts.Updated != 1 || rep.Plan.Summary.OwedGrants != 1 {
		t.Fatalf("counts = %+v summary %+v", rep.Counts, rep.Plan.Summary)
	}
	u2, _ = f.ByExt("condeco:2")
	berlin := rep.LocationsCreated[0]
	var berlinID string
	for _, l := range f.Locations() {
		if l.ExternalID == berlin {
			berlinID = l.ID
		}
	}
	WantAccess(t, u2.Access, AllUser+","+berlinID+":user")
	u1, _ := f.ByExt("condeco:1")
	WantAccess(t, u1.Access, AllUser)
	if len(owed.grants) != 0 || owed.writes != 2 {
		t.Errorf("owed = %+v after %d writes, want none left", owed.grants, owed.writes)
	}
	// A third run has nothing to do and writes no record.
	rep = run(t, r, Flags{})
	if !rep.Plan.Empty() || owed.writes != 2 {
		t.Errorf("third run: plan empty %v, owed writes %d", rep.Plan.Empty(), owed.writes)
	}
}

// A rename Visitor refuses (409) is a conflict of that location alone;
// an --only run leaves renames to the next full run.
func TestRunOnceLocationRenameRefusedIsAConflict(t *testing.T) {
	f := NewFake(BaseLocs())
	f.Fail["update-location:paris"] = SCIMErr(409, "uniqueness", "location name taken")
	exp := export(CU("1"), CU("2"))
	exp.Locations = []condeco.Location{{ID: "1", Name: "London"}, {ID: "2", Name: "Paris Nord"}}
	r, _ := newRunner(exp, f, nil)
	rep, err := r.RunOnce(context.Background(), Flags{Only: []string{"1"}})
	if err != nil || rep.Plan.Summary.LocationUpdates != 0 || rep.Counts.Created != 1 {
		t.Fatalf("--only run: %v, summary %+v, counts %+v", err, rep.Plan.Summary, rep.Counts)
	}
	rep, err = r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("err = %v", err)
	}
	if rep.Counts.Created != 1 || rep.Counts.Conflicts != 1 || rep.Counts.LocationsUpdated != 0 || len(rep.Conflicts) != 1 ||
		rep.Conflicts[0].ExternalID != "condeco-location:2" || rep.Conflicts[0].Fix == "" {
		t.Fatalf("counts %+v conflicts %+v", rep.Counts, rep.Conflicts)
	}
	// The refusal was one-off: the next run renames.
	rep = run(t, r, Flags{})
	if rep.Counts.LocationsUpdated != 1 || f.Locations()[1].Name != "Paris Nord" {
		t.Errorf("counts %+v, locations %+v", rep.Counts, f.Locations())
	}
}

func TestRunOnceConcurrencyBounded(t *testing.T) {
	f := NewFake(BaseLocs())
	var us []condeco.User
	for i := range 24 {
		us = append(us, CU(string(rune('a'+i))))
	}
	// The first writes wait for a fourth to join them: if the run let one
	// in, MaxInFlight shows it; with three workers they go on after 200 ms.
	f.Overlap, f.OverlapWait = 4, 200*time.Millisecond
	r, _ := newRunner(export(us...), f, func(o *opts) { o.Concurrency = 3 })
	rep := run(t, r, Flags{})
	if rep.Counts.Created != 24 {
		t.Fatalf("created = %d", rep.Counts.Created)
	}
	if m := f.MaxInFlight.Load(); m > 3 {
		t.Errorf("max in flight = %d, want at most 3", m)
	}
}

func TestRunOnceDeactivateThenReactivate(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1"), VU("2"), VU("3"), VU("4"), VU("5"), VU("6"), VU("7"), VU("8"), VU("9"), VU("10"), VU("11"))
	all := []condeco.User{CU("1"), CU("2"), CU("3"), CU("4"), CU("5"), CU("6"), CU("7"), CU("8"), CU("9"), CU("10"), CU("11")}
	r, _ := newRunner(export(all[1:]...), f, func(o *opts) { o.Deprovision = plan.DeprovisionDeactivate })
	rep := run(t, r, Flags{})
	if rep.Counts.Deactivated != 1 {
		t.Fatalf("counts = %+v", rep.Counts)
	}
	if u, _ := f.ByExt("condeco:1"); u.Active {
		t.Error("condeco:1 still active")
	}
	r.Source = FakeSource{Exp: export(all...)}
	rep = run(t, r, Flags{})
	if rep.Counts.Updated != 1 {
		t.Fatalf("counts = %+v", rep.Counts)
	}
	if u, _ := f.ByExt("condeco:1"); !u.Active {
		t.Error("condeco:1 not reactivated")
	}
}

func TestRunOnceRehireTakesFreedUserName(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1"), VU("2"), VU("3"), VU("4"), VU("5"), VU("6"), VU("7"), VU("8"), VU("9"), VU("10"), VU("11"))
	us := []condeco.User{CU("1"), CU("2"), CU("4"), CU("5"), CU("6"), CU("7"), CU("8"), CU("9"), CU("10"), CU("11"), CU("12", Email("user3@example.com"))}
	r, _ := newRunner(export(us...), f, nil)
	rep := run(t, r, Flags{})
	if rep.Counts.Deleted != 1 || rep.Counts.Created != 1 || rep.Counts.Conflicts != 0 {
		t.Fatalf("counts = %+v", rep.Counts)
	}
	if u, ok := f.ByExt("condeco:12"); !ok || u.UserName != "user3@example.com" {
		t.Errorf("re-hire = %+v", u)
	}
}

func TestRunOnceHeldUserUntouched(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1"), VU("2", VGiven("Stale")))
	exp := export(CU("1"))
	exp.Held = []string{"2"}
	r, _ := newRunner(exp, f, func(o *opts) { o.SourceMinShare = 0 })
	rep := run(t, r, Flags{})
	if rep.Counts.Held != 1 || f.Writes.Load() != 0 {
		t.Errorf("counts = %+v, writes %d", rep.Counts, f.Writes.Load())
	}
}

// A held row is named, with its field and rule, in the report and the
// log: a count alone does not tell the operator what to fix.
func TestRunOnceNamesHeldRows(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1"))
	exp := export(CU("1"))
	exp.Held = []string{"2"}
	exp.Problems = []condeco.RowError{{Table: "users", RowID: "2", Field: "first_name", Rule: condeco.RuleControlChar}}
	r, logs := newRunner(exp, f, func(o *opts) { o.SourceMinShare = 0 })
	rep := run(t, r, Flags{})
	want := "users row 2: field first_name: " + condeco.RuleControlChar
	if len(rep.Problems) != 1 || rep.Problems[0] != want || rep.SourceProblems != 1 {
		t.Errorf("report problems = %q (%d), want [%q]", rep.Problems, rep.SourceProblems, want)
	}
	held := logs.FilterMessage("condeco row held").All()
	if len(held) != 1 || held[0].ContextMap()["row"] != "2" || held[0].ContextMap()["rule"] != condeco.RuleControlChar {
		t.Errorf("log lines = %v", held)
	}
}

func TestRunOnceSourceErrorWritesNothing(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1"))
	r, _ := newRunner(nil, f, nil)
	r.Source = FakeSource{Err: errors.New("login failed")}
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "exporting from condeco: condeco source failed: login failed") || f.Writes.Load() != 0 {
		t.Fatalf("err = %v, writes %d", err, f.Writes.Load())
	}
	if rep.Error == "" {
		t.Error("report has no error")
	}
}

func TestRunOnceAuditLog(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1", VGiven("Old")), VU("2"), VU("3"), VU("4"), VU("5"), VU("6"), VU("7"), VU("8"), VU("9"), VU("10"), VU("11"))
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	r, _ := newRunner(export(CU("1"), CU("2"), CU("3"), CU("4"), CU("5"), CU("6"), CU("7"), CU("8"), CU("9"), CU("10"), CU("12")), f, nil)
	r.AuditPath = path
	run(t, r, Flags{})
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	// Every write is on record before it is sent ("intent", with the user
	// before and as to be sent), then its outcome ("ok", the user and the
	// result only, once Visitor's answer confirms it). The run's header
	// comes first.
	lines := map[string]int{}
	var order []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		k := string(e.Action) + " " + e.Result
		lines[k]++
		order = append(order, k)
		if e.Action == audit.ActionRun {
			if len(order) != 1 || !slices.Equal(e.Locations, []string{"loc-1", "loc-2", "loc-h"}) {
				t.Errorf("header = %+v at line %d", e, len(order))
			}
			continue
		}
		if e.Run != "run-1" || (e.Result != "ok" && e.Result != "intent") || (e.VisitorID == "" && k != "create intent") {
			t.Errorf("entry = %+v", e)
		}
		switch {
		case k == "update intent" && (e.Before == nil || e.After == nil || e.Before.GivenName != "Old" || e.After.GivenName != "First1"):
			t.Errorf("update intent before/after = %+v", e)
		case k == "delete intent" && (e.Before == nil || e.Before.UserName != "user11@example.com" || e.After != nil):
			t.Errorf("delete intent before/after = %+v", e)
		case k == "create intent" && (e.Before != nil || e.After == nil || e.After.UserName != "user12@example.com"):
			t.Errorf("create intent before/after = %+v", e)
		case e.Result == "ok" && (e.Before != nil || e.After != nil):
			t.Errorf("%s repeats the user: %+v", k, e)
		}
	}
	want := map[string]int{"run started": 1, "create intent": 1, "create ok": 1, "update intent": 1, "update ok": 1, "delete intent": 1, "delete ok": 1}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("audit lines = %v, want %v", lines, want)
	}
	for _, a := range []string{"create", "update", "delete"} {
		if slices.Index(order, a+" intent") > slices.Index(order, a+" ok") {
			t.Errorf("%s: ok line before the intent line: %v", a, order)
		}
	}
}

// The intent line of a write is in the file before its request goes out,
// and its outcome the moment Visitor answers, not at the end of the run: a
// run killed at any instant has every write Visitor received on record.
func TestRunOnceAuditWrittenAsChangesApply(t *testing.T) {
	f := NewFake(BaseLocs())
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	r, _ := newRunner(export(CU("1"), CU("2"), CU("3")), f, func(o *opts) { o.Concurrency = 1 })
	r.AuditPath = path
	var intents, oks []int
	r.Target = beforeCreate{f, func() {
		b, _ := os.ReadFile(path)
		intents = append(intents, strings.Count(string(b), `"result":"intent"`))
		oks = append(oks, strings.Count(string(b), `"result":"ok"`))
	}}
	run(t, r, Flags{})
	if fmt.Sprint(intents) != "[1 2 3]" || fmt.Sprint(oks) != "[0 1 2]" {
		t.Errorf("intent lines on disk as each create reaches Visitor = %v, want [1 2 3]; ok lines %v, want [0 1 2]", intents, oks)
	}
}

// beforeCreate calls fn before each user create reaches the fake.
type beforeCreate struct {
	*Fake
	fn func()
}

func (b beforeCreate) CreateUser(ctx context.Context, u visitor.User) (visitor.User, error) {
	b.fn()
	return b.Fake.CreateUser(ctx, u)
}

// statsOnly exposes the request count the way *visitor.Client does.
type statsOnly struct {
	Target
	f *Fake
}

func (s statsOnly) Stats() visitor.Stats { return visitor.Stats{Requests: s.f.Requests()} }

func TestRunOnceRequestsFromStats(t *testing.T) {
	f := NewFake(BaseLocs())
	r, _ := newRunner(export(CU("1")), f, nil)
	r.Target = statsOnly{Target: f, f: f}
	rep := run(t, r, Flags{})
	if rep.Requests != f.Requests() || rep.Requests != 3 { // 2 lists, create (confirmed from its answer)
		t.Errorf("requests = %d, fake saw %d", rep.Requests, f.Requests())
	}
}

// cancelOnCreate cancels the run's context during the first create.
type cancelOnCreate struct {
	*Fake
	cancel context.CancelFunc
}

func (c cancelOnCreate) CreateUser(ctx context.Context, u visitor.User) (visitor.User, error) {
	c.cancel()
	return c.Fake.CreateUser(ctx, u)
}

func TestRunOnceCanceledReportsUnattemptedChanges(t *testing.T) {
	f := NewFake(BaseLocs())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, logs := newRunner(export(CU("1"), CU("2"), CU("3"), CU("4")), f, func(o *opts) { o.Concurrency = 1 })
	r.Target = cancelOnCreate{Fake: f, cancel: cancel}
	r.AuditPath = filepath.Join(t.TempDir(), "audit.jsonl")
	rep, err := r.RunOnce(ctx, Flags{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep.Counts.Failed != 3 || rep.Counts.Created != 1 { // the write in flight is counted, unverified
		t.Errorf("counts = %+v failures %+v", rep.Counts, rep.Failures)
	}
	var unattempted int
	for _, fl := range rep.Failures {
		if strings.HasPrefix(fl.Reason, "not attempted") {
			unattempted++
		}
	}
	if unattempted != 3 || rep.NotAttempted != 3 {
		t.Errorf("unattempted = %d (report %d), failures %+v", unattempted, rep.NotAttempted, rep.Failures)
	}
	// The minimum counts the one create sent, not the three never sent.
	if rep.ExtraRequests != 0 || rep.MinRequests != rep.Requests {
		t.Errorf("requests %d, minimum %d, extra %d", rep.Requests, rep.MinRequests, rep.ExtraRequests)
	}
	// One summary line for what was not attempted, in the log and in the
	// audit log, not one per user.
	if n := logs.FilterMessage("user change failed").Len(); n != 0 {
		t.Errorf("%d 'user change failed' lines for unattempted changes", n)
	}
	sum := logs.FilterMessage("changes not attempted").All()
	if len(sum) != 1 || sum[0].ContextMap()["count"] != int64(3) || !strings.Contains(fmt.Sprint(sum[0].ContextMap()["first"]), "user2@example.com") {
		t.Errorf("summary lines = %+v", sum)
	}
	b, err := os.ReadFile(r.AuditPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"result":"failed"`); n != 0 {
		t.Errorf("%d failed audit lines for unattempted changes:\n%s", n, b)
	}
	if n := strings.Count(string(b), `"result":"stopped","reason":"3 changes not attempted (user2@example.com, user3@example.com, user4@example.com): context canceled"`); n != 1 {
		t.Errorf("no stopped summary line in the audit log:\n%s", b)
	}
}

func TestRunOnceConflictsMakeRealRunPartialNotDryRun(t *testing.T) {
	dup := VU("1")
	dup.ID = "v-dup"
	f := NewFake(BaseLocs(), VU("1"), dup, VU("2"))
	r, logs := newRunner(export(CU("1"), CU("2")), f, func(o *opts) { o.SourceMinShare = 0.5 })
	rep, err := r.RunOnce(context.Background(), Flags{DryRun: true})
	if err != nil || rep.Counts.Conflicts != 1 {
		t.Fatalf("dry run: err = %v counts %+v", err, rep.Counts)
	}
	if _, err := r.RunOnce(context.Background(), Flags{}); !errors.Is(err, ErrPartial) {
		t.Fatalf("real run: err = %v, want ErrPartial", err)
	}
	if n := logs.FilterMessage("user conflict").Len(); n != 2 {
		t.Errorf("%d conflict log lines, want one per run", n)
	}
}

func TestRunOnceCountsProgress(t *testing.T) {
	f := NewFake(BaseLocs())
	exp := export(CU("1", Global), CU("2"), CU("3"))
	exp.Locations = CLocs("1", "2", "3")
	r, _ := newRunner(exp, f, nil)
	p := &apply.Progress{}
	r.Progress = p
	run(t, r, Flags{})
	done, total, since := p.Snapshot()
	if total != 4 || done != total || !since.IsZero() {
		t.Fatalf("progress after a run: done %d of %d, since %v (want 4 of 4, not applying)", done, total, since)
	}
}

func TestRunOnceVerifyFallsBackWithoutOrFilter(t *testing.T) {
	f := NewFake(BaseLocs())
	f.NoOrFilter = true
	exp := export(CU("1", Global), CU("2"), CU("3"))
	exp.Locations = CLocs("1", "2")
	r, _ := newRunner(exp, f, nil)
	rep := run(t, r, Flags{})
	if rep.Counts.Created != 3 || rep.Counts.Failed != 0 {
		t.Fatalf("counts = %+v, failures %v", rep.Counts, rep.Failures)
	}
}

// An email change Visitor refuses is a conflict that names the fix, for a
// taken userName (409) and for read-only emails (400 mutability, see
// docs/visitor-scim.md); the user's other changes still apply under the
// old userName.
func TestRunOnceEmailChangeRefusedReportsFix(t *testing.T) {
	taken := visitor.User{ID: "h-1", UserName: "new1@example.com", Email: "new1@example.com", GivenName: "T", FamilyName: "K", Active: true}
	cases := []struct {
		name     string
		readOnly bool
		other    bool // the Condeco change also renames the person
		fix      string
		reason   string
	}{
		{name: "userName taken, email only", fix: "free it in Visitor", reason: "409"},
		{name: "userName taken, with a name change", other: true, fix: "free it in Visitor", reason: "409"},
		{name: "emails read-only, email only", readOnly: true, fix: "by hand in Visitor", reason: "400 mutability"},
		{name: "emails read-only, with a name change", readOnly: true, other: true, fix: "by hand in Visitor", reason: "400 mutability"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := NewFake(BaseLocs(), VU("1"))
			if c.readOnly {
				f.ReadOnlyEmail = true
			} else {
				f.Users[taken.ID] = taken
			}
			src := CU("1", Email("new1@example.com"))
			if c.other {
				src.FirstName = "Renamed"
			}
			r, _ := newRunner(export(src), f, nil)
			rep, err := r.RunOnce(context.Background(), Flags{})
			if !errors.Is(err, ErrPartial) || rep.Counts.Conflicts != 1 || rep.Counts.Failed != 0 {
				t.Fatalf("err = %v counts %+v failures %+v", err, rep.Counts, rep.Failures)
			}
			cf := rep.Conflicts[0]
			if cf.ExternalID != "condeco:1" || !strings.Contains(cf.Fix, c.fix) || !strings.Contains(cf.Fix, "new1@example.com") ||
				!strings.Contains(cf.Reason, "user1@example.com → new1@example.com") || !strings.Contains(cf.Reason, c.reason) {
				t.Errorf("conflict = %+v", cf)
			}
			u, _ := f.ByExt("condeco:1")
			if u.UserName != "user1@example.com" {
				t.Errorf("userName = %s, want the old one kept", u.UserName)
			}
			wantUpdated, wantGiven := 0, "First1"
			if c.other {
				wantUpdated, wantGiven = 1, "Renamed"
			}
			if rep.Counts.Updated != wantUpdated || u.GivenName != wantGiven {
				t.Errorf("updated = %d, givenName %q; want %d, %q", rep.Counts.Updated, u.GivenName, wantUpdated, wantGiven)
			}
		})
	}
}

// A demotion and a name change reach Visitor without stripping what a
// superuser granted by hand: a role such as reception on the default
// location (kept alone: one role per location, which the fake enforces),
// admin and other roles elsewhere, a location the user was never given.
func TestRunOnceKeepsHandGrantedAccess(t *testing.T) {
	f := NewFake(BaseLocs(),
		VU("1", VAcc("loc-1:admin,loc-2:admin,loc-h:security")),               // demoted from Global admin
		VU("2", VGiven("Old"), VAcc("loc-1:user,loc-2:security")),             // loc-h removed by hand
		VU("3", VGiven("Old"), VAcc("loc-1:reception,loc-2:user,loc-h:user")), // Reception on the default, by hand
		VU("4", VAcc("loc-1:admin,loc-2:user,loc-h:user")),                    // admin on the default, by hand
	)
	r, _ := newRunner(export(CU("1"), CU("2"), CU("3"), CU("4")), f, nil)
	grants := &memGrants{rec: &plan.GrantsRecord{Admin: []plan.AdminGrant{{ExternalID: "condeco:1", LocationID: "loc-1"}}}}
	r.Grants = grants
	rep := run(t, r, Flags{})
	if rep.Counts.Updated != 3 || rep.Counts.Failed != 0 || rep.Counts.Unchanged != 1 {
		t.Fatalf("counts = %+v failures %+v", rep.Counts, rep.Failures)
	}
	if len(grants.rec.Admin) != 0 {
		t.Errorf("grants record after the revoke = %+v, want empty", grants.rec.Admin)
	}
	u4, _ := f.ByExt("condeco:4")
	WantAccess(t, u4.Access, "loc-1:admin,loc-2:user,loc-h:user")
	u1, _ := f.ByExt("condeco:1")
	WantAccess(t, u1.Access, "loc-1:user,loc-2:admin,loc-h:security")
	u2, _ := f.ByExt("condeco:2")
	WantAccess(t, u2.Access, "loc-1:user,loc-2:security")
	if u2.GivenName != "First2" {
		t.Errorf("givenName = %q", u2.GivenName)
	}
	u3, _ := f.ByExt("condeco:3")
	WantAccess(t, u3.Access, "loc-1:reception,loc-2:user,loc-h:user")
}

// deactivate-then-delete end to end: the deactivation stamps Visitor's
// lastModified, and the runs after it delete the user once, and only once,
// delete_after days have passed by the Runner's clock.
func TestRunOnceDeactivateThenDeleteAfterDays(t *testing.T) {
	var cur []visitor.User
	var all []condeco.User
	for i := 1; i <= 11; i++ {
		id := fmt.Sprint(i)
		cur, all = append(cur, VU(id)), append(all, CU(id))
	}
	f := NewFake(BaseLocs(), cur...)
	r, _ := newRunner(export(all[1:]...), f, func(o *opts) {
		o.Deprovision, o.DeleteAfter = plan.DeprovisionDeactivateThenDelete, 30
	})
	if rep := run(t, r, Flags{}); rep.Counts.Deactivated != 1 || rep.Counts.Deleted != 0 {
		t.Fatalf("day 0 counts = %+v", rep.Counts)
	}
	for _, c := range []struct {
		after   time.Duration
		deleted int
	}{
		{29 * 24 * time.Hour, 0},
		{30*24*time.Hour - time.Second, 0},
		{30 * 24 * time.Hour, 1},
	} {
		r.Now = func() time.Time { return T0.Add(c.after) }
		rep := run(t, r, Flags{})
		_, still := f.ByExt("condeco:1")
		if rep.Counts.Deleted != c.deleted || still == (c.deleted == 1) {
			t.Errorf("after %v: deleted %d (still in Visitor: %v), want %d", c.after, rep.Counts.Deleted, still, c.deleted)
		}
	}
}

// suppress-initial: a first run that dies half-way leaves managed users
// behind; the retry still sends the first full sync's users no invitation,
// while someone who joined Condeco since gets one.
func TestRunOnceSuppressInitialSurvivesFailedFirstRun(t *testing.T) {
	f := NewFake(BaseLocs())
	f.Fail["create:user2@example.com"] = SCIMErr(503, "", "down")
	f.Fail["create:user3@example.com"] = SCIMErr(503, "", "down")
	dir, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir.Path(), state.FirstSyncFile)
	r, _ := newRunner(export(CU("1"), CU("2"), CU("3")), f, func(o *opts) { o.Invitations = plan.InvitationsSuppressInitial })
	r.FirstSync = dir

	// A dry run records nothing.
	run(t, r, Flags{DryRun: true})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("dry run wrote the first-sync record: %v", err)
	}
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) || rep.Counts.Created != 1 || rep.Counts.Failed != 2 {
		t.Fatalf("first run: err = %v counts %+v", err, rep.Counts)
	}
	if ids, err := dir.ReadFirstSync(); err != nil || strings.Join(ids, ",") != "condeco:1,condeco:2,condeco:3" {
		t.Fatalf("first-sync record = %v, %v", ids, err)
	}

	r.Source = FakeSource{Exp: export(CU("1"), CU("2"), CU("3"), CU("4"))}
	rep = run(t, r, Flags{})
	if rep.Counts.Created != 3 || rep.Plan.Initial {
		t.Fatalf("second run: counts %+v initial %v", rep.Counts, rep.Plan.Initial)
	}
	want := map[string]bool{"condeco:1": false, "condeco:2": false, "condeco:3": false, "condeco:4": true}
	for ext, inv := range want {
		if got, ok := f.Invited[ext]; !ok || got != inv {
			t.Errorf("%s invited = %v (created %v), want %v", ext, got, ok, inv)
		}
	}
}

// The dry run's table and a real run's report count the same held rows,
// including held rows Visitor has never seen.
func TestRunOnceDryRunShowsTheHeldRowsARealRunReports(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1"), VU("2"))
	exp := export(CU("1"))
	exp.Held = []string{"2", "7"}
	exp.Problems = []condeco.RowError{
		{Table: "users", RowID: "2", Field: "email", Rule: "must be an email address"},
		{Table: "users", RowID: "7", Field: "first_name", Rule: "must not be empty"},
	}
	r, _ := newRunner(exp, f, func(o *opts) { o.SourceMinShare = 0 })
	dry := run(t, r, Flags{DryRun: true})
	var tb strings.Builder
	if err := dry.Plan.WriteTable(&tb); err != nil {
		t.Fatal(err)
	}
	real := run(t, r, Flags{})
	if dry.Counts.Held != 2 || real.Counts.Held != 2 || dry.Plan.Summary.Held != 2 {
		t.Errorf("held: dry run %d (plan %d), real run %d; want 2", dry.Counts.Held, dry.Plan.Summary.Held, real.Counts.Held)
	}
	for _, want := range []string{"users row 7: field first_name: must not be empty", "users row 2: field email", ", 2 held,"} {
		if !strings.Contains(tb.String(), want) {
			t.Errorf("dry-run table lacks %q:\n%s", want, tb.String())
		}
	}
	if f.Writes.Load() != 0 {
		t.Errorf("%d writes; held users must be left alone", f.Writes.Load())
	}
}

// Post-apply verification: a server that answers 2xx but silently drops an
// attribute makes that user a failure, whatever the action.
func TestRunOnceVerifyCatchesDroppedAttributes(t *testing.T) {
	cases := []struct {
		name   string
		drop   visitor.Field
		cur    []visitor.User
		users  []condeco.User
		opt    func(*opts)
		action plan.Action
		words  string
	}{
		{name: "update drops givenName", drop: visitor.FieldGivenName, cur: []visitor.User{VU("1", VGiven("Old"))},
			users: []condeco.User{CU("1")}, action: plan.ActionUpdate, words: `givenName is "Old", want "First1"`},
		{name: "create drops access", drop: visitor.FieldAccess,
			users: []condeco.User{CU("1")}, action: plan.ActionCreate, words: `access is "", want "loc-1:user,loc-2:user,loc-h:user"`},
		{name: "deactivate drops active", drop: visitor.FieldActive,
			cur:   []visitor.User{VU("1"), VU("2"), VU("3"), VU("4"), VU("5"), VU("6"), VU("7"), VU("8"), VU("9"), VU("10"), VU("11")},
			users: []condeco.User{CU("1"), CU("2"), CU("3"), CU("4"), CU("5"), CU("6"), CU("7"), CU("8"), CU("9"), CU("10")},
			opt:   func(o *opts) { o.Deprovision = plan.DeprovisionDeactivate }, action: plan.ActionDeactivate, words: `active is "true", want "false"`},
	}
	for _, c := range cases {
		for _, mode := range []string{apply.VerifyAnswer, apply.VerifyReread} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				f := NewFake(BaseLocs(), c.cur...)
				f.Drop[c.drop] = true
				r, _ := newRunner(export(c.users...), f, func(o *opts) {
					o.VerifyWrites = mode
					if c.opt != nil {
						c.opt(o)
					}
				})
				rep, err := r.RunOnce(context.Background(), Flags{})
				if !errors.Is(err, ErrPartial) || rep.Counts.Failed != 1 || len(rep.Failures) != 1 {
					t.Fatalf("err = %v counts %+v failures %+v", err, rep.Counts, rep.Failures)
				}
				if fl := rep.Failures[0]; fl.Action != c.action || !strings.Contains(fl.Reason, "differs from the plan") || !strings.Contains(fl.Reason, c.words) {
					t.Errorf("failure = %+v, want %s with %q", fl, c.action, c.words)
				}
				if n := rep.Counts.Created + rep.Counts.Updated + rep.Counts.Deactivated; n != 0 {
					t.Errorf("counted %d as done: %+v", n, rep.Counts)
				}
				want := int64(0) // the answer is the check
				if mode == apply.VerifyReread {
					want = 1 // one batched re-read
				}
				if rep.ExtraRequests != want {
					t.Errorf("%d requests beyond the minimum, want %d", rep.ExtraRequests, want)
				}
			})
		}
	}
}

// The report carries counts per action, failures with reasons, per-phase
// durations and the requests spent.
func TestRunOnceReportHasDurationsAndRequests(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1", VGiven("Old")))
	f.Fail["create:user3@example.com"] = SCIMErr(500, "", "boom")
	r, _ := newRunner(export(CU("1"), CU("2"), CU("3")), f, nil)
	var ticks atomic.Int64 // the clock moves a second a reading; workers read it too
	r.Now = func() time.Time { return T0.Add(time.Duration(ticks.Add(1)) * time.Second) }
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("err = %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(MustJSON(t, rep)), &got); err != nil {
		t.Fatal(err)
	}
	counts, _ := got["counts"].(map[string]any)
	if counts["created"] != 1.0 || counts["updated"] != 1.0 || counts["failed"] != 1.0 {
		t.Errorf("counts = %v", counts)
	}
	fl, _ := got["failures"].([]any)
	if len(fl) != 1 || !strings.Contains(MustJSON(t, fl[0]), "boom") {
		t.Errorf("failures = %v", fl)
	}
	ph, _ := got["phases"].(map[string]any)
	for _, k := range []string{"exportMs", "listMs", "planMs", "applyMs", "verifyMs"} {
		if v, _ := ph[k].(float64); v < 1000 { // each phase reads the clock at least once
			t.Errorf("phases[%s] = %v, want ≥ 1000 ms", k, ph[k])
		}
	}
	if got["durationMs"].(float64) <= 0 || got["requests"].(float64) != float64(f.Requests()) {
		t.Errorf("durationMs %v requests %v (fake saw %d)", got["durationMs"], got["requests"], f.Requests())
	}
}

// New locations are created scim_concurrency at a time; one that fails is
// reported and the users whose access would name it are not created with
// a list that lacks it.
func TestLocationsCreatedConcurrently(t *testing.T) {
	f := NewFake(BaseLocs())
	exp := export(CU("1"))
	for i := 3; i <= 14; i++ {
		exp.Locations = append(exp.Locations, condeco.Location{ID: fmt.Sprint(i), Name: fmt.Sprintf("Office %d", i)})
	}
	f.Fail["location:office 7"] = SCIMErr(500, "", "boom")
	f.Overlap = 2
	r, _ := newRunner(exp, f, nil) // apply.DefaultConcurrency: 4
	rep, _ := r.RunOnce(context.Background(), Flags{})
	if rep == nil {
		t.Fatal("no report")
	}
	if rep.Counts.LocationsCreated != 11 || len(rep.LocationsCreated) != 11 {
		t.Fatalf("locations created: %d %v", rep.Counts.LocationsCreated, rep.LocationsCreated)
	}
	if !slices.IsSorted(rep.LocationsCreated) || slices.Contains(rep.LocationsCreated, "condeco-location:7") {
		t.Errorf("locations created = %v", rep.LocationsCreated)
	}
	if got := f.MaxInFlight.Load(); got < 2 || got > int64(apply.DefaultConcurrency) {
		t.Errorf("at most %d requests in flight, want 2..%d", got, apply.DefaultConcurrency)
	}
	var failedLoc bool
	for _, fl := range rep.Failures {
		failedLoc = failedLoc || (fl.Action == plan.ActionCreateLocation && fl.ExternalID == "condeco-location:7")
	}
	if !failedLoc {
		t.Errorf("failures = %+v, want the location create of condeco-location:7", rep.Failures)
	}
	// The failed location fails alone: the user is created with the
	// others, and the failed one is owed to it.
	u, ok := f.ByExt("condeco:1")
	if !ok || len(u.Access) != 14 {
		t.Errorf("user = %+v, want it created with the 14 locations that exist", u)
	}
	if rep.Counts.Created != 1 || rep.Counts.Failed != 1 {
		t.Errorf("counts = %+v, want the location failed and the user created", rep.Counts)
	}
	if len(rep.OwedGrants) != 1 || rep.OwedGrants[0].ExternalID != "condeco:1" || rep.OwedGrants[0].Location != "condeco-location:7" {
		t.Errorf("owed grants = %+v, want condeco-location:7 owed to condeco:1", rep.OwedGrants)
	}
}

// A run that creates locations writes a new header before its first user
// entry, and every user line expands against the header of its own run.
func TestAuditLogHeadersAndExpansion(t *testing.T) {
	f := NewFake(manyLocs(12))
	exp := export(CU("1", Global), CU("2"), CU("3"))
	// Locations 1 and 2 carry manyLocs' names, so none is renamed.
	exp.Locations = []condeco.Location{{ID: "1", Name: "Office 0"}, {ID: "2", Name: "Office 1"}, {ID: "13", Name: "Lisbon"}, {ID: "14", Name: "Oslo"}}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	// One worker: locations are then created one after the other, so the
	// first header holds the first new location and the second the next.
	r, _ := newRunner(exp, f, func(o *opts) { o.Concurrency = 1 })
	r.AuditPath = path
	run(t, r, Flags{})
	// A second run: one user's given name changes, one leaves.
	exp.Users = Users(CU("1", Global), CU("2", func(u *condeco.User) { u.FirstName = "Renamed" }))
	r.Plan.MaxDeleteShare, r.Plan.SourceMinShare = 1, 0.5
	run(t, r, Flags{})

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	byKey := map[string]audit.Entry{}
	fh, _ := os.Open(path)
	defer fh.Close()
	err = audit.Read(fh, func(e audit.Entry) error {
		k := e.Run + " " + string(e.Action) + " " + e.Result + " " + e.ExternalID
		lines = append(lines, k)
		byKey[k] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"run-1 run started ", "run-1 create-location intent condeco-location:13", "run-1 create-location ok condeco-location:13",
		"run-1 create-location intent condeco-location:14", "run-1 create-location ok condeco-location:14", "run-1 run locations ",
		// verify_writes: answer: each create is confirmed from its answer.
		"run-1 create intent condeco:1", "run-1 create ok condeco:1", "run-1 create intent condeco:2",
		"run-1 create ok condeco:2", "run-1 create intent condeco:3", "run-1 create ok condeco:3",
		"run-2 run started ", "run-2 delete intent condeco:3", "run-2 delete ok condeco:3", "run-2 update intent condeco:2", "run-2 update ok condeco:2",
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("audit lines\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// The first header is written before any write, with the locations
	// listed; the second, before the first user entry, adds the two the
	// run created.
	if hdr := byKey["run-1 run started "]; len(hdr.Locations) != 12 {
		t.Errorf("first header locations = %v", hdr.Locations)
	}
	if hdr := byKey["run-1 run locations "]; len(hdr.Locations) != 14 || !slices.Contains(hdr.Locations, "loc-new-13") || !slices.Contains(hdr.Locations, "loc-new-14") {
		t.Errorf("second header locations = %v", hdr.Locations)
	}
	// The lines on disk are compact; expanded, they are the whole lists.
	if !strings.Contains(string(raw), `"access":{"all":"user","except":[{"locationId":"loc-00","role":"admin"}]}`) {
		t.Errorf("the Global admin's access is not compact on disk:\n%s", raw)
	}
	created, _ := f.ByExt("condeco:1")
	if got := byKey["run-1 create intent condeco:1"].After; got == nil || !slices.Equal(got.Access.List, visitor.SortAccess(created.Access)) {
		t.Errorf("expanded create = %+v, Visitor holds %v", got, created.Access)
	}
	del := byKey["run-2 delete intent condeco:3"]
	if del.Before == nil || len(del.Before.Access.List) != 14 || del.Before.LastModified.IsZero() {
		t.Errorf("delete before image = %+v", del.Before)
	}
	upd := byKey["run-2 update intent condeco:2"]
	if upd.Before == nil || upd.After == nil || upd.Before.GivenName != "First2" || upd.After.GivenName != "Renamed" || len(upd.After.Access.List) != 14 {
		t.Errorf("update intent = %+v", upd)
	}
	// The second line of a change names it and its result, nothing more.
	for _, k := range []string{"run-1 create ok condeco:1", "run-2 update ok condeco:2", "run-2 delete ok condeco:3"} {
		e := byKey[k]
		if e.Before != nil || e.After != nil || e.Fields != nil || e.VisitorID == "" || e.User == "" {
			t.Errorf("%s = %+v", k, e)
		}
	}
}

// manyLocs: n Condeco-made locations loc-00 … (loc-00 the default) and
// nothing else, so access lists are long enough to be written compact.
func manyLocs(n int) []visitor.Location {
	out := make([]visitor.Location, n)
	for i := range out {
		out[i] = visitor.Location{ID: fmt.Sprintf("loc-%02d", i), ExternalID: fmt.Sprintf("condeco-location:%d", i+1), Name: fmt.Sprint("Office ", i)}
	}
	out[0].Default = true
	return out
}

// An audit log that cannot be opened stops the run before any write.
func TestRunOnceAuditUnwritableWritesNothing(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1", VGiven("Old")))
	dir := t.TempDir()
	r, _ := newRunner(export(CU("1"), CU("2")), f, nil)
	r.AuditPath = dir // a folder: cannot be appended to
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, audit.ErrWrite) || f.Writes.Load() != 0 {
		t.Fatalf("err = %v, writes %d; want %v and none", err, f.Writes.Load(), audit.ErrWrite)
	}
	if rep == nil || rep.Error == "" {
		t.Errorf("report = %+v, want the error in it", rep)
	}
}

// memTarget is the target record in memory.
type memTarget struct {
	active      int
	done, found bool
	prefix      string
}

func (m *memTarget) ReadTarget() (*plan.TargetRecord, error) {
	if !m.found {
		return nil, nil
	}
	return &plan.TargetRecord{ActiveManaged: m.active, FirstSyncDone: m.done, ExternalIDPrefix: m.prefix}, nil
}

func (m *memTarget) WriteTarget(_ string, _ time.Time, rec plan.TargetRecord) error {
	m.active, m.done, m.found, m.prefix = rec.ActiveManaged, rec.FirstSyncDone, true, rec.ExternalIDPrefix
	return nil
}

// The target guard: after a good run the sync records how many active
// users it manages; a listing with none, or far fewer, stops the next run
// before any write, and is never read as a first sync.
func TestRunOnceTargetGuard(t *testing.T) {
	var us []condeco.User
	for i := range 20 {
		us = append(us, CU(fmt.Sprint(i+1)))
	}
	f := NewFake(BaseLocs())
	rec := &memTarget{}
	r, logs := newRunner(export(us...), f, func(o *opts) { o.Invitations = plan.InvitationsSuppressInitial })
	r.Record = rec
	run(t, r, Flags{})
	if !rec.found || rec.active != 20 || !rec.done {
		t.Fatalf("record after the first sync = %+v, want 20 active, first sync done", rec)
	}
	if logs.FilterMessage("no target record in state_dir (lost, or written by an older version): the target guard cannot check this run's listing; the next good run records it").Len() != 0 {
		t.Error("a first run (empty Visitor) warned about a lost record")
	}

	cases := []struct {
		name  string
		keep  int // managed users left in the listing
		flags Flags
		want  error
	}{
		{"listing empty", 0, Flags{}, plan.ErrTargetGuard},
		{"listing at 85 %", 17, Flags{}, plan.ErrTargetGuard},
		{"listing at 90 %", 18, Flags{DryRun: true}, nil},
		{"listing empty, approved", 0, Flags{DryRun: true, Approvals: plan.Approvals{AllowTargetShrink: true}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewFake(BaseLocs())
			for _, u := range f.Users {
				if n, _ := strconv.Atoi(strings.TrimPrefix(u.ExternalID, "condeco:")); n <= c.keep {
					g.Users[u.ID] = u
				}
			}
			r2, _ := newRunner(export(us...), g, func(o *opts) { o.Invitations = plan.InvitationsSuppressInitial })
			r2.Record = &memTarget{active: rec.active, done: rec.done, found: true}
			rep, err := r2.RunOnce(context.Background(), c.flags)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if g.Writes.Load() != 0 {
				t.Errorf("%d writes", g.Writes.Load())
			}
			// Never a first sync again: the re-created users would get
			// no invitation under suppress-initial.
			if rep.Plan != nil && rep.Plan.Initial {
				t.Error("the plan reads the shrunk listing as a first sync")
			}
		})
	}

	// A lost record: today's behaviour, with a warning.
	g := NewFake(BaseLocs())
	for id, u := range f.Users {
		g.Users[id] = u
	}
	r3, logs3 := newRunner(export(us...), g, nil)
	r3.Record = &memTarget{}
	run(t, r3, Flags{DryRun: true})
	if logs3.FilterMessage("no target record in state_dir (lost, or written by an older version): the target guard cannot check this run's listing; the next good run records it").Len() != 1 {
		t.Errorf("a lost record was not logged: %v", logs3.All())
	}
}

// Twenty writes in a row failing for one cause stop the run's writes: the
// cause is reported once with the count, the rest is not attempted; a
// server failure is the target's exit, refused data a partial run; causes
// that change do not trip it.
func TestRunOnceCircuitBreaker(t *testing.T) {
	cases := []struct {
		name     string
		fail     func(i int) error // nil: the create succeeds
		tripped  bool
		side     error
		notTried int
	}{
		{"server down", func(int) error { return SCIMErr(500, "", "down") }, true, ErrTarget, 10},
		{"every user refused", func(int) error { return SCIMErr(400, "invalidValue", "bad") }, true, ErrPartial, 10},
		{"causes alternate", func(i int) error {
			if i%2 == 0 {
				return SCIMErr(500, "", "down")
			}
			return SCIMErr(400, "invalidValue", "bad")
		}, false, ErrPartial, 0},
		{"one in three succeeds", func(i int) error {
			if i%3 == 0 {
				return nil
			}
			return SCIMErr(500, "", "down")
		}, false, ErrPartial, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := NewFake(BaseLocs())
			var us []condeco.User
			for i := range 30 {
				u := CU(fmt.Sprintf("%02d", i))
				us = append(us, u)
				if err := c.fail(i); err != nil {
					f.Fail["create:"+u.UserName] = err
				}
			}
			r, _ := newRunner(export(us...), f, func(o *opts) { o.Concurrency = 1 })
			rep, err := r.RunOnce(context.Background(), Flags{})
			if !errors.Is(err, c.side) || errors.Is(err, apply.ErrBreaker) != c.tripped {
				t.Fatalf("err = %v; want %v, breaker %v", err, c.side, c.tripped)
			}
			if (rep.Breaker != nil) != c.tripped || rep.NotAttempted != c.notTried {
				t.Fatalf("breaker %+v, not attempted %d; want tripped %v, %d", rep.Breaker, rep.NotAttempted, c.tripped, c.notTried)
			}
			if c.tripped && (rep.Breaker.Count != apply.DefaultBreakerFailures || !strings.Contains(err.Error(), "20 writes in a row failed with "+rep.Breaker.Cause)) {
				t.Errorf("breaker = %+v, err %v", rep.Breaker, err)
			}
		})
	}
}

// A create refused 409 whose lookup finds this sync's own externalId is a
// listing that missed a managed user, not a stranger: the conflict says so
// (and not to remove the user), creating stops, the run is a target
// failure. A 409 on a userName someone else holds is named as such.
func TestRunOnceCreateRefusedByOwnExternalID(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1"), VU("2"))
	f.Hidden = map[string]bool{"condeco:1": true} // listed without it
	r, _ := newRunner(export(CU("1"), CU("2"), CU("3"), CU("4")), f, func(o *opts) { o.Concurrency = 1 })
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrTarget) || !errors.Is(err, apply.ErrListingMissed) {
		t.Fatalf("err = %v, want %v and %v", err, ErrTarget, apply.ErrListingMissed)
	}
	if len(rep.Conflicts) != 1 || !strings.Contains(rep.Conflicts[0].Reason, "the listing missed managed users") ||
		!strings.Contains(rep.Conflicts[0].Fix, "do not remove") {
		t.Fatalf("conflicts = %+v", rep.Conflicts)
	}
	if rep.Counts.Created != 0 || rep.NotAttempted != 2 {
		t.Errorf("created %d, not attempted %d; want creating stopped after the first refusal", rep.Counts.Created, rep.NotAttempted)
	}

	g := NewFake(BaseLocs(), VU("9", VExt(""), VName("user3@example.com"))) // a hand-made user holds the name
	r2, _ := newRunner(export(CU("3")), g, nil)
	rep, err = r2.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) || len(rep.Conflicts) != 1 || !strings.Contains(rep.Conflicts[0].Reason, "userName user3@example.com already exists") {
		t.Fatalf("err = %v, conflicts %+v", err, rep.Conflicts)
	}
}

// memGrants is a GrantsStore in memory; rec nil is no record.
type memGrants struct {
	rec    *plan.GrantsRecord
	writes int
}

func (m *memGrants) ReadGrants() (*plan.GrantsRecord, error) { return m.rec, nil }

func (m *memGrants) WriteGrants(_ string, _ time.Time, rec plan.GrantsRecord) error {
	m.rec = &rec
	m.writes++
	return nil
}

// The grants record follows the writes that succeeded, in a run that
// fails half-way too: a grant whose write failed is not recorded (the
// sync would otherwise revoke a role it never gave), a revoke whose write
// failed leaves the grant recorded (the next run takes it back).
func TestRunOnceRecordsOnlyTheGrantsThatWentThrough(t *testing.T) {
	f := NewFake(BaseLocs(),
		VU("1"), // promoted: the write succeeds
		VU("2"), // promoted: the write fails
		VU("3", VAcc("loc-1:admin,loc-2:user,loc-h:user")), // demoted: the write fails
		VU("4", VAcc("loc-1:admin,loc-2:user,loc-h:user")), // demoted: the write succeeds
	)
	f.Fail["update:user2@example.com"] = SCIMErr(500, "", "boom")
	f.Fail["update:user3@example.com"] = SCIMErr(500, "", "boom")
	r, _ := newRunner(export(CU("1", Global), CU("2", Global), CU("3"), CU("4")), f, nil)
	g := func(ext string) plan.AdminGrant { return plan.AdminGrant{ExternalID: ext, LocationID: "loc-1"} }
	grants := &memGrants{rec: &plan.GrantsRecord{Admin: []plan.AdminGrant{g("condeco:3"), g("condeco:4")}}}
	r.Grants = grants
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) || rep.Counts.Updated != 2 || rep.Counts.Failed != 2 {
		t.Fatalf("err %v counts %+v, want a partial run with 2 updated, 2 failed", err, rep.Counts)
	}
	if got, want := MustJSON(t, grants.rec.Admin), MustJSON(t, []plan.AdminGrant{g("condeco:1"), g("condeco:3")}); got != want || grants.writes != 1 {
		t.Errorf("grants record = %s (%d writes), want %s", got, grants.writes, want)
	}
	// A dry run writes no record.
	r.Grants = &memGrants{}
	if _, err := r.RunOnce(context.Background(), Flags{DryRun: true}); err != nil || r.Grants.(*memGrants).writes != 0 {
		t.Errorf("dry run: %v, %d writes of the grants record", err, r.Grants.(*memGrants).writes)
	}
}

// Looking for hand-made look-alikes costs nothing with adopt_existing_users
// off, and one userName lookup per planned create with it on.
func TestRunOnceLooksUpLookAlikesOnlyWithAdoption(t *testing.T) {
	for _, adopt := range []bool{false, true} {
		t.Run(fmt.Sprintf("adopt_existing_users %v", adopt), func(t *testing.T) {
			f := NewFake(BaseLocs(), VU("1"))
			r, _ := newRunner(export(CU("1"), CU("2"), CU("3"), CU("4")), f, func(o *opts) { o.AdoptExistingUsers = adopt })
			base := int64(2) // the listings of locations and of managed users
			rep := run(t, r, Flags{DryRun: true})
			want := base
			if adopt {
				want += 3 // users 2, 3 and 4 are planned creates
			}
			if got := f.Requests(); got != want || rep.Plan.Summary.Creates != 3 {
				t.Errorf("requests = %d, want %d (creates %d)", got, want, rep.Plan.Summary.Creates)
			}
		})
	}
}

// An email change that cannot be made is a conflict, but the user's other
// changes go through: an admin they grant is the sync's, and recorded.
// The record dropped it (the user's conflict read as "not done"), so the
// admin was taken for a superuser's and kept after a demotion.
func TestRunOnceRecordsGrantOfUpdateWithRefusedRename(t *testing.T) {
	other := visitor.User{ID: "h-1", UserName: "taken@example.com", Email: "taken@example.com", GivenName: "T", FamilyName: "K", Active: true}
	f := NewFake(BaseLocs(), VU("1"), VU("2"), VU("3"), other)
	// 1: Visitor refuses the new email (an unmanaged user holds it);
	// 2: the plan keeps the old one (managed user 3 holds the new).
	r, _ := newRunner(export(CU("1", Global, Email("taken@example.com")), CU("2", Global, Email("user3@example.com")), CU("3")), f, nil)
	grants := &memGrants{rec: &plan.GrantsRecord{Admin: []plan.AdminGrant{}}}
	r.Grants = grants
	rep, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, ErrPartial) || rep.Counts.Conflicts != 2 || rep.Counts.Updated != 2 || rep.Counts.Failed != 0 {
		t.Fatalf("err = %v counts %+v failures %+v", err, rep.Counts, rep.Failures)
	}
	g := func(ext string) plan.AdminGrant { return plan.AdminGrant{ExternalID: ext, LocationID: "loc-1"} }
	if got, want := MustJSON(t, grants.rec.Admin), MustJSON(t, []plan.AdminGrant{g("condeco:1"), g("condeco:2")}); got != want {
		t.Errorf("grants record = %s, want %s", got, want)
	}
}

// The report file leaves out every change that carries a user's whole
// access list: an adoption carries one as a create does (its own, not a
// shared one), and a migration adopts every user of the tenant.
func TestReportForFileLeavesOutAccessLists(t *testing.T) {
	f := NewFake(BaseLocs(), VU("9", VExt(""), VName("user1@example.com")))
	r, _ := newRunner(export(CU("1"), CU("2")), f, func(o *opts) { o.AdoptExistingUsers = true })
	rep := run(t, r, Flags{DryRun: true})
	if len(rep.Plan.Adoptions) != 1 || len(rep.Plan.Creates) != 1 {
		t.Fatalf("plan: %d adoptions, %d creates; want 1, 1", len(rep.Plan.Adoptions), len(rep.Plan.Creates))
	}
	p := rep.ForFile().Plan
	if len(p.Creates)+len(p.Adoptions)+len(p.Updates) != 0 || p.Summary.Adoptions != 1 || len(rep.Plan.Adoptions) != 1 {
		t.Errorf("report file plan: %d creates, %d adoptions, %d updates (summary %+v); want none, counted", len(p.Creates), len(p.Adoptions), len(p.Updates), p.Summary)
	}
}

// --only counts what it applies: the owed grants its people's changes
// carry, and its people's warnings, not the whole plan's.
func TestOnlyCountsItsOwnOwedGrantsAndWarnings(t *testing.T) {
	exp := export(CU("1"), CU("2"), CU("3"), CU("4"))
	exp.Locations = CLocs("1", "2", "3")
	users := []visitor.User{VU("1", VAcc("loc-1:user,loc-h:user")), VU("2", VAcc("loc-1:user,loc-h:user")),
		VU("3", VAcc("loc-1:admin,loc-2:user,loc-h:user")), VU("4", VAcc("loc-1:admin,loc-2:user,loc-h:user"))}
	owed := []plan.OwedGrant{{ExternalID: "condeco:1", Location: "condeco-location:2"}, {ExternalID: "condeco:2", Location: "condeco-location:2"}}
	full, err := plan.BuildPlan(exp, plan.Current{Users: users, Locations: BaseLocs(), OwedGrants: owed}, plan.DefaultOptions(), T0)
	if err != nil {
		t.Fatal(err)
	}
	if full.Summary.OwedGrants != 2 || len(full.Warnings) != 2 {
		t.Fatalf("full plan: %d owed grants carried, %d warnings; want 2, 2", full.Summary.OwedGrants, len(full.Warnings))
	}
	p, err := restrict(full, exp, users, "condeco:", []string{"condeco:1", "condeco:3"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Summary.OwedGrants != 1 || len(p.Warnings) != 1 || p.Warnings[0].ExternalID != "condeco:3" || len(p.OwedGrants) != 2 {
		t.Errorf("--only: %d owed grants carried (want 1), warnings %+v (want condeco:3's), owed %+v (want both, still owed unless paid)",
			p.Summary.OwedGrants, p.Warnings, p.OwedGrants)
	}
}

// --explain plans as a run does: a location grant owed to the person is
// given by the run, so the person is an update, not "unchanged".
func TestExplainGivesOwedGrants(t *testing.T) {
	f := NewFake(BaseLocs(), VU("1", VAcc("loc-1:user,loc-h:user")))
	r, _ := newRunner(export(CU("1")), f, nil)
	r.Owed = &memOwed{grants: []plan.OwedGrant{{ExternalID: "condeco:1", Location: "condeco-location:2"}}}
	rep := run(t, r, Flags{DryRun: true})
	if len(rep.Plan.Updates) != 1 {
		t.Fatalf("dry run: %d updates, want the owed grant's", len(rep.Plan.Updates))
	}
	ex, err := r.Explain(context.Background(), []string{"condeco:1"})
	if err != nil {
		t.Fatal(err)
	}
	if pe := ex.People[0]; pe.Action != string(plan.ActionUpdate) {
		t.Errorf("explained %q (%v), want update as the run plans", pe.Action, pe.Decided)
	}
}

// The target guard stops a run on a listing that missed the managed users
// before anything is asked of Visitor on that listing's word: with
// adopt_existing_users, every user it missed is a planned create, and a
// userName lookup each (100 000 at a tenant's size) went out first.
func TestRunOnceTargetGuardBeforeLookAlikes(t *testing.T) {
	f := NewFake(BaseLocs())
	r, _ := newRunner(export(CU("1"), CU("2"), CU("3"), CU("4")), f, func(o *opts) { o.AdoptExistingUsers = true })
	r.Record = &memTarget{active: 4, done: true, found: true}
	_, err := r.RunOnce(context.Background(), Flags{})
	if !errors.Is(err, plan.ErrTargetGuard) {
		t.Fatalf("err = %v, want the target guard", err)
	}
	if got := f.Requests(); got != 2 {
		t.Errorf("requests = %d, want 2 (the listings of locations and of managed users), no look-alike lookups", got)
	}
}
