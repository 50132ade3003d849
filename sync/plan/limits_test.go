package plan_test

import (
	"errors"
	"strings"
	"testing"

	. "condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

func limitPlan(source, deletes, deactivates, admin int) *Plan {
	p := &Plan{Deletes: make([]UserChange, deletes), Deactivates: make([]UserChange, deactivates)}
	p.Summary = Summary{SourceUsers: source, Deletes: deletes, Deactivates: deactivates, AdminChanges: admin}
	return p
}

// inactiveDeletes adds n deletions of accounts inactive before the plan.
func inactiveDeletes(p *Plan, n int) *Plan {
	for range n {
		p.Deletes = append(p.Deletes, UserChange{Action: ActionDelete, Before: &visitor.User{Active: false}})
	}
	p.Summary.Deletes = len(p.Deletes)
	return p
}

func TestCheckLimits(t *testing.T) {
	cases := []struct {
		name    string
		plan    *Plan
		managed int
		opt     func(*Options)
		approve Approvals
		want    []error // nil: no error
		not     error   // must not be reported
		words   []string
	}{
		{name: "within limits", plan: limitPlan(100, 5, 0, 2), managed: 100},
		{name: "max_deletes count exceeded", plan: limitPlan(1000, 60, 0, 0), managed: 1000,
			want:  []error{ErrSafetyLimit},
			words: []string{"safety limit max_deletes: plan deletes 60 of 1000 managed users (limit 50, 10%); approve with --allow-deletes 60"}},
		{name: "max_delete_share exceeded", plan: limitPlan(100, 8, 4, 0), managed: 100,
			want: []error{ErrSafetyLimit}, words: []string{"max_delete_share", "plan deletes 12 of 100", "--allow-deletes 12"}},
		{name: "deactivations count as deletions", plan: limitPlan(1000, 0, 51, 0), managed: 1000,
			want: []error{ErrSafetyLimit}, words: []string{"max_deletes", "51"}},
		{name: "approved deletions pass", plan: limitPlan(1000, 60, 0, 0), managed: 1000, approve: Approvals{AllowDeletes: 60}},
		{name: "approval for fewer deletions than planned does not pass", plan: limitPlan(1000, 60, 0, 0), managed: 1000,
			approve: Approvals{AllowDeletes: 59}, want: []error{ErrSafetyLimit}},
		{name: "max_admin_changes exceeded", plan: limitPlan(100, 0, 0, 11), managed: 100,
			want: []error{ErrSafetyLimit}, words: []string{"max_admin_changes: plan changes the admin role of 11 users (limit 10); approve with --allow-admin-changes 11"}},
		{name: "approved admin changes pass", plan: limitPlan(100, 0, 0, 11), managed: 100, approve: Approvals{AllowAdminChanges: 11}},
		{name: "empty export is stopped by the source guard", plan: limitPlan(0, 0, 0, 0), managed: 0,
			want: []error{ErrSourceGuard}, words: []string{"export has 0 users"}},
		{name: "shrunk export is stopped by the source guard", plan: limitPlan(80, 0, 0, 0), managed: 100,
			want: []error{ErrSourceGuard}, words: []string{"source_min_share: export has 80 users, fewer than 90 (90% of 100 managed users)"}},
		{name: "source shrink approved", plan: limitPlan(80, 0, 0, 0), managed: 100, approve: Approvals{AllowSourceShrink: true}},
		{name: "60 of 100 missing trips both, safety named", plan: limitPlan(40, 60, 0, 0), managed: 100,
			want: []error{ErrSafetyLimit, ErrSourceGuard}, words: []string{"max_deletes", "plan deletes 60 of 100", "--allow-deletes 60"}},
		{name: "approving the 60 deletions also covers the 60-user shrink", plan: limitPlan(40, 60, 0, 0), managed: 100,
			approve: Approvals{AllowDeletes: 60}},
		{name: "deletion approval smaller than the shrink does not cover it", plan: limitPlan(40, 0, 0, 0), managed: 100,
			approve: Approvals{AllowDeletes: 10}, want: []error{ErrSourceGuard}, words: []string{"--allow-deletes 60"}},
		{name: "deletion approval never covers an empty export", plan: limitPlan(0, 100, 0, 0), managed: 100,
			approve: Approvals{AllowDeletes: 100}, want: []error{ErrSourceGuard}, words: []string{"export has 0 users"}},
		{name: "empty source is the source guard alone, whatever it would delete", plan: limitPlan(0, 100, 0, 0), managed: 100,
			want: []error{ErrSourceGuard}, not: ErrSafetyLimit, words: []string{"source guard", "export has 0 users", "--allow-source-shrink"}},
		{name: "approved empty source still meets the deletion limit", plan: limitPlan(0, 100, 0, 0), managed: 100,
			approve: Approvals{AllowSourceShrink: true}, want: []error{ErrSafetyLimit}, not: ErrSourceGuard, words: []string{"max_deletes", "--allow-deletes 100"}},
		{name: "zero max_deletes blocks any deletion", plan: limitPlan(100, 1, 0, 0), managed: 100,
			opt: func(o *Options) { o.MaxDeletes = 0 }, want: []error{ErrSafetyLimit}},
		{name: "first sync with no managed users and creates passes", plan: limitPlan(500, 0, 0, 0), managed: 0},
		// managed is the active managed count (the runner's activeCount):
		// 115 managed of whom 15 are deactivated leavers, and an export of
		// 100 people, is no shrink.
		{name: "source guard compares the export with the active managed users", plan: limitPlan(100, 0, 0, 0), managed: 100},
		{name: "source guard words its refusal with the active managed count", plan: limitPlan(80, 0, 0, 0), managed: 90,
			want: []error{ErrSourceGuard}, words: []string{"export has 80 users, fewer than 81 (90% of 90 managed users)", "--allow-deletes 10"}},
		{name: "deleting inactive accounts is outside the delete share", plan: inactiveDeletes(limitPlan(100, 0, 0, 0), 20), managed: 100},
		{name: "max_deletes counts deletions of inactive accounts too", plan: inactiveDeletes(limitPlan(100, 0, 0, 0), 51), managed: 100,
			want: []error{ErrSafetyLimit}, words: []string{"max_deletes: plan deletes 51 of 100 managed users", "--allow-deletes 51"}},
		{name: "delete share counts users losing access now and names the inactive ones", plan: inactiveDeletes(limitPlan(100, 0, 11, 0), 5), managed: 100,
			want: []error{ErrSafetyLimit}, words: []string{"max_delete_share: plan deletes 11 of 100 managed users, and 5 inactive (limit 50, 10%); approve with --allow-deletes 16"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			if c.opt != nil {
				c.opt(&o)
			}
			err := CheckLimits(c.plan, c.managed, o, c.approve)
			if c.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("err = nil, want a limit error")
			}
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want errors.Is %v", err, w)
				}
			}
			if c.not != nil && errors.Is(err, c.not) {
				t.Errorf("err = %v, must not be %v", err, c.not)
			}
			for _, w := range c.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
