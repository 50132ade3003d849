package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

// Errors of --explain and --only.
var (
	// ErrNoPerson means WHO names nobody: no Condeco row, no Visitor user.
	ErrNoPerson = errors.New("no such person")
	// ErrOnlyRefused means --only named a person the run may not change
	// (a held row): nothing was written.
	ErrOnlyRefused = errors.New("--only refused")
)

// Explanation is --explain's answer: what the sync does for each person
// named, and which rule or option decided it. Read-only.
type Explanation struct {
	People []PersonExplanation `json:"people"`
	// Requests is what the explanation cost Visitor: filtered lookups and
	// the locations listing, never the user listing.
	Requests int64 `json:"requests"`
}

// PersonExplanation is every step for one person.
type PersonExplanation struct {
	Who string `json:"who"`
	// Source is the Condeco row as read (or why it is held).
	Source Step `json:"source"`
	// Mapped is the Visitor user the row maps to; nil without a row.
	Mapped *visitor.User `json:"mapped,omitempty"`
	// Visitor is the Visitor user as listed; nil when not in Visitor.
	Visitor *visitor.User `json:"visitor,omitempty"`
	// Ownership says whether the sync owns that user: "managed",
	// "not in Visitor", "not managed: no externalId", "not managed:
	// foreign externalId …", "protected".
	Ownership string `json:"ownership"`
	// Action is what the plan does: create, update, delete, deactivate,
	// unchanged, held, skipped, conflict.
	Action string `json:"action"`
	// Changes are old → new per field; Access per location and role.
	Changes []plan.FieldChange `json:"changes,omitempty"`
	Access  []AccessChange     `json:"access,omitempty"`
	// Decided are the rules and options that decided it, in order.
	Decided []string `json:"decided"`
}

// Step is one step's finding, in words.
type Step struct {
	Found  bool   `json:"found"`
	Detail string `json:"detail"`
}

// AccessChange is one location whose role changes, or stays short of
// what a new user would get, with why.
type AccessChange struct {
	LocationID string       `json:"locationId"`
	Location   string       `json:"location"` // its name
	Old        visitor.Role `json:"old,omitempty"`
	New        visitor.Role `json:"new,omitempty"`
	Why        string       `json:"why"`
}

// Explain tells, for each WHO, every step of what a run would do and why,
// writing nothing. Condeco is read whole (a local query); Visitor is asked
// only what concerns these people: a lookup by externalId and one by
// userName each (filtered GETs), and the locations. It works for any
// target behind the Target seam that answers FindUser.
func (r *Runner) Explain(ctx context.Context, who []string) (*Explanation, error) {
	o := r.Plan
	prefix := cmp.Or(o.ExternalIDPrefix, plan.DefaultExternalIDPrefix)
	o.ExternalIDPrefix = prefix
	reqStart, counting := requests(r.Target)
	exp, err := r.Source.Export(ctx)
	if err != nil {
		return nil, fmt.Errorf("exporting from condeco: %w", tag(ErrSource, err))
	}
	caps := capabilities(r.Target)
	var locs []visitor.Location
	if caps.Locations {
		if locs, err = r.Target.ListLocations(ctx); err != nil {
			return nil, fmt.Errorf("listing locations: %w", tag(ErrTarget, err))
		}
	}
	var firstSync []string
	if r.FirstSync != nil {
		firstSync, _ = r.FirstSync.ReadFirstSync() // explaining, not applying: an unreadable record is no stop
	}
	var rec *plan.TargetRecord
	if r.Record != nil {
		rec, _ = r.Record.ReadTarget()
	}
	var grants *plan.GrantsRecord
	if r.Grants != nil {
		grants, _ = r.Grants.ReadGrants() // unreadable: explained as a run without one (nothing revoked)
	}
	var owed []plan.OwedGrant
	if r.Owed != nil {
		owed, _ = r.Owed.ReadOwedGrants() // unreadable: explained as a run without one (a run stops on it)
	}
	out := &Explanation{People: []PersonExplanation{}}
	for _, w := range who {
		pe, err := r.explainOne(ctx, exp, locs, firstSync, rec, grants, owed, &caps, o, findPerson(exp, prefix, w))
		if err != nil {
			return nil, err
		}
		out.People = append(out.People, pe)
	}
	if n, _ := requests(r.Target); counting {
		out.Requests = n - reqStart
	}
	return out, nil
}

