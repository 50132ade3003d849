// Package apply carries out a plan against Visitor: locations first, then
// removals, updates and creates, each write checked against what Visitor
// answered (or re-read), each recorded in the audit log.
package apply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/sync/audit"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

// Target is what applying a plan needs from Visitor.
type Target interface {
	FindUser(ctx context.Context, attr, value string) (*visitor.User, error)
	GetUser(ctx context.Context, id string) (visitor.User, error)
	// UsersByExternalID re-reads many users in few requests (verification).
	UsersByExternalID(ctx context.Context, ids []string) ([]visitor.User, error)
	CreateUser(ctx context.Context, u visitor.User) (visitor.User, error)
	UpdateUser(ctx context.Context, id string, desired visitor.User, fields []visitor.Field) (visitor.User, error)
	DeleteUser(ctx context.Context, id string) error
	CreateLocation(ctx context.Context, l visitor.Location) (visitor.Location, error)
	// UpdateLocation PATCHes a location: a rename, or the externalId of
	// one the sync adopts.
	UpdateLocation(ctx context.Context, id string, l visitor.Location, fields []visitor.LocationField) (visitor.Location, error)
}

// ErrBreaker means the circuit breaker stopped new writes: too many in a
// row failed for one cause.
var ErrBreaker = errors.New("circuit breaker")

// ErrListingMissed means a create was refused because Visitor already
// holds a user with this sync's externalId that the listing did not
// return: the listing is not whole, and the run stops creating.
var ErrListingMissed = errors.New("listing missed a managed user")

// Breaker says why the circuit breaker stopped a run's writes.
type Breaker struct {
	Cause string `json:"cause"` // visitor.Cause of the failures
	Count int    `json:"count"` // writes in a row that failed with it
}

// ErrNotSent is what a Target answers for a request it did not send
// (the process is stopping): the change was not attempted, and the run's
// minimum request count leaves it out.
var ErrNotSent = errors.New("not sent: stopping")

// Defaults and allowed values of Options.
const (
	DefaultConcurrency = 4
	// VerifyAnswer compares the user Visitor answers a write with (RFC
	// 7644 §3.3, §3.5: the resource as stored) with what was sent: no
	// request beyond the write.
	VerifyAnswer = "answer"
	// VerifyReread re-reads every written user after the writes, batched
	// (about 1 % more requests), for a server whose answers are not what
	// it stores.
	VerifyReread        = "reread"
	DefaultVerifyWrites = VerifyAnswer
	// DefaultBreakerFailures writes in a row failing for one cause stop a
	// run: past that it is failing as a whole, and each further write only
	// spends the call budget.
	DefaultBreakerFailures = 20
)

// VerifyModes are the allowed values of Options.VerifyWrites.
var VerifyModes = []string{VerifyAnswer, VerifyReread}

// Options say how writes are made and checked.
type Options struct {
	Concurrency  int    `json:"concurrency"`  // writes in flight at once
	VerifyWrites string `json:"verifyWrites"` // VerifyAnswer or VerifyReread
	// BreakerFailures writes in a row failing for one cause stop new
	// writes; zero is DefaultBreakerFailures.
	BreakerFailures int `json:"breakerFailures"`
}

// Counts are per-action totals of a run.
type Counts struct {
	Created          int `json:"created"`
	Adopted          int `json:"adopted"`
	Updated          int `json:"updated"`
	Deleted          int `json:"deleted"`
	Deactivated      int `json:"deactivated"`
	Unchanged        int `json:"unchanged"`
	Failed           int `json:"failed"`
	Conflicts        int `json:"conflicts"`
	Held             int `json:"held"` // source rows held back by the reader
	Skipped          int `json:"skipped"`
	LocationsCreated int `json:"locationsCreated"`
	// LocationsUpdated are Visitor locations renamed after Condeco;
	// LocationsAdopted those claimed by setting their externalId.
	LocationsUpdated int `json:"locationsUpdated,omitempty"`
	LocationsAdopted int `json:"locationsAdopted,omitempty"`
}

// Failure is one change that did not happen (or did not stick); the next
// run plans it again.
type Failure struct {
	User       string      `json:"user"`
	ExternalID string      `json:"externalId,omitempty"`
	Action     plan.Action `json:"action"`
	Reason     string      `json:"reason"`
}

// Result is what applying did; the run's report carries it.
type Result struct {
	Counts           Counts       `json:"counts"`
	Failures         []Failure    `json:"failures"`
	Conflicts        []plan.Issue `json:"conflicts"`
	LocationsCreated []string     `json:"locationsCreated"` // externalIds
	// NotAttempted counts the changes of the plan no request was sent
	// for (a stopped run); they are among Failures.
	NotAttempted int `json:"notAttempted,omitempty"`
	// Breaker is set when the circuit breaker stopped the writes.
	Breaker *Breaker `json:"breaker,omitempty"`
	// ListingMissed is the first managed user a refused create found that
	// the listing had not returned; creating stopped there.
	ListingMissed *plan.Issue `json:"listingMissed,omitempty"`
	// OwedGrants are the location grants still owed after the run: the
	// plan's, less those a confirmed write carried, plus a location each
	// user was written without because it could not be created. Runner
	// keeps them for the next run.
	OwedGrants []plan.OwedGrant `json:"owedGrants,omitempty"`
	// PartlyApplied are the externalIds of users whose conflict (an
	// email change Visitor refused) left the rest of the change written:
	// the change is done unless it is among Failures too.
	PartlyApplied []string `json:"partlyApplied,omitempty"`
}

