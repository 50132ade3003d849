package plan

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

// Planning errors: the plan cannot be made at all.
var (
	ErrNoDefaultLocation = errors.New("no default location")
	ErrNilExport         = errors.New("no export")
	// ErrUnsupportedTarget: the target's capabilities lack something
	// this planner cannot plan without.
	ErrUnsupportedTarget = errors.New("target profile not supported by the planner")
)

// BuildPlan computes the changes that bring Visitor to the state exp
// describes. It does no I/O and depends only on its arguments (now is used
// for deactivate-then-delete), so dry runs, golden files and real runs agree.
func BuildPlan(exp *condeco.Export, current Current, o Options, now time.Time) (*Plan, error) {
	if exp == nil {
		return nil, ErrNilExport
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.normalized()
	caps := visitor.SCIM2Capabilities()
	if current.Capabilities != nil {
		caps = *current.Capabilities
	}
	if err := plannable(caps); err != nil {
		return nil, err
	}
	b := &planner{o: o, caps: caps, now: now, protected: o.protectedSet(), p: &Plan{}}
	// A target without locations gets none: no location creates, no
	// default location to find, no access lists.
	if caps.Locations {
		if err := b.locations(exp, current.Locations); err != nil {
			return nil, err
		}
	}
	b.index(current, exp)
	// Once the first full sync has completed, an empty listing is a
	// broken listing (CheckTarget stops it), never a first sync again.
	b.p.Initial = len(b.managed) == 0 && (current.Target == nil || !current.Target.FirstSyncDone)
	switch o.Invitations {
	case InvitationsSend:
		b.p.SendInvitations = true
	case InvitationsSuppressInitial:
		b.p.SendInvitations = !b.p.Initial
	}
	b.heldRows(exp)
	b.departures()
	b.vacate(exp.Users)
	for _, u := range sortedUsers(exp.Users) {
		b.user(*u)
	}
	b.finish(exp)
	return b.p, nil
}

// plannable says whether the planner can plan for a target with caps.
// It matches users by externalId, and an access list without roles is a
// profile's own question (which roles to leave to a person), not answered
// here yet. PATCH and filters are the client's and applier's concern.
func plannable(caps visitor.Capabilities) error {
	switch {
	case !caps.ExternalID:
		return fmt.Errorf("%w: it carries no externalId, by which the sync knows its users", ErrUnsupportedTarget)
	case caps.Locations && !caps.LocationRoles:
		return fmt.Errorf("%w: it carries locations without roles", ErrUnsupportedTarget)
	}
	return nil
}

type planner struct {
	o         Options
	caps      visitor.Capabilities
	now       time.Time
	protected map[string]bool
	p         *Plan

	defaultLoc string
	allLocs    []string          // Visitor ids and pending keys
	condecoLoc map[string]string // Condeco location id -> Visitor id or pending key

	// managed and byExt point into the listing instead of copying it: at
	// 100 000 users two copies would be 40 % of a no-change run's live heap.
	managed   []*visitor.User
	byExt     map[string][]*visitor.User
	firstSync map[string]bool   // externalIds the first full sync set out to create
	desired   map[string]bool   // externalIds present in the export
	held      map[string]bool   // externalIds of held source rows
	heldNames map[string]bool   // lower-cased userNames claimed by held source rows
	leaving   map[string]bool   // Visitor ids deleted by this plan
	takenBy   map[string]string // lower userName -> externalId that will hold it after the plan
	creating  map[string]bool   // lower userNames this plan creates
	access    *accessCache      // access lists shared between users
	// granted is the grants record by externalId (location -> the role
	// the grant replaced); grantsKnown says there is a record at all.
	granted     map[string]map[string]visitor.Role
	grantsKnown bool
	lookAlikes  map[string]*visitor.User // lower userName -> unmanaged Visitor user holding it

	withoutAll int // existing users not given every location (Summary)
}

func (b *planner) locations(exp *condeco.Export, cur []visitor.Location) error {
	byExt := map[string]visitor.Location{}
	var defaults []string
	found := false
	for _, l := range cur {
		b.allLocs = append(b.allLocs, l.ID)
		if l.ExternalID != "" {
			byExt[l.ExternalID] = l
		}
		if l.Default {
			defaults = append(defaults, l.ID)
		}
		if b.o.DefaultLocationID != "" && l.ID == b.o.DefaultLocationID {
			found = true
		}
	}
	switch {
	case b.o.DefaultLocationID != "" && !found:
		return fmt.Errorf("%w: configured default_location_id %q is not a Visitor location", ErrNoDefaultLocation, b.o.DefaultLocationID)
	case b.o.DefaultLocationID != "":
		b.defaultLoc = b.o.DefaultLocationID
	case len(defaults) == 1:
		b.defaultLoc = defaults[0]
	case len(defaults) == 0:
		return fmt.Errorf("%w: Visitor has no location marked default; set default_location_id", ErrNoDefaultLocation)
	default:
		return fmt.Errorf("%w: Visitor marks %d locations default (%s); set default_location_id", ErrNoDefaultLocation, len(defaults), strings.Join(defaults, ", "))
	}
	b.p.DefaultLocation = b.defaultLoc

	b.condecoLoc = map[string]string{}
	locs := slices.Clone(exp.Locations)
	slices.SortFunc(locs, func(a, c condeco.Location) int { return cmp.Compare(a.ID, c.ID) })
	for _, l := range locs {
		if _, dup := b.condecoLoc[l.ID]; dup || l.ID == "" {
			continue
		}
		ext := b.o.LocationExternalIDPrefix + l.ID
		if v, ok := byExt[ext]; ok {
			b.condecoLoc[l.ID] = v.ID
			continue
		}
		key := PendingLocationPrefix + ext
		b.condecoLoc[l.ID] = key
		b.allLocs = append(b.allLocs, key)
		b.p.LocationCreates = append(b.p.LocationCreates, LocationCreate{
			Key:      key,
			Location: visitor.Location{ExternalID: ext, Name: l.Name},
		})
	}
	slices.Sort(b.allLocs)
	b.allLocs = slices.Compact(b.allLocs)
	return nil
}

func (b *planner) index(cur Current, exp *condeco.Export) {
	b.byExt = make(map[string][]*visitor.User, len(cur.Users))
	b.managed = make([]*visitor.User, 0, len(cur.Users))
	for i := range cur.Users {
		u := &cur.Users[i]
		// The listing is filtered by prefix already; checking again means
		// a client bug can never make the sync touch an unmanaged user.
		if !strings.HasPrefix(u.ExternalID, b.o.ExternalIDPrefix) {
			continue
		}
		b.managed = append(b.managed, u)
		b.byExt[u.ExternalID] = append(b.byExt[u.ExternalID], u)
	}
	slices.SortFunc(b.managed, func(a, c *visitor.User) int {
		return cmp.Or(cmp.Compare(a.ExternalID, c.ExternalID), cmp.Compare(a.ID, c.ID))
	})
	// Maps are made at their final size: a growing map holds its old and
	// new tables at once, a third of a 100 000-user plan's garbage.
	b.desired = make(map[string]bool, len(exp.Users))
	for _, u := range exp.Users {
		b.desired[b.o.ExternalIDPrefix+u.ID] = true
	}
	b.held = map[string]bool{}
	for _, id := range exp.Held {
		b.held[b.o.ExternalIDPrefix+id] = true
	}
	b.firstSync = map[string]bool{}
	// The first full sync ends once it has completed: anyone created
	// after that (a leaver who comes back a year later) is a new starter
	// and gets the configured invitation.
	if cur.Target == nil || !cur.Target.FirstSyncDone {
		for _, ext := range cur.FirstSync {
			b.firstSync[ext] = true
		}
	}
	// A held row whose id is unusable still names the person; protect the
	// Visitor account with that userName too.
	b.heldNames = map[string]bool{}
	for _, n := range exp.HeldUserNames {
		b.heldNames[strings.ToLower(n)] = true
	}
	b.leaving = map[string]bool{}
	b.takenBy = make(map[string]string, len(b.managed))
	b.creating = map[string]bool{}
	b.access = newAccessCache()
	b.lookAlikes = map[string]*visitor.User{}
	for i := range cur.LookAlikes {
		if u := &cur.LookAlikes[i]; !strings.HasPrefix(u.ExternalID, b.o.ExternalIDPrefix) {
			b.lookAlikes[strings.ToLower(u.UserName)] = u
		}
	}
	b.granted = map[string]map[string]visitor.Role{}
	if cur.Grants != nil {
		b.grantsKnown = true
		for _, g := range cur.Grants.Admin {
			if b.granted[g.ExternalID] == nil {
				b.granted[g.ExternalID] = map[string]visitor.Role{}
			}
			b.granted[g.ExternalID][g.LocationID] = g.Replaced
		}
	}
}

func (b *planner) isProtected(u *visitor.User) bool {
	return b.protected[strings.ToLower(u.UserName)] || b.protected[strings.ToLower(u.ExternalID)]
}

// heldFix is what an operator does about a held source row.
const heldFix = "correct the row in Condeco; the next run picks it up"

// heldRows lists every held source row, whether or not Visitor has the
// user yet, so that a dry run shows the same held rows a real run reports.
// The reason names the row, field and rule from the export's problems.
func (b *planner) heldRows(exp *condeco.Export) {
	why := map[string][]string{}
	for _, pr := range exp.Problems {
		if pr.Table == "users" {
			why[pr.RowID] = append(why[pr.RowID], pr.Error())
		}
	}
	ids := slices.Clone(exp.Held)
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		ext := b.o.ExternalIDPrefix + id
		if b.desired[ext] {
			continue // a valid row with the same id was exported; it wins
		}
		reason := "source row held (invalid or colliding in Condeco)"
		if w := why[id]; len(w) > 0 {
			reason = "source row held: " + strings.Join(slices.Compact(w), "; ")
		}
		issue := Issue{ExternalID: ext, Reason: reason + "; not created", Fix: heldFix}
		if m := b.byExt[ext]; len(m) > 0 {
			issue.UserName, issue.VisitorID = m[0].UserName, m[0].ID
			issue.Reason = reason + "; Visitor user left as is"
		}
		b.p.Held = append(b.p.Held, issue)
	}
}

