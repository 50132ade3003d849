package service

import (
	"context"
	"os"
	"strings"

	"go.uber.org/zap"

	"condeco-visitor-sync/notify"
	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/sync/runner"
)

// notifyRun sends the run's summary when it deleted or deactivated users,
// had failures, or was stopped by a limit. Its failure is logged and
// counted, never turned into the run's exit code.
func (a *Service) notifyRun(ctx context.Context, rep *runner.Report, err error) {
	if !a.Notifier.Enabled() {
		return
	}
	s := a.summary(rep, err)
	// A stopping daemon still reports what the run did; notify_timeout
	// bounds the wait.
	reasons, nerr := a.Notifier.Notify(context.WithoutCancel(ctx), s)
	switch {
	case nerr != nil:
		a.Metrics.notified("failed")
		a.Log.Error("notification failed", zap.String("run", s.RunID), zap.String("error", nerr.Error()))
	case len(reasons) > 0:
		a.Metrics.notified("sent")
		a.Log.Info("notification sent", zap.String("run", s.RunID), zap.Strings("reasons", reasons), zap.Strings("channels", a.Notifier.Channels()))
	}
}

// summary turns a report and outcome into what a notification says.
func (a *Service) summary(rep *runner.Report, err error) notify.Summary {
	code := Classify(err)
	s := notify.Summary{Trigger: a.Trigger, ExitCode: int(code), ExitName: code.Label(), Target: a.Target}
	if code == ExitOK || code == ExitConfig || code == ExitError {
		s.ExitName = code.Name()
	}
	s.Host, _ = os.Hostname()
	switch code {
	case ExitSafetyLimit, ExitSourceGuard:
		s.Limit = err.Error()
	case ExitError, ExitConfig, ExitAuth, ExitSource, ExitTarget:
		s.RunError = err.Error()
	}
	if rep == nil {
		return s
	}
	s.RunID, s.Start, s.End = rep.RunID, rep.Start, rep.End
	c := rep.Counts
	s.Counts = notify.Counts{Created: c.Created, Adopted: c.Adopted, Updated: c.Updated, Deleted: c.Deleted,
		Deactivated: c.Deactivated, Unchanged: c.Unchanged, Failed: c.Failed, Conflicts: c.Conflicts, Held: c.Held}
	failed := map[string]bool{}
	for _, f := range rep.Failures {
		failed[f.ExternalID+"\x00"+string(f.Action)] = true
		if code == ExitInterrupted && strings.Contains(f.Reason, context.Canceled.Error()) {
			// Left undone by the stop, not failed: the next run does it.
			s.Counts.Failed--
			continue
		}
		s.Failures = append(s.Failures, notify.Failure{User: f.User, Action: string(f.Action), Reason: f.Reason})
	}
	for _, c := range rep.Conflicts {
		reason := c.Reason
		if c.Fix != "" {
			reason += "; fix: " + c.Fix
		}
		s.Failures = append(s.Failures, notify.Failure{User: c.UserName, Action: "conflict", Reason: reason})
	}
	s.FailuresTotal = len(s.Failures)
	// Only a run that went through the whole plan removed exactly the
	// planned users; otherwise the counts stand and the report has names.
	if rep.Plan != nil && (code == ExitOK || code == ExitPartial) {
		for _, list := range [][]plan.UserChange{rep.Plan.Deletes, rep.Plan.Deactivates} {
			for _, u := range list {
				if !failed[u.ExternalID+"\x00"+string(u.Action)] && len(s.Removed) < notify.MaxListed {
					s.Removed = append(s.Removed, u.UserName)
				}
			}
		}
	}
	if !rep.DryRun {
		s.ReportPath = a.State.ReportPath(rep.Start, rep.RunID)
	}
	if rep.Plan != nil && rep.Plan.ByHand != nil {
		s.ByHand = byHandSummary(rep.Plan.ByHand)
	}
	return s
}

// byHandSummary is the plan's by-hand list as a message shows it.
func byHandSummary(h *plan.ByHand) *notify.ByHand {
	out := &notify.ByHand{Location: h.Location, Changed: h.Changed, MakeAdmin: h.MakeAdmin, NewAdmins: h.NewAdmins,
		Locations: []string{}, MappingRules: []string{}}
	for _, r := range h.RevokeAdmin {
		out.RevokeAdmin = append(out.RevokeAdmin, r.UserName)
	}
	for _, l := range h.Locations {
		out.Locations = append(out.Locations, l.Name)
		if l.New {
			out.NewLocations = append(out.NewLocations, l.Name)
		}
	}
	for _, r := range h.MappingRules {
		out.MappingRules = append(out.MappingRules, "import "+r.Users+" into "+r.Into)
	}
	return out
}