// Applier carries out plans. Log, Audit and Progress may be nil; Now
// defaults to time.Now.
type Applier struct {
	Target   Target
	Options  Options
	Rules    plan.Options // adoption and protected users, as planned
	Log      *zap.Logger
	Audit    *audit.Log
	Progress *Progress
	Now      func() time.Time
}

// Durations are where applying spent its time.
type Durations struct {
	Apply, Verify time.Duration
}

// Apply carries out p and adds what happened to res. One change's failure
// never stops the others; a cancelled ctx stops starting new ones, and
// each change left undone is a failure "not attempted".
func (ap Applier) Apply(ctx context.Context, p *plan.Plan, res *Result) Durations {
	a := &applier{t: ap.Target, o: ap.Options, rules: ap.Rules, log: ap.Log, audit: ap.Audit,
		progress: ap.Progress, now: ap.Now, res: res, resolved: map[string]string{}}
	if a.log == nil {
		a.log = zap.NewNop()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.o.Concurrency <= 0 {
		a.o.Concurrency = DefaultConcurrency
	}
	if a.o.VerifyWrites == "" {
		a.o.VerifyWrites = DefaultVerifyWrites
	}
	if a.o.BreakerFailures <= 0 {
		a.o.BreakerFailures = DefaultBreakerFailures
	}
	s := p.Summary
	a.progress.begin(s.Creates + s.Adoptions + s.Updates + s.Deletes + s.Deactivates + s.LocationCreates + s.LocationUpdates)
	defer a.progress.end()
	return a.apply(ctx, p)
}

// applier carries out one plan. Locations first (users refer to them),
// then removals, updates and creates as three phases, so a userName freed
// by a delete or a rename is free before a create needs it.
type applier struct {
	t     Target
	o     Options
	rules plan.Options
	log   *zap.Logger
	res   *Result
	now   func() time.Time

	resolved map[string]string // pending key -> Visitor location id; written before users run
	shared   sharedAccess      // resolved access lists, one per list of the plan
	progress *Progress

	mu      sync.Mutex
	owed    map[string]map[string]plan.OwedGrant // user externalId -> location externalId -> grant
	applied []appliedChange
	audit   *audit.Log // nil: no audit log
	breaker struct {   // failures in a row with one cause
		cause, tripped string
		n              int
	}
	skipped struct { // changes a stopping run did not start
		n     int
		first []string
		err   error
	}
}

// appliedChange is a write the server accepted, waiting to be checked
// (at once against Visitor's answer, or by the re-read at the end with
// scim_verify_writes: reread). It points into the plan instead of
// copying: with reread an initial sync of 100 000 users holds one per
// user until the end, and copies of the change and of the user sent would
// be a third of its peak live heap.
type appliedChange struct {
	c      *plan.UserChange
	action plan.Action // create, update, deactivate, or "adopt"
	id     string
	// want is what was sent when it is not what resolving c.Desired gives
	// again (a refused rename sent the old userName; an adoption); nil
	// otherwise.
	want   *visitor.User
	fields []visitor.Field
}

// ActionAdopt is reported for an existing, unmanaged Visitor user claimed
// by setting its externalId (AdoptExistingUsers); the plan plans it.
const ActionAdopt = plan.ActionAdopt

func (a *applier) apply(ctx context.Context, p *plan.Plan) Durations {
	start := a.now()
	a.owed = map[string]map[string]plan.OwedGrant{}
	for _, g := range p.OwedGrants {
		a.owe(g)
	}
	defer a.owedLeft()
	a.locations(ctx, p.LocationCreates)
	a.locationUpdates(ctx, p.LocationUpdates)
	removals := append(slices.Clone(p.Deletes), p.Deactivates...)
	for _, phase := range [][]plan.UserChange{removals, p.Updates, p.Adoptions, p.Creates} {
		pool(ctx, a.o.Concurrency, pointers(phase), func(c *plan.UserChange) {
			a.change(ctx, c)
			a.progress.step()
		})
	}
	verify := a.now()
	a.verify(ctx)
	a.stopped(ctx)
	return Durations{Apply: verify.Sub(start), Verify: a.now().Sub(verify)}
}

func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// pool runs fn over items with at most n at a time.
func pool[T any](ctx context.Context, n int, items []T, fn func(T)) {
	ch := make(chan T)
	var wg sync.WaitGroup
	for range min(n, len(items)) {
		wg.Go(func() {
			for it := range ch {
				fn(it)
			}
		})
	}
	for _, it := range items {
		ch <- it // fn reports items it cannot run because ctx is done
	}
	close(ch)
	wg.Wait()
}

// locations creates the new locations, scim_concurrency at a time like
// users: one at a time, a first sync of a big estate would spend a round
// trip per location (at 300 ms, 10 000 locations take 50 minutes) below
// the budget. Users wait for all of them: their access lists name them.
func (a *applier) locations(ctx context.Context, lcs []plan.LocationCreate) {
	pool(ctx, a.o.Concurrency, lcs, func(lc plan.LocationCreate) {
		a.progress.step()
		c := plan.UserChange{Action: plan.ActionCreateLocation, UserName: lc.Location.Name, ExternalID: lc.Location.ExternalID}
		if err := a.halted(ctx); err != nil {
			a.notAttempted(c, err)
			return
		}
		if !a.intend(c, plan.ActionCreateLocation, "", nil, nil) {
			return
		}
		got, err := a.t.CreateLocation(ctx, lc.Location)
		if err != nil {
			a.failed(c, err)
			return
		}
		a.mu.Lock()
		a.resolved[lc.Key] = got.ID
		a.res.LocationsCreated = append(a.res.LocationsCreated, lc.Location.ExternalID)
		a.res.Counts.LocationsCreated++
		a.breaker.cause, a.breaker.n = "", 0
		a.mu.Unlock()
		a.log.Info("location created", zap.String("externalId", lc.Location.ExternalID),
			zap.String("visitorId", got.ID), zap.String("name", lc.Location.Name))
		a.audit.AddLocation(got.ID)
		a.audit.Write(audit.Entry{Time: a.now().UTC(), Action: plan.ActionCreateLocation,
			User: lc.Location.Name, ExternalID: lc.Location.ExternalID, VisitorID: got.ID, Result: "ok"}, nil, nil)
	})
	slices.Sort(a.res.LocationsCreated)
}

// locationUpdates renames the Visitor locations renamed in Condeco and
// adopts those the plan claims. Users do not wait on them: they refer to
// these locations by their Visitor id either way.
func (a *applier) locationUpdates(ctx context.Context, lus []plan.LocationUpdate) {
	pool(ctx, a.o.Concurrency, lus, func(lu plan.LocationUpdate) {
		a.progress.step()
		c := plan.UserChange{Action: plan.ActionUpdateLocation, UserName: lu.Before.Name, ExternalID: lu.Location.ExternalID,
			VisitorID: lu.VisitorID, Reason: lu.Reason}
		if err := a.halted(ctx); err != nil {
			a.notAttempted(c, err)
			return
		}
		if !a.intend(c, plan.ActionUpdateLocation, lu.VisitorID, nil, nil) {
			return
		}
		got, err := a.t.UpdateLocation(ctx, lu.VisitorID, lu.Location, lu.Fields)
		if err != nil {
			a.refused(c, err, "another Visitor location has the name "+lu.Location.Name+": rename one of them, in Condeco or in Visitor")
			return
		}
		if got.Name != lu.Location.Name || got.ExternalID != lu.Location.ExternalID {
			a.fail(c, fmt.Sprintf("after update-location Visitor holds name %q externalId %q, want %q %q", got.Name, got.ExternalID, lu.Location.Name, lu.Location.ExternalID))
			return
		}
		adopted := slices.Contains(lu.Fields, visitor.LocationFieldExternalID)
		a.mu.Lock()
		if adopted {
			a.res.Counts.LocationsAdopted++
		} else {
			a.res.Counts.LocationsUpdated++
		}
		a.breaker.cause, a.breaker.n = "", 0
		a.mu.Unlock()
		a.log.Info("location updated", zap.String("visitorId", lu.VisitorID), zap.String("externalId", got.ExternalID),
			zap.String("from", lu.Before.Name), zap.String("name", got.Name), zap.Bool("adopted", adopted))
		a.audit.Write(audit.Entry{Time: a.now().UTC(), Action: plan.ActionUpdateLocation, User: got.Name, //nolint:errcheck // a failed line stops later writes (halted)
			ExternalID: got.ExternalID, VisitorID: lu.VisitorID, Result: "ok", Reason: lu.Reason}, nil, nil)
	})
}

// owe records g as owed; a.mu is held or no worker runs yet. g.Key is
// where the plan put it (a Visitor id or pending key).
func (a *applier) owe(g plan.OwedGrant) {
	m := a.owed[g.ExternalID]
	if m == nil {
		m = map[string]plan.OwedGrant{}
		a.owed[g.ExternalID] = m
	}
	if _, ok := m[g.Location]; !ok {
		m[g.Location] = g
	}
}

// paid drops the grants owed to the user of ac that a write Visitor
// confirmed carried: their location is in the access list sent.
func (a *applier) paid(ac appliedChange, sent visitor.User) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.owed[ac.c.ExternalID]
	if len(m) == 0 {
		return
	}
	has := map[string]bool{}
	for _, x := range sent.Access {
		has[x.LocationID] = true
	}
	for loc, g := range m {
		id := g.Key
		if strings.HasPrefix(id, plan.PendingLocationPrefix) {
			id = a.resolved[id]
		}
		if id != "" && has[id] {
			delete(m, loc)
		}
	}
}