// departures plans the managed users who are no longer in the export.
func (b *planner) departures() {
	for _, u := range b.managed {
		if b.desired[u.ExternalID] || b.held[u.ExternalID] { // held: listed by heldRows
			continue
		}
		issue := Issue{UserName: u.UserName, ExternalID: u.ExternalID, VisitorID: u.ID}
		switch {
		case b.heldNames[strings.ToLower(u.UserName)]:
			issue.Reason = "a held source row (invalid or colliding in Condeco) claims this userName; Visitor user left as is"
			issue.Fix = heldFix
			b.p.Held = append(b.p.Held, issue)
			continue
		case b.isProtected(u):
			issue.Reason = "protected user; not deprovisioned"
			b.p.Skipped = append(b.p.Skipped, issue)
			continue
		case b.o.Policy != PolicySync:
			issue.Reason = "policy " + b.o.Policy + ": left Condeco but not deprovisioned"
			b.p.Skipped = append(b.p.Skipped, issue)
			continue
		}
		before := *u
		ch := UserChange{UserName: u.UserName, ExternalID: u.ExternalID, VisitorID: u.ID, Before: &before}
		switch {
		case b.o.Deprovision == DeprovisionDelete:
			ch.Action, ch.Reason = ActionDelete, "left Condeco"
		case u.Active:
			ch.Action, ch.Reason = ActionDeactivate, "left Condeco"
			ch.Changes = []FieldChange{{Field: visitor.FieldActive, Old: "true", New: "false"}}
			d := *u
			d.Active = false
			d.LastModified = time.Time{}
			ch.Desired = &d
		case b.o.Deprovision == DeprovisionDeactivateThenDelete && u.LastModified.IsZero():
			// Without a time there is no due date; deleting would guess.
			issue.Reason = "left Condeco and inactive, but Visitor gives no lastModified: deletion date unknown, not deleted"
			issue.Fix = "delete the user in Visitor by hand, or use deprovision: delete"
			b.p.Skipped = append(b.p.Skipped, issue)
			continue
		case b.o.Deprovision == DeprovisionDeactivateThenDelete && !b.now.Before(u.LastModified.AddDate(0, 0, b.o.DeleteAfter)):
			// Visitor's lastModified of an inactive, departed user is when it
			// was deactivated (the sync reactivates anyone still in Condeco and
			// never writes a departed user again); a later hand edit only
			// postpones the deletion.
			ch.Action = ActionDelete
			ch.Reason = fmt.Sprintf("left Condeco; inactive since %s, %d days or more", u.LastModified.UTC().Format(time.DateOnly), b.o.DeleteAfter)
		default:
			b.p.Unchanged++ // already inactive, not yet due for deletion
			continue
		}
		if ch.Action == ActionDelete {
			b.leaving[u.ID] = true
			b.p.Deletes = append(b.p.Deletes, ch)
		} else {
			b.p.Deactivates = append(b.p.Deactivates, ch)
		}
	}
	// Whoever stays keeps their userName unless renamed below.
	for _, u := range b.managed {
		if !b.leaving[u.ID] {
			b.takenBy[strings.ToLower(u.UserName)] = u.ExternalID
		}
	}
}