// lookUp finds the Visitor users the person may be: by externalId and by
// userName, one filtered request each.
func (r *Runner) lookUp(ctx context.Context, p Person, caps visitor.Capabilities) ([]visitor.User, error) {
	var found []visitor.User
	add := func(u *visitor.User) {
		if u != nil && !slices.ContainsFunc(found, func(x visitor.User) bool { return x.ID == u.ID }) {
			found = append(found, *u)
		}
	}
	if p.ExternalID != "" && caps.ExternalID {
		u, err := r.Target.FindUser(ctx, "externalId", p.ExternalID)
		if errors.Is(err, visitor.ErrAmbiguous) {
			return nil, fmt.Errorf("externalId %s is on several Visitor users: delete the duplicates so one remains: %w", p.ExternalID, err)
		}
		if err != nil {
			return nil, fmt.Errorf("looking up %s: %w", p.Who, tag(ErrTarget, err))
		}
		add(u)
	}
	if p.UserName != "" {
		u, err := r.Target.FindUser(ctx, "userName", p.UserName)
		if err != nil {
			return nil, fmt.Errorf("looking up %s: %w", p.Who, tag(ErrTarget, err))
		}
		add(u)
	}
	return found, nil
}

func (r *Runner) explainOne(ctx context.Context, exp *condeco.Export, locs []visitor.Location, firstSync []string,
	rec *plan.TargetRecord, grants *plan.GrantsRecord, owed []plan.OwedGrant, caps *visitor.Capabilities, o plan.Options, p Person) (PersonExplanation, error) {
	pe := PersonExplanation{Who: p.Who, Decided: []string{}}
	prefix := o.ExternalIDPrefix
	found, err := r.lookUp(ctx, p, *caps)
	if err != nil {
		return pe, err
	}
	// The one Visitor user this person is: by externalId first (how the
	// sync matches), else the userName look-alike.
	var vu *visitor.User
	for i := range found {
		if p.ExternalID != "" && found[i].ExternalID == p.ExternalID {
			vu = &found[i]
		}
	}
	if vu == nil && len(found) > 0 {
		vu = &found[0]
	}
	pe.Visitor = vu

	switch {
	case p.Row != nil:
		u := p.Row
		level := fmt.Sprintf("access level %d", u.AccessLevel)
		if u.GlobalAdmin {
			level += " (Global admin: a value of global_admin_levels)"
		}
		pe.Source = Step{Found: true, Detail: fmt.Sprintf("users row %s: %s %s <%s>, %s, Condeco location %s", u.ID, u.FirstName, u.LastName, u.UserName, level, cmp.Or(u.LocationID, "none"))}
		if u.Inactive {
			pe.Source.Detail += ", deactivated in Condeco"
		}
	case len(p.Held) > 0:
		pe.Source = Step{Detail: "held: " + strings.Join(p.Held, "; ")}
	default:
		pe.Source = Step{Detail: "no exported Condeco row matches " + p.Who + " (not in Condeco, deleted, inactive or a visitor)"}
	}
	pe.Ownership = ownership(vu, prefix, o.ProtectedUsers)
	if p.Row == nil && vu == nil && len(p.Held) == 0 {
		return pe, fmt.Errorf("%w: %s matches no Condeco row and no Visitor user", ErrNoPerson, p.Who)
	}

	// The plan for this person alone: their row, every managed user the
	// lookups found (another managed holder of their userName matters),
	// with those users' own rows so that they do not read as leavers.
	sub := &condeco.Export{Locations: exp.Locations, Held: exp.Held, Problems: exp.Problems, HeldUserNames: exp.HeldUserNames}
	var cur, lookAlikes []visitor.User
	for _, f := range found {
		if strings.HasPrefix(f.ExternalID, prefix) {
			cur = append(cur, f)
			if u := rowOf(exp, strings.TrimPrefix(f.ExternalID, prefix)); u != nil && u != p.Row {
				sub.Users = append(sub.Users, *u)
			}
		} else if o.AdoptExistingUsers {
			lookAlikes = append(lookAlikes, f) // as a run looks them up (Runner.lookAlikes)
		}
	}
	if p.Row != nil {
		sub.Users = append(sub.Users, *p.Row)
	}
	pl, err := plan.BuildPlan(sub, plan.Current{Users: cur, Locations: locs, FirstSync: firstSync, Capabilities: caps, Target: rec,
		Grants: grants, LookAlikes: lookAlikes, OwedGrants: owed}, o, time.Now())
	if err != nil {
		return pe, fmt.Errorf("planning: %w", err)
	}
	names := map[string]string{}
	for _, l := range locs {
		names[l.ID] = l.Name
	}
	for _, lc := range pl.LocationCreates {
		names[lc.Key] = lc.Location.Name + " (created by the same run)"
	}
	explainPlan(&pe, p, pl, o, names, vu)
	return pe, nil
}

