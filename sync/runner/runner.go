// Package runner runs one sync: read Condeco, list Visitor, plan, check the
// limits and, unless dry-running, apply. The daemon's cron ticks and the
// run-now flag both come through Runner.RunOnce, so they cannot drift apart.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/sync/apply"
	"condeco-visitor-sync/sync/audit"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

// Run failures, for the exit code table. A run says which side failed;
// only per-user write failures stay per user in the report.
var (
	// ErrPartial means the run finished but some users failed or conflicted.
	ErrPartial = errors.New("partial sync")
	// ErrSource means Condeco could not be read.
	ErrSource = errors.New("condeco source failed")
	// ErrTarget means Visitor could not be listed.
	ErrTarget = errors.New("visitor target failed")
)

// SourceError and TargetError mark an error of a call outside a run
// (--check) the way a run marks it, so both exit with the same code.
func SourceError(err error) error { return tag(ErrSource, err) }

// TargetError: see SourceError.
func TargetError(err error) error { return tag(ErrTarget, err) }

// tag marks err as side's failure, unless the run was stopped.
func tag(side, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %w", side, err)
}

// Source is what a run needs from the Condeco reader.
type Source interface {
	Export(ctx context.Context) (*condeco.Export, error)
}

// Target is what a run needs from Visitor: its listings, and what applying
// a plan needs.
type Target interface {
	ListManagedUsers(ctx context.Context, externalIDPrefix string) ([]visitor.User, error)
	ListLocations(ctx context.Context) ([]visitor.Location, error)
	apply.Target
}

// FirstSyncStore keeps who the first full sync set out to create
// (plan.Current.FirstSync); state.Dir is one.
type FirstSyncStore interface {
	ReadFirstSync() ([]string, error)
	WriteFirstSync(run string, at time.Time, externalIDs []string) error
}

// TargetStore keeps what Visitor held after the last good run; cmd adapts
// state.Dir to it.
type TargetStore interface {
	ReadTarget() (*plan.TargetRecord, error) // nil: no record
	WriteTarget(run string, at time.Time, rec plan.TargetRecord) error
}

// OwedGrantStore keeps the location grants owed to users from one run to
// the next (plan.OwedGrant: a location that could not be created when
// its users were); cmd adapts state.Dir to it.
type OwedGrantStore interface {
	ReadOwedGrants() ([]plan.OwedGrant, error)
	WriteOwedGrants(run string, at time.Time, grants []plan.OwedGrant) error
}

// GrantsStore keeps the admin roles the sync granted
// (plan.Current.Grants), so that it revokes only those; cmd adapts
// state.Dir to it.
type GrantsStore interface {
	ReadGrants() (*plan.GrantsRecord, error) // nil: no record
	WriteGrants(run string, at time.Time, rec plan.GrantsRecord) error
}

// ByHandStore keeps the by-hand list of the last run (plan.ByHandRecord)
// for a target without locations, so that a run can say what is new;
// cmd adapts state.Dir to it.
type ByHandStore interface {
	ReadByHand() (*plan.ByHandRecord, error) // nil: no record
	WriteByHand(run string, at time.Time, rec plan.ByHandRecord) error
}

// ErrPrefixChanged means external_id_prefix differs from the prefix the
// managed users carry: a configuration to fix (or a migration to run),
// not a tenant whose users all left.
var ErrPrefixChanged = errors.New("external_id_prefix changed")

// Runner runs one sync at a time.
type Runner struct {
	Source Source
	Target Target
	Plan   plan.Options
	Apply  apply.Options
	Log    *zap.Logger
	// AuditPath, when set, gets one JSON line per applied change.
	AuditPath string
	// FirstSync, when set, records who the first full sync set out to
	// create; suppress-initial relies on it.
	FirstSync FirstSyncStore
	// Record, when set, keeps the target guard's record.
	Record TargetStore
	// Owed, when set, keeps the location grants owed to users; without
	// it a location that could not be created is never given to the
	// users written without it.
	Owed OwedGrantStore
	// Grants, when set, keeps the admin roles the sync granted. Without
	// it (or without a record in it) no admin role is ever revoked.
	Grants GrantsStore
	// ByHand, when set, keeps the by-hand list of a target without
	// locations between runs; without it every run's list reads as new.
	ByHand ByHandStore
	// Progress, when set, counts applied writes while a run applies.
	Progress *apply.Progress
	// Now and NewRunID default to time.Now and a random id; tests set them.
	Now      func() time.Time
	NewRunID func() string
}