// vacate frees the old userNames of users renamed in this run, so that
// another user may take one over (Condeco email swaps and re-hires). Updates
// run before creates, so a create can rely on it; two renames racing for
// one name may get a 409 and converge on the next run.
func (b *planner) vacate(users []condeco.User) {
	if b.o.Policy == PolicyCreateOnly {
		return
	}
	for _, u := range users {
		ext := b.o.ExternalIDPrefix + u.ID
		m := b.byExt[ext]
		if len(m) != 1 || b.isProtected(m[0]) || b.protected[strings.ToLower(u.UserName)] ||
			strings.EqualFold(m[0].UserName, u.UserName) {
			continue
		}
		if old := strings.ToLower(m[0].UserName); b.takenBy[old] == ext {
			delete(b.takenBy, old)
		}
	}
}

// nameHolder returns the externalId of a managed Visitor user other than
// ext that keeps name after this plan, or "".
func (b *planner) nameHolder(name, ext string) string {
	if h, ok := b.takenBy[strings.ToLower(name)]; ok && h != ext {
		return h
	}
	return ""
}

func (b *planner) accessFor(u condeco.User, ext string) accessPlan {
	if !b.caps.Locations {
		return accessPlan{}
	}
	ap := accessPlan{defaultLoc: b.defaultLoc, all: b.allLocs, roles: map[string]visitor.Role{},
		granted: b.granted[ext]}
	ap.roles[b.defaultLoc] = visitor.RoleUser
	if u.GlobalAdmin {
		ap.roles[b.defaultLoc] = visitor.RoleAdmin
	}
	if b.o.LocationAdmins && u.AccessLevel == condeco.LevelLocationAdmin {
		if l, ok := b.condecoLoc[u.LocationID]; ok {
			ap.roles[l] = visitor.RoleAdmin
		}
	}
	return ap
}