// owedLeft puts what is still owed into the result, sorted.
func (a *applier) owedLeft() {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []plan.OwedGrant
	for _, m := range a.owed {
		for _, g := range m {
			g.Key = "" // the next plan places it afresh
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(x, y plan.OwedGrant) int {
		return cmp.Or(cmp.Compare(x.ExternalID, y.ExternalID), cmp.Compare(x.Location, y.Location))
	})
	a.res.OwedGrants = out
}

// resolve replaces pending location keys with the ids just created. A
// location that could not be created is left out of the user's access,
// and owed to the user (Result.OwedGrants): the location fails alone,
// and the next run that has it gives it.
func (a *applier) resolve(u visitor.User) (visitor.User, error) {
	one := func(id string) (string, error) {
		if !strings.HasPrefix(id, plan.PendingLocationPrefix) {
			return id, nil
		}
		if v, ok := a.resolved[id]; ok {
			return v, nil
		}
		return "", fmt.Errorf("location %s was not created", strings.TrimPrefix(id, plan.PendingLocationPrefix))
	}
	var err error
	if u.DefaultLocation, err = one(u.DefaultLocation); err != nil {
		return u, err
	}
	r, ok := a.shared.get(u.Access)
	if !ok {
		r.access = make([]visitor.Access, 0, len(u.Access))
		for _, x := range u.Access {
			id, err := one(x.LocationID)
			if err != nil {
				r.missing = append(r.missing, strings.TrimPrefix(x.LocationID, plan.PendingLocationPrefix))
				continue
			}
			x.LocationID = id
			r.access = append(r.access, x)
		}
		r.access = visitor.SortAccess(r.access)
		a.shared.put(u.Access, r)
	}
	if len(r.missing) > 0 && u.ExternalID != "" {
		a.mu.Lock()
		for _, loc := range r.missing {
			a.owe(plan.OwedGrant{ExternalID: u.ExternalID, UserName: u.UserName, Location: loc, Key: plan.PendingLocationPrefix + loc})
		}
		a.mu.Unlock()
	}
	u.Access = r.access
	return u, nil
}

// sharedAccess remembers the resolved form of each access list of the
// plan. New users share one list (every location), so an initial sync
// resolves and sorts it once, and holds one copy until verification
// rather than one per user.
// listKey is a list's identity: the same backing array and length.
type listKey struct {
	first *visitor.Access
	n     int
}

type sharedAccess struct {
	mu sync.Mutex
	m  map[listKey]resolvedAccess
}

// resolvedAccess is one list resolved: the access sent, and the
// externalIds of the locations left out because they were not created.
type resolvedAccess struct {
	access  []visitor.Access
	missing []string
}

func (s *sharedAccess) get(in []visitor.Access) (resolvedAccess, bool) {
	if len(in) == 0 {
		return resolvedAccess{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[listKey{&in[0], len(in)}]
	return r, ok
}

func (s *sharedAccess) put(in []visitor.Access, r resolvedAccess) {
	if len(in) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[listKey]resolvedAccess{}
	}
	r.access = slices.Clip(r.access)
	s.m[listKey{&in[0], len(in)}] = r
}

// change applies one change of the plan; c points into the plan and is
// never written to.
func (a *applier) change(ctx context.Context, c *plan.UserChange) {
	if err := a.halted(ctx); err != nil {
		a.notAttempted(*c, err)
		return
	}
	switch c.Action {
	case plan.ActionDelete:
		if !a.intend(*c, plan.ActionDelete, c.VisitorID, nil, nil) {
			return
		}
		err := a.t.DeleteUser(ctx, c.VisitorID)
		if err != nil && !errors.Is(err, visitor.ErrNotFound) { // already gone is what we wanted
			a.refused(*c, err, "the last active admin cannot be removed: make another user admin first")
			return
		}
		a.mu.Lock()
		a.res.Counts.Deleted++
		a.breaker.cause, a.breaker.n = "", 0
		a.mu.Unlock()
		a.audit.Write(a.entry(*c, plan.ActionDelete, "ok", ""), nil, nil) //nolint:errcheck // a failed line stops later writes (halted)
		a.log.Info("user deleted", zap.String("user", c.UserName), zap.String("externalId", c.ExternalID), zap.String("visitorId", c.VisitorID))
	case plan.ActionDeactivate:
		if !a.intend(*c, plan.ActionDeactivate, c.VisitorID, c.Fields(), c.Desired) {
			return
		}
		got, err := a.t.UpdateUser(ctx, c.VisitorID, *c.Desired, c.Fields())
		if err != nil {
			a.refused(*c, err, "the last active admin cannot be deactivated: make another user admin first")
			return
		}
		a.accepted(appliedChange{c: c, action: plan.ActionDeactivate, id: c.VisitorID, fields: c.Fields()}, *c.Desired, got)
	case plan.ActionUpdate:
		want, err := a.resolve(*c.Desired)
		if err != nil {
			a.fail(*c, err.Error())
			return
		}
		fields := c.Fields()
		var sent *visitor.User
		if !a.intend(*c, plan.ActionUpdate, c.VisitorID, fields, &want) {
			return
		}
		got, err := a.t.UpdateUser(ctx, c.VisitorID, want, fields)
		if err != nil && slices.Contains(fields, visitor.FieldUserName) && renameRefused(err) {
			// The email change is refused: a conflict with the fix. The
			// user's other changes still apply under the old userName.
			a.conflict(*c, c.VisitorID, "Visitor refused the email change "+c.Before.UserName+" → "+want.UserName+": "+err.Error(),
				renameFix(err, c.Before.UserName, want.UserName))
			if len(fields) == 1 {
				return
			}
			fields = slices.DeleteFunc(fields, func(f visitor.Field) bool { return f == visitor.FieldUserName })
			want.UserName, want.Email = c.Before.UserName, c.Before.Email
			if err := a.halted(ctx); err != nil {
				a.notAttempted(*c, err)
				return
			}
			if !a.intend(*c, plan.ActionUpdate, c.VisitorID, fields, &want) {
				return
			}
			if got, err = a.t.UpdateUser(ctx, c.VisitorID, want, fields); err != nil {
				a.refused(*c, err, updateFix(err, want, fields))
				return
			}
			sent = &want
			a.mu.Lock()
			a.res.PartlyApplied = append(a.res.PartlyApplied, c.ExternalID)
			a.mu.Unlock()
		} else if err != nil {
			a.refused(*c, err, updateFix(err, want, fields))
			return
		}
		a.accepted(appliedChange{c: c, action: plan.ActionUpdate, id: c.VisitorID, want: sent, fields: fields}, want, got)
	case ActionAdopt:
		want, err := a.resolve(*c.Desired)
		if err != nil {
			a.fail(*c, err.Error())
			return
		}
		fields := c.Fields()
		if !a.intend(*c, ActionAdopt, c.VisitorID, fields, &want) {
			return
		}
		got, err := a.t.UpdateUser(ctx, c.VisitorID, want, fields)
		if err != nil {
			a.refused(*c, err, "free the userName in Visitor or correct the email in Condeco")
			return
		}
		a.accepted(appliedChange{c: c, action: ActionAdopt, id: c.VisitorID, fields: fields}, want, got)
	case plan.ActionCreate:
		want, err := a.resolve(*c.Desired)
		if err != nil {
			a.fail(*c, err.Error())
			return
		}
		a.mu.Lock()
		missed := a.res.ListingMissed
		a.mu.Unlock()
		if missed != nil {
			// The listing is known to miss managed users: a create now
			// may be one of them.
			a.notAttempted(*c, fmt.Errorf("%w: the managed-user listing missed %s", ErrListingMissed, missed.ExternalID))
			return
		}
		if !a.intend(*c, plan.ActionCreate, "", nil, &want) {
			return
		}
		got, err := a.t.CreateUser(ctx, want)
		if errors.Is(err, visitor.ErrConflict) {
			a.createRefused(ctx, *c, want, err)
			return
		}
		if err != nil {
			a.failed(*c, err)
			return
		}
		a.accepted(appliedChange{c: c, action: plan.ActionCreate, id: got.ID, fields: visitor.FieldOrder}, want, got)
	}
}

// createRefused handles a 409 on create. Visitor names the attribute in
// its detail at best, so the sync asks: a user with this externalId means
// the managed-user listing did not return a user it should have (its own
// create from an earlier run), a listing fault, not a stranger holding the
// name; creating stops for the run. Otherwise the userName is taken.
func (a *applier) createRefused(ctx context.Context, c plan.UserChange, want visitor.User, refusal error) {
	owner, err := a.t.FindUser(ctx, "externalId", want.ExternalID)
	if err != nil {
		a.fail(c, "create refused ("+refusal.Error()+"); looking up externalId "+want.ExternalID+": "+err.Error())
		return
	}
	if owner == nil {
		a.unplannedName(c, want)
		return
	}
	a.strike(refusal)
	a.mu.Lock()
	if a.res.ListingMissed == nil {
		a.res.ListingMissed = &plan.Issue{UserName: owner.UserName, ExternalID: owner.ExternalID, VisitorID: owner.ID}
	}
	a.mu.Unlock()
	a.conflict(c, owner.ID, fmt.Sprintf("externalId %s is already on Visitor user %s (%s), which the managed-user listing did not return: the listing missed managed users",
		want.ExternalID, owner.ID, owner.UserName),
		"do not remove that Visitor user: it is this sync's own; check the listing with --check (filters, paging) and run again")
	a.log.Error("the managed-user listing missed a managed user: creates stopped", zap.String("externalId", owner.ExternalID), zap.String("visitorId", owner.ID))
}

// unplannedName reports a 409 on create for a userName a Visitor user
// outside the managed listing holds: one made by hand, or by another
// source. Adoption is planned (plan.Current.LookAlikes), so that its
// admin changes pass the safety limits before the first write; a user
// that appeared after planning waits for the next run's plan.
func (a *applier) unplannedName(c plan.UserChange, want visitor.User) {
	fix := "set adopt_existing_users: true to claim it, or remove that Visitor user"
	if a.rules.AdoptExistingUsers {
		fix = "it was not there when this run planned: the next run plans its adoption (or a conflict, if another source owns it)"
	}
	a.conflict(c, "", "userName "+want.UserName+" already exists in Visitor and is not managed by this sync", fix)
}

// renameRefused says whether Visitor refused an update because of its
// userName/email change: the name is taken (ErrUniqueness) or emails are
// read-only (ErrReadOnly; see docs/visitor-scim.md). ErrLastAdmin is not
// about the rename.
func renameRefused(err error) bool {
	return errors.Is(err, visitor.ErrUniqueness) || errors.Is(err, visitor.ErrReadOnly)
}

// renameFix tells the operator how to finish an email change Visitor
// refused.
func renameFix(err error, from, to string) string {
	if errors.Is(err, visitor.ErrReadOnly) {
		return "Visitor does not let SCIM change this email: change the user's email from " + from + " to " + to +
			" by hand in Visitor (the next run then matches it), or change it back in Condeco"
	}
	return "another Visitor user already has userName " + to + ": free it in Visitor or correct the email in Condeco"
}

// updateFix tells the operator what to do about a refused update.
func updateFix(err error, want visitor.User, fields []visitor.Field) string {
	if errors.Is(err, visitor.ErrLastAdmin) {
		return "Visitor needs at least one active admin: make another user admin first"
	}
	if slices.Contains(fields, visitor.FieldUserName) {
		return "another Visitor user already has userName " + want.UserName + ": free it in Visitor or correct the email in Condeco"
	}
	return "see the reason; the next run retries"
}

// accepted handles a write Visitor answered 2xx. With scim_verify_writes:
// answer the user Visitor answered with (the client reads it back itself
// after a 204) is checked against what was sent right away; with reread
// the change gets an applied line and waits for the re-read at the end of
// the run. The images are on the change's intent line already.
func (a *applier) accepted(ac appliedChange, sent, answer visitor.User) {
	a.success()
	if a.o.VerifyWrites != VerifyReread && answer.ID != "" {
		a.confirm(ac, answer, "")
		return
	}
	e := a.entry(*ac.c, ac.action, "applied", "")
	e.VisitorID = ac.id
	if ac.action != plan.ActionCreate { // a create sends every field
		e.Fields = ac.fields
	}
	a.audit.Write(e, nil, nil) //nolint:errcheck // a failed line stops later writes (halted)
	a.mu.Lock()
	a.applied = append(a.applied, ac)
	a.mu.Unlock()
}

// halted says why no new write may start: the run is stopping, or the
// audit log can no longer be written (no write without its line).
func (a *applier) halted(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	b := a.res.Breaker
	a.mu.Unlock()
	if b != nil {
		return fmt.Errorf("%w: %d writes in a row failed with %s", ErrBreaker, b.Count, b.Cause)
	}
	return a.audit.Err()
}

// intend writes the intent line of a write about to be sent: the user
// before (c.Before) and the user to be sent. It says false, with the change
// reported not attempted, when the line could not be written: the request
// then never goes out.
func (a *applier) intend(c plan.UserChange, act plan.Action, visitorID string, fields []visitor.Field, sent *visitor.User) bool {
	e := a.entry(c, act, "intent", "")
	e.VisitorID, e.Fields = visitorID, fields
	if r := c.Replaced(); r != "" {
		// The before image shows it too; the line says it in words.
		e.Reason = "admin replaces the hand-set role " + r
	}
	if err := a.audit.Write(e, c.Before, sent); err != nil {
		a.notAttempted(c, err)
		return false
	}
	return true
}

// refused reports a conflict (a taken name, the last admin: ErrConflict)
// with its fix, anything else as a failure.
func (a *applier) refused(c plan.UserChange, err error, fix string) {
	if errors.Is(err, visitor.ErrConflict) {
		a.strike(err)
		a.conflict(c, c.VisitorID, "Visitor refused the "+string(c.Action)+": "+err.Error(), fix)
		return
	}
	a.failed(c, err)
}

// strike counts a write that failed: BreakerFailures writes in a row with
// one cause trip the breaker, and no new write starts.
func (a *applier) strike(err error) {
	cause := visitor.Cause(err)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.breaker.tripped != "" {
		return
	}
	if cause != a.breaker.cause {
		a.breaker.cause, a.breaker.n = cause, 0
	}
	a.breaker.n++
	if a.breaker.n >= a.o.BreakerFailures {
		a.breaker.tripped = cause
		a.res.Breaker = &Breaker{Cause: cause, Count: a.breaker.n}
		a.log.Error("circuit breaker: writes stopped", zap.String("cause", cause), zap.Int("inARow", a.breaker.n))
	}
}

// success resets the breaker's count: the failures were not in a row.
func (a *applier) success() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.breaker.tripped == "" {
		a.breaker.cause, a.breaker.n = "", 0
	}
}

func (a *applier) conflict(c plan.UserChange, visitorID, reason, fix string) {
	a.mu.Lock()
	a.res.Counts.Conflicts++
	a.res.Conflicts = append(a.res.Conflicts, plan.Issue{UserName: c.UserName, ExternalID: c.ExternalID, VisitorID: visitorID, Reason: reason, Fix: fix})
	a.audit.Write(a.entry(c, c.Action, "conflict", reason), c.Before, nil)
	a.mu.Unlock()
	a.log.Warn("user conflict", zap.String("action", string(c.Action)), zap.String("user", c.UserName),
		zap.String("externalId", c.ExternalID), zap.String("reason", reason), zap.String("fix", fix))
}

// failed reports a write the target refused or could not do; one the
// target never sent (the process is stopping) is not attempted instead.
func (a *applier) failed(c plan.UserChange, err error) {
	if errors.Is(err, ErrNotSent) {
		a.notAttempted(c, err)
		return
	}
	a.strike(err)
	a.fail(c, err.Error())
}

func (a *applier) fail(c plan.UserChange, reason string) {
	a.mu.Lock()
	a.res.Counts.Failed++
	a.res.Failures = append(a.res.Failures, Failure{User: c.UserName, ExternalID: c.ExternalID, Action: c.Action, Reason: reason})
	a.audit.Write(a.entry(c, c.Action, "failed", reason), c.Before, nil)
	a.mu.Unlock()
	a.log.Warn("user change failed", zap.String("action", string(c.Action)), zap.String("user", c.UserName),
		zap.String("externalId", c.ExternalID), zap.String("reason", reason))
}

// notAttempted reports a change a stopping run did not start. The report
// lists each one; the log and the audit log get one summary line per run
// (stopped), since at 100 000 users a line each would bury what happened.
func (a *applier) notAttempted(c plan.UserChange, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.res.Counts.Failed++
	a.res.NotAttempted++
	a.res.Failures = append(a.res.Failures, Failure{User: c.UserName, ExternalID: c.ExternalID, Action: c.Action, Reason: "not attempted: " + err.Error()})
	if a.skipped.n == 0 {
		a.skipped.err = err
	}
	a.skipped.n++
	if len(a.skipped.first) < skippedNamed {
		a.skipped.first = append(a.skipped.first, c.UserName)
	}
}

// skippedNamed is how many unattempted changes the summary line names.
const skippedNamed = 5

// stopped writes one line for a run that was stopped (a signal, its
// timeout, or an audit log it can no longer write), whether or not
// changes were left: the log then says the run ended early and why.
func (a *applier) stopped(ctx context.Context) {
	s := a.skipped
	cause := s.err
	if cause == nil {
		cause = a.halted(ctx)
	}
	if cause == nil {
		return
	}
	reason := fmt.Sprintf("stopped with no change left unattempted: %v", cause)
	if s.n > 0 {
		names := strings.Join(s.first, ", ")
		if s.n > len(s.first) {
			names += ", …"
		}
		reason = fmt.Sprintf("%d changes not attempted (%s): %v", s.n, names, cause)
		a.log.Warn("changes not attempted", zap.Int("count", s.n), zap.Strings("first", s.first), zap.String("reason", cause.Error()))
	}
	// With the log itself failing this line cannot be written; the run's
	// error and report say it instead.
	a.audit.Write(audit.Entry{Time: a.now().UTC(), Action: audit.ActionRun, Result: "stopped", Reason: reason}, nil, nil) //nolint:errcheck
}

// entry is an audit line about c; write adds the users before and after.
func (a *applier) entry(c plan.UserChange, act plan.Action, result, reason string) audit.Entry {
	return audit.Entry{Time: a.now().UTC(), Action: act, User: c.UserName, ExternalID: c.ExternalID,
		VisitorID: c.VisitorID, Result: result, Reason: reason, Fields: c.Fields()}
}

// sent is the user an accepted write sent: resolving the plan's user again
// gives it (the resolved access lists are shared, so this costs no copy
// of them) unless the write had to send something else.
func (a *applier) sent(ac appliedChange) (visitor.User, error) {
	if ac.want != nil {
		return *ac.want, nil
	}
	return a.resolve(*ac.c.Desired)
}

// verify re-reads the accepted writes that were not checked against
// Visitor's answer (scim_verify_writes: reread, or an answer without the
// user):
// a server that answered 2xx but dropped a field (a phone it thinks is not
// E.164, an unknown location) is a failure, and the next run will try
// again. The re-read is batched by externalId (about a hundred users a
// request), so checking a full initial sync costs about 1 % more calls,
// not double.
func (a *applier) verify(ctx context.Context) {
	slices.SortFunc(a.applied, func(x, y appliedChange) int { return strings.Compare(x.c.ExternalID, y.c.ExternalID) })
	orRefused := false // the server refused a batched re-read: one GET per user from then on
	for start := 0; start < len(a.applied); start += VerifyChunk {
		a.VerifyChunk(ctx, a.applied[start:min(start+VerifyChunk, len(a.applied))], &orRefused)
	}
}

// VerifyChunk bounds how many re-read users verification holds at once:
// an initial sync of 100 000 users would otherwise keep all of them until
// the last was read. The re-read is batched about a hundred users a
// request anyway, so a chunk costs at most one partly filled request more.
const VerifyChunk = 5000

func (a *applier) VerifyChunk(ctx context.Context, applied []appliedChange, orRefused *bool) {
	got := map[string]visitor.User{}
	var readErr error
	switch {
	case ctx.Err() != nil || len(applied) == 0:
	case *orRefused:
		readErr = a.rereadEach(ctx, applied, got)
	default:
		ids := make([]string, len(applied))
		for i, ac := range applied {
			ids[i] = ac.c.ExternalID
		}
		users, err := a.t.UsersByExternalID(ctx, ids)
		readErr = err
		for _, u := range users {
			got[u.ExternalID] = u
		}
		if errors.Is(err, visitor.ErrBadRequest) {
			// A server that refuses "or" filters: one GET per user.
			a.log.Warn("batched re-read refused; re-reading one user at a time", zap.String("error", err.Error()))
			*orRefused = true
			readErr = a.rereadEach(ctx, applied, got)
		}
	}
	for _, ac := range applied {
		u, found := got[ac.c.ExternalID]
		switch {
		case ctx.Err() != nil:
			// Shutting down: the server accepted the write, so count it;
			// the next run's plan checks it anyway.
			a.confirm(ac, visitor.User{}, "ok-unverified")
		case !found && readErr != nil:
			a.fail(*ac.c, "re-reading after "+string(ac.action)+": "+readErr.Error())
		case !found:
			a.fail(*ac.c, "after "+string(ac.action)+" Visitor no longer has the user")
		default:
			a.confirm(ac, u, "")
		}
	}
}

// confirm checks an accepted write against u, the user as Visitor holds it
// after the write (its answer, or the re-read), and counts it done or
// failed. result "ok-unverified" counts it without a check.
func (a *applier) confirm(ac appliedChange, u visitor.User, result string) {
	// The applied line holds the user before and as sent; this one names
	// the user and the result, and Visitor's user only when it differs
	// from what was sent in a field this run did not send.
	e := audit.Entry{Time: a.now().UTC(), Action: ac.action, User: ac.c.UserName, ExternalID: ac.c.ExternalID,
		VisitorID: ac.id, Result: cmp.Or(result, "ok")}
	var after *visitor.User
	if result == "" {
		want, err := a.sent(ac)
		if err != nil {
			a.fail(*ac.c, "after "+string(ac.action)+": "+err.Error())
			return
		}
		var diffs []string
		for _, f := range ac.fields {
			if !visitor.FieldEqual(u, want, f) {
				diffs = append(diffs, fmt.Sprintf("%s is %q, want %q", f, visitor.FieldValue(u, f), visitor.FieldValue(want, f)))
			}
		}
		if len(diffs) > 0 {
			a.fail(*ac.c, "after "+string(ac.action)+" Visitor differs from the plan: "+strings.Join(diffs, "; "))
			return
		}
		a.paid(ac, want)
		var other []string
		for _, f := range visitor.FieldOrder {
			if !slices.Contains(ac.fields, f) && !visitor.FieldEqual(u, want, f) {
				other = append(other, string(f))
			}
		}
		if len(other) > 0 {
			e.Reason = "Visitor differs from the user sent in fields this run did not change: " + strings.Join(other, ", ")
			after = &u
		}
	}
	a.mu.Lock()
	switch ac.action {
	case plan.ActionCreate:
		a.res.Counts.Created++
	case ActionAdopt:
		a.res.Counts.Adopted++
	case plan.ActionUpdate:
		a.res.Counts.Updated++
	case plan.ActionDeactivate:
		a.res.Counts.Deactivated++
	}
	a.audit.Write(e, nil, after)
	a.mu.Unlock()
	a.log.Info("user "+pastTense(ac.action), zap.String("user", ac.c.UserName), zap.String("externalId", ac.c.ExternalID),
		zap.String("visitorId", ac.id), zap.String("fields", fieldList(ac.fields)), zap.Bool("verified", e.Result == "ok"))
}

// rereadEach fills got with one GET per applied change not read yet.
func (a *applier) rereadEach(ctx context.Context, applied []appliedChange, got map[string]visitor.User) error {
	var mu sync.Mutex
	var firstErr error
	pool(ctx, a.o.Concurrency, applied, func(ac appliedChange) {
		mu.Lock()
		_, ok := got[ac.c.ExternalID]
		mu.Unlock()
		if ok {
			return
		}
		u, err := a.t.GetUser(ctx, ac.id)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		got[u.ExternalID] = u
	})
	return firstErr
}

func pastTense(a plan.Action) string {
	switch a {
	case plan.ActionCreate:
		return "created"
	case plan.ActionUpdate:
		return "updated"
	case plan.ActionDeactivate:
		return "deactivated"
	case ActionAdopt:
		return "adopted"
	}
	return string(a)
}

func fieldList(fs []visitor.Field) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ",")
}
