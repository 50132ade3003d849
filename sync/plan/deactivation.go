package plan

import (
	"fmt"
	"strings"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

// Deactivation in Condeco is reversible, so it is in Visitor: a row the
// export marks deactivated (condeco.User.Inactive) deactivates the same
// Visitor account, whatever deprovision says, and keeps its access
// (hand-granted roles included) for the day the row is reactivated; only
// a row deleted in Condeco, or gone from the export, is deprovisioned.

// How a retired account is accounted for in the plan before a rehire
// may turn it into a deletion.
const (
	retiredPlanned   = iota // a deactivation in Deactivates
	retiredUnchanged        // counted in Unchanged (already inactive)
	retiredSkipped          // an issue in Skipped
)

// retiredUser is a managed account that stays inactive after the plan.
type retiredUser struct {
	u   *visitor.User
	how int
	why string // "deactivated in Condeco" or "left Condeco"
}

// deactivate plans active=false for u, the only field sent: the rest of
// the account, access included, stays as it is.
func (b *planner) deactivate(ch *UserChange, u *visitor.User, reason string) {
	ch.Action, ch.Reason = ActionDeactivate, reason
	ch.Changes = []FieldChange{{Field: visitor.FieldActive, Old: "true", New: "false"}}
	d := *u
	d.Active = false
	d.LastModified = time.Time{}
	ch.Desired = &d
	b.p.Deactivates = append(b.p.Deactivates, *ch)
	b.retired[u.ExternalID] = &retiredUser{u: u, how: retiredPlanned, why: reason}
}

// deactivated plans a row deactivated in Condeco: its Visitor account, if
// there is one, is deactivated (or left inactive); nothing is created for
// a row without one, and nothing else of the account is changed.
func (b *planner) deactivated(u condeco.User) {
	ext := b.o.ExternalIDPrefix + u.ID
	matches := b.byExt[ext]
	switch {
	case u.ID == "" || len(matches) == 0:
		return
	case len(matches) > 1:
		ids := make([]string, 0, len(matches))
		for _, m := range matches {
			ids = append(ids, m.ID)
		}
		b.p.Conflicts = append(b.p.Conflicts, Issue{UserName: matches[0].UserName, ExternalID: ext,
			Reason: fmt.Sprintf("deactivated in Condeco, but externalId %s is on %d Visitor users (%s)", ext, len(matches), strings.Join(ids, ", ")),
			Fix:    "delete the duplicate Visitor users so one remains"})
		return
	}
	m := matches[0]
	issue := Issue{UserName: m.UserName, ExternalID: ext, VisitorID: m.ID}
	switch {
	case b.isProtected(m):
		if m.Active {
			issue.Reason = "protected user; deactivated in Condeco but never changed"
			b.p.Skipped = append(b.p.Skipped, issue)
		} else {
			b.p.Unchanged++
		}
	case !m.Active:
		b.p.Unchanged++
		b.retired[ext] = &retiredUser{u: m, how: retiredUnchanged, why: "deactivated in Condeco"}
	case b.o.Policy != PolicySync:
		issue.Reason = "policy " + b.o.Policy + ": deactivated in Condeco but not deactivated"
		b.p.Skipped = append(b.p.Skipped, issue)
	default:
		before := *m
		ch := UserChange{UserName: m.UserName, ExternalID: ext, VisitorID: m.ID, Before: &before}
		b.deactivate(&ch, m, "deactivated in Condeco")
	}
}

// rehire frees the userName of r, a retired account, for want, an active
// Condeco row under another id with the same email (a rehire): the old
// account is deleted in this plan, counted by the deletion limits, when
// deprovision may delete and the limits leave room; otherwise want is a
// conflict whose fix names both accounts. It reports whether want may be
// created.
func (b *planner) rehire(want visitor.User, r *retiredUser, issue Issue) bool {
	old := r.u
	if why := b.cannotDelete(r); why != "" {
		issue.Reason = fmt.Sprintf("userName %s is held by inactive managed Visitor user %s (externalId %s, %s): a rehire under a new Condeco id; %s",
			want.UserName, old.ID, old.ExternalID, r.why, why)
		issue.Fix = fmt.Sprintf("delete Visitor user %s (externalId %s, userName %s) by hand; the next run creates %s with that userName",
			old.ID, old.ExternalID, old.UserName, want.ExternalID)
		b.p.Conflicts = append(b.p.Conflicts, issue)
		return false
	}
	switch r.how {
	case retiredPlanned:
		b.replaced++ // finish drops the deactivation
	case retiredUnchanged:
		b.p.Unchanged--
	}
	before := *old
	b.p.Deletes = append(b.p.Deletes, UserChange{Action: ActionDelete, UserName: old.UserName, ExternalID: old.ExternalID,
		VisitorID: old.ID, Before: &before,
		Reason: fmt.Sprintf("%s; its userName %s goes to %s (rehired under a new Condeco id)", r.why, want.UserName, want.ExternalID)})
	b.leaving[old.ID] = true
	delete(b.retired, old.ExternalID)
	b.takenBy[strings.ToLower(old.UserName)] = want.ExternalID
	return true
}

// cannotDelete says why r may not be deleted for a rehire, or "".
func (b *planner) cannotDelete(r *retiredUser) string {
	switch {
	case b.o.Policy != PolicySync:
		return "policy " + b.o.Policy + " deletes no one"
	case b.o.Deprovision == DeprovisionDeactivate:
		return "deprovision: deactivate deletes no one"
	}
	// A planned deactivation turned into a deletion is a removal already
	// counted; another deletion must fit under max_deletes. An inactive
	// account loses no access, so the delete share is not concerned.
	removals := len(b.p.Deletes) + len(b.p.Deactivates) - b.replaced
	if r.how != retiredPlanned && removals+1 > b.o.MaxDeletes {
		return fmt.Sprintf("deleting it would exceed max_deletes (%d)", b.o.MaxDeletes)
	}
	return ""
}
