package plan

import (
	"errors"
	"fmt"
	"math"
)

// Sentinels the CLI maps to exit codes.
var (
	// ErrSafetyLimit: the plan removes or re-roles more users than allowed.
	ErrSafetyLimit = errors.New("safety limit")
	// ErrSourceGuard: the export looks broken (empty or shrunk).
	ErrSourceGuard = errors.New("source guard")
	// ErrTargetGuard: the Visitor listing looks broken (empty or much
	// smaller than what the sync recorded after its last good run).
	ErrTargetGuard = errors.New("target guard")
	// ErrPartial: the run finished but some users failed or conflicted.
	ErrPartial = errors.New("partial sync")
)

// Approvals lift the safety limits for one run, up to the numbers an
// operator has seen in a dry run.
type Approvals struct {
	AllowDeletes      int  `json:"allowDeletes,omitempty"`      // approves up to N deletions+deactivations
	AllowAdminChanges int  `json:"allowAdminChanges,omitempty"` // approves up to N admin-role changes
	AllowSourceShrink bool `json:"allowSourceShrink,omitempty"`
	AllowTargetShrink bool `json:"allowTargetShrink,omitempty"`
}

// CheckTarget is the mirror of the source guard: a listing of Visitor with
// no active managed user, or fewer than target_min_share of those the
// sync recorded after its last good run, is a listing that missed people
// (an unsupported filter answered with nothing, a truncated listing), and
// planning on it would re-create or re-invite them. activeListed counts
// the active managed users listed; rec is nil without a record.
func CheckTarget(activeListed int, rec *TargetRecord, o Options, approve Approvals) error {
	if rec == nil || rec.ActiveManaged == 0 || approve.AllowTargetShrink {
		return nil
	}
	if activeListed == 0 {
		return fmt.Errorf("%w: Visitor lists no active managed user, %d after the last good run; check the listing (filters, paging), or approve with --allow-target-shrink",
			ErrTargetGuard, rec.ActiveManaged)
	}
	if need := int(math.Ceil(o.TargetMinShare * float64(rec.ActiveManaged))); activeListed < need {
		return fmt.Errorf("%w target_min_share: Visitor lists %d active managed users, fewer than %d (%s of %d after the last good run); approve with --allow-target-shrink",
			ErrTargetGuard, activeListed, need, pct(o.TargetMinShare), rec.ActiveManaged)
	}
	return nil
}

// CheckLimits checks the whole plan before the first write, so a broken
// source read or a config slip is stopped before it deletes anyone.
// activeManaged is the number of active managed Visitor users: the people
// who have access now. Inactive accounts (deactivated leavers kept under
// deprovision: deactivate) are no measure of the source, and counting them
// would stop every run once ordinary turnover passed source_min_share.
// All violated limits are joined into one error; errors.Is finds each
// sentinel.
func CheckLimits(p *Plan, activeManaged int, o Options, approve Approvals) error {
	var errs []error
	managed := activeManaged
	// The export counts deactivated rows too: a deactivation is a row
	// still read, not one lost.
	src := p.Summary.SourceUsers
	// An operator who approved N deletions has looked at who is missing:
	// that approval also covers an export short by at most N users. An
	// empty export is never covered by it; it takes --allow-source-shrink.
	shrinkApproved := src > 0 && approve.AllowDeletes > 0 && managed-src <= approve.AllowDeletes
	if !approve.AllowSourceShrink && !shrinkApproved {
		if src == 0 {
			// An empty export stops the run on its own (exit 5): it says the
			// source is broken, and the "everyone left" plan built on it is
			// not worth weighing until an operator approves the export.
			return fmt.Errorf("%w: export has 0 users and %d managed users exist; approve with --allow-source-shrink", ErrSourceGuard, managed)
		} else if need := int(math.Ceil(o.SourceMinShare * float64(managed))); src < need {
			errs = append(errs, fmt.Errorf("%w source_min_share: export has %d users, fewer than %d (%s of %d managed users); approve with --allow-source-shrink or --allow-deletes %d",
				ErrSourceGuard, src, need, pct(o.SourceMinShare), managed, managed-src))
		}
	}
	// max_deletes counts every removal; the share counts the users who
	// lose access now (deactivations, deletions of active users) against
	// those who have it: deleting an account already inactive (a rehire's
	// old account, deactivate-then-delete) takes nobody's access.
	removals := len(p.Deletes) + len(p.Deactivates)
	losing := len(p.Deactivates)
	for _, c := range p.Deletes {
		if c.Before == nil || c.Before.Active {
			losing++
		}
	}
	if removals > 0 && approve.AllowDeletes < removals {
		share := 1.0
		if managed > 0 {
			share = float64(losing) / float64(managed)
		}
		switch {
		case removals > o.MaxDeletes:
			errs = append(errs, fmt.Errorf("%w max_deletes: plan deletes %d of %d managed users (limit %d, %s); approve with --allow-deletes %d",
				ErrSafetyLimit, removals, managed, o.MaxDeletes, pct(o.MaxDeleteShare), removals))
		case losing > 0 && share > o.MaxDeleteShare:
			inactive := ""
			if n := removals - losing; n > 0 {
				inactive = fmt.Sprintf(", and %d inactive", n)
			}
			errs = append(errs, fmt.Errorf("%w max_delete_share: plan deletes %d of %d managed users%s (limit %d, %s); approve with --allow-deletes %d",
				ErrSafetyLimit, losing, managed, inactive, o.MaxDeletes, pct(o.MaxDeleteShare), removals))
		}
	}
	if n := p.Summary.AdminChanges; n > o.MaxAdminChanges && approve.AllowAdminChanges < n {
		errs = append(errs, fmt.Errorf("%w max_admin_changes: plan changes the admin role of %d users (limit %d); approve with --allow-admin-changes %d",
			ErrSafetyLimit, n, o.MaxAdminChanges, n))
	}
	return errors.Join(errs...)
}

func pct(f float64) string {
	return fmt.Sprintf("%g%%", math.Round(f*1000)/10)
}