// Flags are the per-run switches of the CLI.
type Flags struct {
	DryRun bool
	plan.Approvals
	// Only, when set, applies the plan for these people alone (--only:
	// emails, userNames, Condeco ids or externalIds); see restrict.
	Only []string
}

// Report is what one run did, for the CLI, the report file and logs.
type Report struct {
	RunID      string    `json:"runId"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	DurationMS int64     `json:"durationMs"`
	DryRun     bool      `json:"dryRun"`
	apply.Result
	SourceRows int `json:"sourceRows"`
	// SourceUserRows and SourceLocationRows split SourceRows by query.
	SourceUserRows     int `json:"sourceUserRows"`
	SourceLocationRows int `json:"sourceLocationRows"`
	SourceProblems     int `json:"sourceProblems"`
	// Problems names each held source row with its field and rule, for
	// example "users row 1042: field first_name: must not contain _", so
	// the operator knows what to fix in Condeco.
	Problems []string `json:"problems"`
	// Dropped names each value dropped from an exported row, with the
	// value and why: "users row 907: field phone: not a valid phone
	// number; dropped: \"ext. 1234\"".
	Dropped  []string `json:"dropped"`
	Requests int64    `json:"requests"`
	// MinRequests is the least a perfect client could have spent: one
	// write per planned change plus the list pages of managed users and
	// locations. ExtraRequests = Requests − MinRequests: what retries,
	// 429s, lookups and verification cost on top.
	MinRequests   int64 `json:"minRequests"`
	ExtraRequests int64 `json:"extraRequests"`
	// Capabilities are what the run took the target to carry.
	Capabilities *visitor.Capabilities `json:"capabilities,omitempty"`
	// Phases is where the run's time went.
	Phases Phases     `json:"phases"`
	Plan   *plan.Plan `json:"plan,omitempty"`
	Error  string     `json:"error,omitempty"`
	// Only names the people an --only run was limited to.
	Only []string `json:"only,omitempty"`
	// Integrations are what the further integrations did in this run
	// (visitor_integrations), after the main one.
	Integrations []IntegrationResult `json:"integrations,omitempty"`
}

// Phases are the durations of a run's parts, in milliseconds.
type Phases struct {
	ExportMS int64 `json:"exportMs"` // reading Condeco
	ListMS   int64 `json:"listMs"`   // listing Visitor locations and managed users
	PlanMS   int64 `json:"planMs"`   // planning and checking the limits
	ApplyMS  int64 `json:"applyMs"`  // the writes
	VerifyMS int64 `json:"verifyMs"` // re-reading the changed users
}

type requestCounter interface{ Requests() int64 }

// statsCounter is how *visitor.Client reports the requests it sent.
type statsCounter interface{ Stats() visitor.Stats }

// requests reads the Target's request counter, if it has one.
func requests(t Target) (int64, bool) {
	switch c := t.(type) {
	case requestCounter:
		return c.Requests(), true
	case statsCounter:
		return c.Stats().Requests, true
	}
	return 0, false
}

// RunOnce reads Condeco and Visitor, plans, checks the limits and, unless
// dry-running, applies the plan. One user's failure never stops the others;
// it is listed in the report and ErrPartial is returned with the report.
func (r *Runner) RunOnce(ctx context.Context, f Flags) (*Report, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	log := r.Log
	if log == nil {
		log = zap.NewNop()
	}
	rep := &Report{RunID: r.runID(), Start: now().UTC(), DryRun: f.DryRun, Only: f.Only, Problems: []string{}, Dropped: []string{},
		Result: apply.Result{Failures: []apply.Failure{}, Conflicts: []plan.Issue{}, LocationsCreated: []string{}}}
	log = log.With(zap.String("run", rep.RunID))
	reqStart, counting := requests(r.Target)
	audited := false // the run opened the audit log
	err := r.run(ctx, f, now, log, rep, &audited)
	if !audited && !f.DryRun && r.AuditPath != "" && errors.Is(err, context.Canceled) {
		// Stopped before its first write: the log still says so.
		if al, aerr := openAudit(r.AuditPath, rep.RunID, nil, now().UTC(), log); aerr != nil {
			err = errors.Join(err, aerr)
		} else {
			aerr = al.Write(audit.Entry{Time: now().UTC(), Action: audit.ActionRun, Result: "stopped",
				Reason: "stopped before any write: " + err.Error()}, nil, nil)
			err = errors.Join(err, aerr, al.Close())
		}
	}
	rep.End = now().UTC()
	rep.DurationMS = rep.End.Sub(rep.Start).Milliseconds()
	if n, _ := requests(r.Target); counting {
		rep.Requests = n - reqStart
		rep.ExtraRequests = rep.Requests - rep.MinRequests
	}
	// A dry run fails nothing, so its conflicts are in the report only.
	if err == nil && !f.DryRun && (rep.Counts.Failed > 0 || rep.Counts.Conflicts > 0) {
		err = fmt.Errorf("%w: %d failed, %d conflicts", ErrPartial, rep.Counts.Failed, rep.Counts.Conflicts)
	}
	if err != nil {
		rep.Error = err.Error()
	}
	log.Info("sync run finished",
		zap.Bool("dryRun", f.DryRun), zap.Int64("durationMs", rep.DurationMS),
		zap.Int("created", rep.Counts.Created), zap.Int("updated", rep.Counts.Updated),
		zap.Int("deleted", rep.Counts.Deleted), zap.Int("deactivated", rep.Counts.Deactivated),
		zap.Int("unchanged", rep.Counts.Unchanged), zap.Int("failed", rep.Counts.Failed),
		zap.Int("conflicts", rep.Counts.Conflicts), zap.Int("held", rep.Counts.Held),
		zap.Int("locationsCreated", rep.Counts.LocationsCreated), zap.Int64("requests", rep.Requests),
		zap.NamedError("outcome", err))
	return rep, err
}

func (r *Runner) run(ctx context.Context, f Flags, now func() time.Time, log *zap.Logger, rep *Report, audited *bool) error {
	o := r.Plan
	t := now()
	lap := func() int64 { n := now(); d := n.Sub(t).Milliseconds(); t = n; return d }
	exp, err := r.Source.Export(ctx)
	rep.Phases.ExportMS = lap()
	if err != nil {
		return fmt.Errorf("exporting from condeco: %w", tag(ErrSource, err))
	}
	if exp == nil {
		exp = &condeco.Export{}
	}
	rep.SourceRows, rep.SourceProblems = exp.RowsRead, len(exp.Problems)
	rep.SourceUserRows, rep.SourceLocationRows = exp.UserRows, exp.LocationRows
	for _, w := range exp.Warnings {
		rep.Dropped = append(rep.Dropped, fmt.Sprintf("%s: %q", w.Error(), w.Value))
	}
	for _, p := range exp.Problems {
		rep.Problems = append(rep.Problems, p.Error())
		log.Warn("condeco row held", zap.String("table", p.Table), zap.String("row", p.RowID),
			zap.String("field", p.Field), zap.String("rule", p.Rule))
	}
	caps := capabilities(r.Target)
	rep.Capabilities = &caps
	var locs []visitor.Location
	if caps.Locations { // a target without locations has none to list
		if locs, err = r.Target.ListLocations(ctx); err != nil {
			return fmt.Errorf("listing locations: %w", tag(ErrTarget, err))
		}
	}
	prefix := o.ExternalIDPrefix
	if prefix == "" {
		prefix = plan.DefaultExternalIDPrefix
	}
	if caps.ExternalID { // a profile without externalIds has no prefix on the wire
		if err := r.checkPrefix(ctx, prefix); err != nil {
			return err
		}
	}
	users, err := r.Target.ListManagedUsers(ctx, prefix)
	if errors.Is(err, visitor.ErrOwnershipLost) {
		// Nothing is planned without the record: every user would read as
		// someone else's (no deletion, a create refused per user).
		return fmt.Errorf("%w: %w", plan.ErrTargetGuard, err)
	}
	if err != nil {
		return fmt.Errorf("listing managed users: %w", tag(ErrTarget, err))
	}
	var firstSync []string
	if r.FirstSync != nil {
		firstSync, err = r.FirstSync.ReadFirstSync()
		if err != nil && o.Invitations == plan.InvitationsSuppressInitial {
			return err
		} else if err != nil {
			log.Warn("first-sync record unreadable; ignored", zap.Error(err))
		}
	}
	rec, err := r.readTarget(users, log)
	if err != nil {
		return err
	}
	var owed []plan.OwedGrant
	if r.Owed != nil {
		if owed, err = r.Owed.ReadOwedGrants(); err != nil {
			return fmt.Errorf("reading the owed location grants: %w", err)
		}
	}
	grants, err := r.readGrants(users, log)
	if err != nil {
		return err
	}
	var byHand *plan.ByHandRecord
	if r.ByHand != nil && !caps.Locations {
		if byHand, err = r.ByHand.ReadByHand(); err != nil {
			log.Warn("by-hand record unreadable; this run lists everything as new", zap.Error(err))
			byHand = nil
		}
	}
	rep.Phases.ListMS = lap()
	cur := plan.Current{Users: users, Locations: locs, FirstSync: firstSync, Capabilities: &caps, Target: rec, OwedGrants: owed, Grants: grants,
		ByHand: byHand}
	p, err := plan.BuildPlan(exp, cur, o, now())
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	// The target guard first: on a listing that missed the managed users
	// every one of them is a planned create, and looking each up would
	// spend a request per user before the guard stops the run.
	targetErr := plan.CheckTarget(activeCount(users), rec, o, f.Approvals)
	if targetErr == nil {
		if cur.LookAlikes, err = r.lookAlikes(ctx, p, prefix); err != nil {
			return err
		}
	}
	if len(cur.LookAlikes) > 0 {
		// Planned again with them: the creates they answer become
		// adoptions (or conflicts), in the plan the limits check.
		if p, err = plan.BuildPlan(exp, cur, o, now()); err != nil {
			return fmt.Errorf("planning: %w", err)
		}
	}
	full := p
	if len(f.Only) > 0 {
		if p, err = restrict(full, exp, users, prefix, f.Only); err != nil {
			return err
		}
	}
	rep.Plan = p
	rep.MinRequests = listRequests(r.Target, len(users))
	if caps.Locations {
		rep.MinRequests += listRequests(r.Target, len(locs))
	}
	rep.Counts.Unchanged = p.Unchanged
	rep.Counts.Held = len(p.Held) // held source rows: not created, updated or deleted
	rep.Counts.Skipped = len(p.Skipped)
	rep.Counts.Conflicts = len(p.Conflicts)
	rep.Conflicts = append(rep.Conflicts, p.Conflicts...)
	for _, c := range p.Conflicts {
		log.Warn("user conflict", zap.String("user", c.UserName), zap.String("externalId", c.ExternalID),
			zap.String("reason", c.Reason), zap.String("fix", c.Fix))
	}
	for _, w := range p.Warnings {
		log.Warn("admin role kept", zap.String("user", w.UserName), zap.String("externalId", w.ExternalID),
			zap.String("reason", w.Reason), zap.String("fix", w.Fix))
	}
	err = targetErr
	if err == nil {
		err = plan.CheckLimits(p, activeCount(users), o, f.Approvals)
	}
	rep.Phases.PlanMS = lap()
	if err != nil {
		return err
	}
	logByHand(log, p.ByHand)
	if f.DryRun {
		return nil
	}
	if h := p.ByHand; h != nil && r.ByHand != nil {
		// The list is a person's, whatever the writes do: recorded as
		// told once the run gets this far.
		if err := r.ByHand.WriteByHand(rep.RunID, now().UTC(), h.Next); err != nil {
			return fmt.Errorf("recording the by-hand list: %w", err)
		}
	}
	ap := apply.Applier{Target: r.Target, Options: r.Apply, Rules: o, Log: log, Progress: r.Progress, Now: now}
	if r.AuditPath != "" && !p.Empty() {
		// Opened, header written, before the first-sync record and any
		// write: a log that cannot be written stops the run here.
		if ap.Audit, err = openAudit(r.AuditPath, rep.RunID, locs, now().UTC(), log); err != nil {
			return err
		}
		*audited = true
	}
	// The whole first full sync is recorded, even when --only starts it
	// with one person: the others are still part of it.
	if full.Initial && len(full.Creates) > 0 && r.FirstSync != nil {
		ids := make([]string, 0, len(full.Creates))
		for _, c := range full.Creates {
			ids = append(ids, c.ExternalID)
		}
		if err := r.FirstSync.WriteFirstSync(rep.RunID, now().UTC(), ids); err != nil {
			return errors.Join(err, ap.Audit.Close()) // no file left open in the daemon
		}
	}
	// The minimum is what a perfect client spends on what this run
	// attempted: one request per change it sent; a run stopped by a limit,
	// or before some changes, spends nothing on those.
	ps := p.Summary
	rep.MinRequests += int64(ps.Creates + ps.Adoptions + ps.Updates + ps.Deletes + ps.Deactivates + ps.LocationCreates + ps.LocationUpdates)
	d := ap.Apply(ctx, p, &rep.Result)
	rep.MinRequests -= int64(rep.NotAttempted)
	rep.Phases.ApplyMS, rep.Phases.VerifyMS = d.Apply.Milliseconds(), d.Verify.Milliseconds()
	// Recorded whatever stopped the run: a grant owed by this run's writes,
	// or an admin grant that went through, must not be forgotten because a
	// later write failed.
	owedErr := r.writeOwed(rep, owed, now)
	grantsErr := errors.Join(owedErr, r.writeGrants(rep, p, users, grants, now))
	if err := ap.Audit.Close(); err != nil {
		return errors.Join(fmt.Errorf("applying plan: writes stopped: %w", err), grantsErr)
	}
	if err := ctx.Err(); err != nil {
		return errors.Join(fmt.Errorf("applying plan: %w", err), grantsErr)
	}
	if grantsErr != nil {
		return grantsErr
	}
	if m := rep.ListingMissed; m != nil {
		return fmt.Errorf("%w: %w: Visitor holds %s (externalId %s, user %s) that the managed-user listing did not return; creates stopped, nothing else was affected",
			ErrTarget, apply.ErrListingMissed, m.UserName, m.ExternalID, m.VisitorID)
	}
	if b := rep.Breaker; b != nil {
		// Failing as a whole: the target's fault (exit 9) when it did not
		// answer or answered 5xx, else the users' (exit 3, partial).
		side := ErrPartial
		if visitor.ServerSide(b.Cause) {
			side = ErrTarget
		}
		return fmt.Errorf("%w: %w: %d writes in a row failed with %s; the other changes were not attempted, the next run starts fresh",
			side, apply.ErrBreaker, b.Count, b.Cause)
	}
	return r.writeTarget(rep, p, users, rec, now)
}

// readTarget reads the target guard's record. Without one (a first run,
// or a state_dir lost) the guard cannot judge the listing: said once per
// run when Visitor already holds managed users.
func (r *Runner) readTarget(users []visitor.User, log *zap.Logger) (*plan.TargetRecord, error) {
	if r.Record == nil {
		return nil, nil
	}
	rec, err := r.Record.ReadTarget()
	if err != nil {
		return nil, fmt.Errorf("reading the target record: %w", err)
	}
	if rec == nil && len(users) > 0 {
		log.Warn("no target record in state_dir (lost, or written by an older version): the target guard cannot check this run's listing; the next good run records it")
	}
	return rec, nil
}

// lookAlikes finds, with adopt_existing_users, the Visitor users outside
// the managed listing that hold the userName of a planned create: one
// `userName eq` lookup per create. Visitor lists users made in its UI only
// through a filter, and takes no "or" of userNames, so neither a full
// listing nor a batched lookup would find them; off, nothing is asked.
// A user with this sync's prefix is the listing's miss, not a look-alike:
// the create's 409 reports it (apply.ErrListingMissed).
func (r *Runner) lookAlikes(ctx context.Context, p *plan.Plan, prefix string) ([]visitor.User, error) {
	if !r.Plan.AdoptExistingUsers || len(p.Creates) == 0 {
		return nil, nil
	}
	// scim_concurrency lookups at a time, as writes go: an initial sync
	// with adoption on asks once per user.
	found := make([]*visitor.User, len(p.Creates))
	errs := make([]error, len(p.Creates))
	sem := make(chan struct{}, max(r.Apply.Concurrency, 1))
	var wg sync.WaitGroup
	for i := range p.Creates {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			found[i], errs[i] = r.Target.FindUser(ctx, "userName", p.Creates[i].UserName)
		})
	}
	wg.Wait()
	var out []visitor.User
	for i, u := range found {
		if errs[i] != nil {
			return nil, fmt.Errorf("looking up userName %s for adopt_existing_users: %w", p.Creates[i].UserName, tag(ErrTarget, errs[i]))
		}
		if u != nil && !strings.HasPrefix(u.ExternalID, prefix) {
			out = append(out, *u)
		}
	}
	return out, nil
}

// readGrants reads the record of the admin roles the sync granted. An
// unreadable record stops the run: planning without it would be safe
// (nothing revoked), but the run would then write a new record over one a
// person may want back. Without a record (a first run, a state_dir lost)
// the plan revokes nothing and warns about each admin role it keeps.
func (r *Runner) readGrants(users []visitor.User, log *zap.Logger) (*plan.GrantsRecord, error) {
	if r.Grants == nil {
		return nil, nil
	}
	g, err := r.Grants.ReadGrants()
	if err != nil {
		return nil, fmt.Errorf("reading the grants record: %w; move the file aside to run without it (no admin role is revoked until the sync records its grants again)", err)
	}
	if g == nil && len(users) > 0 {
		log.Warn("no grants record in state_dir (lost, or written by an older version): this run revokes no admin role, since it cannot tell its own grants from a superuser's; " +
			"admin roles it keeps on the default location are listed; this run records the grants it makes")
	}
	return g, nil
}

// writeGrants records the admin roles the sync granted after a run that
// wrote: the changes that failed, conflicted or were not attempted
// change nothing in it.
func (r *Runner) writeGrants(rep *Report, p *plan.Plan, users []visitor.User, old *plan.GrantsRecord, now func() time.Time) error {
	if r.Grants == nil {
		return nil
	}
	undone := undoneChanges(rep, p)
	next := plan.NextGrants(old, users, p, func(c *plan.UserChange) bool { return !undone[c.ExternalID] })
	if err := r.Grants.WriteGrants(rep.RunID, now().UTC(), next); err != nil {
		return fmt.Errorf("recording the admin roles granted: %w", err)
	}
	return nil
}

// undoneChanges are the externalIds whose planned change did not take
// effect: a failure, or a conflict apply met instead of writing. The
// plan's own conflicts come first in rep.Conflicts and undo nothing: a
// user whose email change the plan holds back still gets the rest of the
// change, as does one whose email change Visitor refused
// (apply.Result.PartlyApplied).
func undoneChanges(rep *Report, p *plan.Plan) map[string]bool {
	undone := map[string]bool{}
	partly := map[string]bool{}
	for _, ext := range rep.PartlyApplied {
		partly[ext] = true
	}
	for _, c := range rep.Conflicts[min(len(p.Conflicts), len(rep.Conflicts)):] {
		if !partly[c.ExternalID] {
			undone[c.ExternalID] = true
		}
	}
	for _, f := range rep.Failures {
		undone[f.ExternalID] = true
	}
	return undone
}

// checkPrefix stops a run whose external_id_prefix differs from the one
// recorded while Visitor still holds users with the recorded one: read
// with the new prefix they would all be missing (deleted, or created a
// second time as a first sync). One user a page is enough to know.
func (r *Runner) checkPrefix(ctx context.Context, prefix string) error {
	if r.Record == nil {
		return nil
	}
	rec, err := r.Record.ReadTarget()
	if err != nil || rec == nil || rec.ExternalIDPrefix == "" || rec.ExternalIDPrefix == prefix {
		return nil // readTarget reports a read error
	}
	old, err := r.Target.ListManagedUsers(ctx, rec.ExternalIDPrefix)
	if err != nil {
		return fmt.Errorf("listing users of the recorded prefix %q: %w", rec.ExternalIDPrefix, tag(ErrTarget, err))
	}
	if len(old) == 0 {
		return nil
	}
	return fmt.Errorf("%w: external_id_prefix is %q, but %d Visitor users carry %q, the prefix recorded after the last good run; "+
		"set it back, or migrate them first (docs/operations.md, \"Change the externalId prefix\")", ErrPrefixChanged, prefix, len(old), rec.ExternalIDPrefix)
}

// writeTarget records, after a run that applied its whole plan, how many
// active users the sync now manages: those listed active, with the plan's
// changes that took effect. The first full sync counts as done once a run
// has applied everything without a failure.
func (r *Runner) writeTarget(rep *Report, p *plan.Plan, users []visitor.User, rec *plan.TargetRecord, now func() time.Time) error {
	if r.Record == nil {
		return nil
	}
	undone := undoneChanges(rep, p)
	active := activeCount(users)
	for _, cs := range [][]plan.UserChange{p.Creates, p.Adoptions} { // an adopted user is managed and active from now on
		for _, c := range cs {
			if !undone[c.ExternalID] {
				active++
			}
		}
	}
	for _, c := range p.Deletes {
		if !undone[c.ExternalID] && c.Before != nil && c.Before.Active {
			active--
		}
	}
	for _, c := range p.Deactivates {
		if !undone[c.ExternalID] {
			active--
		}
	}
	for _, c := range p.Updates {
		if !undone[c.ExternalID] && c.Before != nil && !c.Before.Active && c.Desired != nil && c.Desired.Active {
			active++
		}
	}
	// An --only run applies part of the plan: it never completes the
	// first full sync.
	done := (rec != nil && rec.FirstSyncDone) || (len(rep.Only) == 0 && rep.Counts.Failed == 0 && rep.Counts.Conflicts == 0)
	prefix := r.Plan.ExternalIDPrefix
	if prefix == "" {
		prefix = plan.DefaultExternalIDPrefix
	}
	if err := r.Record.WriteTarget(rep.RunID, now().UTC(), plan.TargetRecord{ActiveManaged: active, FirstSyncDone: done, ExternalIDPrefix: prefix}); err != nil {
		return fmt.Errorf("recording the target: %w", err)
	}
	return nil
}

// writeOwed records the grants still owed after applying (apply's
// Result.OwedGrants), unless nothing was owed before or after, or the
// set is unchanged: an ordinary run writes no file.
func (r *Runner) writeOwed(rep *Report, before []plan.OwedGrant, now func() time.Time) error {
	if r.Owed == nil {
		return nil
	}
	after := rep.OwedGrants
	key := func(g plan.OwedGrant) string { return g.ExternalID + "\x00" + g.Location }
	same := len(before) == len(after)
	if same {
		had := make(map[string]bool, len(before))
		for _, g := range before {
			had[key(g)] = true
		}
		for _, g := range after {
			same = same && had[key(g)]
		}
	}
	if same {
		return nil
	}
	if after == nil {
		after = []plan.OwedGrant{}
	}
	if err := r.Owed.WriteOwedGrants(rep.RunID, now().UTC(), after); err != nil {
		return fmt.Errorf("recording the owed location grants: %w", err)
	}
	return nil
}

// activeCount counts the active users of a listing.
func activeCount(users []visitor.User) int {
	n := 0
	for i := range users {
		if users[i].Active {
			n++
		}
	}
	return n
}

// capabilityReporter is how *visitor.Client says what its target carries.
type capabilityReporter interface{ Capabilities() visitor.Capabilities }

// capabilities are what t can carry; a target that does not say is held
// to today's contract.
func capabilities(t Target) visitor.Capabilities {
	if c, ok := t.(capabilityReporter); ok {
		return c.Capabilities()
	}
	return visitor.SCIM2Capabilities()
}

// listCounter is how *visitor.Client says what a listing costs: the page
// size is a fact of the wire.
type listCounter interface{ ListRequests(n int) int64 }

// listRequests is the least a listing of n items costs: one request
// without a client that knows its pages.
func listRequests(t Target, n int) int64 {
	if c, ok := t.(listCounter); ok {
		return c.ListRequests(n)
	}
	return 1
}

func (r *Runner) runID() string {
	if r.NewRunID != nil {
		return r.NewRunID()
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("run-%d", time.Now().UnixNano())
	}
	return hex.EncodeToString(b[:])
}

// IsPartial says whether err only means some users failed.
func IsPartial(err error) bool { return errors.Is(err, ErrPartial) }

// openAudit is audit.Open, saying when the log ended in a line a crash
// cut short (ended and marked, so the log reads line by line again).
func openAudit(path, run string, locs []visitor.Location, at time.Time, log *zap.Logger) (*audit.Log, error) {
	l, err := audit.Open(path, run, locs, at)
	if err == nil && l.Mended {
		log.Warn("audit log ended in a line cut short by a crash; ended it and marked it \"mended\"", zap.String("path", path))
	}
	return l, err
}