func rowOf(exp *condeco.Export, id string) *condeco.User {
	for i := range exp.Users {
		if exp.Users[i].ID == id {
			return &exp.Users[i]
		}
	}
	return nil
}

func ownership(vu *visitor.User, prefix string, protected []string) string {
	switch {
	case vu == nil:
		return "not in Visitor"
	case slices.ContainsFunc(protected, func(s string) bool {
		return strings.EqualFold(s, vu.UserName) || strings.EqualFold(s, vu.ExternalID)
	}):
		return "protected (protected_users)"
	case vu.ExternalID == "":
		return "not managed: no externalId"
	case !strings.HasPrefix(vu.ExternalID, prefix):
		return fmt.Sprintf("not managed: foreign externalId %s (not external_id_prefix %s)", vu.ExternalID, prefix)
	}
	return "managed (externalId " + vu.ExternalID + ")"
}

// explainPlan finds the person's entry in the plan and says why.
func explainPlan(pe *PersonExplanation, p Person, pl *plan.Plan, o plan.Options, names map[string]string, vu *visitor.User) {
	mine := func(ext, userName string) bool {
		return ext != "" && ext == p.ExternalID || p.UserName != "" && strings.EqualFold(userName, p.UserName)
	}
	for _, is := range pl.Held {
		if mine(is.ExternalID, is.UserName) {
			pe.Action = "held"
			pe.Decided = append(pe.Decided, is.Reason, "rule: a held source row is never created, updated or deleted; "+is.Fix)
			return
		}
	}
	if len(p.Held) > 0 {
		pe.Action = "held"
		pe.Decided = append(pe.Decided, "rule: a held source row is never created, updated or deleted; correct the row in Condeco")
		return
	}
	for _, g := range []struct {
		action string
		issues []plan.Issue
	}{{"conflict", pl.Conflicts}, {"skipped", pl.Skipped}} {
		for _, is := range g.issues {
			if !mine(is.ExternalID, is.UserName) {
				continue
			}
			pe.Action = g.action
			pe.Decided = append(pe.Decided, is.Reason)
			if is.Fix != "" {
				pe.Decided = append(pe.Decided, "fix: "+is.Fix)
			}
			return
		}
	}
	for _, group := range [][]plan.UserChange{pl.Creates, pl.Adoptions, pl.Updates, pl.Deletes, pl.Deactivates} {
		for _, c := range group {
			if c.ExternalID == p.ExternalID {
				explainChange(pe, c, pl, o, names, vu)
				return
			}
		}
	}
	pe.Action = "unchanged"
	if vu != nil && p.Row != nil && p.Row.Inactive {
		pe.Mapped = vu
		pe.Decided = append(pe.Decided, "deactivated in Condeco and already inactive in Visitor: kept, with its access, for a reactivation (never deleted while the row is there)")
		return
	}
	if vu != nil && p.Row != nil {
		pe.Mapped = vu
		pe.Decided = append(pe.Decided, "the Visitor user already matches the Condeco row")
		explainMissing(pe, vu.Access, o, names)
		return
	}
	if vu != nil && p.Row == nil && strings.HasPrefix(vu.ExternalID, o.ExternalIDPrefix) && !vu.Active {
		pe.Decided = append(pe.Decided, "left Condeco and already inactive (deprovision: "+o.Deprovision+")")
		return
	}
	if vu != nil {
		pe.Decided = append(pe.Decided, "the sync does not own this Visitor user and has no Condeco row for it: never changed")
	}
}