func (b *planner) user(u condeco.User) {
	ext := b.o.ExternalIDPrefix + u.ID
	name := u.UserName
	if name == "" {
		name = u.Email
	}
	issue := Issue{UserName: name, ExternalID: ext}
	if u.ID == "" || name == "" {
		issue.Reason = "source user has no id or no userName"
		b.p.Skipped = append(b.p.Skipped, issue)
		return
	}
	matches := b.byExt[ext]
	if len(matches) > 1 {
		ids := make([]string, 0, len(matches))
		for _, m := range matches {
			ids = append(ids, m.ID)
		}
		issue.Reason = fmt.Sprintf("externalId %s is on %d Visitor users (%s)", ext, len(matches), strings.Join(ids, ", "))
		issue.Fix = "delete the duplicate Visitor users so one remains"
		b.p.Conflicts = append(b.p.Conflicts, issue)
		return
	}
	if b.protected[strings.ToLower(name)] || b.protected[strings.ToLower(ext)] ||
		(len(matches) == 1 && b.isProtected(matches[0])) {
		issue.Reason = "protected user; never changed"
		if len(matches) == 1 {
			issue.VisitorID = matches[0].ID
		}
		b.p.Skipped = append(b.p.Skipped, issue)
		return
	}
	ap := b.accessFor(u, ext)
	want := visitor.User{
		ExternalID:      ext,
		UserName:        name,
		Email:           name, // Visitor requires userName == primary work email
		GivenName:       u.FirstName,
		FamilyName:      u.LastName,
		Phone:           u.Phone,
		Mobile:          u.Mobile,
		Language:        u.Language,
		Active:          true,
		DefaultLocation: b.defaultLoc,
	}
	if len(matches) == 0 {
		b.create(want, ap, issue)
		return
	}
	b.update(*matches[0], want, ap, issue)
}

