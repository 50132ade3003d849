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
	b.owedGrants(current.OwedGrants, exp)
	b.manageTitle = caps.Title && exp.TitleRead
	if caps.City && exp.CityRead {
		b.city = make(map[string]string, len(exp.Locations))
		for _, l := range exp.Locations {
			if l.CityDropped {
				if b.cityDropped == nil {
					b.cityDropped = map[string]bool{}
				}
				b.cityDropped[l.ID] = true
			}
			b.city[l.ID] = l.City
		}
	}
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
	// Deactivated rows first: every account that stays inactive is known
	// before an active row may claim its userName (a rehire).
	users := sortedUsers(exp.Users)
	for _, u := range users {
		if u.Inactive {
			b.deactivated(*u)
		}
	}
	for _, u := range users {
		if !u.Inactive {
			b.user(*u)
		}
	}
	if !caps.Locations {
		b.byHand(exp, current.ByHand)
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
	case !caps.ExternalID && !caps.OwnershipRecord:
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
	condecoLoc map[string]string // Condeco location id -> Visitor id or pending key (open locations)

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
	// retired are the managed accounts that stay, inactive, after this
	// plan (deactivated in Condeco, or departed under a deactivating
	// deprovision), by externalId: a rehire may need one's userName.
	retired map[string]*retiredUser
	// replaced counts planned deactivations turned into deletions for a
	// rehire: still in Deactivates until finish drops them.
	replaced int
	// granted is the grants record by externalId (location -> the role
	// the grant replaced); grantsKnown says there is a record at all.
	granted     map[string]map[string]visitor.Role
	grantsKnown bool
	lookAlikes  map[string]*visitor.User // lower userName -> unmanaged Visitor user holding it

	withoutAll int // existing users not given every location (Summary)

	// locConflict: Condeco location ids neither created nor claimed (a
	// name conflict); grants owed on them stay owed.
	locConflict map[string]bool
	adopted     map[string]string // Visitor location id -> the Condeco location id adopting it
	// owed are the still-relevant owed grants by user externalId, Key
	// set to where the location is (Visitor id or pending key), empty
	// while it does not exist; carried marks those a change carries.
	owed    map[string][]OwedGrant
	carried map[string]bool // owedKey: a change of the plan gives it
	settled map[string]bool // owedKey: the user already holds it
	// city is Condeco location id -> its city, when the target carries
	// cities and the locations query reads them; cityDropped the
	// locations whose city was dropped as bad (Visitor keeps its value).
	city        map[string]string
	cityDropped map[string]bool
	manageTitle bool // the target carries titles and the users query reads them
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
	b.locConflict, b.adopted = map[string]bool{}, map[string]string{}
	closed := map[string]bool{} // Visitor ids of closed Condeco locations
	// byName and taken compare names as Visitor does (case-insensitive
	// uniqueness): taken says who holds a name once the plan is applied.
	byName := map[string]visitor.Location{}
	taken := map[string]string{}
	for _, l := range cur {
		k := strings.ToLower(strings.TrimSpace(l.Name))
		if _, dup := byName[k]; !dup {
			byName[k] = l
			taken[k] = l.ID
		}
	}
	locs := slices.Clone(exp.Locations)
	slices.SortFunc(locs, func(a, c condeco.Location) int { return cmp.Compare(a.ID, c.ID) })
	seen := map[string]bool{}
	for _, l := range locs {
		if seen[l.ID] || l.ID == "" {
			continue
		}
		seen[l.ID] = true
		ext := b.o.LocationExternalIDPrefix + l.ID
		v, owned := byExt[ext]
		if l.Closed {
			cl := ClosedLocation{ID: l.ID, ExternalID: ext, Name: l.Name}
			if owned {
				cl.VisitorID, cl.Name = v.ID, v.Name
				closed[v.ID] = true
			}
			b.p.ClosedLocations = append(b.p.ClosedLocations, cl)
			continue
		}
		if owned {
			b.condecoLoc[l.ID] = v.ID
			if v.Name != l.Name {
				b.renameLocation(l, v, taken)
			}
			continue
		}
		name := strings.ToLower(strings.TrimSpace(l.Name))
		if v, ok := byName[name]; ok {
			b.claimLocation(l, ext, v)
			continue
		}
		key := PendingLocationPrefix + ext
		if holder, ok := taken[name]; ok {
			b.locConflict[l.ID] = true
			b.p.Conflicts = append(b.p.Conflicts, Issue{ExternalID: ext,
				Reason: fmt.Sprintf("Condeco location %s %q: another Condeco location planned in this run has that name (%s); not created", l.ID, l.Name, strings.TrimPrefix(holder, PendingLocationPrefix)),
				Fix:    "give the Condeco locations different names"})
			continue
		}
		taken[name] = key
		b.condecoLoc[l.ID] = key
		b.allLocs = append(b.allLocs, key)
		b.p.LocationCreates = append(b.p.LocationCreates, LocationCreate{
			Key:      key,
			Location: visitor.Location{ExternalID: ext, Name: l.Name},
		})
	}
	// A closed location is given to no one new; the default location is
	// everyone's whatever Condeco says of it.
	b.allLocs = slices.DeleteFunc(b.allLocs, func(id string) bool { return closed[id] && id != b.defaultLoc })
	slices.Sort(b.allLocs)
	b.allLocs = slices.Compact(b.allLocs)
	return nil
}