func explainChange(pe *PersonExplanation, c plan.UserChange, pl *plan.Plan, o plan.Options, names map[string]string, vu *visitor.User) {
	pe.Action = string(c.Action)
	pe.Mapped = c.Desired
	pe.Decided = append(pe.Decided, c.Reason)
	switch c.Action {
	case plan.ActionCreate:
		switch {
		case vu != nil && vu.ExternalID == "" && o.AdoptExistingUsers:
			pe.Decided = append(pe.Decided, "Visitor holds "+vu.UserName+" without an externalId: as adopt_existing_users is on, a run looks it up before planning and plans its adoption (externalId set, every role it holds kept, counted adopted and against max_admin_changes)")
		case vu != nil && vu.ExternalID == "":
			pe.Decided = append(pe.Decided, "Visitor holds "+vu.UserName+" without an externalId: Visitor will refuse the create (409), reported as a conflict, because adopt_existing_users is off; set it on to claim that user, or remove it")
		case vu != nil:
			pe.Decided = append(pe.Decided, "Visitor holds "+vu.UserName+" owned by another source ("+vu.ExternalID+"): the create will be refused (409) and reported as a conflict; the other source's user is never changed")
		}
		if c.Desired != nil {
			inv := "no invitation email: invitations is " + o.Invitations
			if c.Desired.SendInvitation {
				inv = "an invitation email is sent: invitations is " + o.Invitations
			} else if o.Invitations == plan.InvitationsSuppressInitial {
				inv = "no invitation email: part of the first full sync under invitations suppress-initial"
			}
			pe.Decided = append(pe.Decided, inv)
			pe.Access = accessChanges(nil, c.Desired.Access, pl.DefaultLocation, names)
		}
	case plan.ActionUpdate:
		pe.Changes = c.Changes
		if c.Before != nil && c.Desired != nil {
			pe.Access = accessChanges(c.Before.Access, c.Desired.Access, pl.DefaultLocation, names)
			explainMissing(pe, c.Desired.Access, o, names)
		}
	case plan.ActionDelete, plan.ActionDeactivate:
		pe.Changes = c.Changes
		pe.Decided = append(pe.Decided, "deprovision: "+o.Deprovision+", policy: "+o.Policy)
	}
	if c.AdminChange != "" {
		pe.Decided = append(pe.Decided, "admin role "+c.AdminChange+": counts against max_admin_changes")
	}
}

// accessChanges lists the locations whose role the plan changes, with
// why: the admin on the default location follows Global admin.
func accessChanges(before, after []visitor.Access, defaultLoc string, names map[string]string) []AccessChange {
	roles := func(a []visitor.Access) map[string]visitor.Role {
		m := map[string]visitor.Role{}
		for _, x := range a {
			if x.Role == visitor.RoleAdmin || m[x.LocationID] == "" {
				m[x.LocationID] = x.Role
			}
		}
		return m
	}
	b, a := roles(before), roles(after)
	var ids []string
	for id := range a {
		ids = append(ids, id)
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []AccessChange
	if before == nil {
		// A new user: one line for the role everywhere, one per exception.
		n := 0
		for _, id := range ids {
			if a[id] == visitor.RoleUser {
				n++
				continue
			}
			why := "Location admin of this location (location_admins is on)"
			if id == defaultLoc && a[id] == visitor.RoleAdmin {
				why = "Global admin in Condeco: admin on the integration's default location"
			}
			out = append(out, AccessChange{LocationID: id, Location: names[id], New: a[id], Why: why})
		}
		if n > 0 {
			out = append(out, AccessChange{Location: fmt.Sprintf("every other location (%d)", n), New: visitor.RoleUser, Why: "new user: user on every Visitor location"})
		}
		return out
	}
	for _, id := range ids {
		if b[id] == a[id] {
			continue
		}
		ch := AccessChange{LocationID: id, Location: names[id], Old: b[id], New: a[id]}
		switch {
		case id == defaultLoc && a[id] == visitor.RoleAdmin:
			ch.Why = "Global admin in Condeco: admin on the integration's default location"
		case id == defaultLoc && b[id] == visitor.RoleAdmin:
			ch.Why = "not a Global admin in Condeco (access level not in global_admin_levels): admin on the default location becomes user"
		case a[id] == visitor.RoleAdmin:
			ch.Why = "Location admin of this location (location_admins is on)"
		case b[id] == "":
			ch.Why = "grant_new_locations_to_existing_users is on: given the location it lacked"
		default:
			ch.Why = "the sync owns admin/user on the default location"
		}
		out = append(out, ch)
	}
	return out
}

// explainMissing names each location an existing user lacks and is not
// given, with the option that decides it.
func explainMissing(pe *PersonExplanation, after []visitor.Access, o plan.Options, names map[string]string) {
	if o.GrantNewLocationsToExistingUsers {
		return
	}
	has := map[string]bool{}
	for _, x := range after {
		has[x.LocationID] = true
	}
	ids := make([]string, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if has[id] {
			continue
		}
		why := "existing user not given " + names[id] + ": grant_new_locations_to_existing_users is off"
		pe.Access = append(pe.Access, AccessChange{LocationID: id, Location: names[id], Why: why})
		pe.Decided = append(pe.Decided, why)
	}
}