func (b *planner) create(want visitor.User, ap accessPlan, issue Issue) {
	if h := b.nameHolder(want.UserName, want.ExternalID); h != "" || b.creating[strings.ToLower(want.UserName)] {
		issue.Reason = fmt.Sprintf("userName %s is already used by managed Visitor user %s", want.UserName, h)
		if h == "" {
			issue.Reason = fmt.Sprintf("userName %s is planned for another Condeco user too", want.UserName)
		}
		issue.Fix = "correct the email in Condeco, or free the userName in Visitor"
		b.p.Conflicts = append(b.p.Conflicts, issue)
		return
	}
	b.creating[strings.ToLower(want.UserName)] = true
	if b.caps.Locations {
		want.Access = b.access.newUser(ap)
	}
	if len(b.lookAlikes) > 0 && b.o.AdoptExistingUsers {
		if found := b.lookAlikes[strings.ToLower(want.UserName)]; found != nil {
			b.adopt(*found, want, ap, issue)
			return
		}
	}
	// A user the first full sync set out to create is still part of it,
	// even when a failed first run leaves the create to a later run.
	initial := b.p.Initial || b.firstSync[want.ExternalID]
	want.SendInvitation = b.p.SendInvitations && !(initial && b.o.Invitations == InvitationsSuppressInitial)
	ch := UserChange{Action: ActionCreate, UserName: want.UserName, ExternalID: want.ExternalID, Desired: &want, Reason: "new in Condeco"}
	ch.Record = recordOf(b.defaultLoc, b.granted[want.ExternalID], want.ExternalID, "", nil, want.Access)
	if initial {
		ch.Reason = "new in Condeco (first full sync)"
	} else {
		ch.AdminChange = adminChange(nil, want.Access)
	}
	b.p.Creates = append(b.p.Creates, ch)
}

func (b *planner) update(cur, want visitor.User, ap accessPlan, issue Issue) {
	issue.VisitorID = cur.ID
	want.ID = cur.ID
	if b.caps.Locations {
		want.Access = b.access.existing(ap, cur.Access, b.o.GrantNewLocationsToExistingUsers)
		// A list shorter than the tenant's locations lacks one: counted,
		// so the summary can say why those users were not given it. (A
		// list as long may still lack one and hold two roles elsewhere;
		// checking that would cost a set per user on every run.)
		if !b.o.GrantNewLocationsToExistingUsers && len(want.Access) < len(ap.all) {
			b.withoutAll++
		}
	} else {
		// Nothing is planned on what the target does not carry.
		want.Access, want.DefaultLocation = cur.Access, cur.DefaultLocation
	}
	b.keptWithoutRecord(cur, ap)
	changes := DiffUser(cur, want)
	if len(changes) == 0 {
		b.p.Unchanged++
		return
	}
	if b.o.Policy == PolicyCreateOnly {
		issue.Reason = "policy create-only: " + fieldNames(changes) + " differ but are not updated"
		b.p.Skipped = append(b.p.Skipped, issue)
		return
	}
	if !strings.EqualFold(cur.UserName, want.UserName) {
		if h := b.nameHolder(want.UserName, want.ExternalID); h != "" || b.creating[strings.ToLower(want.UserName)] {
			// The rename waits for the operator; the user's other changes
			// (access, names) still go through under the old userName.
			issue.Reason = fmt.Sprintf("email changed to %s, which managed Visitor user %s already uses", want.UserName, h)
			issue.Fix = "correct the email in Condeco, or free the userName in Visitor"
			b.p.Conflicts = append(b.p.Conflicts, issue)
			want.UserName, want.Email = cur.UserName, cur.Email
			if changes = DiffUser(cur, want); len(changes) == 0 {
				return
			}
		} else {
			b.takenBy[strings.ToLower(want.UserName)] = want.ExternalID
		}
	}
	before := cur
	desired := cur
	desired.UserName, desired.Email = want.UserName, want.Email
	desired.GivenName, desired.FamilyName = want.GivenName, want.FamilyName
	desired.Phone, desired.Mobile, desired.Language = want.Phone, want.Mobile, want.Language
	desired.Active, desired.DefaultLocation, desired.Access = true, want.DefaultLocation, want.Access
	desired.LastModified, desired.SendInvitation = time.Time{}, false
	reason := "changed in Condeco"
	if !cur.Active {
		reason = "back in Condeco; reactivated"
	}
	var replaced string
	if loc, r := ap.replacedRole(cur.Access); r != "" && b.caps.Locations {
		replaced = loc + ":" + string(r)
		reason += "; admin replaces the hand-set role " + string(r) + " on " + loc
	}
	b.p.Updates = append(b.p.Updates, UserChange{
		Action: ActionUpdate, UserName: want.UserName, ExternalID: want.ExternalID, VisitorID: cur.ID,
		Changes: changes, AdminChange: adminChange(cur.Access, want.Access), Reason: reason, Desired: &desired, Before: &before,
		Record: recordOf(b.defaultLoc, b.granted[cur.ExternalID], cur.ExternalID, replaced, cur.Access, want.Access),
	})
}

