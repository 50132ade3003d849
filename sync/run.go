package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

// Runner runs one sync at a time. Source and Target are the Condeco reader
// and the Visitor client; Options come from configuration.
type Runner struct {
	Source
	Target
	Options
	Log *zap.Logger
	// AuditPath, when set, gets one JSON line per applied change.
	AuditPath string
	// FirstSyncPath, when set, records who the first full sync set out to
	// create (see Current.FirstSync); suppress-initial relies on it.
	FirstSyncPath string
	// Progress, when set, counts applied writes while a run applies.
	Progress *Progress
	// Now and NewRunID default to time.Now and a random id; tests set them.
	Now      func() time.Time
	NewRunID func() string
}

// RunFlags are the per-run switches of the CLI.
type RunFlags struct {
	DryRun bool
	Approvals
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
}

// Failure is one change that did not happen (or did not stick); the next
// run plans it again.
type Failure struct {
	User       string `json:"user"`
	ExternalID string `json:"externalId,omitempty"`
	Action     Action `json:"action"`
	Reason     string `json:"reason"`
}

// Report is what one run did, for the CLI, the status endpoint and logs.
type Report struct {
	RunID            string    `json:"runId"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	DurationMS       int64     `json:"durationMs"`
	DryRun           bool      `json:"dryRun"`
	Counts           Counts    `json:"counts"`
	Failures         []Failure `json:"failures"`
	Conflicts        []Issue   `json:"conflicts"`
	LocationsCreated []string  `json:"locationsCreated"` // externalIds
	SourceRows       int       `json:"sourceRows"`
	SourceProblems   int       `json:"sourceProblems"`
	// Problems names each held source row with its field and rule, for
	// example "users row 1042: field first_name: must not contain _", so
	// the operator knows what to fix in Condeco.
	Problems []string `json:"problems"`
	Requests int64    `json:"requests"`
	// MinRequests is the least a perfect client could have spent: one
	// write per planned change plus the list pages (200 a page) of managed
	// users and locations. ExtraRequests = Requests − MinRequests: what
	// retries, 429s, lookups and verification cost on top.
	MinRequests   int64 `json:"minRequests"`
	ExtraRequests int64 `json:"extraRequests"`
	// Phases is where the run's time went.
	Phases Phases `json:"phases"`
	Plan   *Plan  `json:"plan,omitempty"`
	Error  string `json:"error,omitempty"`
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
func (r *Runner) RunOnce(ctx context.Context, f RunFlags) (*Report, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	log := r.Log
	if log == nil {
		log = zap.NewNop()
	}
	o := r.Options.normalized()
	rep := &Report{RunID: r.runID(), Start: now().UTC(), DryRun: f.DryRun,
		Failures: []Failure{}, Conflicts: []Issue{}, LocationsCreated: []string{}, Problems: []string{}}
	log = log.With(zap.String("run", rep.RunID))
	reqStart, counting := requests(r.Target)
	err := r.run(ctx, f, o, now, log, rep)
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

func (r *Runner) run(ctx context.Context, f RunFlags, o Options, now func() time.Time, log *zap.Logger, rep *Report) error {
	t := now()
	lap := func() int64 { n := now(); d := n.Sub(t).Milliseconds(); t = n; return d }
	exp, err := r.Source.Export(ctx)
	rep.Phases.ExportMS = lap()
	if err != nil {
		return fmt.Errorf("exporting from condeco: %w", err)
	}
	if exp == nil {
		exp = &condeco.Export{}
	}
	rep.SourceRows, rep.SourceProblems = exp.RowsRead, len(exp.Problems)
	for _, p := range exp.Problems {
		rep.Problems = append(rep.Problems, p.Error())
		log.Warn("condeco row held", zap.String("table", p.Table), zap.String("row", p.RowID),
			zap.String("field", p.Field), zap.String("rule", p.Rule))
	}
	locs, err := r.Target.ListLocations(ctx)
	if err != nil {
		return fmt.Errorf("listing locations: %w", err)
	}
	users, err := r.Target.ListManagedUsers(ctx, o.ExternalIDPrefix)
	if err != nil {
		return fmt.Errorf("listing managed users: %w", err)
	}
	firstSync, err := readFirstSync(r.FirstSyncPath)
	if err != nil && o.Invitations == InvitationsSuppressInitial {
		return err
	} else if err != nil {
		log.Warn("first-sync record unreadable; ignored", zap.Error(err))
	}
	rep.Phases.ListMS = lap()
	plan, err := BuildPlan(exp, Current{Users: users, Locations: locs, FirstSync: firstSync}, o, now())
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	rep.Plan = plan
	rep.MinRequests = pages(len(users)) + pages(len(locs))
	if !f.DryRun {
		s := plan.Summary
		rep.MinRequests += int64(s.Creates + s.Updates + s.Deletes + s.Deactivates + s.LocationCreates)
	}
	rep.Counts.Unchanged = plan.Unchanged
	rep.Counts.Held = len(plan.Held) // held source rows: not created, updated or deleted
	rep.Counts.Skipped = len(plan.Skipped)
	rep.Counts.Conflicts = len(plan.Conflicts)
	rep.Conflicts = append(rep.Conflicts, plan.Conflicts...)
	for _, c := range plan.Conflicts {
		log.Warn("user conflict", zap.String("user", c.UserName), zap.String("externalId", c.ExternalID),
			zap.String("reason", c.Reason), zap.String("fix", c.Fix))
	}
	err = CheckLimits(plan, plan.Summary.Managed, o, f.Approvals)
	rep.Phases.PlanMS = lap()
	if err != nil {
		return err
	}
	if f.DryRun {
		return nil
	}
	if plan.Initial && len(plan.Creates) > 0 && r.FirstSyncPath != "" {
		if err := writeFirstSync(r.FirstSyncPath, rep.RunID, now().UTC(), plan); err != nil {
			return err
		}
	}
	a := &applier{t: r.Target, o: o, log: log, rep: rep, now: now, resolved: map[string]string{}, progress: r.Progress}
	if r.AuditPath != "" {
		a.audit = newAuditLog(r.AuditPath, rep.RunID, locs)
	}
	ps := plan.Summary
	r.Progress.begin(ps.Creates + ps.Updates + ps.Deletes + ps.Deactivates + ps.LocationCreates)
	defer r.Progress.end()
	a.apply(ctx, plan)
	if err := a.audit.close(); err != nil {
		return fmt.Errorf("writing audit log: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("applying plan: %w", err)
	}
	return nil
}

// pages is how many 200-item pages listing n items takes (at least one:
// an empty listing is still a request).
func pages(n int) int64 {
	return int64(max(1, (n+199)/200))
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