// What an operator does about a Condeco location whose name a Visitor
// location the sync does not own already has.
const (
	locationAdoptFix  = "set adopt_existing_locations: true to let the sync claim it, or rename the location in Condeco or in Visitor"
	locationRenameFix = "rename the location in Condeco or in Visitor so the names differ; that Visitor location is never changed by the sync"
)

// claimLocation handles a Condeco location Visitor lacks by externalId
// but has by name: one without an externalId (made by hand) is adopted
// when AdoptExistingLocations, else a conflict; one with another
// externalId belongs to someone else and is never touched. Either way
// the location is not created (Visitor would answer 409), and users are
// planned with the locations that exist.
func (b *planner) claimLocation(l condeco.Location, ext string, v visitor.Location) {
	issue := Issue{ExternalID: ext, VisitorID: v.ID}
	switch {
	case v.ExternalID != "":
		b.locConflict[l.ID] = true
		owner := "another source's"
		if strings.HasPrefix(v.ExternalID, b.o.LocationExternalIDPrefix) {
			owner = "this sync's, for another Condeco location"
		}
		issue.Reason = fmt.Sprintf("Condeco location %s %q: Visitor location %s %q has that name and externalId %s (%s); not created", l.ID, l.Name, v.ID, v.Name, v.ExternalID, owner)
		issue.Fix = locationRenameFix
		b.p.Conflicts = append(b.p.Conflicts, issue)
	case b.adopted[v.ID] != "":
		// Two Condeco locations share the name: Visitor keeps one
		// externalId, so the first (by id) has it.
		b.locConflict[l.ID] = true
		issue.Reason = fmt.Sprintf("Condeco location %s %q: Visitor location %s %q has that name and is adopted for Condeco location %s in this run; not created", l.ID, l.Name, v.ID, v.Name, b.adopted[v.ID])
		issue.Fix = "give the Condeco locations different names"
		b.p.Conflicts = append(b.p.Conflicts, issue)
	case !b.o.AdoptExistingLocations:
		b.locConflict[l.ID] = true
		issue.Reason = fmt.Sprintf("Condeco location %s %q: Visitor location %s %q has that name and no externalId; not created, not adopted (adopt_existing_locations: false)", l.ID, l.Name, v.ID, v.Name)
		issue.Fix = locationAdoptFix
		b.p.Conflicts = append(b.p.Conflicts, issue)
	default:
		fields := []visitor.LocationField{visitor.LocationFieldExternalID}
		if v.Name != l.Name { // a different case or spacing: Condeco's wins
			fields = append(fields, visitor.LocationFieldName)
		}
		b.condecoLoc[l.ID] = v.ID
		b.adopted[v.ID] = l.ID
		b.p.LocationUpdates = append(b.p.LocationUpdates, LocationUpdate{
			VisitorID: v.ID, Reason: "adopted: a Visitor location with the name of Condeco location " + l.ID + " and no externalId",
			Fields: fields, Before: v, Location: visitor.Location{ID: v.ID, ExternalID: ext, Name: l.Name},
		})
	}
}