// adopt plans claiming found, a Visitor user made by hand with the userName
// of a new Condeco user: its externalId is set, the managed fields follow
// Condeco, and every role it holds is kept (OverlayAccess; a Global admin's
// admin on the default location is added). Planned, not decided after a
// 409, so its admin change counts against max_admin_changes before the
// first write. A user another source owns is a conflict.
func (b *planner) adopt(found, want visitor.User, ap accessPlan, issue Issue) {
	issue.VisitorID = found.ID
	switch {
	case found.ExternalID != "":
		issue.Reason = fmt.Sprintf("userName %s belongs to Visitor user %s with externalId %s", want.UserName, found.ID, found.ExternalID)
		issue.Fix = "that account is owned by another source: correct the email in Condeco or remove the other account"
		b.p.Conflicts = append(b.p.Conflicts, issue)
		return
	case b.isProtected(&found):
		issue.Reason = "userName " + want.UserName + " is a protected Visitor user; not adopted"
		issue.Fix = "remove it from protected_users to let the sync adopt it"
		b.p.Skipped = append(b.p.Skipped, issue)
		return
	}
	before := found
	d := found
	d.ExternalID = want.ExternalID
	d.UserName, d.Email = want.UserName, want.Email
	d.GivenName, d.FamilyName = want.GivenName, want.FamilyName
	d.Phone, d.Mobile, d.Language = want.Phone, want.Mobile, want.Language
	d.Active = true
	if b.caps.Locations {
		d.DefaultLocation, d.Access = want.DefaultLocation, OverlayAccess(found.Access, want.Access)
	}
	d.LastModified, d.SendInvitation = time.Time{}, false
	changes := append([]FieldChange{{Field: visitor.FieldExternalID, Old: found.ExternalID, New: d.ExternalID}}, DiffUser(found, d)...)
	reason := "new in Condeco; Visitor user " + found.ID + " made by hand with this userName is adopted (adopt_existing_users), every role it holds kept"
	var replaced string
	if loc, r := ap.replacedRole(found.Access); r != "" && b.caps.Locations {
		replaced = loc + ":" + string(r)
		reason += "; admin replaces the hand-set role " + string(r) + " on " + loc
	}
	b.p.Adoptions = append(b.p.Adoptions, UserChange{
		Action: ActionAdopt, UserName: d.UserName, ExternalID: d.ExternalID, VisitorID: found.ID,
		Changes: changes, AdminChange: adminChange(found.Access, d.Access), Reason: reason, Desired: &d, Before: &before,
		Record: recordOf(b.defaultLoc, nil, d.ExternalID, replaced, found.Access, d.Access),
	})
}