// renameLocation renames the Visitor location the sync owns after its
// Condeco location, unless another Visitor location has the new name.
func (b *planner) renameLocation(l condeco.Location, v visitor.Location, taken map[string]string) {
	issue := Issue{ExternalID: v.ExternalID, VisitorID: v.ID}
	name := strings.ToLower(strings.TrimSpace(l.Name))
	if holder, ok := taken[name]; ok && holder != v.ID {
		issue.Reason = fmt.Sprintf("Condeco location %s renamed %q → %q, which Visitor location %s already has; not renamed", l.ID, v.Name, l.Name, strings.TrimPrefix(holder, PendingLocationPrefix))
		issue.Fix = "rename one of the locations so the names differ"
		b.p.Conflicts = append(b.p.Conflicts, issue)
		return
	}
	if b.o.Policy == PolicyCreateOnly {
		issue.Reason = fmt.Sprintf("policy create-only: Condeco location %s renamed %q → %q; not renamed", l.ID, v.Name, l.Name)
		b.p.Skipped = append(b.p.Skipped, issue)
		return
	}
	if old := strings.ToLower(strings.TrimSpace(v.Name)); taken[old] == v.ID {
		delete(taken, old)
	}
	taken[name] = v.ID
	b.p.LocationUpdates = append(b.p.LocationUpdates, LocationUpdate{
		VisitorID: v.ID, Reason: "renamed in Condeco", Fields: []visitor.LocationField{visitor.LocationFieldName},
		Before: v, Location: visitor.Location{ID: v.ID, ExternalID: v.ExternalID, Name: l.Name},
	})
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
	b.retired = map[string]*retiredUser{}
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

// owedGrants keeps the grants owed from earlier runs that still apply: a
// user still in Condeco (or held) and a location still open in Condeco,
// placed (Key) where Visitor has it or this plan creates it, unplaced
// while it is held or in a name conflict. A closed or removed location,
// or a user who left, ends the debt: no one new is given a closed one.
func (b *planner) owedGrants(gs []OwedGrant, exp *condeco.Export) {
	b.owed = map[string][]OwedGrant{}
	b.carried, b.settled = map[string]bool{}, map[string]bool{}
	heldLoc := map[string]bool{}
	for _, id := range exp.HeldLocations {
		heldLoc[id] = true
	}
	seen := map[string]bool{}
	for _, g := range gs {
		if seen[owedKey(g)] || (!b.desired[g.ExternalID] && !b.held[g.ExternalID]) {
			continue
		}
		seen[owedKey(g)] = true
		g.Key = ""
		if b.caps.Locations {
			id, ok := strings.CutPrefix(g.Location, b.o.LocationExternalIDPrefix)
			if !ok {
				continue
			}
			g.Key = b.condecoLoc[id]
			if g.Key == "" && !heldLoc[id] && !b.locConflict[id] {
				continue
			}
		}
		b.owed[g.ExternalID] = append(b.owed[g.ExternalID], g)
	}
}

func owedKey(g OwedGrant) string { return g.ExternalID + "\x00" + g.Location }

// giveOwed adds `user` on each placed location owed to the user that cur
// holds no access to at all; one cur already has is settled. It returns
// the access list (a copy when anything is added) and the grants added.
func (b *planner) giveOwed(ext string, cur, want []visitor.Access) ([]visitor.Access, []OwedGrant) {
	gs := b.owed[ext]
	if len(gs) == 0 {
		return want, nil
	}
	has := map[string]bool{}
	for _, x := range cur {
		has[x.LocationID] = true
	}
	var add []OwedGrant
	for _, g := range gs {
		switch {
		case g.Key == "":
		case has[g.Key]:
			b.settled[owedKey(g)] = true
		default:
			add = append(add, g)
		}
	}
	if len(add) == 0 {
		return want, nil
	}
	out := slices.Clone(want)
	for _, g := range add {
		if !slices.ContainsFunc(out, func(x visitor.Access) bool { return x.LocationID == g.Key }) {
			out = append(out, visitor.Access{LocationID: g.Key, Role: visitor.RoleUser})
		}
	}
	return visitor.SortAccess(out), add
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
			if !u.Active {
				b.retired[u.ExternalID] = &retiredUser{u: u, how: retiredSkipped, why: "left Condeco"}
			}
			continue
		}
		before := *u
		ch := UserChange{UserName: u.UserName, ExternalID: u.ExternalID, VisitorID: u.ID, Before: &before}
		switch {
		case b.o.Deprovision == DeprovisionDelete:
			ch.Action, ch.Reason = ActionDelete, "left Condeco"
		case u.Active:
			b.deactivate(&ch, u, "left Condeco")
		case b.o.Deprovision == DeprovisionDeactivateThenDelete && u.LastModified.IsZero():
			// Without a time there is no due date; deleting would guess.
			issue.Reason = "left Condeco and inactive, but Visitor gives no lastModified: deletion date unknown, not deleted"
			issue.Fix = "delete the user in Visitor by hand, or use deprovision: delete"
			b.p.Skipped = append(b.p.Skipped, issue)
			b.retired[u.ExternalID] = &retiredUser{u: u, how: retiredSkipped, why: "left Condeco"}
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
			b.retired[u.ExternalID] = &retiredUser{u: u, how: retiredUnchanged, why: "left Condeco"}
			continue
		}
		if ch.Action == ActionDelete {
			b.leaving[u.ID] = true
			b.p.Deletes = append(b.p.Deletes, ch)
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
		// A deactivated row renames nobody.
		if u.Inactive || len(m) != 1 || b.isProtected(m[0]) || b.protected[strings.ToLower(u.UserName)] ||
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
	// A title or city the sync does not manage (not read, or dropped as
	// bad) keeps what Visitor holds rather than clearing it.
	var cur *visitor.User
	if len(matches) == 1 {
		cur = matches[0]
	}
	switch {
	case b.manageTitle && !u.TitleDropped:
		want.Title = u.Title
	case cur != nil:
		want.Title = cur.Title
	}
	switch {
	case b.city != nil && !b.cityDropped[u.LocationID]:
		want.City = b.city[u.LocationID]
	case cur != nil:
		want.City = cur.City
	}
	if len(matches) == 0 {
		b.create(want, ap, issue)
		return
	}
	b.update(*matches[0], want, ap, issue)
}

func (b *planner) create(want visitor.User, ap accessPlan, issue Issue) {
	if r := b.retired[b.nameHolder(want.UserName, want.ExternalID)]; r != nil {
		if !b.rehire(want, r, issue) {
			return
		}
	}
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
	want.SendInvitation = b.caps.Invitations && b.p.SendInvitations && !(initial && b.o.Invitations == InvitationsSuppressInitial)
	ch := UserChange{Action: ActionCreate, UserName: want.UserName, ExternalID: want.ExternalID, Desired: &want, Reason: "new in Condeco"}
	ch.Record = recordOf(b.access, b.defaultLoc, b.granted[want.ExternalID], want.ExternalID, "", nil, want.Access)
	// A new user gets every open location: owed ones included.
	b.carry(want.ExternalID, want.Access)
	if initial {
		ch.Reason = "new in Condeco (first full sync)"
	} else {
		ch.AdminChange = adminChange(nil, want.Access)
	}
	b.p.Creates = append(b.p.Creates, ch)
}

func (b *planner) update(cur, want visitor.User, ap accessPlan, issue Issue) {
	var owed []OwedGrant // grants owed from earlier runs this update gives
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
		want.Access, owed = b.giveOwed(want.ExternalID, cur.Access, want.Access)
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
	desired.Title, desired.City = want.Title, want.City
	desired.Active, desired.DefaultLocation, desired.Access = true, want.DefaultLocation, want.Access
	desired.LastModified, desired.SendInvitation = time.Time{}, false
	reason := "changed in Condeco"
	if !cur.Active {
		reason = "back in Condeco; reactivated"
	}
	replaced, why := b.replacedRole(ap, cur.Access)
	reason += why
	b.p.Updates = append(b.p.Updates, UserChange{
		Action: ActionUpdate, UserName: want.UserName, ExternalID: want.ExternalID, VisitorID: cur.ID,
		Changes: changes, AdminChange: adminChange(cur.Access, want.Access), Reason: reason, Desired: &desired, Before: &before,
		Record: recordOf(b.access, b.defaultLoc, b.granted[cur.ExternalID], cur.ExternalID, replaced, cur.Access, want.Access),
	})
	for _, g := range owed {
		b.carried[owedKey(g)] = true
	}
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
	d.Title, d.City = want.Title, want.City
	d.Active = true
	if b.caps.Locations {
		d.DefaultLocation, d.Access = want.DefaultLocation, OverlayAccess(found.Access, want.Access)
	}
	d.LastModified, d.SendInvitation = time.Time{}, false
	changes := append([]FieldChange{{Field: visitor.FieldExternalID, Old: found.ExternalID, New: d.ExternalID}}, DiffUser(found, d)...)
	reason := "new in Condeco; Visitor user " + found.ID + " made by hand with this userName is adopted (adopt_existing_users), every role it holds kept"
	replaced, why := b.replacedRole(ap, found.Access)
	reason += why
	b.p.Adoptions = append(b.p.Adoptions, UserChange{
		Action: ActionAdopt, UserName: d.UserName, ExternalID: d.ExternalID, VisitorID: found.ID,
		Changes: changes, AdminChange: adminChange(found.Access, d.Access), Reason: reason, Desired: &d, Before: &before,
		Record: recordOf(b.access, b.defaultLoc, nil, d.ExternalID, replaced, found.Access, d.Access),
	})
	b.carry(d.ExternalID, d.Access)
}

// carry marks the grants owed to ext that access, the list a planned
// create or adoption sends, gives: only a change that is planned carries
// one (a look-alike conflict leaves it owed).
func (b *planner) carry(ext string, access []visitor.Access) {
	for _, g := range b.owed[ext] {
		if g.Key != "" && slices.ContainsFunc(access, func(x visitor.Access) bool { return x.LocationID == g.Key }) {
			b.carried[owedKey(g)] = true
		}
	}
}

// replacedRole names the hand-set role a Global admin's admin replaces on
// the default location ("loc:role", for the grants record) and says so for
// the change's reason; both empty when it replaces none.
func (b *planner) replacedRole(ap accessPlan, cur []visitor.Access) (replaced, why string) {
	loc, r := ap.replacedRole(cur)
	if r == "" || !b.caps.Locations {
		return "", ""
	}
	return loc + ":" + string(r), "; admin replaces the hand-set role " + string(r) + " on " + loc
}

// keptWithoutRecord warns about an admin role on the default location that
// the rules would take back if the sync had granted it (the user is no
// Global admin), kept because there is no grants record to say: the sync
// never revokes what it cannot prove it granted. With a record, such an
// admin was granted by hand and is kept without a word.
func (b *planner) keptWithoutRecord(cur visitor.User, ap accessPlan) {
	if b.grantsKnown || !b.caps.Locations || ap.roles[b.defaultLoc] == visitor.RoleAdmin ||
		!b.access.adminAt(cur.Access, b.defaultLoc) {
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
	// A deactivation or a skipped account a rehire turned into a deletion
	// is planned once, as the deletion.
	p.Deactivates = slices.DeleteFunc(p.Deactivates, func(c UserChange) bool { return b.leaving[c.VisitorID] })
	p.Skipped = slices.DeleteFunc(p.Skipped, func(is Issue) bool { return is.VisitorID != "" && b.leaving[is.VisitorID] })
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
	exts := make([]string, 0, len(b.owed))
	for ext := range b.owed {
		exts = append(exts, ext)
	}
	slices.Sort(exts)
	carried := 0
	for _, ext := range exts {
		for _, g := range b.owed[ext] {
			switch {
			case b.settled[owedKey(g)]:
				continue
			case b.carried[owedKey(g)]:
				carried++
			default:
				g.Key = ""
			}
			p.OwedGrants = append(p.OwedGrants, g)
		}
	}
	slices.SortFunc(p.OwedGrants, func(a, c OwedGrant) int {
		return cmp.Or(cmp.Compare(a.ExternalID, c.ExternalID), cmp.Compare(a.Location, c.Location))
	})
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
		LocationUpdates: len(p.LocationUpdates), ClosedLocations: len(p.ClosedLocations), OwedGrants: carried,
	}
}