// keptWithoutRecord warns about an admin role on the default location that
// the rules would take back if the sync had granted it (the user is no
// Global admin), kept because there is no grants record to say: the sync
// never revokes what it cannot prove it granted. With a record, such an
// admin was granted by hand and is kept without a word.
func (b *planner) keptWithoutRecord(cur visitor.User, ap accessPlan) {
	if b.grantsKnown || !b.caps.Locations || ap.roles[b.defaultLoc] == visitor.RoleAdmin ||
		!hasRoleAt(cur.Access, b.defaultLoc, visitor.RoleAdmin) {
		return
	}
	b.p.Warnings = append(b.p.Warnings, Issue{UserName: cur.UserName, ExternalID: cur.ExternalID, VisitorID: cur.ID,
		Reason: "admin on the default location kept: not a Global admin in Condeco, and no grants record (state_dir/grants.json lost, or not yet written) says whether the sync granted it",
		Fix:    "if this user should not be an admin (a Global admin demoted in Condeco), take the admin role away by hand in Visitor; the next run records the sync's grants again"})
}

// DiffUser lists the managed fields in which want differs from cur.
func DiffUser(cur, want visitor.User) []FieldChange {
	var out []FieldChange
	for _, f := range visitor.FieldOrder {
		if !visitor.FieldEqual(cur, want, f) {
			out = append(out, FieldChange{Field: f, Old: visitor.FieldValue(cur, f), New: visitor.FieldValue(want, f)})
		}
	}
	return out
}

func fieldNames(cs []FieldChange) string {
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		names = append(names, string(c.Field))
	}
	return strings.Join(names, ",")
}

// sortedUsers orders pointers, not copies, of the export's users.
func sortedUsers(us []condeco.User) []*condeco.User {
	out := make([]*condeco.User, len(us))
	for i := range us {
		out[i] = &us[i]
	}
	slices.SortFunc(out, func(a, c *condeco.User) int { return cmp.Compare(a.ID, c.ID) })
	return out
}

func sortChanges(cs []UserChange) {
	slices.SortFunc(cs, func(a, c UserChange) int {
		return cmp.Or(cmp.Compare(a.ExternalID, c.ExternalID), cmp.Compare(a.VisitorID, c.VisitorID))
	})
}

func sortIssues(is []Issue) {
	slices.SortFunc(is, func(a, c Issue) int {
		return cmp.Or(cmp.Compare(a.ExternalID, c.ExternalID), cmp.Compare(a.VisitorID, c.VisitorID), cmp.Compare(a.UserName, c.UserName))
	})
}

func (b *planner) finish(exp *condeco.Export) {
	p := b.p
	for _, cs := range [][]UserChange{p.Creates, p.Adoptions, p.Updates, p.Deletes, p.Deactivates} {
		sortChanges(cs)
	}
	for _, is := range [][]Issue{p.Held, p.Conflicts, p.Skipped, p.Warnings} {
		sortIssues(is)
	}
	// Empty lists, not null, keep the JSON form uniform.
	for _, cs := range []*[]UserChange{&p.Creates, &p.Updates, &p.Deletes, &p.Deactivates} {
		if *cs == nil {
			*cs = []UserChange{}
		}
	}
	for _, is := range []*[]Issue{&p.Held, &p.Conflicts, &p.Skipped} {
		if *is == nil {
			*is = []Issue{}
		}
	}
	if p.LocationCreates == nil {
		p.LocationCreates = []LocationCreate{}
	}
	admin := 0
	for _, cs := range [][]UserChange{p.Creates, p.Adoptions, p.Updates} {
		for _, c := range cs {
			if c.AdminChange != "" {
				admin++
			}
		}
	}
	p.Summary = Summary{
		SourceUsers: len(exp.Users), SourceLocations: len(exp.Locations), Managed: len(b.managed),
		Creates: len(p.Creates), Adoptions: len(p.Adoptions), Updates: len(p.Updates), Deletes: len(p.Deletes), Deactivates: len(p.Deactivates),
		LocationCreates: len(p.LocationCreates), Unchanged: p.Unchanged, Held: len(p.Held),
		Conflicts: len(p.Conflicts), Skipped: len(p.Skipped), AdminChanges: admin,
		HeldLocations: len(exp.HeldLocations), DroppedValues: len(exp.Warnings), WithoutAllLocations: b.withoutAll,
	}
}
